import { test } from "uvu";
import * as assert from "uvu/assert";
import { selectBackend, parseForcedBackend, initBackend, BackendCandidate, BACKEND_CANDIDATES } from "../kernel-lib/backend";
import { BackendUnavailableError, UnknownOptionError } from "../kernel-lib/errors";
import { expectError } from "./helpers";

const fakeLoader = (available: Partial<Record<BackendCandidate, string>>) => async (c: BackendCandidate) => {
  const name = available[c];
  if (name === undefined) throw new Error(`${c} missing in this fake`);
  return name;
};

test("prefers the GPU build, then native, then wasm, then cpu", async () => {
  let r = await selectBackend(null, fakeLoader({ "tfjs-node-gpu": "tensorflow", "tfjs-node": "tensorflow", wasm: "wasm", cpu: "cpu" }));
  assert.is(r.candidate, "tfjs-node-gpu");
  assert.equal(r.skipped, []);
  r = await selectBackend(null, fakeLoader({ "tfjs-node": "tensorflow", wasm: "wasm", cpu: "cpu" }));
  assert.is(r.candidate, "tfjs-node");
  assert.equal(r.skipped.map((s) => s.candidate), ["tfjs-node-gpu"]);
  r = await selectBackend(null, fakeLoader({ cpu: "cpu" }));
  assert.is(r.candidate, "cpu");
  assert.equal(r.skipped.map((s) => s.candidate), ["tfjs-node-gpu", "tfjs-node", "wasm"]);
  assert.match(r.skipped[2].reason, "wasm missing in this fake");
});

test("a forced backend that cannot load is an error, not a fallback", async () => {
  await expectError(() => selectBackend("tfjs-node-gpu", fakeLoader({ cpu: "cpu" })), BackendUnavailableError, "tfjs-node-gpu");
  const r = await selectBackend("cpu", fakeLoader({ wasm: "wasm", cpu: "cpu" }));
  assert.is(r.candidate, "cpu");
  assert.match(r.reason, "forced");
});

test("no backend at all names every reason", async () => {
  await expectError(() => selectBackend(null, fakeLoader({})), BackendUnavailableError, "wasm: wasm missing");
});

test("GRADLAB_BACKEND parsing: empty/auto is automatic, unknown names list the valid ones", async () => {
  assert.is(parseForcedBackend(undefined), null);
  assert.is(parseForcedBackend(" auto "), null);
  for (const c of BACKEND_CANDIDATES) assert.is(parseForcedBackend(c), c);
  await expectError(() => parseForcedBackend("cuda"), UnknownOptionError, "GRADLAB_BACKEND");
  await expectError(() => parseForcedBackend("cuda"), UnknownOptionError, "tfjs-node-gpu, tfjs-node, wasm, cpu");
});

test("real selection here: native builds are reported as skipped with a reason, wasm is used", async () => {
  const saved = process.env.GRADLAB_BACKEND;
  delete process.env.GRADLAB_BACKEND;
  try {
    const r = await initBackend();
    // Which one wins depends on the machine (wasm here, without libtensorflow; a native one where
    // tfjs-node is installed), but on every machine: the winner is a candidate, and exactly the
    // candidates before it in preference order were tried and skipped, each with a reason.
    const rank = BACKEND_CANDIDATES.indexOf(r.candidate);
    assert.ok(rank >= 0, `chosen ${r.candidate} is one of ${BACKEND_CANDIDATES.join(", ")}`);
    assert.equal(r.skipped.map((s) => s.candidate), BACKEND_CANDIDATES.slice(0, rank), "skipped = the candidates preferred to the winner");
    for (const s of r.skipped) assert.ok(s.reason.length > 10, `${s.candidate}: the skip has a reason (${s.reason})`);
    assert.ok(rank <= BACKEND_CANDIDATES.indexOf("wasm"), `the embedded wasm backend is always available, so ${r.candidate} cannot win over it`);
    const forced = await initBackend({ force: "cpu" });
    assert.is(forced.candidate, "cpu");
    assert.is(forced.tfBackend, "cpu");
    await expectError(() => initBackend({ force: "tpu" }), UnknownOptionError, "force");
  } finally {
    if (saved !== undefined) process.env.GRADLAB_BACKEND = saved;
  }
});

test.run();
