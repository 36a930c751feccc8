/**
 * A small GRU language model: oneHot·matMul embedding (wasm has no gather gradient), one GRU
 * layer (PyTorch's gate equations, no biases so every matrix is a pure dense site), an LM head.
 * Same batch format and loss as the transformer (tokens + loss mask, masked next-token CE), so it
 * is a drop-in second architecture for the gradient studies; per-step hidden states are exposed.
 *
 * Matrices (all [out, in], all dense sites for grads/): gru.xr|xz|xn [H, E] read the input,
 * gru.hr|hz|hn [H, H] the previous state (layer 0), head [V, H] (layer 1).
 *   r = σ(x·Wxrᵀ + h·Whrᵀ), z = σ(x·Wxzᵀ + h·Whzᵀ), n = tanh(x·Wxnᵀ + r ⊙ (h·Whnᵀ)), h' = (1−z) ⊙ n + z ⊙ h
 * Each step's inputs are built from the token ids directly (no slicing of a [B, T, ·] tensor, which
 * is slow on wasm), so every matrix is called once per step with B rows: row t of an example = step t.
 */
import { tf } from "../tf";
import { InvalidArgumentError, assertKnownKeys } from "../errors";
import { Rng, Seed } from "../random";
import { LinearFn, ParameterGroup, PerExampleModel, plainLinear } from "./dense-sites";
import { matMulFast, oneHotFloat } from "./ops";
import { PreparedTokenBatch, TokenBatch, TokenInput, maskedNextTokenLosses, prepareTokenBatch, readTokens } from "./token-batch";
import { WeightStore, assertInteger, matrixShape, normalValues } from "./weights";

/** Configuration of a GruLanguageModel (vocabulary, embedding and hidden sizes, seed). */
export interface GruConfig {
  vocabSize: number;
  embedSize: number;
  hiddenSize: number;
  /** Longest accepted sequence (default 4096; the GRU itself has no limit). */
  maxLen?: number;
  seed: Seed;
}
/** A GruConfig with every default filled in. */
export type ResolvedGruConfig = Required<GruConfig>;

const GATE_MATRICES = ["xr", "xz", "xn", "hr", "hz", "hn"] as const;

/**
 * A small GRU language model (no biases, so every matrix is a dense site): the same token batches
 * and masked next-token loss as TinyTransformer, a drop-in second architecture for the gradient
 * studies.
 */
export class GruLanguageModel implements PerExampleModel<TokenBatch, PreparedTokenBatch> {
  readonly kind = "gru" as const;
  readonly config: ResolvedGruConfig;
  private readonly store = new WeightStore();

  constructor(config: GruConfig) {
    if (config === null || typeof config !== "object") throw new InvalidArgumentError("config", "a GruConfig object", config);
    assertKnownKeys("config", config, ["vocabSize", "embedSize", "hiddenSize", "maxLen", "seed"]);
    this.config = { ...config, maxLen: config.maxLen ?? 4096 };
    const { vocabSize: V, embedSize: E, hiddenSize: H } = this.config;
    assertInteger("config.vocabSize", V, 2);
    assertInteger("config.embedSize", E, 1);
    assertInteger("config.hiddenSize", H, 1);
    assertInteger("config.maxLen", this.config.maxLen, 1);
    if (typeof config.seed !== "number" && typeof config.seed !== "string") throw new InvalidArgumentError("config.seed", "a number or string", config.seed);
    const rng = new Rng(config.seed).derive("gru-init");
    this.store.add("embedding", normalValues(rng.derive("embedding"), V * E, 1), [V, E]);
    for (const m of GATE_MATRICES) {
      const inDim = m.startsWith("x") ? E : H;
      this.store.add(`gru.${m}`, normalValues(rng.derive(m), H * inDim, 1 / Math.sqrt(inDim)), [H, inDim]);
    }
    this.store.add("head", normalValues(rng.derive("head"), V * H, 1 / Math.sqrt(H)), [V, H]);
  }

  parameterGroups(): ParameterGroup[] {
    const group = (name: string, layer: number, module: string): ParameterGroup => {
      const v = this.store.get(name);
      return { name, layer, module, part: "weight", shape: matrixShape(v), trainable: v.trainable };
    };
    return [...GATE_MATRICES.map((m) => group(`gru.${m}`, 0, m)), group("head", 1, "head")];
  }

  weight(name: string): tf.Variable {
    return this.store.get(name);
  }

  /** Every weight with its stable name ("gru.xr", "head", …), in model order. */
  namedWeights(): Array<{ name: string; variable: tf.Variable }> {
    return this.store.named();
  }

  /** The variables an optimizer should update. */
  trainableVariables(): tf.Variable[] {
    return this.store.named().map((w) => w.variable).filter((v) => v.trainable);
  }

  prepareBatch(batch: TokenBatch | PreparedTokenBatch): PreparedTokenBatch {
    return prepareTokenBatch(batch, this.config.vocabSize, this.config.maxLen);
  }

  /** Logits [B, T, V]; with returnHidden also the hidden state after every step [B, T, H]. */
  forward(tokens: TokenInput): tf.Tensor3D;
  forward(tokens: TokenInput, options: { returnHidden: true }): { logits: tf.Tensor3D; hidden: tf.Tensor3D };
  forward(tokens: TokenInput, options?: { returnHidden?: boolean }): tf.Tensor3D | { logits: tf.Tensor3D; hidden: tf.Tensor3D };
  forward(tokens: TokenInput, options: { returnHidden?: boolean } = {}): tf.Tensor3D | { logits: tf.Tensor3D; hidden: tf.Tensor3D } {
    assertKnownKeys("options", options, ["returnHidden"]);
    const { tokens: ids, shape } = readTokens("tokens", tokens, this.config.vocabSize, this.config.maxLen);
    const [B, T] = shape;
    return tf.tidy(() => {
      const { logits, hidden } = this.run(ids, B, T, plainLinear);
      const logits3 = tf.reshape(logits, [B, T, this.config.vocabSize]) as tf.Tensor3D;
      return options.returnHidden ? { logits: logits3, hidden: tf.reshape(hidden, [B, T, this.config.hiddenSize]) as tf.Tensor3D } : logits3;
    });
  }

  perExampleLosses(batch: TokenBatch | PreparedTokenBatch, linear: LinearFn = plainLinear): tf.Tensor1D {
    const prepared = this.prepareBatch(batch);
    return tf.tidy(() => maskedNextTokenLosses(this.run(prepared.tokens, prepared.size, prepared.length, linear).logits, prepared));
  }

  /**
   * The batch loss: the mean over examples of each example's masked next-token cross-entropy (a
   * scalar, for an optimizer's `minimize`).
   */
  loss(batch: TokenBatch | PreparedTokenBatch): tf.Scalar {
    return tf.tidy(() => tf.mean(this.perExampleLosses(batch)) as tf.Scalar);
  }

  /** Frees every weight's memory; the model cannot be used afterwards. */
  dispose(): void {
    this.store.dispose();
  }

  /** logits [B·T, V] and hidden [B·T, H], rows example-major. */
  private run(ids: Int32Array, B: number, T: number, linear: LinearFn): { logits: tf.Tensor2D; hidden: tf.Tensor2D } {
    const { vocabSize: V, hiddenSize: H } = this.config;
    const w = (name: string) => this.store.get(name) as tf.Tensor2D;
    const step = new Int32Array(B);
    let h = tf.zeros([B, H]) as tf.Tensor2D;
    const states: tf.Tensor2D[] = [];
    for (let t = 0; t < T; t++) {
      for (let b = 0; b < B; b++) step[b] = ids[b * T + t];
      const x = matMulFast(oneHotFloat(tf.tensor1d(step, "int32"), V), w("embedding"));
      const r = tf.sigmoid(tf.add(linear("gru.xr", x, w("gru.xr")), linear("gru.hr", h, w("gru.hr"))));
      const z = tf.sigmoid(tf.add(linear("gru.xz", x, w("gru.xz")), linear("gru.hz", h, w("gru.hz"))));
      const n = tf.tanh(tf.add(linear("gru.xn", x, w("gru.xn")), tf.mul(r, linear("gru.hn", h, w("gru.hn")))));
      h = tf.add(tf.mul(tf.sub(1, z), n), tf.mul(z, h));
      states.push(h);
    }
    const hidden = tf.reshape(tf.stack(states, 1), [B * T, H]) as tf.Tensor2D;
    return { logits: linear("head", hidden, w("head")), hidden };
  }
}
