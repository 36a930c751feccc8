/**
 * The sandboxed processor of queue workers (queue.ts `startQueueWorker`): BullMQ forks a child
 * process and imports this module there, so a run's synchronous tfjs compute can never stall the
 * parent's job-lock renewal, and a crash in a run takes down only the child.
 *
 * Per job: load the study (once per child) — the worker's `--study-module` (env
 * GRADLAB_QUEUE_STUDY_MODULE), else the job's `studyModule` (relative to the project root), else the
 * registry by name — initialise the compute backend (once per child), rebuild the PlannedRun from the
 * job data, check its configHash (a worker on other code would compute another one), and return
 * executeRun's RunRecord as the job's result. A run that throws is a normal "failed" record, not a
 * BullMQ failure; only problems of the worker itself (bad job data, missing study) fail the job.
 * The worker never writes a store: the coordinator appends what the job returns.
 *
 * Loaded as compiled `dist/…/queue-processor.js`, or from the TypeScript source through the shim
 * `queue-processor-tsx.cjs` (BullMQ loads processors with `import()`, which cannot load .ts).
 */
import * as path from "node:path";
import type { SandboxedJob } from "bullmq";
import { initBackend } from "../backend";
import { InvalidArgumentError } from "../errors";
import { PRESETS, PresetName } from "../notebook";
import { JsonObject, assertJsonObject, configHash, deepFreeze } from "./canonical";
import { executeRun } from "./execute";
import { projectRoot } from "./provenance";
import { QueueJobData, STUDY_MODULE_ENV } from "./queue-redis";
import { getStudy, loadStudyModule } from "./registry";
import type { RunRecord } from "./run-store";
import type { PlannedRun, Study } from "./sweep";

/** Least time between two progress updates sent to Redis. */
const PROGRESS_MIN_MS = 1000;

// An orphaned child (its worker was SIGKILLed) must not go on computing a run nobody will collect.
if (typeof process.send === "function") process.on("disconnect", () => process.exit(1));

const studies = new Map<string, Study<JsonObject>>();
let backend: Promise<unknown> | null = null;

function checkJobData(data: unknown): QueueJobData {
  const d = data as Partial<QueueJobData> | null;
  if (d === null || typeof d !== "object") throw new InvalidArgumentError("job.data", "an object (a gradlab queue job)", data);
  if (typeof d.study !== "string" || d.study === "") throw new InvalidArgumentError("job.data.study", "a study name", d.study);
  if (d.studyModule !== null && typeof d.studyModule !== "string") throw new InvalidArgumentError("job.data.studyModule", "a path or null", d.studyModule);
  if (!(PRESETS as readonly string[]).includes(d.preset as string)) throw new InvalidArgumentError("job.data.preset", PRESETS.join(" | "), d.preset);
  assertJsonObject("job.data.config", d.config);
  if (!Number.isInteger(d.seed) || (d.seed as number) < 0) throw new InvalidArgumentError("job.data.seed", "a non-negative integer", d.seed);
  for (const k of ["attempt", "index", "toRun"] as const) {
    if (!Number.isInteger(d[k]) || (d[k] as number) < 0) throw new InvalidArgumentError(`job.data.${k}`, "a non-negative integer", d[k]);
  }
  if (typeof d.configHash !== "string" || typeof d.label !== "string") throw new InvalidArgumentError("job.data", "configHash and label strings", d);
  return d as QueueJobData;
}

/** The module file to load the job's study from, or null for the registry. */
function moduleFor(data: QueueJobData): string | null {
  const override = process.env[STUDY_MODULE_ENV];
  if (override !== undefined && override !== "") return override;
  if (data.studyModule === null) return null;
  // Only modules of this checkout: whoever can write to the queue must not pick any file to run.
  const relative = path.relative(projectRoot(), path.resolve(projectRoot(), data.studyModule));
  if (relative.startsWith("..") || path.isAbsolute(relative)) {
    throw new InvalidArgumentError("job.data.studyModule", `a module inside the project ${projectRoot()} (start the worker with --study-module for one elsewhere)`, data.studyModule);
  }
  return path.join(projectRoot(), relative);
}

function studyFor(data: QueueJobData): Study<JsonObject> {
  const file = moduleFor(data);
  const key = `${file ?? ""}\0${data.study}`;
  let study = studies.get(key);
  if (study === undefined) {
    const loaded = file === null ? getStudy(data.study) : loadStudyModule(file, data.study);
    study = loaded as unknown as Study<JsonObject>;
    studies.set(key, study);
  }
  return study;
}

/** BullMQ's entry point: runs the job's config and returns its RunRecord (ok or failed). */
export default async function processRun(job: SandboxedJob<QueueJobData, RunRecord>): Promise<RunRecord> {
  const data = checkJobData(job.data);
  const study = studyFor(data);
  const hash = configHash(study.name, data.config, data.seed);
  if (hash !== data.configHash || hash !== job.id) {
    throw new InvalidArgumentError("job.data.configHash", `the hash of {study, config, seed} computed here (${hash.slice(0, 12)}; a worker on other code?)`, data.configHash.slice(0, 12));
  }
  backend ??= initBackend();
  await backend;
  const run: PlannedRun = { config: deepFreeze(data.config), seed: data.seed, configHash: hash, label: data.label };
  let lastSent = 0;
  return executeRun(study, data.preset as PresetName, run, data.attempt, data.index, data.toRun, (fraction, note) => {
    const now = Date.now();
    if (fraction < 1 && now - lastSent < PROGRESS_MIN_MS) return;
    lastSent = now;
    job.updateProgress({ fraction, ...(note === undefined ? {} : { note }) }).catch(() => { /* progress is best effort */ });
  });
}
