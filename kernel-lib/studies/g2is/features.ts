/**
 * LESS features from a LoRA checkpoint: per-example LoRA gradients of the response-token loss,
 * Adam-preconditioned for pool examples (Γ = m′/√(v′+ε) from the checkpoint's optimizer state),
 * plain for target (validation) examples, then ONE seeded random projection shared by both and
 * L2-normalised rows (so inner products are cosines).
 *
 * Which function when:
 *  - `loraGradientRows`: raw flat gradients (the probe for checks such as conflict cosines);
 *  - `gradientFeatures`: projected, normalised features; pass `sink` (a FeatureStoreWriter) to
 *    stream a large pool to disk batch by batch instead of returning the rows;
 *  - `poolFeatureForms`: one gradient pass, several pool forms streamed to one sink each — LESS's
 *    Adam form, the bias-corrected Adam form and the plain (SGD) gradient — for LESS's ablations;
 *  - `meanPooledHiddenStates`: the base model's mean-pooled final hidden states over the
 *    non-padding tokens — the stand-in for a sentence embedding (Sentence-BERT is not available
 *    offline), used by the similarity baseline and the "G2IS without gradients" ablation.
 * Gradients come from grads/perExampleGradients (batched strategy, exact) with `fullVectors`; with
 * LoRA attached its default groups are exactly the adapters, in the order lora-training.ts uses
 * for the flat parameter vector (checked here, since m/v must line up with g element by element).
 * Everything runs batch by batch and returns plain arrays: no tensor outlives a call.
 */
import { EmptyInputError, InvalidArgumentError, ShapeError, assertOneOf } from "../../errors";
import { checkOptions, option } from "../../options";
import type { TinyTransformer } from "../../models/transformer";
import { PreparedTokenBatch, TokenBatch, prepareTokenBatch, readTokens } from "../../models/token-batch";
import { perExampleGradients } from "../../grads/per-example";
import { AdamCheckpointState, AdamFeatureForm, adamPreconditionedFeatures } from "../../features/adam";
import { RandomProjector } from "../../features/projection";
import { l2NormalizeRows } from "../../features/normalize";
import { loraParameterNames } from "../../train/lora-training";
import type { TrainingExample } from "../../train/lora-training";
import type { FeatureStoreWriter } from "../../features/feature-store";

/** Options of `gradientFeatures`: which side (pool or target), the shared projection, the Adam state and form, batching and streaming. */
export interface GradientFeatureOptions {
  /** "pool" → Adam-preconditioned with `adam`; "target" → the plain gradient. */
  role: "pool" | "target";
  /** The seeded random projection shared by pool and target rows (so their cosines are comparable). */
  projector: RandomProjector;
  /** The checkpoint's optimizer state (required for role "pool"). */
  adam?: AdamCheckpointState;
  /** LESS's form (default "less": no bias correction, ε inside the root) or "bias-corrected". */
  form?: AdamFeatureForm;
  /** Examples per per-example-gradient batch. Default 64. */
  batchSize?: number;
  /** Stream rows here instead of returning them. */
  sink?: FeatureStoreWriter;
}

function checkExamples(examples: readonly TrainingExample[]): void {
  if (!Array.isArray(examples) || examples.length === 0) throw new EmptyInputError("examples", "at least one encoded example");
}

/**
 * Per-example flat LoRA gradients, batch by batch: `onBatch(start, rows, losses)` receives the
 * gradients of examples start … start+rows.length−1 (valid after the call: they are fresh arrays).
 */
export function loraGradientRows(
  model: TinyTransformer, examples: readonly TrainingExample[], batchSize: number,
  onBatch: (start: number, rows: Float32Array[], losses: number[]) => void,
): void {
  checkExamples(examples);
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new InvalidArgumentError("batchSize", "a positive integer", batchSize);
  const names = loraParameterNames(model);
  for (let start = 0; start < examples.length; start += batchSize) {
    const rows = examples.slice(start, start + batchSize);
    // Prepared here with `start`, so an error names the caller's example index, not the batch row.
    const batch = prepareTokenBatch({ tokens: rows.map((r) => r.tokens), lossMask: rows.map((r) => r.lossMask) }, model.config.vocabSize, model.config.maxLen, start);
    const result = perExampleGradients<TokenBatch, PreparedTokenBatch>(model, batch, { fullVectors: true });
    if (result.matrices.length !== names.length || result.matrices.some((m, i) => m.name !== names[i])) {
      throw new ShapeError("per-example gradient groups", `the LoRA adapters in order (${names.join(", ")})`, result.matrices.map((m) => m.name).join(", "));
    }
    const size = result.matrices.reduce((s, m) => s + m.numel, 0);
    const flat = result.fullVectors!.map((parts) => {
      const row = new Float32Array(size);
      let offset = 0;
      for (const part of parts) { row.set(part, offset); offset += part.length; }
      return row;
    });
    onBatch(start, flat, result.losses);
  }
}

/** Projected, unit-normalised LESS features (see the module header). */
export function gradientFeatures(model: TinyTransformer, examples: readonly TrainingExample[], options: GradientFeatureOptions): Float32Array[] {
  if (options === undefined) throw new InvalidArgumentError("options", "{role, projector, …}");
  checkOptions("options", options, { role: option.any, projector: option.any, adam: option.object, form: option.any, batchSize: option.any, sink: option.object }); // role, projector, form, batchSize: below
  assertOneOf("options.role", options.role, ["pool", "target"]);
  if (!(options.projector instanceof RandomProjector)) throw new InvalidArgumentError("options.projector", "a RandomProjector (one shared by pool and target)", options.projector);
  if (options.role === "pool" && options.adam === undefined) throw new InvalidArgumentError("options.adam", "the checkpoint's Adam state for pool features");
  const out: Float32Array[] = [];
  loraGradientRows(model, examples, options.batchSize ?? 64, (_start, rows) => {
    const directions = options.role === "pool" ? adamPreconditionedFeatures(rows, options.adam!, { form: options.form ?? "less" }) : rows;
    const features = l2NormalizeRows(options.projector.project(directions), { zeroRows: "keep" });
    if (options.sink) options.sink.append(features); else for (const row of features) out.push(row);
  });
  return out;
}

/** Pool feature forms `poolFeatureForms` can stream: LESS's Adam form, the bias-corrected form, the plain gradient. */
export const POOL_FEATURE_FORMS = ["less", "bias-corrected", "sgd"] as const;
/** One of `POOL_FEATURE_FORMS`. */
export type PoolFeatureForm = (typeof POOL_FEATURE_FORMS)[number];

/** Options of `poolFeatureForms`. */
export interface PoolFeatureFormOptions {
  projector: RandomProjector;
  /** The checkpoint's optimizer state (for the Adam forms). */
  adam: AdamCheckpointState;
  /** One sink per form wanted. */
  sinks: Partial<Record<PoolFeatureForm, FeatureStoreWriter>>;
  /** Examples per per-example-gradient batch. Default 64. */
  batchSize?: number;
}

/** Pool features in several forms from one per-example gradient pass (each projected with the same projector, unit rows). */
export function poolFeatureForms(model: TinyTransformer, examples: readonly TrainingExample[], options: PoolFeatureFormOptions): void {
  checkOptions("options", options, { projector: option.any, adam: option.object, sinks: option.object, batchSize: option.positiveInteger });
  if (!(options.projector instanceof RandomProjector)) throw new InvalidArgumentError("options.projector", "a RandomProjector (one shared by pool and target)", options.projector);
  const forms = Object.keys(options.sinks) as PoolFeatureForm[];
  if (forms.length === 0) throw new InvalidArgumentError("options.sinks", `at least one of ${POOL_FEATURE_FORMS.join(", ")}`, options.sinks);
  forms.forEach((f) => assertOneOf("options.sinks", f, POOL_FEATURE_FORMS));
  loraGradientRows(model, examples, options.batchSize ?? 64, (_start, rows) => {
    for (const form of forms) {
      const directions = form === "sgd" ? rows : adamPreconditionedFeatures(rows, options.adam, { form });
      options.sinks[form]!.append(l2NormalizeRows(options.projector.project(directions), { zeroRows: "keep" }));
    }
  });
}

/** Mean over non-padding positions of the final hidden states (after the final norm). */
export function meanPooledHiddenStates(model: TinyTransformer, examples: readonly TrainingExample[], padId: number, batchSize = 64): Float32Array[] {
  checkExamples(examples);
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new InvalidArgumentError("batchSize", "a positive integer", batchSize);
  const d = model.config.dModel, out: Float32Array[] = [];
  for (let start = 0; start < examples.length; start += batchSize) {
    const rows = examples.slice(start, start + batchSize);
    const T = rows[0].tokens.length;
    readTokens("tokens", rows.map((r) => r.tokens), model.config.vocabSize, model.config.maxLen, 1, start); // names the caller's index
    const { logits, hidden } = model.forward(rows.map((r) => r.tokens), { returnHidden: true });
    const values = hidden.dataSync() as Float32Array;
    logits.dispose();
    hidden.dispose();
    rows.forEach((r, b) => {
      const sum = new Float64Array(d);
      let count = 0;
      r.tokens.forEach((token, t) => {
        if (token === padId) return;
        count++;
        for (let q = 0; q < d; q++) sum[q] += values[(b * T + t) * d + q];
      });
      out.push(Float32Array.from(sum, (x) => x / Math.max(1, count)));
    });
  }
  return out;
}
