/**
 * gradlab — per-example gradients, gradient features and the methods built on them (PRISM probe,
 * LESS / G2IS data selection, the MAESTRO Conductor) at laptop scale, in a tslab notebook on
 * TensorFlow.js. The facade a notebook imports:
 *
 * ```ts
 * import * as lab from "gradlab";   // from any folder of the project (node_modules/gradlab links the root)
 * const run = await lab.startNotebook({ preset, seed });
 * ```
 *
 * Where to start:
 * - per-example gradient norms / vectors of a model: {@link grads.perExampleGradients};
 * - the PRISM concentration probe and SFT/RL routing: {@link prism.probeTrajectories} (built-in
 *   models), {@link prism.probeModel} (any model with the per-example contract, e.g. a
 *   `tf.LayersModel` through {@link models.fromLayersModel}), then {@link prism.routeByMetric};
 * - LESS features and scores: {@link features.lessFeatures}, {@link features.RandomProjector},
 *   {@link g2is.lessScores}; the G2IS walk: {@link g2is.selectG2IS};
 * - statements about results: {@link stats.pairedVerdict}, {@link stats.aucVerdict}, {@link claim};
 * - seeded resumable sweeps and their results: {@link experiments.runSweep}, {@link experiments.RunStore}.
 *
 * Flat: errors, random streams, backend, notebook plumbing, figures and tables.
 * Namespaced (their short names would collide): metrics, stats, io, envs, models, grads, features,
 * prism (the method), train, experiments, bridge, maestro, g2is, agents, parallel (multi-thread probe,
 * LESS features, k-NN graph), kernels (the SIMD matrix product), studies (the reproductions:
 * studies.prism, studies.g2is, studies.maestro).
 *
 * @packageDocumentation
 */
export * from "./errors";
export { checkOptions, option, type OptionCheck, type OptionSpec } from "./options";
export * from "./random";
export * from "./backend";
export * from "./notebook";
export * from "./viz";
/**
 * Concentration statistics of one vector (Gini, kurtosis, CV, Hoyer, entropy, top-k mass, L2),
 * their registry and batch form, and rank statistics (Spearman, ROC AUC). Tests and intervals are
 * in `stats`.
 */
export * as metrics from "./metrics";
/**
 * Statistics a sentence can rest on: exact paired sign-flip tests (clustered by seed), McNemar,
 * AUC with clustered intervals, Holm correction, minimum detectable effect, and the verdicts every
 * directional notebook sentence goes through. Which to use: `pairedVerdict(a - b, { clusters:
 * seeds })` for arm A vs arm B on the same tasks; `aucVerdict` for 'does a score separate a
 * label'; `holmVerdicts` for a family tested together; `claim` for a paper claim.
 */
export * as stats from "./stats";
/** Registers a paper claim in the claims ledger (`stats/claims.ts`); see `stats`. */
export { claim } from "./stats/claims";
/**
 * Validated readers and writers for files from PyTorch runs: .npy / .npz, safetensors, JSON Lines,
 * atomic writes and tensor bridges. A malformed file raises `FileFormatError` naming the file;
 * every writer is atomic.
 */
export * as io from "./io";
/**
 * Agent environments for the PRISM study: MiniALF (ALFWorld-like) and MiniShop (WebShop-like),
 * their expert planners, episode recording and the word-level tokenizer.
 */
export * as envs from "./envs";
/**
 * Models with the per-example gradient contract: `TinyTransformer`, `GruLanguageModel`,
 * `MlpModel`, LoRA adapters, safetensors save/load, and `fromLayersModel`, which wraps a user's
 * `tf.LayersModel` / `tf.Sequential`.
 */
export * as models from "./models";
/**
 * Per-example gradients: `perExampleGradients` (the entry point), parameter-group selection and
 * the two strategies (exact loop, batched outer-product).
 */
export * as grads from "./grads";
/**
 * Gradient features for data selection (LESS / G2IS): seeded block-streamed random projection,
 * Adam-preconditioned per-example directions, row normalisation, cosine matrices, and
 * `lessFeatures` for any per-example model. Typical pipeline: per-example gradients ->
 * `adamPreconditionedFeatures` (pool only) -> `RandomProjector.project` (one projector shared by
 * pool and target) -> `l2NormalizeRows` -> `cosineSimilarityMatrix`.
 */
export * as features from "./features";
/**
 * PRISM, the method for your own trajectories: the gradient-concentration probe
 * (`probeTrajectories`, `probeModel`), the SFT/RL routing rules (`routeByMetric`, `route`) and the
 * confound controls a probe score must pass (`confoundTable`, `aucControllingFor`,
 * `stratifiedAuc`). The toy reproduction is `studies.prism`.
 */
export * as prism from "./prism";
/**
 * Training loops on the built-in models: SFT, GRPO (loss, step, group-normalised advantages),
 * token sampling, and LoRA parameter reading.
 */
export * as train from "./train";
/**
 * Seeded, resumable sweeps over a study's grid, recorded in an append-only JSONL run store: define
 * a study with `defineStudy` + `registerStudy`, run it with `runSweep` (or `npm run sweep`), read
 * results with `RunStore`.
 */
export * as experiments from "./experiments";
/**
 * Bring your own gradients: read `scripts/torch_probe.py` / `scripts/torch_less.py` output and
 * hand it to PRISM or G2IS; write gradlab LoRA checkpoints for PyTorch.
 */
export * as bridge from "./bridge";
/**
 * MAESTRO, the method: a Conductor that learns per-response reward weights for a GRPO loop (`act`
 * on stopped-gradient hidden states, weight the reward components, pay it a meta-reward,
 * `reinforceUpdate` every M steps). The toy study is `studies.maestro`.
 */
export * as maestro from "./maestro";
/**
 * G2IS (gradient graph + gradient walk; Zhao et al., ACL 2025) and LESS (Xia et al., ICML 2024)
 * data selection on feature matrices, with the paper's ablations and baselines: `selectG2IS(pool,
 * target)`, `lessScores` / `selectLess`, `selectNoGraph`, `selectRandom`, `selectBySimilarity`;
 * `g2is.pipeline` builds the features from a model.
 */
export * as g2is from "./g2is";
/**
 * Agents that act in MiniALF / MiniShop: the tiny-transformer policy, random and expert baselines,
 * lockstep batched episodes, GRPO rollouts and the evaluation harness.
 */
export * as agents from "./agents";
/**
 * Multi-thread versions of the three big single jobs (PRISM probe, LESS gradient features, exact
 * k-NN graph), each bit-identical to the one-thread result. Pass `pool` to reuse workers across
 * calls.
 */
export * as parallel from "./parallel";
/**
 * The reproductions of the papers' studies (PRISM, G2IS, MAESTRO), built from the method modules;
 * each is a registered sweep study.
 */
export * as studies from "./studies";
/**
 * gradlab's own compute kernels: the SIMD batched matrix product installed as the wasm backend's
 * BatchMatMul (`GRADLAB_WASM_GEMM=off` keeps the stock kernel).
 */
export * as kernels from "./kernels";
export { tf } from "./tf";
