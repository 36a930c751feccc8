/**
 * Adam-preconditioned gradient features (LESS, Xia et al. 2024): the direction one Adam step
 * would move the parameters if it saw only this example, given the optimizer state saved at a
 * warm-up checkpoint. LESS uses these for training-pool examples and the plain gradient for
 * target (validation) examples.
 *
 * Forms (pick with `{ form }`):
 *  - "less" (default, what the released LESS code computes; use it to reproduce LESS/G2IS):
 *        m′ = β1·m + (1−β1)·g,   v′ = β2·v + (1−β2)·g²,   Γ = m′ / √(v′ + ε)
 *    ε sits inside the root and there is no bias correction.
 *  - "bias-corrected" (the textbook Adam update direction, for comparison):
 *        m̂ = m′ / (1 − β1^(t+1)),  v̂ = v′ / (1 − β2^(t+1)),  Γ = m̂ / (√v̂ + ε)
 *    where t = `state.step` is the number of optimizer steps already taken when the checkpoint
 *    was saved (PyTorch's `state["step"]`), so the virtual update is step t+1.
 * Both are elementwise and linear-time. Arrays in → arrays out (computed in float64 per element,
 * stored float32); a [n, P] tensor in → a tensor out (float32 on the backend; caller disposes).
 * Defaults for β1, β2, ε are the constants LESS hard-codes (0.9, 0.999, 1e-8); pass the ones your
 * optimizer really used.
 */
import { tf } from "../tf";
import { InvalidArgumentError, ShapeError, assertFinite, assertKnownKeys, assertOneOf } from "../errors";
import { checkArrayRows, checkTensorRows, isTensor } from "./inputs";

/**
 * How Adam state preconditions a gradient: "less" (the LESS code's form: ε inside the root, no bias
 * correction) or "bias-corrected" (the textbook Adam update direction, for comparison).
 */
export const ADAM_FEATURE_FORMS = ["less", "bias-corrected"] as const;
/** How Adam state preconditions a gradient; see ADAM_FEATURE_FORMS. */
export type AdamFeatureForm = (typeof ADAM_FEATURE_FORMS)[number];

/** Adam's state at a checkpoint, flattened in the same parameter order as the gradients. */
export interface AdamCheckpointState {
  /** First moment (PyTorch `exp_avg`). */
  m: Float32Array;
  /** Second moment (PyTorch `exp_avg_sq`), non-negative. */
  v: Float32Array;
  /** Optimizer steps taken so far; needed only by the "bias-corrected" form. */
  step?: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
}

/** Options of `adamPreconditionedFeatures`: the form (default "less"). */
export interface AdamFeatureOptions { form?: AdamFeatureForm }

/**
 * The Adam constants LESS hard-codes (β1 0.9, β2 0.999, ε 1e-8), the default of the
 * preconditioning; pass the ones your optimizer really used.
 */
export const LESS_ADAM_DEFAULTS = { beta1: 0.9, beta2: 0.999, eps: 1e-8 } as const;

/** The validated scalars of one call: Γ = (m′/c1) / (√(v′/c2 + innerEps) + outerEps). */
interface Coefficients { beta1: number; beta2: number; c1: number; c2: number; innerEps: number; outerEps: number }

/** Γ for a batch of per-example gradients against one checkpoint's optimizer state. */
export function adamPreconditionedFeatures(grads: readonly Float32Array[], state: AdamCheckpointState, options?: AdamFeatureOptions): Float32Array[];
export function adamPreconditionedFeatures(grads: tf.Tensor2D, state: AdamCheckpointState, options?: AdamFeatureOptions): tf.Tensor2D;
export function adamPreconditionedFeatures(
  grads: readonly Float32Array[] | tf.Tensor2D, state: AdamCheckpointState, options: AdamFeatureOptions = {},
): Float32Array[] | tf.Tensor2D {
  const k = coefficients(state, options);
  const P = state.m.length;
  const expected = `${P} (the length of state.m and state.v)`;
  if (isTensor(grads)) {
    if (grads.rank === 2 && grads.shape[1] !== P) throw new ShapeError("grads", `[n, ${expected}]`, grads.shape);
    checkTensorRows("grads", grads, P);
    return tf.tidy(() => {
      const m = tf.tensor1d(state.m), v = tf.tensor1d(state.v);
      const m1 = tf.add(tf.mul(k.beta1, m), tf.mul(1 - k.beta1, grads));
      const v1 = tf.add(tf.mul(k.beta2, v), tf.mul(1 - k.beta2, tf.square(grads)));
      const denom = tf.add(tf.sqrt(tf.add(tf.div(v1, k.c2), k.innerEps)), k.outerEps);
      return tf.div(tf.div(m1, k.c1), denom) as tf.Tensor2D;
    });
  }
  const rows = grads as readonly Float32Array[];
  if (Array.isArray(rows)) rows.forEach((g, i) => {
    if (g instanceof Float32Array && g.length !== P) throw new ShapeError(`grads[${i}]`, `[${expected}]`, [g.length]);
  });
  checkArrayRows("grads", rows, P);
  const { m, v } = state;
  return rows.map((g) => {
    const out = new Float32Array(P);
    for (let i = 0; i < P; i++) {
      const m1 = k.beta1 * m[i] + (1 - k.beta1) * g[i];
      const v1 = k.beta2 * v[i] + (1 - k.beta2) * g[i] * g[i];
      out[i] = m1 / k.c1 / (Math.sqrt(v1 / k.c2 + k.innerEps) + k.outerEps);
    }
    return out;
  });
}

/** Validates the state and folds the chosen form into one formula's coefficients. */
function coefficients(state: AdamCheckpointState, options: AdamFeatureOptions): Coefficients {
  if (typeof state !== "object" || state === null) throw new InvalidArgumentError("state", "an Adam checkpoint state { m, v, ... }", state);
  assertKnownKeys("state", state, ["m", "v", "step", "beta1", "beta2", "eps"]);
  assertKnownKeys("options", options, ["form"]);
  const form = options.form ?? "less";
  assertOneOf("options.form", form, ADAM_FEATURE_FORMS);
  const { m, v } = state;
  if (!(m instanceof Float32Array)) throw new InvalidArgumentError("state.m", "a Float32Array", m);
  if (!(v instanceof Float32Array)) throw new InvalidArgumentError("state.v", "a Float32Array", v);
  if (v.length !== m.length) throw new ShapeError("state.v", `[${m.length}] (the length of state.m)`, [v.length]);
  if (m.length === 0) throw new InvalidArgumentError("state.m", "a non-empty Float32Array", m);
  assertFinite("state.m", m);
  assertFinite("state.v", v);
  for (let i = 0; i < v.length; i++) if (v[i] < 0) throw new InvalidArgumentError(`state.v[${i}]`, "a non-negative second moment", v[i]);
  const beta1 = state.beta1 ?? LESS_ADAM_DEFAULTS.beta1, beta2 = state.beta2 ?? LESS_ADAM_DEFAULTS.beta2, eps = state.eps ?? LESS_ADAM_DEFAULTS.eps;
  for (const [name, value] of [["state.beta1", beta1], ["state.beta2", beta2]] as const) {
    if (typeof value !== "number" || !(value >= 0 && value < 1)) throw new InvalidArgumentError(name, "a number in [0, 1)", value);
  }
  // ε > 0 keeps Γ finite where g = m = v = 0 (e.g. LoRA A's gradient while B is still zero).
  if (typeof eps !== "number" || !(eps > 0) || !Number.isFinite(eps)) throw new InvalidArgumentError("state.eps", "a finite number > 0", eps);
  if (form === "less") return { beta1, beta2, c1: 1, c2: 1, innerEps: eps, outerEps: 0 };
  const step = state.step;
  if (typeof step !== "number" || !Number.isInteger(step) || step < 0) {
    throw new InvalidArgumentError("state.step", "a non-negative integer (steps taken; required by form \"bias-corrected\")", step);
  }
  return { beta1, beta2, c1: 1 - beta1 ** (step + 1), c2: 1 - beta2 ** (step + 1), innerEps: 0, outerEps: eps };
}
