/**
 * LoRA adapters for the tiny transformer: W x becomes W x + (alpha/r)·B(A x) for the chosen
 * matrices, with A [r, in] drawn U(±1/√in) (PEFT's default scale) and B [out, r] zero, so an
 * adapted model starts out computing exactly what the base model computes. While attached, every
 * base weight is frozen (trainable = false) and only the A/B pairs train — `trainableVariables()`
 * returns just them. Detach to unfreeze and drop the adapters.
 *
 * Each adapter product goes through the model's LinearFn as its own dense site
 * (`layer0.q.loraA` with input x, `layer0.q.loraB` with input (alpha/r)·A x), so per-example
 * gradients of A and B (LESS-style LoRA gradient features) come out of grads/ exactly like the
 * base matrices'. Use module types ("q", "v") as targets to adapt a module in every layer.
 */
import { tf } from "../tf";
import { EmptyInputError, InvalidArgumentError, UnknownOptionError, assertKnownKeys } from "../errors";
import { Rng, Seed } from "../random";
import { LinearFn, ParameterGroup } from "./dense-sites";
import { WeightStore, assertInteger, matrixShape, uniformValues } from "./weights";
import type { TinyTransformer } from "./transformer";

/** Options of LoRA adapters: target matrices, rank, alpha and seed. */
export interface LoraOptions {
  /** Matrix names ("layer0.q") or module types ("q" = every layer's q). Default ["q", "v"]. */
  targets?: string[];
  rank: number;
  /** Scale numerator: the update is (alpha / rank)·B·A. Default = rank (scale 1). */
  alpha?: number;
  seed: Seed;
}

/** LoraOptions with every default filled in. */
export interface ResolvedLoraOptions { targets: string[]; rank: number; alpha: number; seed: Seed }

/**
 * LoRA adapters on a model's matrices: W x becomes W x + (alpha/r)·B(A x), B zero at start (so the
 * adapted model computes what the base does), base weights frozen while attached. Each A and B is a
 * dense site, so per-example gradients of the adapters come out of `perExampleGradients`. Usually
 * attached with `attachLora`.
 */
export class LoraAdapters {
  /** The options with every default filled in. */
  readonly options: ResolvedLoraOptions;
  /** The adapter scale alpha / rank. */
  readonly scale: number;
  private readonly store = new WeightStore();
  private readonly bases: ParameterGroup[];

  /** `baseGroups`: the model's matrices; `options.targets` picks among them. */
  constructor(baseGroups: readonly ParameterGroup[], options: LoraOptions) {
    if (options === null || typeof options !== "object") throw new InvalidArgumentError("options", "a LoraOptions object", options);
    assertKnownKeys("options", options, ["targets", "rank", "alpha", "seed"]);
    assertInteger("options.rank", options.rank, 1);
    const alpha = options.alpha ?? options.rank;
    if (!(alpha > 0) || !Number.isFinite(alpha)) throw new InvalidArgumentError("options.alpha", "a finite number > 0", alpha);
    this.bases = resolveTargets(baseGroups.filter((g) => g.part === "weight"), options.targets ?? ["q", "v"]);
    this.options = { targets: this.bases.map((g) => g.name), rank: options.rank, alpha, seed: options.seed };
    this.scale = alpha / options.rank;
    const rng = new Rng(options.seed).derive("lora-init");
    for (const g of this.bases) {
      const [out, inDim] = g.shape;
      if (options.rank > Math.min(out, inDim)) throw new InvalidArgumentError("options.rank", `at most min(out, in) = ${Math.min(out, inDim)} for ${g.name}`, options.rank);
      this.store.add(`${g.name}.loraA`, uniformValues(rng.derive(g.name), options.rank * inDim, 1 / Math.sqrt(inDim)), [options.rank, inDim]);
      this.store.add(`${g.name}.loraB`, new Float32Array(out * options.rank), [out, options.rank]);
    }
  }

  /**
   * The adapter matrices as parameter groups (each A and B is a dense site), for
   * `perExampleGradients`.
   */
  parameterGroups(): ParameterGroup[] {
    return this.bases.flatMap((g): ParameterGroup[] => {
      const a = this.store.get(`${g.name}.loraA`), b = this.store.get(`${g.name}.loraB`);
      return [
        { name: `${g.name}.loraA`, layer: g.layer, module: g.module, part: "loraA", shape: matrixShape(a), trainable: a.trainable },
        { name: `${g.name}.loraB`, layer: g.layer, module: g.module, part: "loraB", shape: matrixShape(b), trainable: b.trainable },
      ];
    });
  }

  /** The adapter variable of that name, or undefined if it is not an adapter. */
  weight(name: string): tf.Variable | undefined {
    return this.store.has(name) ? this.store.get(name) : undefined;
  }

  /** Every adapter variable with its name ("layer0.q.loraA", …). */
  named(): Array<{ name: string; variable: tf.Variable }> {
    return this.store.named();
  }

  /** base + scale·B(A x) if `name` is adapted, else base. */
  apply(name: string, x: tf.Tensor2D, base: tf.Tensor2D, linear: LinearFn): tf.Tensor2D {
    if (!this.store.has(`${name}.loraA`)) return base;
    const down = linear(`${name}.loraA`, x, this.store.get(`${name}.loraA`) as tf.Tensor2D);
    return tf.add(base, linear(`${name}.loraB`, tf.mul(down, this.scale), this.store.get(`${name}.loraB`) as tf.Tensor2D));
  }

  /** Frees the adapters' memory. */
  dispose(): void {
    this.store.dispose();
  }
}

function resolveTargets(groups: readonly ParameterGroup[], targets: readonly string[]): ParameterGroup[] {
  if (!Array.isArray(targets)) throw new InvalidArgumentError("options.targets", "an array of matrix names or module types", targets);
  if (targets.length === 0) throw new EmptyInputError("options.targets", "at least one matrix name or module type");
  const chosen = new Set<string>();
  for (const target of targets) {
    const hits = groups.filter((g) => g.name === target || g.module === target);
    if (hits.length === 0) {
      const valid = [...new Set(groups.map((g) => g.module))].concat(groups.slice(0, 3).map((g) => g.name), ["…"]);
      throw new UnknownOptionError("options.targets", target, valid);
    }
    hits.forEach((g) => chosen.add(g.name));
  }
  return groups.filter((g) => chosen.has(g.name));
}

/** Attaches fresh adapters (and freezes the base weights). The model owns and disposes them. */
export function attachLora(model: TinyTransformer, options: LoraOptions): LoraAdapters {
  if (model.loraAdapters !== null) throw new InvalidArgumentError("model", "a model without LoRA attached (detachLora first)");
  const adapters = new LoraAdapters(model.parameterGroups(), options);
  model.setAdapters(adapters);
  return adapters;
}

/** Removes and disposes the adapters; base weights become trainable again. */
export function detachLora(model: TinyTransformer): void {
  const adapters = model.loraAdapters;
  model.setAdapters(null);
  adapters?.dispose();
}
