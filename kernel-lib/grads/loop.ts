/**
 * The loop oracle: one forward + backward per example with tf.valueAndGrads of that example's
 * loss with respect to the selected matrices. Obviously correct and slow (B small backward
 * passes); the batched strategy is tested against it.
 *
 * Per-position norms use zero probes, independent of the batched code: for matrix W and position
 * p the projection becomes y = x·Wᵀ + (e_p ⊙ x)·E_pᵀ with E_p = 0 (e_p selects row p). The
 * forward value does not change, ∂L/∂W does not change, and ∂L/∂E_p = δ_pᵀ x_p — exactly the
 * position's rank-1 term of the gradient, whose Frobenius norm is the per-position norm.
 */
import { tf } from "../tf";
import { LinearFn, ParameterGroup, PerExampleModel, PreparedBatch, plainLinear } from "../models/dense-sites";
import { ENGINE_OPTION_SPEC, type EngineOptions, type RawPerExample } from "./per-example";
import { checkOptions } from "../options";

/**
 * The loop per-example strategy (one forward + backward per example): the oracle for the batched
 * one. Usually called through `perExampleGradients`.
 */
export function loopPerExample<TPrepared extends PreparedBatch>(
  model: PerExampleModel<unknown, TPrepared>, batch: TPrepared, groups: readonly ParameterGroup[], options: EngineOptions,
): RawPerExample {
  checkOptions("options", options, ENGINE_OPTION_SPEC);
  const positions = options.positions ?? [];
  const weights = groups.map((g) => model.weight(g.name));
  const slot = new Map(groups.map((g, i) => [g.name, i]));
  const raw: RawPerExample = { losses: [], norms: [] };
  if (positions.length > 0) raw.positionNorms = [];
  if (options.fullVectors) raw.fullVectors = [];

  for (let b = 0; b < batch.size; b++) {
    const example = batch.example(b) as TPrepared;
    tf.tidy(() => {
      const probes = groups.map((g) => positions.map(() => tf.zeros(g.shape) as tf.Tensor2D));
      const rowsSeen = new Map<string, number>();
      const linear: LinearFn = (site, x, w) => {
        const gi = slot.get(site);
        let y = plainLinear(site, x, w);
        if (gi === undefined || positions.length === 0) return y;
        // Rows of one example accumulate over calls (a GRU calls its recurrent matrix per step).
        const rows = x.shape[0], offset = rowsSeen.get(site) ?? 0;
        rowsSeen.set(site, offset + rows);
        positions.forEach((p, pi) => {
          if (p < offset || p >= offset + rows) return;
          const select = new Float32Array(rows);
          select[p - offset] = 1;
          // The probe has the variable's layout: [out, in] (transposed here) or [in, out].
          y = tf.add(y, tf.matMul(tf.mul(x, tf.tensor2d(select, [rows, 1])), probes[gi][pi], false, groups[gi].layout !== "in-out"));
        });
        return y;
      };
      // One example: the sum of the [1] per-example losses is that example's loss.
      const { value, grads } = tf.valueAndGrads(() => tf.sum(model.perExampleLosses(example, linear)))([...weights, ...probes.flat()]);
      const n = groups.length;
      const sq = tf.stack(grads.slice(0, n).map((g) => tf.sum(tf.square(g))));
      raw.losses.push(value.dataSync()[0]);
      raw.norms.push(Array.from(sq.dataSync(), (s) => Math.sqrt(s)));
      if (raw.positionNorms) {
        const probeNorms = tf.stack(grads.slice(n).map((g) => tf.sqrt(tf.sum(tf.square(g))))).dataSync();
        // probes were flattened group-major: index gi·P + pi.
        raw.positionNorms.push(positions.map((_, pi) => groups.map((_g, gi) => probeNorms[gi * positions.length + pi])));
      }
      if (raw.fullVectors) raw.fullVectors.push(grads.slice(0, n).map((g) => new Float32Array(g.dataSync())));
    });
  }
  return raw;
}
