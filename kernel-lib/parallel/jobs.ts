/**
 * The jobs a compute worker runs (thread-pool.ts) and the code that runs them — the same library
 * functions the single-thread path calls, on a slice of the examples or rows. Inputs and results
 * are plain data (structured-cloneable): a model travels as `serializeModel` bytes.
 */
import type { ProbeExample, ProbeOptions, ProbeResult } from "../prism/probe";
import type { TrainingExample } from "../g2is/pipeline/lora-training";
import type { AdamCheckpointState, AdamFeatureForm } from "../features/adam";
import type { RandomProjectorOptions } from "../features/projection";

/** PRISM probe of a slice of trajectories. */
export interface ProbeJob { kind: "probe"; model: Uint8Array; examples: ProbeExample[]; options: ProbeOptions }
/** LESS gradient features of a slice of examples. */
export interface FeatureJob {
  kind: "gradient-features"; model: Uint8Array; examples: TrainingExample[];
  role: "pool" | "target"; projector: RandomProjectorOptions; adam?: AdamCheckpointState; form?: AdamFeatureForm; batchSize?: number;
}
/** Exact top-k neighbours of rows rowStart … rowEnd−1 of unit-normalised rows. */
export interface KnnRowsJob { kind: "knn-rows"; unit: Float32Array; n: number; d: number; rowStart: number; rowEnd: number; k: number; blockRows: number }

export type ComputeJob = ProbeJob | FeatureJob | KnnRowsJob;

/** What each job kind returns. */
export type ComputeResult<J extends ComputeJob> =
  J extends ProbeJob ? ProbeResult :
  J extends FeatureJob ? Float32Array[] :
  J extends KnnRowsJob ? { neighbors: Int32Array; similarities: Float32Array } : never;

/** Runs one job in this thread (the worker calls it; tests may too). Lazy imports keep a worker's start-up small. */
export function runComputeJob(job: ComputeJob): unknown {
  switch (job.kind) {
    case "probe": {
      const { deserializeModel } = require("../models/io") as typeof import("../models/io");
      const { probeTrajectories } = require("../prism/probe") as typeof import("../prism/probe");
      const { TinyTransformer } = require("../models/transformer") as typeof import("../models/transformer");
      const model = deserializeModel(Buffer.from(job.model), "probe job model");
      try {
        if (!(model instanceof TinyTransformer)) throw new Error("probe jobs take a TinyTransformer");
        return probeTrajectories(model, job.examples, job.options);
      } finally {
        model.dispose();
      }
    }
    case "gradient-features": {
      const { deserializeModel } = require("../models/io") as typeof import("../models/io");
      const { gradientFeatures } = require("../g2is/pipeline/features") as typeof import("../g2is/pipeline/features");
      const { RandomProjector } = require("../features/projection") as typeof import("../features/projection");
      const { TinyTransformer } = require("../models/transformer") as typeof import("../models/transformer");
      const model = deserializeModel(Buffer.from(job.model), "feature job model");
      try {
        if (!(model instanceof TinyTransformer)) throw new Error("feature jobs take a TinyTransformer");
        return gradientFeatures(model, job.examples, { role: job.role, projector: new RandomProjector(job.projector), adam: job.adam, form: job.form, batchSize: job.batchSize });
      } finally {
        model.dispose();
      }
    }
    case "knn-rows": {
      const { exactKnnRows } = require("../g2is/knn-graph") as typeof import("../g2is/knn-graph");
      return exactKnnRows(job.unit, job.n, job.d, job.rowStart, job.rowEnd, job.k, job.blockRows);
    }
  }
}
