#!/usr/bin/env node
// Headless notebook runner and report exporter (`npm start`). See --help, reports/README.md and
// scripts/lib/runner/ (one module per step: args, select, inject, execute, export, staging,
// index-page, run). Exit codes: 0 all ok, 1 a notebook failed or an input is invalid, 2 usage.
import { parseArgs, USAGE } from "./lib/runner/args.mjs";
import { InterruptedError } from "./lib/runner/process.mjs";
import { runNotebooks } from "./lib/runner/run.mjs";

async function main() {
  let options;
  try {
    options = parseArgs(process.argv.slice(2));
  } catch (error) {
    console.error(`run-notebooks: ${error.message}`);
    return error.exitCode ?? 2;
  }
  if (options.help) {
    console.log(USAGE);
    return 0;
  }
  // Ctrl-C / SIGTERM: stop the Jupyter child (which shuts its kernel down), remove the staging
  // folder, leave the previous reports and index untouched.
  const controller = new AbortController();
  const onSignal = () => controller.abort();
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    const { exitCode } = await runNotebooks(options, { signal: controller.signal });
    return exitCode;
  } catch (error) {
    if (error instanceof InterruptedError) {
      console.error("\nrun-notebooks: interrupted; reports left as they were");
      return 130;
    }
    if (typeof error.exitCode === "number") {
      console.error(`run-notebooks: ${error.message}`);
      return error.exitCode;
    }
    console.error(`run-notebooks: ${error.stack ?? error}`);
    return 1;
  }
}

process.exitCode = await main();
