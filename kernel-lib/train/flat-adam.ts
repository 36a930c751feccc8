/**
 * Adam in plain JS over one flat parameter vector, with its state readable at any time — what a
 * LESS warm-up checkpoint needs (m, v, step, learning rate), and what tf.train.adam keeps hidden
 * inside backend variables.
 *
 * Why our own: the LoRA parameters of the toy model are a few thousand numbers, so an update in JS
 * costs nothing next to the forward/backward pass, and the state is then ordinary Float32Arrays in
 * the same order as the per-example gradient vectors (no name matching against optimizer slots).
 * The update is PyTorch's / tf.train.adam's, step for step:
 *   m ← β1·m + (1−β1)·g,  v ← β2·v + (1−β2)·g²,  t ← t+1,
 *   θ ← θ − lr · (m / (1−β1^t)) / (√(v / (1−β2^t)) + ε)
 * (tested against tf.train.adam: same parameters and same moments after several steps).
 * Moments are computed in float64 and stored float32, like the torch state dict.
 *
 * `linearScheduleLr` is Hugging Face's `get_linear_schedule_with_warmup` (LESS's schedule): the
 * rate used by update t (0-based) is base·t/W during W warm-up steps, then decays linearly to 0.
 */
import { InvalidArgumentError, ShapeError, assertKnownKeys } from "../errors";
import type { AdamCheckpointState } from "../features/adam";

/** Adam's β1, β2 and ε. */
export interface AdamHyperParameters {
  beta1: number;
  beta2: number;
  eps: number;
}

/** PyTorch's and tf.train.adam's default Adam hyper-parameters. */
export const ADAM_DEFAULTS: AdamHyperParameters = Object.freeze({ beta1: 0.9, beta2: 0.999, eps: 1e-8 });

/**
 * Adam in plain JS over one flat parameter vector with its state (m, v, step) readable at any time
 * — what a LESS checkpoint needs and tf.train.adam hides. Update step for step as PyTorch's (tested
 * against tf.train.adam).
 */
export class FlatAdam {
  /** First-moment estimate, one entry per parameter. */
  readonly m: Float32Array;
  /** Second-moment estimate, one entry per parameter. */
  readonly v: Float32Array;
  /** β1, β2 and ε in use. */
  readonly hyper: AdamHyperParameters;
  /** Updates taken so far (PyTorch's state["step"]). */
  step = 0;

  constructor(readonly size: number, hyper: Partial<AdamHyperParameters> = {}) {
    if (!Number.isInteger(size) || size < 1) throw new InvalidArgumentError("size", "a positive integer (number of parameters)", size);
    assertKnownKeys("hyper", hyper, ["beta1", "beta2", "eps"]);
    this.hyper = { ...ADAM_DEFAULTS, ...hyper };
    for (const key of ["beta1", "beta2"] as const) {
      const b = this.hyper[key];
      if (typeof b !== "number" || !(b >= 0 && b < 1)) throw new InvalidArgumentError(`hyper.${key}`, "a number in [0, 1)", b);
    }
    if (!(this.hyper.eps > 0) || !Number.isFinite(this.hyper.eps)) throw new InvalidArgumentError("hyper.eps", "a finite number > 0", this.hyper.eps);
    this.m = new Float32Array(size);
    this.v = new Float32Array(size);
  }

  /** One update of `params` in place with gradient `grads` and learning rate `lr`. */
  update(params: Float32Array, grads: ArrayLike<number>, lr: number): void {
    if (params.length !== this.size) throw new ShapeError("params", `[${this.size}]`, [params.length]);
    if (grads.length !== this.size) throw new ShapeError("grads", `[${this.size}]`, [grads.length]);
    if (typeof lr !== "number" || !Number.isFinite(lr) || lr < 0) throw new InvalidArgumentError("lr", "a finite number ≥ 0", lr);
    const { beta1, beta2, eps } = this.hyper;
    this.step++;
    const c1 = 1 - beta1 ** this.step, c2 = 1 - beta2 ** this.step;
    for (let i = 0; i < this.size; i++) {
      const g = grads[i];
      if (!Number.isFinite(g)) throw new InvalidArgumentError(`grads[${i}]`, "a finite gradient", g);
      const m = beta1 * this.m[i] + (1 - beta1) * g;
      const v = beta2 * this.v[i] + (1 - beta2) * g * g;
      this.m[i] = m;
      this.v[i] = v;
      params[i] -= (lr * (m / c1)) / (Math.sqrt(v / c2) + eps);
    }
  }

  /** A copy of the state in the form features/adam's `adamPreconditionedFeatures` takes. */
  state(): Required<AdamCheckpointState> {
    return { m: this.m.slice(), v: this.v.slice(), step: this.step, ...this.hyper };
  }
}

/** The learning rate of update `step` (0-based) of `total` under HF's linear warm-up + decay. */
export function linearScheduleLr(base: number, step: number, total: number, warmupSteps: number): number {
  if (!Number.isInteger(total) || total < 1) throw new InvalidArgumentError("total", "a positive integer", total);
  if (!Number.isInteger(step) || step < 0 || step >= total) throw new InvalidArgumentError("step", `an integer in [0, ${total})`, step);
  if (!Number.isInteger(warmupSteps) || warmupSteps < 0 || warmupSteps > total) throw new InvalidArgumentError("warmupSteps", `an integer in [0, ${total}]`, warmupSteps);
  if (step < warmupSteps) return (base * step) / Math.max(1, warmupSteps);
  return base * Math.max(0, (total - step) / Math.max(1, total - warmupSteps));
}
