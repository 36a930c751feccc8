// Runs an agent on a fixed evaluation set of MiniALF / MiniShop and prints ONE JSON line:
//   node --require tsx/cjs scripts/agent.ts --env minialf|minishop --policy expert|random|<model.safetensors>
//        [--episodes N] [--split train|seen|unseen] [--seed S] [--mode greedy|sample]
//        [--conflict-fraction F] [--temperature T]
// stdout: {"env","policy","split","episodes","successRate","meanScore", …, "perFamily"}.
// Exit codes: 0 ok; 2 usage (unknown option, bad or missing value) with one line on stderr naming
// the option; 1 a model file that is missing or unreadable (named) or any other failure.
// A saved model is rebuilt with the env's tokenizer; its context length comes from the agent
// metadata written by agents' saveAgent, else from the model's maxLen.
import * as fs from "fs";
import { AgentEnv, createEnv, Task } from "../kernel-lib/envs";
import * as agents from "../kernel-lib/agents";
import { initBackend } from "../kernel-lib/backend";

const OPTIONS = ["env", "policy", "episodes", "split", "seed", "mode", "conflict-fraction", "temperature"] as const;
type OptionName = (typeof OPTIONS)[number];

class UsageError extends Error {}

function parseArgs(argv: readonly string[]): Partial<Record<OptionName, string>> {
  const out: Partial<Record<OptionName, string>> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith("--")) throw new UsageError(`unexpected argument ${JSON.stringify(arg)} (options are --name value)`);
    const eq = arg.indexOf("=");
    const name = arg.slice(2, eq < 0 ? undefined : eq);
    if (!(OPTIONS as readonly string[]).includes(name)) throw new UsageError(`unknown option --${name} (valid: ${OPTIONS.map((o) => `--${o}`).join(", ")})`);
    const value = eq >= 0 ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined || (eq < 0 && value.startsWith("--"))) throw new UsageError(`option --${name} needs a value`);
    if ((name as OptionName) in out) throw new UsageError(`option --${name} given twice`);
    out[name as OptionName] = value;
  }
  return out;
}

function oneOf(name: OptionName, value: string, valid: readonly string[]): string {
  if (!valid.includes(value)) throw new UsageError(`option --${name}: ${JSON.stringify(value)} is not one of ${valid.join(", ")}`);
  return value;
}

function integerOption(name: OptionName, value: string, min: number): number {
  const n = Number(value);
  if (!/^-?\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min) throw new UsageError(`option --${name}: expected an integer ≥ ${min}, got ${JSON.stringify(value)}`);
  return n;
}

function numberOption(name: OptionName, value: string, check: (x: number) => boolean, expected: string): number {
  const n = Number(value);
  if (value.trim() === "" || !Number.isFinite(n) || !check(n)) throw new UsageError(`option --${name}: expected ${expected}, got ${JSON.stringify(value)}`);
  return n;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  if (args.env === undefined) throw new UsageError("option --env is required (minialf or minishop)");
  if (args.policy === undefined) throw new UsageError("option --policy is required (expert, random or a path to a saved model .safetensors)");
  const envName = oneOf("env", args.env, ["minialf", "minishop"]);
  const split = oneOf("split", args.split ?? "seen", ["train", "seen", "unseen"]);
  const episodes = integerOption("episodes", args.episodes ?? "32", 1);
  const seed = integerOption("seed", args.seed ?? "0", 0);
  const mode = oneOf("mode", args.mode ?? "greedy", ["greedy", "sample"]) as "greedy" | "sample";
  const conflictFraction = numberOption("conflict-fraction", args["conflict-fraction"] ?? "0.5", (x) => x >= 0 && x <= 1, "a number in [0, 1]");
  const temperature = numberOption("temperature", args.temperature ?? "1", (x) => x > 0, "a number > 0");
  const policy = args.policy;
  const isModel = policy !== "expert" && policy !== "random";
  if (isModel && !fs.existsSync(policy)) {
    process.stderr.write(`agent: model file not found: ${policy}\n`);
    process.exitCode = 1;
    return;
  }

  // Anything a library prints goes to stderr: stdout carries exactly one JSON line.
  console.log = console.error;
  console.info = console.error;
  // Either env behind the common interface (the union of the two concrete types is not an AgentEnv<T>).
  const env = createEnv(envName) as unknown as AgentEnv<Task>;
  let agent;
  if (policy === "expert") agent = agents.expertAgent();
  else if (policy === "random") agent = agents.randomAgent(seed);
  else {
    await initBackend();
    agent = agents.loadAgent(policy, env);
  }
  const tasks = agents.evaluationSet(env, split, episodes, seed, { conflictFraction });
  const result = agents.evaluateAgent(env, agent, tasks, { mode, seed, temperature });
  const perFamily = Object.fromEntries(Object.entries(result.perFamily).map(([family, r]) => [family, { n: r.n, successRate: r.successRate, meanScore: r.meanScore }]));
  const line = {
    env: envName, policy, split, episodes: result.episodes, successRate: result.successRate, meanScore: result.meanScore,
    mode, seed, conflictFraction, regularSuccessRate: result.regular.successRate, conflictSuccessRate: result.conflict.successRate,
    meanSteps: result.meanSteps, envSteps: result.envSteps, forwardTokens: result.forwardTokens, seconds: result.seconds, perFamily,
  };
  // NaN (e.g. no conflict tasks) is not JSON: null says "not measured".
  process.stdout.write(JSON.stringify(line, (_k, v) => (typeof v === "number" && !Number.isFinite(v) ? null : v)) + "\n");
}

main().catch((e: unknown) => {
  const message = (e instanceof Error ? e.message : String(e)).split("\n")[0];
  process.stderr.write(`agent: ${message}\n`);
  process.exitCode = e instanceof UsageError ? 2 : 1;
});
