// Where a report came from: the git commit of the checkout ("-dirty" when tracked files have
// uncommitted changes; reports/ is git-ignored so a run does not dirty its own tree).
import { spawnSync } from "node:child_process";

/** `abc1234`, `abc1234-dirty`, or "unknown" outside a git checkout / without git. */
export function gitCommit(cwd) {
  const head = spawnSync("git", ["rev-parse", "--short", "HEAD"], { cwd, encoding: "utf8" });
  if (head.status !== 0) return "unknown";
  const status = spawnSync("git", ["status", "--porcelain", "--untracked-files=no"], { cwd, encoding: "utf8" });
  const dirty = status.status !== 0 || status.stdout.trim() !== "";
  return head.stdout.trim() + (dirty ? "-dirty" : "");
}
