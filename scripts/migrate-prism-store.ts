/**
 * Carries PRISM study v5 runs over to v6 without recomputing them, where that is sound:
 *
 *   node --require tsx/cjs scripts/migrate-prism-store.ts [--store reports/runs/prism.jsonl] [--dry-run]
 *
 * v6 changed only the SHAPE of a run's config (v5 held both envs' settings in every config; v6
 * holds the run's own env's settings under `settings`), not what a run computes. So a v5 run whose
 * env's settings equal the current v6 settings of some preset was computed exactly as the v6 run
 * would be: it is appended again under its v6 config (new config hash), with its metrics, cost and
 * provenance (gitCommit, timestamps, host) unchanged and `metrics.migratedFrom` naming the v5 hash.
 * A v5 run whose env settings have since changed (e.g. MiniShop's) is left as it is and reruns.
 * Runs already present under their v6 hash are skipped, so the script is idempotent.
 */
import { RunStore, RunRecord } from "../kernel-lib/experiments/run-store";
import { canonicalJson, configHash, JsonObject } from "../kernel-lib/experiments/canonical";
import { PRISM_STUDY_ENVS, PRISM_STUDY_VERSION, prismEnvSettings } from "../kernel-lib/studies/prism/study";
import type { EnvName } from "../kernel-lib/envs/types";
import type { PresetName } from "../kernel-lib/notebook";

const PRESETS: PresetName[] = ["quick", "default", "paper"];

function main(): void {
  const args = process.argv.slice(2);
  const known = new Set(["--store", "--dry-run"]);
  for (const a of args) if (a.startsWith("--") && !known.has(a)) throw new Error(`unknown option ${a} (known: ${[...known].join(", ")})`);
  const storeAt = args.indexOf("--store");
  const file = storeAt >= 0 ? args[storeAt + 1] : "reports/runs/prism.jsonl";
  const dryRun = args.includes("--dry-run");
  if (PRISM_STUDY_VERSION !== 6) throw new Error(`this script migrates v5 → v6; the study is now v${PRISM_STUDY_VERSION}`);
  const store = RunStore.open(file);
  const present = new Set(store.runs().filter((r) => r.status === "ok").map((r) => r.configHash));
  const current = new Map<string, PresetName>();
  for (const preset of PRESETS) for (const env of PRISM_STUDY_ENVS) current.set(`${env}:${canonicalJson(prismEnvSettings(env, preset) as unknown as JsonObject)}`, preset);
  let migrated = 0, stale = 0, already = 0;
  for (const r of store.runs()) {
    const c = r.config as Record<string, unknown>;
    if (r.status !== "ok" || c.studyVersion !== 5) continue;
    const env = c.env as EnvName;
    const settings = c[env] as JsonObject;
    if (!current.has(`${env}:${canonicalJson(settings)}`)) { stale += 1; continue; }
    const config: JsonObject = { studyVersion: 6, env, settings, arm: c.arm as string, q: c.q as number };
    const hash = configHash(r.study, config, r.seed);
    if (present.has(hash)) { already += 1; continue; }
    const record: RunRecord = { ...r, config, configHash: hash, runId: `${hash.slice(0, 12)}-${r.runId.split("-").pop()}`, metrics: { ...r.metrics, migratedFrom: r.configHash } };
    if (!dryRun) store.append(record);
    present.add(hash);
    migrated += 1;
  }
  store.close();
  console.log(`${dryRun ? "would migrate" : "migrated"} ${migrated} v5 runs to v6; ${already} already present; ${stale} left (their env's settings changed since)`);
}

main();
