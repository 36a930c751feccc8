/**
 * The jobs a compute worker runs (thread-pool.ts) and the code that runs them — the same library
 * functions the single-thread path calls, on a slice of the examples or rows. Inputs and results
 * are plain data (structured-cloneable): a model travels as `serializeModel` bytes.
 */
import type { ProbeExample, ProbeOptions, ProbeResult } from "../prism/probe";
import type { TrainingExample } from "../train/lora-training";
import type { AdamCheckpointState, AdamFeatureForm } from "../features/adam";
import type { RandomProjectorOptions } from "../features/projection";

/** A model as `serializeModel` bytes and their hash (a worker keeps the last model it built per hash). */
export interface ModelPayload { bytes: Uint8Array; hash: string }

/** PRISM probe of a slice of trajectories. */
export interface ProbeJob { kind: "probe"; model: ModelPayload; examples: ProbeExample[]; options: ProbeOptions }
/** LESS gradient features of a slice of examples. */
export interface FeatureJob {
  kind: "gradient-features"; model: ModelPayload; examples: TrainingExample[];
  role: "pool" | "target"; projector: RandomProjectorOptions; adam?: AdamCheckpointState; form?: AdamFeatureForm; batchSize?: number;
}
/** Partial exact top-k lists of all rows from some block pairs of unit-normalised rows (g2is/knn-exact.ts). */
export interface KnnPairsJob { kind: "knn-pairs"; unit: Float32Array; n: number; d: number; k: number; blockRows: number; pairs: Array<[number, number]> }

export type ComputeJob = ProbeJob | FeatureJob | KnnPairsJob;

/** What each job kind returns. */
export type ComputeResult<J extends ComputeJob> =
  J extends ProbeJob ? ProbeResult :
  J extends FeatureJob ? Float32Array[] :
  J extends KnnPairsJob ? import("../g2is/knn-exact").TopK : never;

/** The hash that names a model payload (sha-1 of its bytes). */
export function modelPayload(bytes: Buffer): ModelPayload {
  const { createHash } = require("node:crypto") as typeof import("node:crypto");
  return { bytes, hash: createHash("sha1").update(bytes).digest("hex") };
}

// The last model this thread built: a pool serving many slices of one call (or many calls on one
// model) rebuilds it only when the weights change.
let cached: { hash: string; model: import("../models/transformer").TinyTransformer } | null = null;

function transformerOf(payload: ModelPayload, label: string): import("../models/transformer").TinyTransformer {
  if (cached !== null && cached.hash === payload.hash) return cached.model;
  const { deserializeModel } = require("../models/io") as typeof import("../models/io");
  const { TinyTransformer } = require("../models/transformer") as typeof import("../models/transformer");
  const model = deserializeModel(Buffer.from(payload.bytes), label);
  if (!(model instanceof TinyTransformer)) {
    model.dispose();
    throw new Error(`${label}: a TinyTransformer is needed`);
  }
  cached?.model.dispose();
  cached = { hash: payload.hash, model };
  return model;
}

/** Runs one job in this thread (the worker calls it; tests may too). Lazy imports keep a worker's start-up small. */
export function runComputeJob(job: ComputeJob): unknown {
  switch (job.kind) {
    case "probe": {
      const { probeTrajectories } = require("../prism/probe") as typeof import("../prism/probe");
      return probeTrajectories(transformerOf(job.model, "probe job model"), job.examples, job.options);
    }
    case "gradient-features": {
      const { gradientFeatures } = require("../studies/g2is/features") as typeof import("../studies/g2is/features");
      const { RandomProjector } = require("../features/projection") as typeof import("../features/projection");
      const model = transformerOf(job.model, "feature job model");
      return gradientFeatures(model, job.examples, { role: job.role, projector: new RandomProjector(job.projector), adam: job.adam, form: job.form, batchSize: job.batchSize });
    }
    case "knn-pairs": {
      const { accumulatePairs, emptyTopK } = require("../g2is/knn-exact") as typeof import("../g2is/knn-exact");
      const top = emptyTopK(job.n, job.k);
      accumulatePairs(top, job.unit, job.d, job.blockRows, job.pairs);
      return top;
    }
  }
}
