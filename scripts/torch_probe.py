#!/usr/bin/env python3
"""Bring your own gradients: per-example gradient statistics from a PyTorch model, for gradlab.

For every example of a JSONL file this computes the gradient of the example's loss (mean
next-token cross-entropy over its target tokens; loss_mask[t] = 1 means token t is predicted
from tokens < t, exactly gradlab's PRISM probe loss) with respect to a set of weight matrices, and
writes, per example, the Frobenius norm of each matrix's gradient (the PRISM probe vector) and,
optionally, a seeded Rademacher projection of the concatenated gradient whose matrix R is bit for
bit the one gradlab's RandomProjector defines (kernel-lib/features/projection.ts), so features made
here and in gradlab from the same gradients agree to float32 rounding. gradlab reads the output
folder with kernel-lib/bridge/read.ts (readBridgeOutput). These are plain full-weight gradients;
LESS features (LoRA checkpoints, Adam preconditioning before the projection) come from
scripts/torch_less.py.

Which mode when:
  --model FILE.safetensors   a gradlab model (saveModel): the PyTorch twin in gradlab_torch.py.
  --hf NAME                  a Hugging Face causal LM (imports `transformers` only then).
  --module pkg.mod:factory   your own model; factory() returns (model, tokenize) or a dict
                             {"model", "tokenize"?, "matrices"?, "description"?} where
                             model(input_ids LongTensor [B, T]) returns logits [B, T, V] (a tensor,
                             an object with .logits, or a tuple whose first item is the logits) and
                             tokenize is None or a callable str -> list[int]; "matrices" is a
                             default --matrices regex. `pkg.mod` may also be a path to a .py file.
  Per-example gradients: one backward per example (default; works for every model, memory of one
  example); --vmap uses functorch/torch.func vmap(grad) over a batch (faster for small models; the
  model must be vmap-compatible: no in-place ops on batched tensors, no data-dependent control flow).

Output folder (--out): probe_norms.npy float32 [N, M], losses.npy float32 [N], features.npy
float32 [N, D] with --project, examples.jsonl (line, id/group/label if the input had them, token
and target counts), and manifest.json. Arrays are streamed: the .npy header carries the final
shape (N is counted up front) and rows are appended batch by batch, so memory is bounded by a
batch. manifest.json is first written with "complete": false and rewritten (atomically) with
"complete": true only after every row is on disk: an interrupted run is always detectable.
Rerunning the same command on the same --out resumes it (the rows every file holds completely are
kept); a complete run of the same command is left as it is; other earlier outputs are replaced.
A progress line per batch goes to stderr (--quiet: none).

Scale-out: --shard i/n (0-based; or auto from SLURM_ARRAY_TASK_ID/COUNT or JOB_COMPLETION_INDEX +
GRADLAB_SHARD_COUNT) processes the contiguous rows [floor(i N/n), floor((i+1) N/n)) into its own
--out; gradlab's bridge.readBridgeOutputs(dirs) checks and concatenates the shards in order.

Projection cost: the batch's gradients are held as [batch, P] float32 while projecting. R (P x D)
is generated from sequential sfc32 streams, one per block of --block-rows rows (bit-exact with
gradlab, hence on the CPU with numpy, ~1e7 draws of 32 entries per second on 2 cores). It is kept
between batches as float32 blocks (P*D*4 bytes) or as raw draws (P*D/8 bytes) when that fits
--projection-cache-mb, else regenerated for every batch (then use a large --batch-size, fewer
--matrices or a smaller D). Depends only on numpy and torch (>= 1.13).
"""
import argparse
import datetime
import hashlib
import importlib
import importlib.util
import json
import math
import os
import platform
import re
import sys
import time

import numpy as np

# Imported by main() once the arguments parse, so --help and usage errors answer at once (importing
# torch takes 1-3 s); the projection helpers need numpy only and can be imported without it.
torch = None

MANIFEST_VERSION = 1
MASK32 = 0xFFFFFFFF
DEFAULT_BLOCK_ROWS = 4096  # gradlab's DEFAULT_PROJECTION_BLOCK_ROWS
GRADLAB_MATRICES = r"^layer\d+\.(q|k|v|o|gate|up|down)$"
# Attention / MLP projection weights of common causal-LM families (Llama/Mistral/Qwen, GPT-2,
# GPT-NeoX, OPT, Falcon...). Embeddings, norms, biases and the LM head are never included.
HF_MATRICES = (
    r"(^|\.)(q_proj|k_proj|v_proj|o_proj|gate_proj|up_proj|down_proj|query|key|value|query_key_value"
    r"|c_attn|c_proj|c_fc|fc1|fc2|out_proj|dense|dense_h_to_4h|dense_4h_to_h|wq|wk|wv|wo|w1|w2|w3)\.weight$"
)
OUTPUT_FILES = ("manifest.json", "probe_norms.npy", "losses.npy", "features.npy", "examples.jsonl")


class BridgeError(Exception):
    """A problem with the user's input or environment; printed without a traceback."""


# ---- gradlab's Rng (kernel-lib/random.ts), bit-exact ---------------------------------------------

def _imul(a, b):
    return (a * b) & MASK32


def hash128(text):
    """cyrb128 over the UTF-16 code units of `text` (what JS charCodeAt iterates)."""
    h1, h2, h3, h4 = 1779033703, 3144134277, 1013904242, 2773480762
    units = text.encode("utf-16-le")
    for i in range(0, len(units), 2):
        k = units[i] | (units[i + 1] << 8)
        h1 = h2 ^ _imul(h1 ^ k, 597399067)
        h2 = h3 ^ _imul(h2 ^ k, 2869860233)
        h3 = h4 ^ _imul(h3 ^ k, 951274213)
        h4 = h1 ^ _imul(h4 ^ k, 2716044179)
    h1 = _imul(h3 ^ (h1 >> 18), 597399067)
    h2 = _imul(h4 ^ (h2 >> 22), 2869860233)
    h3 = _imul(h1 ^ (h3 >> 17), 951274213)
    h4 = _imul(h2 ^ (h4 >> 19), 2716044179)
    h1 ^= h2 ^ h3 ^ h4
    h2 ^= h1
    h3 ^= h1
    h4 ^= h1
    return [h1 & MASK32, h2 & MASK32, h3 & MASK32, h4 & MASK32]


class Sfc32Lanes:
    """Independent sfc32 streams advanced together (one numpy lane per stream), each seeded as
    gradlab's `new Rng(seed)`: cyrb128("gradlab:" + seed), then 12 draws discarded."""

    def __init__(self, seeds):
        words = np.array([hash128("gradlab:" + s) for s in seeds], dtype=np.uint32).reshape(-1, 4)
        self.a, self.b, self.c, self.d = (words[:, i].copy() for i in range(4))
        for _ in range(12):
            self.next()

    def next(self):
        a, b, c, d = self.a, self.b, self.c, self.d
        t = a + b + d  # uint32 arrays wrap silently, as `| 0` does in JS
        self.d = d + np.uint32(1)
        self.a = b ^ (b >> np.uint32(9))
        self.b = c + (c << np.uint32(3))
        self.c = ((c << np.uint32(21)) | (c >> np.uint32(11))) + t
        return t

    def draw(self, count):
        """[lanes, count] uint32: the next `count` draws of every stream."""
        out = np.empty((count, self.a.shape[0]), dtype=np.uint32)
        for i in range(count):
            out[i] = self.next()
        return np.ascontiguousarray(out.T)


def derived_seed(seed, *labels):
    """The seed string of `new Rng(seed).derive(...labels)`."""
    return f"{seed}/" + "/".join(str(label) for label in labels)


def projection_block_seed(seed, dim, block_rows, block_index, kind="rademacher"):
    return derived_seed(seed, "random-projection", kind, dim, block_rows, block_index)


def rademacher_block_words(seed, dim, block_rows, block_indices):
    """[len(block_indices), ceil(block_rows*dim/32)] uint32: the draws that make each block."""
    lanes = Sfc32Lanes([projection_block_seed(seed, dim, block_rows, b) for b in block_indices])
    return lanes.draw((block_rows * dim + 31) // 32)


def block_from_words(words, dim, block_rows, rows):
    """One block [rows, dim] float32 from its draws. The stream is read column-major with a fixed
    column length of block_rows: entry (i, j) is position j*block_rows + i, and bit k of draw w is
    position 32w + k (1 -> +1/sqrt(dim)); a short block keeps its first `rows` rows, as gradlab does."""
    bits = np.unpackbits(words.view(np.uint8), bitorder="little")[: block_rows * dim]
    bits = bits.reshape(dim, block_rows)[:, :rows].T
    scale = np.float32(1.0 / math.sqrt(dim))  # float64 then rounded to float32, as gradlab stores it
    return np.ascontiguousarray(np.where(bits == 1, scale, -scale).astype(np.float32))


def rademacher_blocks(seed, dim, block_rows, block_indices, rows=None):
    """Blocks of gradlab's Rademacher projection matrix R, each [rows, dim] float32 (row-major)."""
    words = rademacher_block_words(seed, dim, block_rows, block_indices)
    return np.stack([block_from_words(w, dim, block_rows, block_rows if rows is None else rows) for w in words])


class RademacherProjector:
    """x^T R for gradients laid out as the manifest's matrices concatenated in order (P values).

    R is a pure function of (seed, dim, block_rows); what is kept between batches depends on
    cache_bytes: the float32 blocks (P*dim*4 bytes) if they fit, else the raw draws (P*dim/8 bytes,
    expanded per batch, cheap), else nothing (every batch regenerates the draws: P*dim/32 sfc32
    steps, the slow part, so use big batches)."""

    WORDS_BUDGET = 256 << 20  # bytes of draws generated at once (all lanes)

    def __init__(self, input_dim, dim, seed, block_rows, device, cache_bytes):
        self.input_dim, self.dim, self.seed, self.block_rows, self.device = input_dim, dim, seed, block_rows, device
        self.num_blocks = (input_dim + block_rows - 1) // block_rows
        # Each sfc32 stream is sequential, so speed comes from advancing many blocks' streams
        # together: as many lanes as the draws budget allows (blocks are expanded one at a time).
        words_per_block = 4 * ((block_rows * dim + 31) // 32)
        self.lanes = max(1, min(self.num_blocks, self.WORDS_BUDGET // words_per_block))
        self.blocks = self.words = None
        if input_dim * dim * 4 <= cache_bytes:
            self.blocks = [(start, end, self._block(words, end - start)) for start, end, words in self._draws()]
            self.cache = "blocks"
        elif self.num_blocks * words_per_block <= cache_bytes:
            self.words = list(self._draws())
            self.cache = "draws"
        else:
            self.cache = "none"

    def _draws(self):
        for first in range(0, self.num_blocks, self.lanes):
            indices = list(range(first, min(self.num_blocks, first + self.lanes)))
            for b, words in zip(indices, rademacher_block_words(self.seed, self.dim, self.block_rows, indices)):
                start = b * self.block_rows
                yield start, min(self.input_dim, start + self.block_rows), words.copy()

    def _block(self, words, rows):
        return torch.from_numpy(block_from_words(words, self.dim, self.block_rows, rows)).to(self.device)

    def _blocks(self):
        if self.blocks is not None:
            return self.blocks
        return ((start, end, self._block(words, end - start)) for start, end, words in (self.words or self._draws()))

    def project(self, grads):
        """grads [B, P] float32 -> [B, dim] float64: float32 products per block, float64 sum."""
        acc = torch.zeros((grads.shape[0], self.dim), dtype=torch.float64, device=grads.device)
        for start, end, block in self._blocks():
            acc += (grads[:, start:end] @ block).double()
        return acc


# ---- models ------------------------------------------------------------------------------------

def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def sha256_parameters(named):
    """A hash of the weights themselves (names, shapes, dtypes, bytes), for models without one file."""
    h = hashlib.sha256()
    for name, p in named:
        t = p.detach().to("cpu").contiguous()
        h.update(f"{name}:{tuple(t.shape)}:{t.dtype};".encode())
        h.update(t.view(torch.uint8).numpy().tobytes() if t.dtype == torch.bfloat16 else t.numpy().tobytes())
    return h.hexdigest()


def logits_of(output):
    if isinstance(output, torch.Tensor):
        return output
    if hasattr(output, "logits"):
        return output.logits
    if isinstance(output, (tuple, list)) and output and isinstance(output[0], torch.Tensor):
        return output[0]
    raise BridgeError("the model's forward must return logits [B, T, V] (a tensor, an object with .logits or a tuple)")


def functional_call(module, params, args, kwargs=None):
    try:
        from torch.func import functional_call as call  # torch >= 2.0
    except ImportError:
        from torch.nn.utils.stateless import functional_call as call  # torch 1.13
    return call(module, params, args, kwargs)


class ProbeTarget:
    """A model seen as: named parameters, logits(tokens), a functional form for vmap, a tokenizer."""

    def __init__(self, module, description, default_matrices, tokenize=None, encode=None, vocab_size=None, max_len=None, forward_kwargs=None):
        self.module, self.description, self.default_matrices = module, description, default_matrices
        self.tokenize, self.encode, self.vocab_size, self.max_len = tokenize, encode, vocab_size, max_len
        self.forward_kwargs = forward_kwargs or {}

    def named_parameters(self):
        return list(self.module.named_parameters())

    def logits(self, tokens):
        return logits_of(self.module(tokens, **self.forward_kwargs))

    def functional_logits(self, overrides, tokens):
        return logits_of(functional_call(self.module, overrides, (tokens,), self.forward_kwargs))


class GradlabTarget(ProbeTarget):
    """gradlab's TinyTransformer through its PyTorch twin, under gradlab's own weight names."""

    def __init__(self, model, description):
        super().__init__(model, description, GRADLAB_MATRICES, vocab_size=model.config["vocabSize"], max_len=model.config["maxLen"])

    def named_parameters(self):
        # gradlab's order (layer by layer, q k v o gate up down), which fixes the probe columns and
        # the projection's group offsets; ParameterDict itself keeps the names sorted.
        params = self.module.params()
        first = [n for n in self.module.matrix_names() if n in params]
        return [(n, params[n]) for n in first] + [(n, p) for n, p in params.items() if n not in first]

    def logits(self, tokens):
        from gradlab_torch import forward_with
        return forward_with(self.module.config, self.module.params(), tokens)

    def functional_logits(self, overrides, tokens):
        from gradlab_torch import forward_with
        merged = {k: v.detach() for k, v in self.module.params().items()}
        merged.update(overrides)
        return forward_with(self.module.config, merged, tokens)


def load_gradlab(path):
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from gradlab_torch import TinyTransformerTorch, read_safetensors

    if not os.path.isfile(path):
        raise BridgeError(f"--model {path}: no such file")
    try:
        weights, meta = read_safetensors(path)
    except (ValueError, KeyError, json.JSONDecodeError) as e:
        raise BridgeError(f"--model {path}: not a readable safetensors file ({e})")
    if meta.get("format") != "gradlab" or meta.get("kind") != "transformer":
        raise BridgeError(f"--model {path}: expected a gradlab transformer (saveModel metadata format=gradlab, kind=transformer), "
                          f"got format={meta.get('format')!r} kind={meta.get('kind')!r}; use --module for other models")
    if "lora" in meta:
        raise BridgeError(f"--model {path}: has LoRA adapters, which the PyTorch twin does not implement")
    config = json.loads(meta["config"])
    model = TinyTransformerTorch(config, weights)
    description = {"kind": "gradlab", "file": path, "sha256": sha256_file(path), "config": config,
                   "description": f"gradlab TinyTransformer (L={config['nLayers']}, d={config['dModel']}, V={config['vocabSize']})"}
    return GradlabTarget(model, description)


def load_hf(name, device, dtype, hash_weights):
    try:
        import transformers  # noqa: F401 -- only needed on this path
        from transformers import AutoModelForCausalLM, AutoTokenizer
    except ImportError as e:
        raise BridgeError(f"--hf needs the `transformers` package, which is not importable here ({e}); "
                          "install it (pip install transformers) or use --model / --module")
    model = AutoModelForCausalLM.from_pretrained(name, torch_dtype=dtype).to(device).eval()
    tokenizer = AutoTokenizer.from_pretrained(name)

    def encode(prompt, response):
        # The prompt with the tokenizer's special tokens (BOS), the response plus EOS as targets.
        p = tokenizer(prompt, add_special_tokens=True)["input_ids"]
        r = tokenizer(response, add_special_tokens=False)["input_ids"]
        if tokenizer.eos_token_id is not None:
            r = r + [tokenizer.eos_token_id]
        return p + r, [0] * len(p) + [1] * len(r)

    description = {"kind": "hf", "name": name, "revision": getattr(model.config, "_commit_hash", None),
                   "class": type(model).__name__, "description": f"Hugging Face {name}"}
    if hash_weights:
        description["sha256"] = sha256_parameters(model.named_parameters())
    vocab = getattr(model.config, "vocab_size", None)
    return ProbeTarget(model, description, HF_MATRICES,
                       tokenize=lambda text: tokenizer(text, add_special_tokens=False)["input_ids"], encode=encode, vocab_size=vocab,
                       forward_kwargs={"use_cache": False})


def load_module(spec, device):
    if ":" not in spec:
        raise BridgeError(f"--module {spec}: expected python.path:factory (or path/to/file.py:factory)")
    where, factory_name = spec.rsplit(":", 1)
    try:
        if where.endswith(".py"):
            loader_spec = importlib.util.spec_from_file_location(os.path.splitext(os.path.basename(where))[0], where)
            if loader_spec is None:
                raise ImportError(f"cannot load {where}")
            mod = importlib.util.module_from_spec(loader_spec)
            loader_spec.loader.exec_module(mod)
        else:
            sys.path.insert(0, os.getcwd())
            mod = importlib.import_module(where)
    except (ImportError, FileNotFoundError) as e:
        raise BridgeError(f"--module {spec}: cannot import {where} ({e})")
    factory = getattr(mod, factory_name, None)
    if not callable(factory):
        raise BridgeError(f"--module {spec}: {where} has no callable {factory_name}")
    made = factory()
    hook = dict(made) if isinstance(made, dict) else {"model": made[0], "tokenize": made[1] if len(made) > 1 else None}
    model = hook.get("model")
    if not isinstance(model, torch.nn.Module):
        raise BridgeError(f"--module {spec}: the factory must return a torch.nn.Module as `model`, got {type(model).__name__}")
    model = model.to(device).eval()
    description = {"kind": "module", "factory": spec, "class": type(model).__name__,
                   "description": hook.get("description", f"{type(model).__name__} from {spec}"),
                   "sha256": sha256_parameters(model.named_parameters())}
    return ProbeTarget(model, description, hook.get("matrices", HF_MATRICES), tokenize=hook.get("tokenize"))


def describe_matrix(name, shape):
    """layer = the first integer path component (or 'layerN'); module = the name before '.weight', without '_proj'."""
    layer_match = re.search(r"(?:^|\.)(?:layer)?(\d+)(?:\.|$)", name)
    parts = [p for p in name.split(".") if p != "weight"]
    module = re.sub(r"_proj$", "", parts[-1]) if parts else name
    return {"name": name, "shape": list(shape), "numel": int(np.prod(shape)), "layer": int(layer_match.group(1)) if layer_match else -1, "module": module}


def select_matrices(target, regex):
    pattern = re.compile(regex)
    chosen = [(n, p) for n, p in target.named_parameters() if p.dim() == 2 and pattern.search(n)
              and "embed" not in n and "lm_head" not in n]
    if not chosen:
        names = ", ".join(n for n, _ in target.named_parameters()[:12])
        raise BridgeError(f"--matrices {regex!r} selects no 2-D weight matrix; parameters start: {names}")
    return chosen


# ---- data --------------------------------------------------------------------------------------

def validate_rows(path, mask_rule, target, max_length):
    """Checks every row before any gradient is computed (so a bad line 9000 fails in seconds, not
    after hours) and returns N, which the .npy headers need up front."""
    n = 0
    for number, row in read_rows(path):
        example_from_row(path, number, row, mask_rule, target, max_length)
        n += 1
    return n


def read_rows(path):
    with open(path, "r", encoding="utf-8-sig") as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                yield number, json.loads(line)
            except json.JSONDecodeError as e:
                raise BridgeError(f"{path} line {number}: malformed JSON ({e})")


def example_from_row(path, number, row, mask_rule, target, max_length):
    """(tokens, loss_mask) of one JSONL row under the mask rule; every problem names the line."""
    where = f"{path} line {number}"
    if not isinstance(row, dict):
        raise BridgeError(f"{where}: expected a JSON object")
    if "tokens" in row:
        tokens = row["tokens"]
        if not isinstance(tokens, list) or not all(isinstance(t, int) and not isinstance(t, bool) and t >= 0 for t in tokens):
            raise BridgeError(f"{where}: `tokens` must be an array of non-negative integers")
        given = None
        if mask_rule == "response":
            given = row.get("loss_mask")
            if given is None:
                raise BridgeError(f"{where}: --mask-rule response needs `loss_mask` next to `tokens` (or prompt/response text)")
        elif mask_rule.startswith("field:"):
            given = row.get(mask_rule[6:])
            if given is None:
                raise BridgeError(f"{where}: --mask-rule {mask_rule}: the row has no field {mask_rule[6:]!r}")
        mask = [0] + [1] * (len(tokens) - 1) if given is None else given
    elif "prompt" in row and "response" in row:
        if not isinstance(row["prompt"], str) or not isinstance(row["response"], str):
            raise BridgeError(f"{where}: `prompt` and `response` must be strings")
        if target.encode is not None:
            tokens, mask = target.encode(row["prompt"], row["response"])
        elif target.tokenize is not None:
            p, r = target.tokenize(row["prompt"]), target.tokenize(row["response"])
            tokens, mask = list(p) + list(r), [0] * len(p) + [1] * len(r)
        else:
            raise BridgeError(f"{where}: text rows need a tokenizer (--hf, or a --module hook with tokenize); give `tokens` instead")
        if mask_rule == "all":
            mask = [0] + [1] * (len(tokens) - 1)
        elif mask_rule.startswith("field:"):
            raise BridgeError(f"{where}: --mask-rule {mask_rule} needs token rows (`tokens` + the mask field)")
    else:
        raise BridgeError(f"{where}: expected `tokens` (+ `loss_mask`) or `prompt` + `response`")
    if not isinstance(mask, list) or len(mask) != len(tokens):
        raise BridgeError(f"{where}: the loss mask must be an array as long as `tokens` ({len(tokens)})")
    if any(m not in (0, 1) or isinstance(m, bool) for m in mask):
        raise BridgeError(f"{where}: loss mask values must be 0 or 1")
    if max_length is not None:
        tokens, mask = tokens[:max_length], mask[:max_length]
    if len(tokens) < 2:
        raise BridgeError(f"{where}: needs at least 2 tokens (a next-token loss predicts from earlier tokens)")
    if mask[0] == 1:
        raise BridgeError(f"{where}: loss_mask[0] is 1, but the first token has no prediction (mark targets from position 1 on)")
    if sum(mask) == 0:
        raise BridgeError(f"{where}: no target token (loss mask all 0{' after --max-length' if max_length else ''})")
    if target.vocab_size is not None and max(tokens) >= target.vocab_size:
        raise BridgeError(f"{where}: token id {max(tokens)} is outside the vocabulary [0, {target.vocab_size})")
    if target.max_len is not None and len(tokens) > target.max_len:
        raise BridgeError(f"{where}: {len(tokens)} tokens exceed the model's maxLen {target.max_len} (use --max-length)")
    return tokens, mask


def batches(path, mask_rule, target, batch_size, max_length, first=0, stop=None):
    """Batches of the data rows with index in [first, stop) (every row by default)."""
    batch = []
    for index, (number, row) in enumerate(read_rows(path)):
        if index < first:
            continue
        if stop is not None and index >= stop:
            break
        tokens, mask = example_from_row(path, number, row, mask_rule, target, max_length)
        meta = {"line": number, "n_tokens": len(tokens), "n_targets": int(sum(mask))}
        if isinstance(row, dict):
            for key in ("id", "group", "label"):
                if key in row:
                    meta[key] = row[key]
        batch.append((tokens, mask, meta))
        if len(batch) == batch_size:
            yield batch
            batch = []
    if batch:
        yield batch


# ---- per-example gradients ---------------------------------------------------------------------

def masked_loss(logits, tokens, mask):
    """Mean next-token CE over target tokens, per example: [B]. Computed in float32 (bf16 models too)."""
    logits = logits[:, :-1].float()
    nll = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), tokens[:, 1:].reshape(-1), reduction="none")
    weights = mask[:, 1:].float()
    return (nll.view(weights.shape) * weights).sum(1) / weights.sum(1)


def pad(examples, device):
    """Right-padded [B, T] tokens and masks. Exact for causal models: padding at the end is never
    attended to by earlier positions and carries mask 0."""
    T = max(len(t) for t, _, _ in examples)
    tokens = torch.zeros((len(examples), T), dtype=torch.long)
    mask = torch.zeros((len(examples), T), dtype=torch.float32)
    for i, (t, m, _) in enumerate(examples):
        tokens[i, : len(t)] = torch.tensor(t)
        mask[i, : len(m)] = torch.tensor(m, dtype=torch.float32)
    return tokens.to(device), mask.to(device)


def gradients_loop(target, matrices, examples, device, want_vectors):
    """One backward per example: (norms [B, M] float64, losses [B], vectors [B, P] float32 or None)."""
    params = [p for _, p in matrices]
    norms, losses = [], []
    # The batch's gradients, [B, P] float32, in manifest order (a [out, in] weight flattens
    # row-major, as gradlab's full vectors do); filled in place to avoid a second copy.
    vectors = torch.empty((len(examples), sum(p.numel() for p in params)), dtype=torch.float32, device=device) if want_vectors else None
    for i, (t, m, _) in enumerate(examples):
        tokens, mask = pad([(t, m, None)], device)
        loss = masked_loss(target.logits(tokens), tokens, mask)[0]
        grads = torch.autograd.grad(loss, params)
        norms.append([torch.linalg.vector_norm(g.detach().float()).double().item() for g in grads])
        losses.append(loss.item())
        if want_vectors:
            at = 0
            for g in grads:
                vectors[i, at : at + g.numel()] = g.detach().reshape(-1)
                at += g.numel()
        del grads
    return np.array(norms), np.array(losses), vectors


def gradients_vmap(target, matrices, examples, device, want_vectors):
    try:
        from torch.func import grad_and_value, vmap  # torch >= 2.0
    except ImportError:
        from functorch import grad_and_value, vmap  # torch 1.13
    names = [n for n, _ in matrices]
    probe = {n: p.detach() for n, p in matrices}
    tokens, mask = pad(examples, device)

    def loss_of(params, tok, msk):
        tok, msk = tok.unsqueeze(0), msk.unsqueeze(0)
        return masked_loss(target.functional_logits(params, tok), tok, msk)[0]

    try:
        g, losses = vmap(grad_and_value(loss_of), in_dims=(None, 0, 0))(probe, tokens, mask)
    except Exception as e:  # noqa: BLE001 -- vmap failures are model-specific; say what to do
        raise BridgeError(f"--vmap failed for this model ({type(e).__name__}: {e}); run without --vmap (one backward per example)")
    flat = [g[n].float().reshape(len(examples), -1) for n in names]
    norms = torch.stack([torch.linalg.vector_norm(f, dim=1) for f in flat], dim=1).double().cpu().numpy()
    return norms, losses.detach().double().cpu().numpy(), torch.cat(flat, dim=1) if want_vectors else None


# ---- output ------------------------------------------------------------------------------------

def resolve_shard(text):
    """(index, count) from "i/n" (0-based) or "auto" (SLURM_ARRAY_TASK_ID + _COUNT, or
    JOB_COMPLETION_INDEX + GRADLAB_SHARD_COUNT). Raises ValueError."""
    if text == "auto":
        env = os.environ
        if "SLURM_ARRAY_TASK_ID" in env:
            index, count = int(env["SLURM_ARRAY_TASK_ID"]), int(env.get("SLURM_ARRAY_TASK_COUNT", "0"))
        elif "JOB_COMPLETION_INDEX" in env:
            index, count = int(env["JOB_COMPLETION_INDEX"]), int(env.get("GRADLAB_SHARD_COUNT", "0"))
        else:
            raise ValueError("auto needs SLURM_ARRAY_TASK_ID (+ _COUNT) or JOB_COMPLETION_INDEX (+ GRADLAB_SHARD_COUNT)")
    else:
        parts = text.split("/")
        if len(parts) != 2 or not all(p.isdigit() for p in parts):
            raise ValueError(f"expected i/n with 0 <= i < n, got {text!r}")
        index, count = int(parts[0]), int(parts[1])
    if count < 1 or not 0 <= index < count:
        raise ValueError(f"expected 0 <= i < n, got {index}/{count}")
    return index, count


def npy_rows_on_disk(path, row_bytes):
    """Complete rows a float32 .npy holds after its header (0 if missing or unreadable)."""
    try:
        with open(path, "rb") as f:
            np.lib.format.read_magic(f)
            np.lib.format.read_array_header_1_0(f)
            header_end = f.tell()
        return max(0, (os.path.getsize(path) - header_end) // row_bytes)
    except (OSError, ValueError):
        return 0


def complete_lines(path):
    """The lines of a text file that end with a newline (a torn last line is dropped)."""
    try:
        with open(path, "r", encoding="utf-8") as f:
            text = f.read()
    except OSError:
        return []
    return text.split("\n")[:-1]

class NpyRowWriter:
    """A float32 .npy whose header states the final shape; rows are appended and flushed per batch,
    so an interrupted run leaves a visibly short file."""

    def __init__(self, path, shape, keep_rows=0):
        """keep_rows > 0 resumes a file with that many complete rows: anything after them is cut."""
        self.path, self.shape, self.rows = path, tuple(shape), keep_rows
        if keep_rows > 0:
            self.file = open(path, "r+b")
            np.lib.format.read_magic(self.file)
            np.lib.format.read_array_header_1_0(self.file)
            self.file.truncate(self.file.tell() + keep_rows * 4 * int(np.prod(self.shape[1:], dtype=np.int64)))
            self.file.seek(0, os.SEEK_END)
        else:
            self.file = open(path, "wb")
            np.lib.format.write_array_header_1_0(self.file, {"descr": "<f4", "fortran_order": False, "shape": self.shape})

    def append(self, rows):
        rows = np.ascontiguousarray(rows, dtype="<f4")
        self.file.write(rows.tobytes())
        self.file.flush()
        self.rows += rows.shape[0]

    def close(self):
        os.fsync(self.file.fileno())
        self.file.close()
        if self.rows != self.shape[0]:
            raise BridgeError(f"{self.path}: wrote {self.rows} rows, header says {self.shape[0]}")


def write_json_atomic(path, value):
    temp = f"{path}.tmp-{os.getpid()}"
    with open(temp, "w", encoding="utf-8") as f:
        json.dump(value, f, indent=1)
        f.write("\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(temp, path)


def seed_value(text):
    """The seed as gradlab would be given it: an integer stays a number (String(7) == "7", so the
    streams are identical either way), anything else a string."""
    return int(text) if re.fullmatch(r"-?(0|[1-9]\d{0,14})", text) else text


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    source = ap.add_mutually_exclusive_group(required=True)
    source.add_argument("--model", help="a gradlab safetensors file (models/io.ts saveModel)")
    source.add_argument("--hf", metavar="NAME", help="a Hugging Face causal LM name or folder (needs transformers)")
    source.add_argument("--module", metavar="PATH:FACTORY", help="python.path:factory returning (model, tokenize) or a dict")
    ap.add_argument("--data", required=True, help="JSONL: rows with tokens + loss_mask, or prompt + response text")
    ap.add_argument("--out", required=True, help="output folder (created; an unfinished run of the same command in it is resumed, other earlier outputs are replaced)")
    ap.add_argument("--mask-rule", default="response", help="response (loss_mask, or the response span of text rows) | all | field:NAME")
    ap.add_argument("--matrices", help="regex over parameter names (default: attention/MLP projection matrices)")
    ap.add_argument("--project", type=int, metavar="D", help="also write features.npy: D-dim seeded projection of each gradient")
    ap.add_argument("--seed", help="projection seed (same stream as gradlab's seed: 7 and \"7\" are the same)")
    ap.add_argument("--projection", default="rademacher", help="projection kind (only rademacher is bit-identical to gradlab here)")
    ap.add_argument("--block-rows", type=int, default=DEFAULT_BLOCK_ROWS, help="rows of R per generated block (part of R's identity; gradlab default 4096)")
    ap.add_argument("--projection-cache-mb", type=float, default=512, help="memory for keeping R between batches (MB): its float32 blocks if they fit (P*D*4 bytes), else its raw draws (P*D/8), else R is regenerated per batch")
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--vmap", action="store_true", help="per-example gradients with vmap(grad) instead of a loop")
    ap.add_argument("--max-length", type=int, help="truncate examples to this many tokens")
    ap.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N")
    ap.add_argument("--dtype", default="auto", help="--hf weights dtype: auto (bfloat16 on cuda, float32 on cpu) | float32 | bfloat16 | float16")
    ap.add_argument("--hash-weights", action="store_true", help="--hf: also hash every weight (slow for big models; the revision is always recorded)")
    ap.add_argument("--threads", type=int, help="torch.set_num_threads")
    ap.add_argument("--shard", default="0/1", help="i/n (0-based) or auto: only the contiguous rows [floor(i N/n), floor((i+1) N/n)); give each shard its own --out")
    ap.add_argument("--quiet", action="store_true", help="no progress line on stderr")
    ap.add_argument("--sleep-per-batch", type=float, default=0.0, help=argparse.SUPPRESS)  # tests: make a run slow enough to interrupt
    args = ap.parse_args(argv)
    if not (args.mask_rule in ("response", "all") or (args.mask_rule.startswith("field:") and len(args.mask_rule) > 6)):
        ap.error(f"--mask-rule: expected response, all or field:NAME, got {args.mask_rule!r}")
    if args.batch_size < 1:
        ap.error("--batch-size: expected a positive integer")
    if args.project is not None:
        if args.project < 1:
            ap.error("--project: expected a positive dimension")
        if args.seed is None:
            ap.error("--project needs --seed (projections must be reproducible)")
        if args.projection != "rademacher":
            ap.error(f"--projection: only 'rademacher' is supported (got {args.projection!r}); gradlab's Gaussian uses libm and would not be bit-identical")
        if args.block_rows < 1:
            ap.error("--block-rows: expected a positive integer")
    if args.max_length is not None and args.max_length < 2:
        ap.error("--max-length: expected an integer >= 2")
    try:
        args.shard_index, args.shard_count = resolve_shard(args.shard)
    except ValueError as e:
        ap.error(f"--shard: {e}")
    return args


def start_run(args):
    """The start every bridge script shares: thread count, device ("auto": CUDA when present, else
    CPU) and the --data file's existence. Returns (start time, device)."""
    started = time.time()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device("cuda" if args.device == "auto" and torch.cuda.is_available() else ("cpu" if args.device == "auto" else args.device))
    if not os.path.isfile(args.data):
        raise BridgeError(f"--data {args.data}: no such file")
    return started, device


HF_DTYPES = ("float32", "bfloat16", "float16")  # names: torch is imported lazily


def hf_dtype(name, auto):
    """--dtype as a torch dtype ("auto" → `auto`); anything else is refused, naming the option."""
    if name == "auto":
        return auto
    if name not in HF_DTYPES:
        raise BridgeError(f"--dtype: expected auto, {', '.join(HF_DTYPES)}; got {name!r}")
    return getattr(torch, name)


def run(args):
    started, device = start_run(args)
    if args.model:
        target = load_gradlab(args.model)
        target.module.to(device)
    elif args.hf:
        dtype = hf_dtype(args.dtype, torch.bfloat16 if device.type == "cuda" else torch.float32)
        target = load_hf(args.hf, device, dtype, args.hash_weights)
    else:
        target = load_module(args.module, device)
    for _, p in target.named_parameters():
        p.requires_grad_(False)
    matrices = select_matrices(target, args.matrices or target.default_matrices)
    for _, p in matrices:
        p.requires_grad_(True)
    info = [describe_matrix(n, tuple(p.shape)) for n, p in matrices]

    n_total = validate_rows(args.data, args.mask_rule, target, args.max_length)
    if n_total == 0:
        raise BridgeError(f"--data {args.data}: no rows")
    start = args.shard_index * n_total // args.shard_count
    end = (args.shard_index + 1) * n_total // args.shard_count
    n = end - start
    if n == 0:
        raise BridgeError(f"--shard {args.shard_index}/{args.shard_count}: no rows (the data has {n_total}; use fewer shards)")
    data_sha = sha256_file(args.data)
    settings = {"model": target.description, "data": data_sha, "mask_rule": args.mask_rule, "matrices": args.matrices or target.default_matrices,
                "max_length": args.max_length, "project": args.project, "seed": args.seed, "block_rows": args.block_rows, "vmap": args.vmap,
                "shard": [args.shard_index, args.shard_count]}
    settings_hash = hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode()).hexdigest()
    manifest_path = os.path.join(args.out, "manifest.json")
    keep = 0
    if os.path.isfile(manifest_path):
        try:
            old = json.load(open(manifest_path, encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            old = {}
        if old.get("settings_hash") == settings_hash:
            if old.get("complete"):
                print(f"torch_probe: {args.out} already holds this run, complete", file=sys.stderr)
                return old
            # Resume: the rows every output file holds completely are kept (examples.jsonl lines too).
            row_counts = [npy_rows_on_disk(os.path.join(args.out, "probe_norms.npy"), 4 * len(info)),
                          npy_rows_on_disk(os.path.join(args.out, "losses.npy"), 4), len(complete_lines(os.path.join(args.out, "examples.jsonl")))]
            if args.project:
                row_counts.append(npy_rows_on_disk(os.path.join(args.out, "features.npy"), 4 * args.project))
            keep = min(row_counts + [n])
    # Everything is validated; only now is the output folder touched. A stale complete manifest
    # must never vouch for new, partial arrays, so earlier outputs go first (unless resumed).
    os.makedirs(args.out, exist_ok=True)
    if keep == 0:
        for name in OUTPUT_FILES:
            path = os.path.join(args.out, name)
            if os.path.exists(path):
                os.remove(path)
    projector = None
    if args.project:
        total = sum(m["numel"] for m in info)
        projector = RademacherProjector(total, args.project, str(args.seed), args.block_rows, device, args.projection_cache_mb * (1 << 20))
        if projector.cache == "none":
            print(f"torch_probe: note: the projection matrix ({total} x {args.project}) exceeds --projection-cache-mb and is "
                  f"regenerated for every batch ({total * args.project / 32:.3g} sfc32 draws each, ~1e7/s on 2 CPU cores): "
                  "use a large --batch-size, fewer --matrices, a smaller D, or a larger cache", file=sys.stderr)
    manifest = {
        "version": MANIFEST_VERSION,
        "complete": False,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "tool": "scripts/torch_probe.py",
        "model": target.description,
        "data": {"file": args.data, "sha256": data_sha},
        "n_examples": n,
        "shard": {"index": args.shard_index, "count": args.shard_count, "start": start, "end": end, "total": n_total},
        "settings_hash": settings_hash,
        "resumed_rows": keep,
        "mask_rule": args.mask_rule,
        "loss": "mean next-token cross-entropy over target tokens (loss_mask[t] = 1: token t predicted from tokens < t)",
        "matrices_regex": args.matrices or target.default_matrices,
        "matrices": info,
        "seed": seed_value(args.seed) if args.seed is not None else None,
        "projection": None if projector is None else {"kind": "rademacher", "dim": args.project, "blockRows": args.block_rows, "inputDim": projector.input_dim, "cache": projector.cache},
        "dtype": "float32",
        "per_example": "vmap" if args.vmap else "loop",
        "batch_size": args.batch_size,
        "max_length": args.max_length,
        "device": str(device),
        "files": {"probe_norms": "probe_norms.npy", "losses": "losses.npy", "examples": "examples.jsonl",
                  "features": "features.npy" if projector is not None else None},
        "versions": {"python": platform.python_version(), "torch": torch.__version__, "numpy": np.__version__},
    }
    write_json_atomic(manifest_path, manifest)  # "complete": false until the last row is on disk

    norms_out = NpyRowWriter(os.path.join(args.out, "probe_norms.npy"), (n, len(info)), keep)
    losses_out = NpyRowWriter(os.path.join(args.out, "losses.npy"), (n,), keep)
    features_out = NpyRowWriter(os.path.join(args.out, "features.npy"), (n, args.project), keep) if projector else None
    kept_lines = complete_lines(os.path.join(args.out, "examples.jsonl"))[:keep]
    meta_out = open(os.path.join(args.out, "examples.jsonl"), "w", encoding="utf-8")
    for line in kept_lines:
        meta_out.write(line + "\n")
    meta_out.flush()
    compute = gradients_vmap if args.vmap else gradients_loop
    context_length = max([json.loads(line)["n_tokens"] for line in kept_lines] + [0])
    done, loop_started = keep, time.time()
    for batch in batches(args.data, args.mask_rule, target, args.batch_size, args.max_length, start + keep, end):
        norms, losses, vectors = compute(target, matrices, batch, device, projector is not None)
        # A non-finite value (e.g. float16 overflow) stops the run here, naming the example, rather
        # than completing a run the reader would then reject.
        if not np.all(np.isfinite(losses)):
            bad = int(np.flatnonzero(~np.isfinite(losses))[0])
            raise BridgeError(f"{args.data} line {batch[bad][2]['line']}: the loss is not finite ({losses[bad]})")
        if not np.all(np.isfinite(norms)):
            row, col = (int(i[0]) for i in np.nonzero(~np.isfinite(norms)))
            raise BridgeError(f"{args.data} line {batch[row][2]['line']}: the gradient norm of {info[col]['name']} is not finite "
                              f"({norms[row, col]}; with --dtype float16 try bfloat16 or float32)")
        norms_out.append(norms)
        losses_out.append(losses)
        if projector is not None:
            features_out.append(projector.project(vectors).cpu().numpy())
        for _, _, meta in batch:
            meta_out.write(json.dumps(meta) + "\n")
        meta_out.flush()
        context_length = max(context_length, max(m["n_tokens"] for _, _, m in batch))
        done += len(batch)
        if not args.quiet:
            rate = (done - keep) / max(time.time() - loop_started, 1e-9)
            print(f"torch_probe: {done}/{n} examples ({100 * done / n:.1f}%), {rate:.1f} examples/s, eta {(n - done) / rate:.0f} s",
                  file=sys.stderr, flush=True)
        if args.sleep_per_batch > 0:
            time.sleep(args.sleep_per_batch)
    for writer in (norms_out, losses_out, features_out):
        if writer is not None:
            writer.close()
    os.fsync(meta_out.fileno())
    meta_out.close()
    manifest.update({"complete": True, "context_length": context_length, "seconds": round(time.time() - started, 3),
                     "finished": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")})
    write_json_atomic(manifest_path, manifest)
    return manifest


def import_torch():
    global torch
    import torch  # noqa: F811 -- binds the module-level name


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    import_torch()
    try:
        manifest = run(args)
    except BridgeError as e:
        print(f"torch_probe: error: {e}", file=sys.stderr)
        return 2
    print(json.dumps({"out": os.path.abspath(args.out), "n_examples": manifest["n_examples"], "matrices": len(manifest["matrices"]),
                      "features": manifest["projection"] is not None, "seconds": manifest["seconds"]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
