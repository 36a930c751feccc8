/**
 * Sweep progress: runs done / to run, the runs in progress with their own progress (a run reports
 * fractions through `context.progress`, from a worker process too), elapsed time and an ETA,
 * rendered from the events `runSweep` emits (the sweep itself never prints).
 *
 * ETA = mean wall time of the runs finished in THIS session × runs remaining. Runs skipped because
 * they were already in the store do not count (they took no time now), and before the first run
 * finishes the ETA is unknown ("?") rather than guessed.
 *
 * Which renderer when (`mode: "auto"` picks the first that applies):
 *   - "notebook": inside the tslab kernel — one display updated in place. tslab supports this:
 *     its internal writer `lastWriteDisplayData(content, update)` sends update_display_data when
 *     `update` is true, and we pass `transient.display_id` (tslab's own `newDisplay()` does the
 *     same). JupyterLab and nbclient (headless runs) both replace the output with that id, so the
 *     saved notebook keeps only the final state. If the internal is missing (changed tslab), we
 *     fall back to "lines".
 *   - "tty": stdout is a terminal — one line rewritten with "\r" (cut to the terminal width so it
 *     never wraps); failures are printed on their own lines so they stay visible.
 *   - "lines": anything else (CI logs, pipes, tests) — one line per finished run.
 *   - "none": silent.
 * "tty" and "notebook" also refresh elapsed/ETA once a second while a run is in progress (an
 * unref'd timer, so it never keeps the process alive; stopped at sweep-end).
 *
 * The notebook display is throttled (`notebookMinSeconds`, default 10 s between updates; the first
 * and the final state are always sent). Measured: the tslab kernel died ("Socket is busy writing",
 * EBUSY on the iopub socket from tslab's unawaited zeromq send, rethrown as an unhandled rejection)
 * after ~1000 display messages in one cell — a 252-run G2IS sweep, three times out of three.
 */
import { InvalidArgumentError, UnknownOptionError, assertKnownKeys } from "../errors";
import { DisplayTarget, detectDisplayTarget } from "../viz/display";
import type { SweepEvent, SweepSummary } from "./sweep";

/**
 * The state of a sweep's progress display (counts, elapsed, ETA, the run in progress, the last
 * failure).
 */
export interface ProgressSnapshot {
  study: string;
  preset: string;
  planned: number;
  skipped: number;
  toRun: number;
  /** Finished in this session (ok + failed). */
  finished: number;
  failed: number;
  /** The runs in progress ("label 45% (RL 3/8)", joined with "; "), or null between runs. */
  current: string | null;
  /** Worker processes of the sweep (runs in parallel). */
  jobs: number;
  elapsedSeconds: number;
  /** Mean wall time of the runs finished in this session, or null before the first. */
  meanRunSeconds: number | null;
  etaSeconds: number | null;
  lastFailure: string | null;
  summary: SweepSummary | null;
}

/** Folds sweep events into a snapshot; `now` (milliseconds) is injectable for tests. */
export class ProgressTracker {
  private state: ProgressSnapshot = {
    study: "", preset: "", planned: 0, skipped: 0, toRun: 0, finished: 0, failed: 0, current: null, jobs: 1,
    elapsedSeconds: 0, meanRunSeconds: null, etaSeconds: null, lastFailure: null, summary: null,
  };
  /** Runs in progress by label: the fraction done and the run's own note. */
  private readonly active = new Map<string, { fraction: number; note?: string }>();
  private startedMs = 0;
  private runSecondsTotal = 0;

  constructor(private readonly now: () => number = () => performance.now()) {}

  handle(event: SweepEvent): void {
    const s = this.state;
    switch (event.type) {
      case "sweep-start":
        this.startedMs = this.now();
        this.runSecondsTotal = 0;
        this.active.clear();
        Object.assign(s, { study: event.study, preset: event.preset, planned: event.planned, skipped: event.skipped, toRun: event.toRun,
          finished: 0, failed: 0, current: null, jobs: event.jobs ?? 1, lastFailure: null, summary: null });
        break;
      case "run-start":
        this.active.set(event.run.label, { fraction: 0 });
        break;
      case "run-progress":
        this.active.set(event.run.label, { fraction: event.fraction, note: event.note });
        break;
      case "run-end":
        this.active.delete(event.run.label);
        s.finished++;
        this.runSecondsTotal += event.record.wallSeconds;
        if (event.record.status === "failed") { s.failed++; s.lastFailure = `${event.run.label}: ${event.record.error}`; }
        break;
      case "sweep-end":
        this.active.clear();
        s.summary = event.summary;
        break;
    }
  }

  /**
   * ETA = mean wall time of the finished runs × the work left (runs not finished, minus the
   * fractions the running ones reported) ÷ the number of workers.
   */
  snapshot(): ProgressSnapshot {
    const s = { ...this.state };
    s.elapsedSeconds = Math.max(0, (this.now() - this.startedMs) / 1000);
    s.meanRunSeconds = s.finished > 0 ? this.runSecondsTotal / s.finished : null;
    const partial = [...this.active.values()].reduce((a, r) => a + r.fraction, 0);
    s.etaSeconds = s.meanRunSeconds === null ? null : (s.meanRunSeconds * Math.max(0, s.toRun - s.finished - partial)) / Math.max(1, s.jobs);
    s.current = this.active.size === 0 ? null : [...this.active.entries()]
      .map(([label, r]) => (r.fraction > 0 || r.note !== undefined ? `${label} ${Math.round(100 * r.fraction)}%${r.note ? ` (${r.note})` : ""}` : label)).join("; ");
    return s;
  }
}

/** 0.4s, 42s, 3m05s, 1h02m. */
export function formatDuration(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds)) return "?";
  if (seconds < 9.95) return `${Math.max(0, seconds).toFixed(1)}s`;
  const t = Math.round(seconds);
  if (t < 60) return `${t}s`;
  if (t < 3600) return `${Math.floor(t / 60)}m${String(t % 60).padStart(2, "0")}s`;
  return `${Math.floor(t / 3600)}h${String(Math.floor((t % 3600) / 60)).padStart(2, "0")}m`;
}

function bar(done: number, total: number, width = 20): string {
  const filled = total === 0 ? width : Math.round((done / total) * width);
  return `[${"#".repeat(filled)}${".".repeat(width - filled)}]`;
}

/** The one-line status: bar, counts, current run, elapsed, ETA. */
export function formatProgressLine(s: ProgressSnapshot): string {
  const parts = [`${s.study}/${s.preset} ${bar(s.finished, s.toRun)} ${s.finished}/${s.toRun} runs${s.jobs > 1 ? ` on ${s.jobs} workers` : ""}`];
  if (s.current !== null) parts.push(`now: ${s.current}`);
  parts.push(`elapsed ${formatDuration(s.elapsedSeconds)}`, `ETA ${formatDuration(s.finished === s.toRun ? 0 : s.etaSeconds)}`);
  if (s.failed > 0) parts.push(`${s.failed} failed`);
  if (s.skipped > 0) parts.push(`${s.skipped} already in store`);
  return parts.join(" · ");
}

/** The line printed when a run finishes ("lines" mode, and failures in "tty" mode). */
export function formatRunEnd(event: Extract<SweepEvent, { type: "run-end" }>, s: ProgressSnapshot): string {
  const head = `[${event.index + 1}/${event.toRun}] ${event.record.status === "ok" ? "ok" : "FAILED"} ${event.run.label} (${formatDuration(event.record.wallSeconds)})`;
  if (event.record.status === "failed") return `${head}: ${event.record.error}`;
  return `${head} · elapsed ${formatDuration(s.elapsedSeconds)} · ETA ${formatDuration(s.etaSeconds)}`;
}

/** The line printed when a sweep starts (planned, already in store, to run). */
export function formatSweepStart(event: Extract<SweepEvent, { type: "sweep-start" }>): string {
  return `sweep ${event.study}/${event.preset}: ${event.planned} planned, ${event.skipped} already in store, ${event.toRun} to run${(event.jobs ?? 1) > 1 ? ` on ${event.jobs} worker processes` : ""}; store ${event.store}`;
}

/** The one-line summary of a finished sweep (done, skipped, failed, time, store). */
export function formatSummary(summary: SweepSummary): string {
  const notRun = summary.notRun > 0 ? `, not run ${summary.notRun} (stopped at a failure)` : "";
  return `sweep ${summary.study}/${summary.preset}: done ${summary.done}, skipped ${summary.skipped} (already in store), failed ${summary.failed}${notRun} ` +
    `of ${summary.planned} planned in ${formatDuration(summary.wallSeconds)}; store ${summary.store}`;
}

/** Multi-line text of the notebook display. */
export function formatNotebookText(s: ProgressSnapshot): string {
  const lines = [formatProgressLine(s)];
  if (s.lastFailure !== null) lines.push(`last failure: ${s.lastFailure}`);
  if (s.summary !== null) lines.push(formatSummary(s.summary));
  return lines.join("\n");
}

/**
 * How sweep progress is shown: "auto" (the first renderer that applies: the notebook display in
 * tslab, else tty or lines), "notebook", "tty", "lines", "none".
 */
export const PROGRESS_MODES = ["auto", "notebook", "tty", "lines", "none"] as const;
/** How sweep progress is shown; see PROGRESS_MODES. */
export type ProgressMode = (typeof PROGRESS_MODES)[number];

/** Options of `createProgressReporter`. */
export interface ProgressOptions {
  mode?: ProgressMode;
  /** Where terminal output goes; default process.stdout. */
  stream?: { write(text: string): unknown; isTTY?: boolean; columns?: number };
  /** Clock in milliseconds (tests). */
  now?: () => number;
  /** Display target (tests); default detectDisplayTarget(). */
  target?: DisplayTarget;
  /** Refresh period of "tty"/"notebook" while a run is in progress; 0 disables. Default 1000 ms. */
  refreshMs?: number;
  /** Least time between two notebook display messages (see the header); default 10 s. */
  notebookMinSeconds?: number;
}

let displayCounter = 0;

/** A sweep `onProgress` callback rendering as described in the module header. */
export function createProgressReporter(options: ProgressOptions = {}): (event: SweepEvent) => void {
  assertKnownKeys("options", options, ["mode", "stream", "now", "target", "refreshMs", "notebookMinSeconds"]);
  const notebookMinMs = 1000 * (options.notebookMinSeconds ?? 10);
  if (!(notebookMinMs >= 0) || !Number.isFinite(notebookMinMs)) throw new InvalidArgumentError("options.notebookMinSeconds", "a finite number ≥ 0", options.notebookMinSeconds);
  const clock = options.now ?? (() => performance.now());
  const requested = options.mode ?? "auto";
  if (!(PROGRESS_MODES as readonly string[]).includes(requested)) throw new UnknownOptionError("options.mode", String(requested), PROGRESS_MODES);
  const stream = options.stream ?? process.stdout;
  const tracker = new ProgressTracker(options.now);
  const refreshMs = options.refreshMs ?? 1000;
  let mode = requested;
  let target: DisplayTarget | null = null;
  if (mode === "auto" || mode === "notebook") {
    target = options.target ?? detectDisplayTarget();
    if (target.kind === "bundle") mode = "notebook";
    else mode = mode === "notebook" ? "lines" : stream.isTTY === true ? "tty" : "lines";
  }
  if (mode === "none") return () => {};

  const displayId = `gradlab-sweep-${process.pid}-${++displayCounter}-${Date.now().toString(36)}`;
  let displayed = false;
  let lastDisplayMs = -Infinity;
  let timer: ReturnType<typeof setInterval> | null = null;
  const fit = (line: string) => {
    const width = stream.columns ?? 0;
    return width > 1 && line.length >= width ? line.slice(0, width - 2) + "…" : line;
  };
  const render = (force = false) => {
    const s = tracker.snapshot();
    if (mode === "tty") stream.write(`\r${fit(formatProgressLine(s))}\x1b[K`);
    else if (mode === "notebook" && target?.kind === "bundle") {
      const nowMs = clock();
      if (!force && displayed && nowMs - lastDisplayMs < notebookMinMs) return;
      lastDisplayMs = nowMs;
      target.write({ data: { "text/plain": formatNotebookText(s) }, metadata: {}, transient: { display_id: displayId } }, displayed);
      displayed = true;
    }
  };
  const stopTimer = () => { if (timer !== null) { clearInterval(timer); timer = null; } };

  return (event: SweepEvent) => {
    tracker.handle(event);
    const s = tracker.snapshot();
    if (mode === "lines") {
      if (event.type === "sweep-start") stream.write(formatSweepStart(event) + "\n");
      else if (event.type === "run-end") stream.write(formatRunEnd(event, s) + "\n");
      else if (event.type === "sweep-end") stream.write(formatSummary(event.summary) + "\n");
      return;
    }
    if (event.type === "sweep-start") {
      if (mode === "tty") stream.write(formatSweepStart(event) + "\n");
      if (refreshMs > 0 && event.toRun > 0) {
        timer = setInterval(() => render(), refreshMs);
        timer.unref?.();
      }
    }
    if (mode === "tty" && event.type === "run-end" && event.record.status === "failed") {
      stream.write(`\r\x1b[K${formatRunEnd(event, s)}\n`);
    }
    if (event.type === "sweep-end") {
      stopTimer();
      if (mode === "tty") stream.write(`\r\x1b[K${formatSummary(event.summary)}\n`);
      else render(true);
      return;
    }
    render();
  };
}
