/**
 * Saving and loading a transformer agent: the model's safetensors file (models/io.ts layout, so
 * `loadModel` and Python's safetensors read it as usual) with one extra `__metadata__` entry,
 * `agent` = JSON {env, contextLength, vocab}. Loading rebuilds the tokenizer from the env and
 * refuses a file whose vocabulary differs from the env's (a model trained on the other env, or on
 * an older vocabulary) — token ids would silently mean other words.
 *
 * A plain `saveModel` file (no `agent` entry) loads too: the context length is then the model's
 * maxLen and only the vocabulary size can be checked.
 */

import * as fs from "fs";
import { FileFormatError, InvalidArgumentError } from "../errors";
import { checkOptions, option } from "../options";
import { tokenizerFor } from "../envs/tokenizer";
import type { AgentEnv, EnvName } from "../envs/types";
import { loadModel, readModelTensors, serializeModel } from "../models/io";
import { atomicWriteFile } from "../io/atomic";
import { TinyTransformer } from "../models/transformer";
import { TransformerAgent, TransformerAgentOptions } from "./policy";

interface AgentMetadata { env: EnvName; contextLength: number; vocab: string[] }

/** Writes the agent's model (weights + config) and what is needed to rebuild the agent. */
export function saveAgent(agent: TransformerAgent, env: Pick<AgentEnv, "name">, file: string): void {
  if (!(agent instanceof TransformerAgent)) throw new InvalidArgumentError("agent", "a TransformerAgent", agent);
  if (env === null || typeof env !== "object" || typeof env.name !== "string") throw new InvalidArgumentError("env", "the env the agent acts in", env);
  const model = agent.model;
  const meta: AgentMetadata = { env: env.name, contextLength: agent.contextLength, vocab: [...agent.tokenizer.vocab] };
  // The entries saveModel writes, plus `agent`.
  atomicWriteFile(file, serializeModel(model, { agent: JSON.stringify(meta) }));
}

/** Reads a saved agent (or a plain saved transformer) for `env`. Missing / malformed files raise FileFormatError naming the file. */
export function loadAgent(file: string, env: AgentEnv, options: Pick<TransformerAgentOptions, "maxRowsPerForward"> = {}): TransformerAgent {
  checkOptions("options", options, { maxRowsPerForward: option.any }); // checked by the agent
  if (typeof file !== "string" || file === "") throw new InvalidArgumentError("file", "a path to a .safetensors file", file);
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (e) {
    throw new FileFormatError(file, `cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  const { metadata } = readModelTensors(bytes, file);
  const tokenizer = tokenizerFor(env);
  let contextLength: number | undefined;
  if (metadata.agent !== undefined) {
    let meta: AgentMetadata;
    try {
      meta = JSON.parse(metadata.agent) as AgentMetadata;
    } catch {
      throw new FileFormatError(file, "__metadata__.agent is not JSON");
    }
    if (meta.env !== env.name) throw new FileFormatError(file, `the agent was saved for env ${JSON.stringify(meta.env)}, not ${env.name}`);
    if (!Array.isArray(meta.vocab) || meta.vocab.length !== tokenizer.size || meta.vocab.some((w, i) => w !== tokenizer.vocab[i])) {
      throw new FileFormatError(file, `its vocabulary differs from the current ${env.name} tokenizer's (${tokenizer.size} words)`);
    }
    contextLength = meta.contextLength;
  }
  const model = loadModel(file);
  if (!(model instanceof TinyTransformer)) {
    model.dispose();
    throw new FileFormatError(file, `holds a ${model.kind} model; an agent needs a transformer`);
  }
  if (model.config.vocabSize !== tokenizer.size) {
    model.dispose();
    throw new FileFormatError(file, `model vocabulary size ${model.config.vocabSize} does not match the ${env.name} tokenizer (${tokenizer.size})`);
  }
  try {
    return new TransformerAgent(model, tokenizer, { ...(contextLength !== undefined ? { contextLength } : {}), ...options });
  } catch (e) {
    model.dispose();
    throw e;
  }
}
