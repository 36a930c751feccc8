/**
 * A user's tf.LayersModel (tf.sequential or tf.model) as a per-example model: the contract
 * (models/dense-sites.ts) that grads/perExampleGradients, prism/probeModel and
 * features/lessFeatures take.
 *
 * Groups: one per weight of every layer, named `<layer name>.<weight name>` ("hidden.kernel",
 * "hidden.bias"; a nested model's weights by their inner layer), with `layer` = the index in
 * `model.layers` of the layer that holds the weight and `module` = the weight's
 * own name ("kernel", "bias", "embeddings", "gamma" …), so `groups: ["kernel"]`, `["layer1"]`
 * or `["hidden.bias"]` select as for the built-in models. Full gradient vectors are in each
 * variable's own layout (a Dense kernel is [in, out]), the layout a tfjs optimizer's state has.
 *
 * Which strategy when:
 *  - "loop" is exact for every model: one forward + backward per example through the model's own
 *    layers (tf.Sequential / single-path models are run layer by layer, others by `model.apply`).
 *  - "batched" (what "auto" picks when allowed) is exact and much faster, and is allowed when
 *    (a) the model is a chain of layers, (b) every layer is of a type known to treat each example
 *    separately at inference (Dense, Activation, Dropout, Flatten, Reshape, Permute, RepeatVector,
 *    Embedding, LayerNormalization, BatchNormalization with its moving statistics), and (c) every
 *    selected weight is a Dense kernel or bias (the dense sites: other weights such as
 *    embeddings or conv kernels are only reachable by the loop). `batchedSupport` says why not.
 * Every layer runs in inference mode (Dropout off, BatchNormalization on moving statistics), so
 * a probe is a deterministic function of the weights. Backend note: tfjs 4.22's wasm backend has
 * no gradient for gather, so selecting Embedding weights needs the cpu (or tfjs-node) backend;
 * gradients of the layers after an Embedding work everywhere.
 */
import { tf } from "../tf";
import { InvalidArgumentError, ShapeError, assertOneOf } from "../errors";
import { checkOptions, option } from "../options";
import { LinearFn, ParameterGroup, PerExampleModel, plainLinear } from "./dense-sites";
import {
  LAYERS_LOSSES, LayersBatch, LayersLoss, PreparedLayersBatch, layersPerExampleLoss, product, readNested,
} from "./layers-batch";

/** Layer classes the batched strategy may run through (each example's rows stay its own). */
export const PER_EXAMPLE_LAYER_CLASSES = [
  "InputLayer", "Dense", "Activation", "Dropout", "Flatten", "Reshape", "Permute", "RepeatVector",
  "Embedding", "LayerNormalization", "BatchNormalization", "ReLU", "Softmax", "LeakyReLU", "ELU",
] as const;

/** Options of `fromLayersModel`. */
export interface LayersAdapterOptions {
  /** The per-example loss (see models/layers-batch.ts for which one matches your compile()). */
  loss: LayersLoss;
}

interface WeightEntry { group: ParameterGroup; variable: tf.Variable; role: "kernel" | "bias" | "other"; layer: tf.layers.Layer }

/** The internals of a Dense layer the adapter reads (tfjs-layers 4.x field names). */
interface DenseInternals { kernel: { read(): tf.Variable }; bias: { read(): tf.Variable } | null; activation: { apply(x: tf.Tensor): tf.Tensor } | null }

/**
 * Wraps `model` for per-example gradients. The adapter holds no weights of its own: it reads
 * the model's variables on every call, so training the model (model.fit) is seen by the next probe.
 *
 * @example
 * const net = tf.sequential({ layers: [tf.layers.dense({ units: 16, inputShape: [8], activation: "relu", name: "hidden" }),
 *                                      tf.layers.dense({ units: 3, activation: "softmax", name: "out" })] });
 * const model = lab.models.fromLayersModel(net, { loss: "sparse-categorical-crossentropy" });
 * const g = lab.grads.perExampleGradients(model, { inputs: x, targets: labels }); // g.norms[b][matrix]
 */
export function fromLayersModel(model: tf.LayersModel, options: LayersAdapterOptions): LayersModelAdapter {
  return new LayersModelAdapter(model, options);
}

/** A tf.LayersModel seen through the per-example contract; build it with `fromLayersModel`. */
export class LayersModelAdapter implements PerExampleModel<LayersBatch, PreparedLayersBatch> {
  readonly kind = "layers" as const;
  /** The wrapped tf.LayersModel. */
  readonly model: tf.LayersModel;
  /** The loss computed per example (from `options.loss`). */
  readonly loss: LayersLoss;
  /** Whether the model is a chain of layers, run layer by layer (dense sites through the LinearFn). */
  readonly isChain: boolean;
  private readonly entries: WeightEntry[];
  private readonly byName: Map<string, WeightEntry>;
  /** Group name of each Dense kernel / bias variable (the site name passed to the LinearFn). */
  private readonly siteOf: Map<tf.Variable, string>;

  constructor(model: tf.LayersModel, options: LayersAdapterOptions) {
    if (!(model instanceof tf.LayersModel)) throw new InvalidArgumentError("model", "a tf.LayersModel (tf.sequential or tf.model)", model);
    if (options === undefined || options === null) throw new InvalidArgumentError("options", "{ loss }");
    checkOptions("options", options, { loss: option.any });
    if (typeof options.loss !== "function") assertOneOf("options.loss", options.loss as string, LAYERS_LOSSES);
    if (model.inputs.length !== 1 || model.outputs.length !== 1) {
      throw new InvalidArgumentError("model", "a model with one input and one output", `${model.inputs.length} inputs, ${model.outputs.length} outputs`);
    }
    if (model.weights.length === 0) throw new InvalidArgumentError("model", "a built model with weights (give the first layer an inputShape)", model.name);
    this.model = model;
    this.loss = options.loss;
    this.isChain = isChain(model);
    this.entries = [];
    model.layers.forEach((layer, index) => {
      const dense = layer.getClassName() === "Dense" ? (layer as unknown as DenseInternals) : null;
      for (const w of layer.weights) {
        const variable = w.read() as tf.Variable;
        const short = w.originalName.slice(w.originalName.lastIndexOf("/") + 1);
        const role = dense && dense.kernel.read() === variable ? "kernel" : dense?.bias && dense.bias.read() === variable ? "bias" : "other";
        const shape = w.shape as number[];
        const group: ParameterGroup = {
          // The scoped name with "." for "/": "hidden/kernel" → "hidden.kernel"; a nested model's
          // weights keep their inner layer's name ("dense_Dense3.kernel"), so they stay distinct.
          name: w.originalName.split("/").join("."), layer: index, module: short, part: "weight",
          shape: shape.length === 0 ? [1, 1] : shape.length === 1 ? [shape[0], 1] : [product(shape.slice(0, -1)), shape[shape.length - 1]],
          trainable: layer.trainable && w.trainable,
        };
        if (role === "kernel") group.layout = "in-out";
        this.entries.push({ group, variable, role, layer });
      }
    });
    this.byName = new Map(this.entries.map((e) => [e.group.name, e]));
    this.siteOf = new Map(this.entries.map((e) => [e.variable, e.group.name]));
    if (this.byName.size !== this.entries.length) throw new InvalidArgumentError("model", "layers with distinct names (two weights share a name)");
  }

  /** Every weight of every layer, in layer order (see the module header for names). */
  parameterGroups(): ParameterGroup[] {
    return this.entries.map((e) => ({ ...e.group, shape: [e.group.shape[0], e.group.shape[1]] }));
  }

  /** The model's variable behind a group name. */
  weight(name: string): tf.Variable {
    const entry = this.byName.get(name);
    if (entry === undefined) throw new InvalidArgumentError("name", `a weight of this model (${[...this.byName.keys()].join(", ")})`, name);
    return entry.variable;
  }

  /** `null` when the batched strategy is exact for `groups`, else the reason (module header). */
  batchedSupport(groups: readonly ParameterGroup[]): string | null {
    if (!this.isChain) return "the model is not a chain of layers, so it runs through model.apply, where no dense site can be recorded";
    for (const layer of this.model.layers) {
      const cls = layer.getClassName();
      if (!(PER_EXAMPLE_LAYER_CLASSES as readonly string[]).includes(cls)) return `layer ${layer.name} is a ${cls}, not a layer type known to treat each example separately`;
    }
    for (const g of groups) {
      const entry = this.byName.get(g.name);
      if (entry === undefined || entry.role === "other") return `${g.name} is not a Dense kernel or bias`;
    }
    return null;
  }

  /** Validates inputs against the model's input shape and targets against the loss. */
  prepareBatch(batch: LayersBatch | PreparedLayersBatch): PreparedLayersBatch {
    if (batch instanceof PreparedLayersBatch) return batch;
    if (batch === null || typeof batch !== "object") throw new InvalidArgumentError("batch", "an object {inputs, targets}", batch);
    const inputs = readNested("batch.inputs", batch.inputs);
    const B = inputs.shape[0];
    const expected = this.model.inputs[0].shape.slice(1);
    if (inputs.shape.length !== expected.length + 1 || expected.some((d, i) => d !== null && d !== inputs.shape[i + 1])) {
      throw new ShapeError("batch.inputs", `[batch, ${expected.map((d) => d ?? "any").join(", ")}]`, inputs.shape);
    }
    if (batch.targets === undefined) throw new InvalidArgumentError("batch.targets", "targets for every example");
    const targets = readNested("batch.targets", batch.targets);
    if (targets.shape[0] !== B) throw new ShapeError("batch.targets", `[${B}, …] (one target per input row)`, targets.shape);
    if (this.loss === "sparse-categorical-crossentropy" || this.loss === "sparse-categorical-crossentropy-logits") {
      const classes = this.model.outputs[0].shape[this.model.outputs[0].shape.length - 1];
      if (product(targets.shape.slice(1)) !== 1) throw new ShapeError("batch.targets", `class ids [${B}]`, targets.shape);
      targets.values.forEach((v, i) => {
        if (!Number.isInteger(v) || v < 0 || (classes !== null && v >= classes)) throw new InvalidArgumentError(`batch.targets[${i}]`, `a class id in [0, ${classes})`, v);
      });
      return new PreparedLayersBatch(inputs.values, inputs.shape.slice(1), targets.values, [], B);
    }
    if (this.loss === "mean-squared-error") {
      const out = this.model.outputs[0].shape.slice(1);
      if (targets.shape.length !== out.length + 1 || out.some((d, i) => d !== null && d !== targets.shape[i + 1])) {
        throw new ShapeError("batch.targets", `[batch, ${out.map((d) => d ?? "any").join(", ")}] (the output's shape)`, targets.shape);
      }
    }
    return new PreparedLayersBatch(inputs.values, inputs.shape.slice(1), targets.values, targets.shape.slice(1), B);
  }

  /** The model's outputs [B, …] in inference mode (caller disposes). */
  predict(batch: LayersBatch | PreparedLayersBatch): tf.Tensor {
    const p = this.prepareBatch(batch);
    return tf.tidy(() => this.run(p.inputTensor(), plainLinear));
  }

  /** Loss of each example [B] (mean = the model's training loss). Dense sites go through `linear`. */
  perExampleLosses(batch: LayersBatch | PreparedLayersBatch, linear: LinearFn = plainLinear): tf.Tensor1D {
    const p = this.prepareBatch(batch);
    return tf.tidy(() => layersPerExampleLoss(this.loss, this.run(p.inputTensor(), linear), p.targetTensor()));
  }

  private run(x: tf.Tensor, linear: LinearFn): tf.Tensor {
    if (!this.isChain) return this.model.apply(x, { training: false }) as tf.Tensor;
    let h = x;
    for (const layer of this.model.layers) {
      const cls = layer.getClassName();
      if (cls === "InputLayer") continue;
      h = cls === "Dense" ? this.dense(layer, h, linear) : (layer.apply(h, { training: false }) as tf.Tensor);
    }
    return h;
  }

  /** A Dense layer with its kernel and bias as LinearFn sites: y = act(x·K + 1·bᵀ). */
  private dense(layer: tf.layers.Layer, x: tf.Tensor, linear: LinearFn): tf.Tensor {
    const d = layer as unknown as DenseInternals;
    const kernel = d.kernel.read(), [inDim, out] = kernel.shape as [number, number];
    const rows = tf.reshape(x, [-1, inDim]) as tf.Tensor2D;
    let y = linear(this.siteOf.get(kernel) as string, rows, tf.transpose(kernel) as tf.Tensor2D);
    if (d.bias !== null) {
      const bias = d.bias.read();
      // The bias as a site with input 1: its per-example gradient Σ_t δ_t is then recorded like a matrix's.
      y = tf.add(y, linear(this.siteOf.get(bias) as string, tf.ones([rows.shape[0], 1]) as tf.Tensor2D, tf.reshape(bias, [out, 1]) as tf.Tensor2D));
    }
    if (d.activation !== null) y = d.activation.apply(y) as tf.Tensor2D;
    return tf.reshape(y, [...x.shape.slice(0, -1), out]);
  }
}

/** A tf.Sequential, or a functional model whose layers form one path in `model.layers` order. */
function isChain(model: tf.LayersModel): boolean {
  const layers = model.layers;
  return layers.every((layer, i) => {
    if (i === 0) return true;
    const nodes = layer.inboundNodes;
    return nodes.length === 1 && nodes[0].inboundLayers.length === 1 && nodes[0].inboundLayers[0] === layers[i - 1];
  });
}
