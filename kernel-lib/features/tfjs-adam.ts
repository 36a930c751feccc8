/**
 * A tfjs Adam optimizer's state as a LESS checkpoint state: the first and second moments of the
 * selected weights, flattened in the per-example model's group order (each weight in its
 * variable's own layout, the layout of grads' full vectors), plus the step count and the
 * optimizer's β1, β2, ε. Feed it to `lessFeatures({role: "pool", adam})` or
 * `adamPreconditionedFeatures`.
 *
 * tfjs's Adam (tf.train.adam, and model.compile({optimizer: "adam"})) updates exactly as PyTorch's
 * does: bias-corrected, ε outside the root, default ε = 1e-7 (the backend's epsilon, not 1e-8).
 * The moments are read through the optimizer's public `getWeights()` (names `<variable>/m`,
 * `<variable>/v`), matched to the model's variables by name, so the order in which the optimizer
 * first saw them does not matter. A weight the optimizer never updated is an error, not zeros.
 */
import { tf } from "../tf";
import { InvalidArgumentError, ShapeError } from "../errors";
import { checkOptions, option } from "../options";
import type { PerExampleModel } from "../models/dense-sites";
import { selectGroups } from "../grads/groups";
import type { AdamCheckpointState } from "./adam";

/** Options of `adamStateFromOptimizer`. */
export interface OptimizerStateOptions {
  /** The weights whose moments to read (grads/groups.ts tokens); must match the features' groups. Default "trainable". */
  groups?: string[];
}

/**
 * The LESS checkpoint state of `optimizer` for `model`'s selected weights (see the module header).
 * Copies every moment, so later training does not change the returned state.
 *
 * @example
 * const optimizer = tf.train.adam(1e-3);
 * net.compile({ optimizer, loss: "sparseCategoricalCrossentropy" });
 * await net.fit(x, y, { epochs: 2 });
 * const adam = await lab.features.adamStateFromOptimizer(optimizer, lab.models.fromLayersModel(net, { loss: "sparse-categorical-crossentropy" }));
 */
export async function adamStateFromOptimizer(
  optimizer: tf.AdamOptimizer, model: Pick<PerExampleModel<unknown>, "parameterGroups" | "weight">, options?: OptimizerStateOptions,
): Promise<Required<AdamCheckpointState>> {
  if (!(optimizer instanceof tf.AdamOptimizer)) throw new InvalidArgumentError("optimizer", "a tfjs Adam optimizer (tf.train.adam)", optimizer);
  checkOptions("options", options, { groups: option.array });
  if (model === null || typeof model !== "object" || typeof model.parameterGroups !== "function") {
    throw new InvalidArgumentError("model", "a per-example model (e.g. models.fromLayersModel(net, …))", model);
  }
  const groups = selectGroups(model.parameterGroups(), options?.groups);
  const named = await optimizer.getWeights();
  try {
    const byName = new Map(named.map((w) => [w.name, w.tensor]));
    const P = groups.reduce((n, g) => n + g.shape[0] * g.shape[1], 0);
    const m = new Float32Array(P), v = new Float32Array(P);
    let offset = 0;
    for (const g of groups) {
      const variableName = model.weight(g.name).name;
      const first = byName.get(`${variableName}/m`), second = byName.get(`${variableName}/v`);
      if (first === undefined || second === undefined) {
        throw new InvalidArgumentError("optimizer", `moments for ${g.name} (variable ${variableName}): the optimizer has not updated it; train first or narrow options.groups`);
      }
      const size = g.shape[0] * g.shape[1];
      if (first.size !== size || second.size !== size) throw new ShapeError(`optimizer state of ${g.name}`, `${size} values`, first.shape);
      m.set(first.dataSync() as Float32Array, offset);
      v.set(second.dataSync() as Float32Array, offset);
      offset += size;
    }
    const config = optimizer.getConfig() as { beta1: number; beta2: number; epsilon: number };
    return { m, v, step: optimizer.iterations, beta1: config.beta1, beta2: config.beta2, eps: config.epsilon };
  } finally {
    // getWeights() returns the optimizer's own variables plus one fresh scalar: the iteration count.
    for (const w of named) if (w.name === "iter") w.tensor.dispose();
  }
}
