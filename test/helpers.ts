/**
 * Shared test helpers: run a suite on each backend the op set allows, check that public calls
 * leave no tensors behind, compare numbers with a relative tolerance.
 */
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import * as assert from "uvu/assert";

/** The backends every numeric test runs on (the native ones are optional and absent here). */
export const TEST_BACKENDS = ["cpu", "wasm"] as const;
export type TestBackend = (typeof TEST_BACKENDS)[number];

export async function useBackend(name: TestBackend): Promise<void> {
  const ok = await tf.setBackend(name);
  assert.ok(ok, `backend ${name} failed to initialise`);
  await tf.ready();
}

export interface NoLeakOptions {
  /**
   * Tensors (or variables) of the caller's that `fn` must leave alive, checked by name: a
   * caller's tensor passed in and disposed by the call. Any tensor that existed before the call
   * and is disposed during it fails the check anyway (see `mayDispose`); list the inputs here
   * too when they matter, so the failure says which one.
   */
  alive?: Readonly<Record<string, tf.Tensor>>;
  /**
   * Tensors that existed before the call and that `fn` is allowed to dispose (it takes ownership
   * of them, or replaces a cache entry): the only exceptions to "nothing of the caller's is
   * disposed". A Variable's `assign` (the old value goes, the variable stays) is always allowed.
   */
  mayDispose?: readonly tf.Tensor[];
}

function memorySnapshot(): { numTensors: number; numDataBuffers: number; numBytes: number } {
  const m = tf.memory();
  return { numTensors: m.numTensors, numDataBuffers: m.numDataBuffers, numBytes: m.numBytes };
}

/**
 * Runs `fn` and asserts that it leaves tf's memory as it found it: the same number of live
 * tensors, of data buffers and of bytes, and no tensor that existed before the call disposed by
 * it (so a call that disposes a caller's tensor and leaks a new one of the same size, which
 * leaves every count unchanged, still fails). The one expected change: a caller's variable given
 * a new value while a clone still holds its old buffer keeps that buffer too (one more buffer).
 * Returns fn's result (which must not itself be a tensor that the caller keeps, or the check would
 * fail by design; dispose such results inside `fn`).
 */
export async function expectNoLeak<T>(label: string, fn: () => T | Promise<T>, options: NoLeakOptions = {}): Promise<T> {
  const engine = tf.engine();
  // Tensor ids are handed out in increasing order: every id below this one existed before fn.
  const firstNewId = (engine as unknown as { nextTensorId(): number }).nextTensorId();
  const allowed = new Set<number>((options.mayDispose ?? []).map((t) => t.id));
  const disposedOld: string[] = [];
  const noteDisposal = (t: tf.Tensor) => {
    if (t.id < firstNewId && !allowed.has(t.id) && !t.isDisposed) disposedOld.push(`tensor #${t.id} [${t.shape.join(",")}] ${t.dtype}${t instanceof tf.Variable ? ` (variable ${t.name})` : ""}`);
  };
  const originalDisposeTensor = engine.disposeTensor, originalDisposeVariable = engine.disposeVariable;
  let inDisposeVariable = false;
  // Variable.assign disposes the variable's old value through disposeTensor(variable) and keeps the
  // variable: not a disposal of the caller's tensor. Variable.dispose goes through disposeVariable.
  // A clone shares its source's data buffer (copy on write): when `assign` gives a variable of the
  // caller's a new value while another tensor still holds its old buffer (a reference model cloned
  // from the policy, then an optimizer step), that buffer stays and the new one is added: one more
  // buffer, no leak. Each such variable's buffer at the call's start is noted and checked at the end.
  const startBuffers = new Map<tf.Variable, object>();
  engine.disposeTensor = function (this: typeof engine, t: tf.Tensor) {
    if (!(t instanceof tf.Variable)) { if (!inDisposeVariable) noteDisposal(t); }
    else if (!inDisposeVariable && t.id < firstNewId && !startBuffers.has(t)) startBuffers.set(t, t.dataId);
    return originalDisposeTensor.call(this, t);
  };
  engine.disposeVariable = function (this: typeof engine, v: tf.Variable) {
    noteDisposal(v);
    inDisposeVariable = true;
    try { return originalDisposeVariable.call(this, v); } finally { inDisposeVariable = false; }
  };
  const before = memorySnapshot();
  let result: T;
  try {
    result = await fn();
  } finally {
    engine.disposeTensor = originalDisposeTensor;
    engine.disposeVariable = originalDisposeVariable;
  }
  const after = memorySnapshot();
  const tensorInfo = (engine as unknown as { state: { tensorInfo: WeakMap<object, unknown> } }).state.tensorInfo;
  let sharedValuesReplaced = 0;
  for (const [v, start] of startBuffers) if (!v.isDisposed && v.dataId !== start && tensorInfo.has(start)) sharedValuesReplaced++;
  const problems: string[] = [];
  if (after.numTensors !== before.numTensors) problems.push(`tensor leak, ${after.numTensors - before.numTensors} tensors left behind`);
  if (after.numDataBuffers !== before.numDataBuffers + sharedValuesReplaced) {
    problems.push(`data buffers ${before.numDataBuffers} → ${after.numDataBuffers}${sharedValuesReplaced > 0 ? ` (${sharedValuesReplaced} more expected: variables assigned away from a shared buffer)` : ""}`);
  }
  if (after.numBytes !== before.numBytes) problems.push(`bytes ${before.numBytes} → ${after.numBytes}`);
  for (const [name, t] of Object.entries(options.alive ?? {})) if (t.isDisposed) problems.push(`the caller's ${name} was disposed`);
  if (disposedOld.length > 0) problems.push(`${disposedOld.length} tensors that existed before the call were disposed by it (${disposedOld.slice(0, 3).join("; ")}${disposedOld.length > 3 ? "; …" : ""})`);
  assert.ok(problems.length === 0, `${label}: ${problems.join("; ")}`);
  return result;
}

/** max |a-b| / max(|b|, floor) over all entries. */
export function maxRelativeError(actual: ArrayLike<number>, expected: ArrayLike<number>, floor = 1e-12): number {
  assert.is(actual.length, expected.length, "length mismatch");
  let worst = 0;
  for (let i = 0; i < actual.length; i++) {
    const denom = Math.max(Math.abs(expected[i]), floor);
    worst = Math.max(worst, Math.abs(actual[i] - expected[i]) / denom);
  }
  return worst;
}

export function assertClose(actual: ArrayLike<number> | number, expected: ArrayLike<number> | number, rtol: number, label = "values"): void {
  const a = typeof actual === "number" ? [actual] : actual;
  const e = typeof expected === "number" ? [expected] : expected;
  const err = maxRelativeError(a, e, 1e-9);
  assert.ok(err <= rtol, `${label}: max relative error ${err.toExponential(3)} > ${rtol}`);
}

/** Asserts that `fn` throws (or rejects with) an error of class `type` whose message contains `fragment`. */
export async function expectError(fn: () => unknown, type: new (...args: never[]) => Error, fragment: string): Promise<void> {
  let caught: unknown = null;
  try {
    await fn();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught !== null, `expected ${type.name} mentioning "${fragment}", nothing was thrown`);
  assert.instance(caught, type, `expected ${type.name}, got ${(caught as Error)?.constructor?.name}: ${(caught as Error)?.message}`);
  assert.ok((caught as Error).message.includes(fragment), `message "${(caught as Error).message}" does not mention "${fragment}"`);
}
