/**
 * Merges the shard folders of one sharded scripts/torch_probe.py run (`--shard i/n`, each shard its
 * own --out) into one BridgeOutput, as if one job had computed every row.
 *
 * Each folder is read and validated by `readBridgeOutput` (complete, shapes, finite values); then
 * the shards must come from one run — the same model, data, mask rule, matrices, projection and
 * seed, and the same shard count — and every shard 0 … n−1 must be there exactly once. Shards are
 * contiguous row ranges, so concatenating them in shard order restores the data order. The merged
 * manifest is the first shard's with n_examples = the total and shard = {0, 1, 0, total, total}.
 */
import { EmptyInputError, InvalidArgumentError } from "../errors";
import { BridgeManifest, BridgeOutput, readBridgeOutput } from "./read";

/** The settings every shard of one run shares. */
function runKey(m: BridgeManifest): string {
  return JSON.stringify({
    model: m.model, data: m.data.sha256, mask: m.mask_rule, matrices: m.matrices.map((x) => [x.name, x.shape]),
    projection: m.projection === null ? null : [m.projection.kind, m.projection.dim, m.projection.blockRows], seed: m.seed,
    count: m.shard?.count ?? 1, total: m.shard?.total ?? m.n_examples,
  });
}

/**
 * All shards of one torch_probe.py run, merged (folders in any order; one folder works too).
 *
 * @example
 * const output = lab.bridge.readBridgeOutputs(["runs/probe.shard-0", "runs/probe.shard-1"]);
 * const probe = lab.bridge.bridgeToProbeResult(output);
 */
export function readBridgeOutputs(dirs: string | readonly string[]): BridgeOutput {
  const list = typeof dirs === "string" ? [dirs] : dirs;
  if (!Array.isArray(list)) throw new InvalidArgumentError("dirs", "a folder or an array of shard folders", dirs);
  if (list.length === 0) throw new EmptyInputError("dirs", "at least one folder");
  const outputs = list.map((dir) => readBridgeOutput(dir));
  const key = runKey(outputs[0].manifest);
  for (const o of outputs) {
    if (runKey(o.manifest) !== key) throw new InvalidArgumentError("dirs", `shards of one run (${o.dir} has other settings than ${outputs[0].dir})`, o.dir);
  }
  const index = (o: BridgeOutput) => o.manifest.shard?.index ?? 0;
  outputs.sort((a, b) => index(a) - index(b));
  const count = outputs[0].manifest.shard?.count ?? 1;
  const given = outputs.map(index);
  const missing = Array.from({ length: count }, (_, i) => i).filter((i) => !given.includes(i));
  if (missing.length > 0 || given.length !== count) {
    throw new InvalidArgumentError("dirs", `every shard 0…${count - 1} exactly once (missing: ${missing.join(", ") || "none"}; given: ${given.join(", ")})`, list);
  }
  if (outputs.length === 1) return outputs[0];
  const total = outputs.reduce((n, o) => n + o.manifest.n_examples, 0);
  const first = outputs[0];
  const manifest: BridgeManifest = {
    ...first.manifest, n_examples: total, shard: { index: 0, count: 1, start: 0, end: total, total },
    context_length: Math.max(...outputs.map((o) => o.manifest.context_length ?? 0)),
    seconds: outputs.reduce((s, o) => s + (o.manifest.seconds ?? 0), 0),
  };
  const merged: BridgeOutput = { dir: first.dir, manifest, norms: outputs.flatMap((o) => o.norms) };
  if (outputs.every((o) => o.losses !== undefined)) merged.losses = outputs.flatMap((o) => o.losses as number[]);
  if (outputs.every((o) => o.features !== undefined)) merged.features = outputs.flatMap((o) => o.features as Float32Array[]);
  if (outputs.every((o) => o.examples !== undefined)) merged.examples = outputs.flatMap((o) => o.examples!);
  return merged;
}
