/**
 * Turns a bridge output (bridge/read.ts) into the objects gradlab's methods consume:
 *
 *  - `bridgeToProbeResult(output)`: a PRISM ProbeResult (prism/probe.ts), so `routeByMetric`,
 *    `probeRecords`, `probeDataFrame`, concentration plots and the routing rules run unchanged on
 *    PyTorch-computed probe vectors. Normalisation "sqrt-numel" divides by √numel as the probe does.
 *  - `bridgeFeatures(output)`: the projected plain per-example gradients of the full weights
 *    (Float32Array rows; normalise them with features/l2NormalizeRows for cosines). These are NOT
 *    LESS features (no LoRA, no warm-up checkpoint, no Adam preconditioning, which must come before
 *    the projection): for LESS / G2IS on a PyTorch model use scripts/torch_less.py and
 *    bridge.readLessFeatures (bridge/less.ts).
 *  - `bridgeProjector(output)`: a RandomProjector with the run's exact R (same seed, dim,
 *    blockRows and matrix order), to project gradients computed in gradlab (e.g. target examples)
 *    into the same feature space as the PyTorch pool.
 */
import { assertKnownKeys, assertOneOf, InvalidArgumentError } from "../errors";
import { concentrationScores, METRIC_NAMES, MetricName } from "../metrics/concentration";
import { PROBE_NORMALISATIONS, ProbeNormalisation, ProbeResult } from "../prism/probe";
import { RandomProjector } from "../features/projection";
import type { MatrixInfo } from "../grads/groups";
import type { BridgeOutput } from "./read";

/** Options of `bridgeToProbeResult`: normalisation (default "raw") and metrics (default all). */
export interface BridgeProbeOptions {
  normalisation?: ProbeNormalisation;
  metrics?: MetricName[];
}

/**
 * A bridge output as a PRISM ProbeResult, so `routeByMetric`, `probeRecords` and the plots run
 * unchanged on PyTorch-computed probe vectors. `normalisation: "sqrt-numel"` divides by √numel as
 * the probe does.
 *
 * @example
 * ```ts
 * const output = lab.bridge.readBridgeOutput("runs/torch-probe");
 * const probe = lab.bridge.bridgeToProbeResult(output, { metrics: ["gini"] });
 * const routing = lab.prism.routeByMetric(probe, "gini", { rule: "median" });
 * ```
 */
export function bridgeToProbeResult(output: BridgeOutput, options: BridgeProbeOptions = {}): ProbeResult {
  assertKnownKeys("options", options, ["normalisation", "metrics"]);
  const normalisation = options.normalisation ?? "raw";
  assertOneOf("options.normalisation", normalisation, PROBE_NORMALISATIONS);
  const metrics = options.metrics ?? METRIC_NAMES;
  metrics.forEach((m, i) => assertOneOf(`options.metrics[${i}]`, m, METRIC_NAMES));
  const { manifest } = output;
  const matrices: MatrixInfo[] = manifest.matrices.map((m) => ({
    name: m.name, layer: m.layer, module: m.module, part: "weight", shape: [m.shape[0], m.shape[1]], numel: m.numel,
  }));
  const scale = matrices.map((m) => (normalisation === "sqrt-numel" ? 1 / Math.sqrt(m.numel) : 1));
  const vectors = output.norms.map((row) => row.map((v, j) => v * scale[j]));
  const rows = concentrationScores(vectors, metrics);
  const scores = {} as Record<MetricName, number[]>;
  for (const m of metrics) scores[m] = rows.map((row) => row[m]);
  const examples = output.norms.map((_, i) => {
    const e = output.examples?.[i];
    const out: { id?: string; label?: boolean; group?: string } = { id: e?.id !== undefined ? String(e.id) : e !== undefined ? `line${e.line}` : undefined };
    if (typeof e?.label === "boolean") out.label = e.label;
    if (e?.group !== undefined) out.group = String(e.group);
    return out;
  });
  return {
    matrices, vectors, scores, normalisation, examples,
    // Without losses the table shows NaN rather than a made-up 0.
    losses: output.losses ?? output.norms.map(() => NaN),
    contextLength: manifest.context_length ?? Math.max(0, ...(output.examples ?? []).map((e) => e.n_tokens)),
    seconds: manifest.seconds ?? 0,
  };
}

/**
 * The bridge run's projected plain per-example gradients (features.npy) as Float32Array rows. Not
 * LESS features (no Adam preconditioning); for LESS use scripts/torch_less.py and
 * `bridge.readLessFeatures`.
 */
export function bridgeFeatures(output: BridgeOutput): Float32Array[] {
  if (output.features === undefined) {
    throw new InvalidArgumentError("output.features", "a bridge run made with --project D --seed S (this run has no features.npy)");
  }
  return output.features;
}

/** The RandomProjector that reproduces the run's projection (groups = matrices in manifest order). */
export function bridgeProjector(output: BridgeOutput, options: { batchSize?: number; cacheBytes?: number } = {}): RandomProjector {
  assertKnownKeys("options", options, ["batchSize", "cacheBytes"]);
  const p = output.manifest.projection;
  if (p === null || output.manifest.seed === null) {
    throw new InvalidArgumentError("output.manifest.projection", "a bridge run made with --project D --seed S");
  }
  return new RandomProjector({
    groups: output.manifest.matrices.map((m) => ({ name: m.name, size: m.numel })),
    outputDim: p.dim, kind: p.kind, seed: output.manifest.seed, blockRows: p.blockRows, ...options,
  });
}
