/**
 * The worker process of the local pool (pool.ts). It loads the study (by registered name, or from
 * a module file), initialises its own tfjs backend (the one the parent names, so every record of
 * a sweep names the same backend), then runs the configs the parent sends, one at a time, and
 * sends back each finished run's record and its progress within the run. It never touches the
 * run store: the parent is the only writer. It exits when the parent disconnects.
 *
 * Messages (parent → child): {type: "init", study, studyModule?, backend?}, {type: "run", id,
 * preset, run, attempt, index, toRun}. (child → parent): {type: "ready", backend},
 * {type: "init-failed", error}, {type: "progress", id, fraction, note?}, {type: "result", id, record}.
 */
import { initBackend } from "../backend";
import { executeRun } from "./execute";
import { getStudy, loadStudyModule } from "./registry";
import type { PresetName } from "../notebook";
import type { PlannedRun, Study } from "./sweep";
import type { JsonObject } from "./canonical";

type ParentMessage =
  | { type: "init"; study: string; studyModule?: string; backend?: string }
  | { type: "run"; id: number; preset: PresetName; run: PlannedRun; attempt: number; index: number; toRun: number };

let study: Study<JsonObject> | null = null;
// Runs arrive one at a time (the parent waits for a result before sending the next), but a queue
// keeps the order safe if that ever changes.
let chain: Promise<void> = Promise.resolve();

const send = (message: unknown) => { if (process.send !== undefined && process.connected) process.send(message); };

async function init(message: Extract<ParentMessage, { type: "init" }>): Promise<void> {
  try {
    if (message.backend !== undefined && message.backend !== null) process.env.GRADLAB_BACKEND = message.backend;
    const report = await initBackend();
    study = (message.studyModule !== undefined ? loadStudyModule(message.studyModule, message.study) : getStudy(message.study)) as unknown as Study<JsonObject>;
    send({ type: "ready", backend: report.candidate });
  } catch (e) {
    send({ type: "init-failed", error: e instanceof Error ? `${e.name}: ${e.message}` : String(e) });
  }
}

async function run(message: Extract<ParentMessage, { type: "run" }>): Promise<void> {
  const record = await executeRun(study!, message.preset, message.run, message.attempt, message.index, message.toRun,
    (fraction, note) => send({ type: "progress", id: message.id, fraction, note }));
  send({ type: "result", id: message.id, record });
}

process.on("message", (message: ParentMessage) => {
  if (message.type === "init") chain = chain.then(() => init(message));
  else if (message.type === "run") chain = chain.then(() => run(message));
});
process.on("disconnect", () => process.exit(0));
