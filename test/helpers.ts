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

/**
 * Runs `fn` and asserts the number of live tensors is unchanged afterwards.
 * Returns fn's result (which must not itself be a tensor that the caller keeps, or the check
 * would fail by design; dispose such results inside `fn`).
 */
export async function expectNoLeak<T>(label: string, fn: () => T | Promise<T>): Promise<T> {
  const before = tf.memory().numTensors;
  const result = await fn();
  const after = tf.memory().numTensors;
  assert.is(after, before, `${label}: tensor leak, ${after - before} tensors left behind`);
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
