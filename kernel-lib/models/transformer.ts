/**
 * A tiny decoder-only transformer from raw tf ops and tf.Variables (no tf.layers), built so that
 * per-example gradients of its projection matrices are exact and cheap (see kernel-lib/grads):
 *
 * - per layer seven separate bias-free matrices `layer{i}.q|k|v|o|gate|up|down`, stored [out, in]
 *   (PyTorch layout, so exported weights and gradients line up with a torch Linear);
 * - pre-norm RMSNorm with weight vectors, SwiGLU MLP down(silu(gate·x) ⊙ up·x);
 * - grouped-query attention: k/v have nKvHeads·headDim columns; query head h reads kv head
 *   ⌊h / (nHeads/nKvHeads)⌋ (PyTorch's repeat_interleave order) — no tiling, q is regrouped;
 * - learned position embedding; token embedding as oneHot·matMul, because the wasm backend has
 *   no gradient for gather; untied LM head; causal mask.
 *
 * Loss = masked next-token cross-entropy (models/token-batch.ts): each example's loss is the mean
 * over its target tokens, the batch loss the mean over examples — the PRISM probe loss.
 * Use `forward` for logits (and hidden states), `loss` inside an optimizer, and
 * grads/perExampleGradients for probe vectors. Every method that returns tensors runs in tf.tidy;
 * the caller owns (and disposes) what is returned.
 */
import { tf } from "../tf";
import { matMulFast, oneHotFloat } from "./ops";
import { InvalidArgumentError, assertKnownKeys } from "../errors";
import { Rng, Seed } from "../random";
import { LinearFn, ParameterGroup, PerExampleModel, plainLinear } from "./dense-sites";
import { PreparedTokenBatch, TokenBatch, TokenInput, maskedNextTokenLosses, prepareTokenBatch, readTokens } from "./token-batch";
import { WeightStore, assertInteger, filledValues, matrixShape, normalValues } from "./weights";
import type { LoraAdapters } from "./lora";

/** A transformer projection matrix type; see TRANSFORMER_MODULES. */
export type TransformerModule = "q" | "k" | "v" | "o" | "gate" | "up" | "down";
/** The seven projection matrices of each transformer layer, in order. */
export const TRANSFORMER_MODULES: readonly TransformerModule[] = ["q", "k", "v", "o", "gate", "up", "down"];

/** Configuration of a TinyTransformer (vocabulary, context length, width, layers, heads, seed). */
export interface TransformerConfig {
  vocabSize: number;
  dModel: number;
  nLayers: number;
  nHeads: number;
  /** Key/value heads (grouped-query attention); defaults to nHeads. Must divide nHeads. */
  nKvHeads?: number;
  /** Hidden width of the SwiGLU MLP. */
  dFF: number;
  /** Longest sequence (rows of the position embedding). */
  maxLen: number;
  seed: Seed;
  /** RMSNorm epsilon (default 1e-5). */
  normEps?: number;
}
/** A TransformerConfig with every default filled in. */
export type ResolvedTransformerConfig = Required<TransformerConfig>;

const CONFIG_KEYS = ["vocabSize", "dModel", "nLayers", "nHeads", "nKvHeads", "dFF", "maxLen", "seed", "normEps"];
const MASKED = -1e9;

function resolveConfig(config: TransformerConfig): ResolvedTransformerConfig {
  if (config === null || typeof config !== "object") throw new InvalidArgumentError("config", "a TransformerConfig object", config);
  assertKnownKeys("config", config, CONFIG_KEYS);
  const c: ResolvedTransformerConfig = { ...config, nKvHeads: config.nKvHeads ?? config.nHeads, normEps: config.normEps ?? 1e-5 };
  assertInteger("config.vocabSize", c.vocabSize, 2);
  for (const key of ["dModel", "nLayers", "nHeads", "nKvHeads", "dFF", "maxLen"] as const) assertInteger(`config.${key}`, c[key], 1);
  if (c.dModel % c.nHeads !== 0) throw new InvalidArgumentError("config.nHeads", `a divisor of dModel=${c.dModel}`, c.nHeads);
  if (c.nHeads % c.nKvHeads !== 0) throw new InvalidArgumentError("config.nKvHeads", `a divisor of nHeads=${c.nHeads}`, c.nKvHeads);
  if (!(c.normEps > 0) || !Number.isFinite(c.normEps)) throw new InvalidArgumentError("config.normEps", "a finite number > 0", c.normEps);
  if (typeof c.seed !== "number" && typeof c.seed !== "string") throw new InvalidArgumentError("config.seed", "a number or string", c.seed);
  return c;
}

/** RMSNorm: x / √(mean(x²) + eps) ⊙ weight, over the last axis. */
export function rmsNorm(x: tf.Tensor2D, weight: tf.Tensor1D, eps: number): tf.Tensor2D {
  return tf.mul(tf.mul(x, tf.rsqrt(tf.add(tf.mean(tf.square(x), -1, true), eps))), weight);
}

/** Additive causal mask [groups·T, T]: row i is query position i mod T. */
function causalMask(T: number, groups: number): tf.Tensor2D {
  const values = new Float32Array(groups * T * T);
  for (let i = 0; i < groups * T; i++) for (let s = (i % T) + 1; s < T; s++) values[i * T + s] = MASKED;
  return tf.tensor2d(values, [groups * T, T]);
}

/**
 * A tiny decoder-only transformer (pre-norm RMSNorm, SwiGLU, grouped-query attention) from raw tf
 * ops, with seven bias-free matrices per layer (q, k, v, o, gate, up, down; [out, in], PyTorch
 * layout) so per-example gradients are exact and cheap. Weights are a pure function of `seed`.
 * Loss: masked next-token cross-entropy, the PRISM probe loss.
 *
 * @example
 * ```ts
 * const model = new lab.models.TinyTransformer({ vocabSize: 20, maxLen: 8, dModel: 16, nLayers: 1, nHeads: 2, dFF: 32, seed: 1 });
 * const g = lab.grads.perExampleGradients(model, { tokens: [[1, 2, 3, 4]], lossMask: [[0, 1, 1, 1]] });
 * ```
 */
export class TinyTransformer implements PerExampleModel<TokenBatch, PreparedTokenBatch> {
  readonly kind = "transformer" as const;
  readonly config: ResolvedTransformerConfig;
  /** Width of one attention head (dModel / nHeads). */
  readonly headDim: number;
  private readonly store = new WeightStore();
  private adapters: LoraAdapters | null = null;

  constructor(config: TransformerConfig) {
    this.config = resolveConfig(config);
    const { vocabSize: V, dModel: d, nLayers: L, nHeads: H, nKvHeads: Hkv, dFF, maxLen } = this.config;
    this.headDim = d / H;
    const rng = new Rng(this.config.seed).derive("transformer-init");
    const matrix = (name: string, out: number, inDim: number, scale = 1) =>
      this.store.add(name, normalValues(rng.derive(name), out * inDim, scale / Math.sqrt(inDim)), [out, inDim]);
    this.store.add("tokenEmbedding", normalValues(rng.derive("tokenEmbedding"), V * d, 1), [V, d]);
    this.store.add("positionEmbedding", normalValues(rng.derive("positionEmbedding"), maxLen * d, 0.5), [maxLen, d]);
    // Output projections write into the residual stream: scale them down (GPT-2 style) so the
    // stream's size does not grow with depth.
    const residualScale = 1 / Math.sqrt(2 * L);
    for (let l = 0; l < L; l++) {
      this.store.add(`layer${l}.attnNorm`, filledValues(d, 1), [d]);
      matrix(`layer${l}.q`, H * this.headDim, d);
      matrix(`layer${l}.k`, Hkv * this.headDim, d);
      matrix(`layer${l}.v`, Hkv * this.headDim, d);
      matrix(`layer${l}.o`, d, H * this.headDim, residualScale);
      this.store.add(`layer${l}.mlpNorm`, filledValues(d, 1), [d]);
      matrix(`layer${l}.gate`, dFF, d);
      matrix(`layer${l}.up`, dFF, d);
      matrix(`layer${l}.down`, d, dFF, residualScale);
    }
    this.store.add("finalNorm", filledValues(d, 1), [d]);
    matrix("head", V, d);
  }

  /** The 7·nLayers projection matrices (the PRISM probe's units), then LoRA adapters if attached. */
  parameterGroups(): ParameterGroup[] {
    const groups: ParameterGroup[] = [];
    for (let l = 0; l < this.config.nLayers; l++) {
      for (const module of TRANSFORMER_MODULES) {
        const name = `layer${l}.${module}`;
        const v = this.store.get(name);
        groups.push({ name, layer: l, module, part: "weight", shape: matrixShape(v), trainable: v.trainable });
      }
    }
    return this.adapters === null ? groups : groups.concat(this.adapters.parameterGroups());
  }

  /** Any weight by name (model weights and, when attached, LoRA adapters). */
  weight(name: string): tf.Variable {
    const adapter = this.adapters?.weight(name);
    return adapter ?? this.store.get(name);
  }

  /** Every parameter with its name: embeddings, norms, matrices, head, then adapters. */
  namedWeights(): Array<{ name: string; variable: tf.Variable }> {
    return this.store.named().concat(this.adapters?.named() ?? []);
  }

  /**
   * The variables an optimizer should update: every weight, or only the LoRA adapters while
   * attached.
   */
  trainableVariables(): tf.Variable[] {
    return this.namedWeights().map((w) => w.variable).filter((v) => v.trainable);
  }

  /** Total parameter count (every weight, adapters included). */
  numParameters(): number {
    return this.namedWeights().reduce((n, w) => n + w.variable.size, 0);
  }

  /** Used by models/lora.ts: attaching freezes every base weight, detaching unfreezes them. */
  setAdapters(adapters: LoraAdapters | null): void {
    if (adapters !== null && this.adapters !== null) throw new InvalidArgumentError("adapters", "no LoRA already attached (detach it first)");
    this.adapters = adapters;
    this.store.setTrainable(adapters === null);
  }

  /** The attached LoRA adapters, or null. */
  get loraAdapters(): LoraAdapters | null {
    return this.adapters;
  }

  prepareBatch(batch: TokenBatch | PreparedTokenBatch): PreparedTokenBatch {
    return prepareTokenBatch(batch, this.config.vocabSize, this.config.maxLen);
  }

  /** Logits [B, T, V]; with returnHidden also the final hidden states [B, T, d] (after the final norm, what the head reads). */
  forward(tokens: TokenInput): tf.Tensor3D;
  forward(tokens: TokenInput, options: { returnHidden: true }): { logits: tf.Tensor3D; hidden: tf.Tensor3D };
  forward(tokens: TokenInput, options?: { returnHidden?: boolean }): tf.Tensor3D | { logits: tf.Tensor3D; hidden: tf.Tensor3D };
  forward(tokens: TokenInput, options: { returnHidden?: boolean } = {}): tf.Tensor3D | { logits: tf.Tensor3D; hidden: tf.Tensor3D } {
    assertKnownKeys("options", options, ["returnHidden"]);
    const { tokens: ids, shape } = readTokens("tokens", tokens, this.config.vocabSize, this.config.maxLen);
    const [B, T] = shape;
    return tf.tidy(() => {
      const { logits, hidden } = this.run(tf.tensor2d(ids, shape, "int32"), plainLinear);
      const logits3 = tf.reshape(logits, [B, T, this.config.vocabSize]) as tf.Tensor3D;
      return options.returnHidden ? { logits: logits3, hidden: tf.reshape(hidden, [B, T, this.config.dModel]) as tf.Tensor3D } : logits3;
    });
  }

  /** Per-example losses [B] (mean CE over each example's target tokens). */
  perExampleLosses(batch: TokenBatch | PreparedTokenBatch, linear: LinearFn = plainLinear): tf.Tensor1D {
    const prepared = this.prepareBatch(batch);
    return tf.tidy(() => maskedNextTokenLosses(this.run(prepared.tokensTensor(), linear).logits, prepared));
  }

  /** The training / probe loss: mean over examples of the per-example losses. */
  loss(batch: TokenBatch | PreparedTokenBatch): tf.Scalar {
    return tf.tidy(() => tf.mean(this.perExampleLosses(batch)) as tf.Scalar);
  }

  /** Frees every weight's memory (and the adapters'); the model cannot be used afterwards. */
  dispose(): void {
    this.adapters?.dispose();
    this.adapters = null;
    this.store.dispose();
  }

  private dense(name: string, x: tf.Tensor2D, linear: LinearFn): tf.Tensor2D {
    const y = linear(name, x, this.store.get(name) as tf.Tensor2D);
    return this.adapters === null ? y : this.adapters.apply(name, x, y, linear);
  }

  /** Rows are (example, position) pairs: [B·T, ·]. */
  private run(tokens: tf.Tensor2D, linear: LinearFn): { logits: tf.Tensor2D; hidden: tf.Tensor2D } {
    const [B, T] = tokens.shape;
    const { vocabSize: V, dModel: d, nLayers: L, nHeads: H, nKvHeads: Hkv, normEps: eps } = this.config;
    const w = (name: string) => this.store.get(name);
    const oneHot = oneHotFloat(tf.reshape(tokens, [B * T]), V);
    const positions = tf.slice(w("positionEmbedding"), [0, 0], [T, d]);
    let h = tf.reshape(tf.add(tf.reshape(matMulFast(oneHot, w("tokenEmbedding") as tf.Tensor2D), [B, T, d]), positions), [B * T, d]) as tf.Tensor2D;
    const mask = causalMask(T, H / Hkv);
    for (let l = 0; l < L; l++) {
      const a = rmsNorm(h, w(`layer${l}.attnNorm`) as tf.Tensor1D, eps);
      const q = this.dense(`layer${l}.q`, a, linear);
      const k = this.dense(`layer${l}.k`, a, linear);
      const v = this.dense(`layer${l}.v`, a, linear);
      h = tf.add(h, this.dense(`layer${l}.o`, this.attention(q, k, v, B, T, mask), linear));
      const m = rmsNorm(h, w(`layer${l}.mlpNorm`) as tf.Tensor1D, eps);
      const gate = this.dense(`layer${l}.gate`, m, linear);
      const up = this.dense(`layer${l}.up`, m, linear);
      h = tf.add(h, this.dense(`layer${l}.down`, tf.mul(tf.mul(gate, tf.sigmoid(gate)), up), linear));
    }
    const hidden = rmsNorm(h, w("finalNorm") as tf.Tensor1D, eps);
    return { logits: plainLinear("head", hidden, w("head") as tf.Tensor2D), hidden };
  }

  /** Causal grouped-query attention on [B·T, heads·hd] projections; returns [B·T, H·hd]. */
  private attention(q: tf.Tensor2D, k: tf.Tensor2D, v: tf.Tensor2D, B: number, T: number, mask: tf.Tensor2D): tf.Tensor2D {
    const { nHeads: H, nKvHeads: Hkv } = this.config;
    const hd = this.headDim, G = H / Hkv;
    const heads = (x: tf.Tensor2D, n: number) => tf.transpose(tf.reshape(x, [B, T, n, hd]), [0, 2, 1, 3]);
    // Query heads kv·G … kv·G+G−1 share kv head kv: folding them into the row axis lets one
    // batched matMul per kv head serve the whole group.
    const qh = tf.reshape(heads(q, H), [B * Hkv, G * T, hd]);
    const kh = tf.reshape(heads(k, Hkv), [B * Hkv, T, hd]);
    const vh = tf.reshape(heads(v, Hkv), [B * Hkv, T, hd]);
    const scores = tf.add(tf.mul(tf.matMul(qh, kh, false, true), 1 / Math.sqrt(hd)), mask);
    const out = tf.matMul(tf.softmax(scores), vh);
    return tf.reshape(tf.transpose(tf.reshape(out, [B, H, T, hd]), [0, 2, 1, 3]), [B * T, H * hd]) as tf.Tensor2D;
  }
}
