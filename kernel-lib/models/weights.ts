/**
 * Named weight storage shared by every model: one tf.Variable per parameter, addressed by a
 * stable name ("layer0.q"), created from seeded JS random numbers so a model is a pure function
 * of its seed on every backend (tfjs's own initialisers draw from the backend).
 *
 * Variables are created without a tfjs name on purpose: tfjs variable names are global, so two
 * models with the same parameter names would collide. The store keeps its own name → variable map.
 */
import { tf } from "../tf";
import { InvalidArgumentError } from "../errors";
import { Rng } from "../random";

/**
 * Named weight storage shared by the models: one tf.Variable per parameter under a stable name
 * ("layer0.q"), initialised from seeded JS random numbers so a model is a pure function of its seed
 * on every backend.
 */
export class WeightStore {
  private readonly entries = new Map<string, tf.Variable>();

  /** Adds a variable initialised from `values` (row-major, `shape`). */
  add(name: string, values: Float32Array, shape: readonly number[], trainable = true): tf.Variable {
    if (this.entries.has(name)) throw new InvalidArgumentError("name", `a new weight name (already have ${name})`, name);
    const initial = tf.tensor(values, shape.slice(), "float32");
    const variable = tf.variable(initial, trainable);
    initial.dispose();
    this.entries.set(name, variable);
    return variable;
  }

  /** Whether a parameter of this name exists. */
  has(name: string): boolean {
    return this.entries.has(name);
  }

  /** The variable of a parameter; throws when there is none of that name. */
  get(name: string): tf.Variable {
    const variable = this.entries.get(name);
    if (variable === undefined) {
      const known = [...this.entries.keys()];
      throw new InvalidArgumentError("name", `one of the model's weights (${known.slice(0, 8).join(", ")}${known.length > 8 ? ", …" : ""})`, name);
    }
    return variable;
  }

  /** Every parameter name, in creation order. */
  names(): string[] {
    return [...this.entries.keys()];
  }

  /** Every parameter with its variable, in creation order. */
  named(): Array<{ name: string; variable: tf.Variable }> {
    return [...this.entries].map(([name, variable]) => ({ name, variable }));
  }

  /** Marks every variable trainable or frozen. */
  setTrainable(trainable: boolean): void {
    for (const v of this.entries.values()) v.trainable = trainable;
  }

  /** Frees every variable's memory. */
  dispose(): void {
    for (const v of this.entries.values()) v.dispose();
    this.entries.clear();
  }
}

/** A 2-D tensor's shape as a tuple (tfjs types generic shapes as possibly-undefined entries). */
export function matrixShape(t: tf.Tensor): [number, number] {
  const shape = t.shape as number[];
  return [shape[0], shape[1]];
}

/** `count` draws from N(0, std²). */
export function normalValues(rng: Rng, count: number, std: number): Float32Array {
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = rng.normal() * std;
  return out;
}

/** `count` draws from U(-limit, limit). */
export function uniformValues(rng: Rng, count: number, limit: number): Float32Array {
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = (2 * rng.uniform() - 1) * limit;
  return out;
}

export function filledValues(count: number, value: number): Float32Array {
  return new Float32Array(count).fill(value);
}

/** Throws InvalidArgumentError unless `value` is an integer ≥ `min`. */
export function assertInteger(argument: string, value: unknown, min: number): asserts value is number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min) {
    throw new InvalidArgumentError(argument, `an integer ≥ ${min}`, value);
  }
}
