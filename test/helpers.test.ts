/**
 * The test helpers' own tests: `expectNoLeak` must fail a call that leaves tf's memory as it found
 * it only by count — one that disposes a caller's tensor and leaks a new one of the same size —
 * which the count-only version of the helper (kept here as `countOnlyNoLeak`) let through.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import * as tf from "@tensorflow/tfjs";
import { TEST_BACKENDS, expectNoLeak, useBackend } from "./helpers";

/** The helper as it was: live tensor counts before and after, nothing else. */
async function countOnlyNoLeak<T>(label: string, fn: () => T | Promise<T>): Promise<T> {
  const before = tf.memory().numTensors;
  const result = await fn();
  const after = tf.memory().numTensors;
  assert.is(after, before, `${label}: tensor leak, ${after - before} tensors left behind`);
  return result;
}

/** The assertion message `expectNoLeak` fails with, or null when it passes. */
async function failureOf(fn: () => unknown, options?: Parameters<typeof expectNoLeak>[2]): Promise<string | null> {
  try {
    await expectNoLeak("call", fn, options);
    return null;
  } catch (error) {
    assert.instance(error, assert.Assertion, `a failed check is an assertion, not ${String(error)}`);
    return (error as Error).message;
  }
}

const leaked: tf.Tensor[] = [];
const disposeLeaked = () => { tf.dispose(leaked.splice(0)); };

for (const backend of TEST_BACKENDS) {
  test(`expectNoLeak (${backend}): dispose a caller's tensor, leak one of the same size — the count-only check passes it, this one fails`, async () => {
    await useBackend(backend);
    const input = tf.tensor1d([1, 2, 3, 4]);
    const disposeOneLeakOne = () => { input.dispose(); leaked.push(tf.zeros([4])); };
    await countOnlyNoLeak("count only", disposeOneLeakOne); // the old check: every count unchanged, so it passes
    assert.ok(input.isDisposed, "the call did dispose the caller's tensor");
    disposeLeaked();

    const again = tf.tensor1d([1, 2, 3, 4]);
    const message = await failureOf(() => { again.dispose(); leaked.push(tf.zeros([4])); });
    assert.ok(message !== null, "expectNoLeak passed a call that disposed a caller's tensor and leaked a new one");
    assert.match(message!, /1 tensors that existed before the call were disposed by it \(tensor #\d+ \[4\] float32\)/);
    assert.not.match(message!, /tensor leak|data buffers|bytes/, "every count really is unchanged: only the disposal check sees it");
    disposeLeaked();

    // Named inputs: the failure says which one.
    const x = tf.ones([2, 2]);
    const named = await failureOf(() => { x.dispose(); leaked.push(tf.zeros([2, 2])); }, { alive: { x } });
    assert.match(named!, /the caller's x was disposed/);
    disposeLeaked();
  });

  test(`expectNoLeak (${backend}): same tensor count but other bytes or data buffers fails on those counts`, async () => {
    await useBackend(backend);
    // A caller's 4-element tensor disposed, an 8-element one leaked: same count, 16 more bytes.
    const small = tf.ones([4]);
    await countOnlyNoLeak("count only", () => { small.dispose(); leaked.push(tf.zeros([8])); });
    disposeLeaked();
    const small2 = tf.ones([4]);
    const bytes = await failureOf(() => { small2.dispose(); leaked.push(tf.zeros([8])); }, { mayDispose: [small2] });
    assert.match(bytes!, /bytes \d+ → \d+/);
    assert.not.match(bytes!, /tensor leak|data buffers|existed before/, "mayDispose excuses the disposal; only the bytes differ");
    disposeLeaked();

    // A caller's tensor disposed, a reshape (a view sharing another tensor's buffer) of the same size leaked: one buffer fewer.
    const owner = tf.ones([4]);
    const gone = tf.ones([4]);
    await countOnlyNoLeak("count only", () => { gone.dispose(); leaked.push(owner.reshape([2, 2])); });
    disposeLeaked();
    const gone2 = tf.ones([4]);
    const buffers = await failureOf(() => { gone2.dispose(); leaked.push(owner.reshape([2, 2])); }, { mayDispose: [gone2] });
    assert.match(buffers!, /data buffers \d+ → \d+/);
    assert.not.match(buffers!, /tensor leak|bytes|existed before/);
    disposeLeaked();
    owner.dispose();
  });

  test(`expectNoLeak (${backend}): passes clean calls — temporaries, tidy, Variable.assign, optimizer steps — and restores the engine`, async () => {
    await useBackend(backend);
    const engine = tf.engine();
    const disposeTensor = engine.disposeTensor, disposeVariable = engine.disposeVariable;
    const input = tf.tensor1d([1, 2, 3]);
    const v = tf.tidy(() => tf.variable(tf.zeros([3]))); // the zeros go, their buffer stays the variable's
    const sum = await expectNoLeak("clean", () => {
      const t = tf.tidy(() => input.mul(2).add(1));
      const total = t.sum();
      const s = total.dataSync()[0];
      tf.dispose([t, total]);
      const next = v.add(input);
      v.assign(next); // the old value of v goes: the variable stays
      next.dispose();
      const opt = tf.train.sgd(0.1);
      opt.minimize(() => v.square().sum());
      opt.dispose();
      return s;
    }, { alive: { input, v } });
    assert.is(sum, 15);
    assert.ok(!v.isDisposed && !input.isDisposed);
    // A variable of the caller's disposed by the call is caught; one created inside it is not.
    const message = await failureOf(() => { v.dispose(); const z = tf.zeros([3]); tf.variable(z).dispose(); z.dispose(); leaked.push(tf.zeros([3])); });
    assert.match(message!, /variable /);
    assert.match(message!, /1 tensors that existed before the call/);
    disposeLeaked();
    // Copy on write: a variable assigned away from a buffer another tensor still holds (here a
    // reshape, which shares the buffer on every backend; cpu's clone does too) leaves one more
    // buffer, which is expected; one more on top of that is not.
    const shared = tf.tidy(() => tf.variable(tf.ones([3])));
    const snapshot = shared.reshape([1, 3]);
    await expectNoLeak("assign after clone", () => { const next = shared.mul(2); shared.assign(next); next.dispose(); });
    const owner = tf.ones([3]), gone = tf.ones([3]), snapshot2 = shared.reshape([1, 3]);
    const extra = await failureOf(() => {
      const next = shared.mul(2); shared.assign(next); next.dispose();
      gone.dispose(); leaked.push(owner.reshape([3, 1]));
    }, { mayDispose: [gone] });
    assert.match(extra!, /data buffers \d+ → \d+ \(1 more expected/);
    disposeLeaked();
    tf.dispose([shared, snapshot, snapshot2, owner]);
    // A throwing call still puts the engine back.
    await expectNoLeak("throws", () => { throw new Error("boom"); }).then(() => assert.unreachable("it threw"), (e: Error) => assert.is(e.message, "boom"));
    assert.is(engine.disposeTensor, disposeTensor);
    assert.is(engine.disposeVariable, disposeVariable);
    input.dispose();
  });
}

test.run();
