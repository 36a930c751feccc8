#!/usr/bin/env python3
"""LESS features from PyTorch, for gradlab: per-example LoRA gradients at one or more warm-up
checkpoints, Adam-preconditioned with each checkpoint's optimizer state (pool examples) or plain
(target examples), projected with gradlab's seeded Rademacher projection (bit-identical R) and
unit-normalised, written as gradlab feature stores that `lab.bridge.readLessFeatures` reads.

Why here and not from torch_probe.py's output: Adam preconditioning is elementwise and not linear,
so it must be applied to the full gradient before projection; a projected plain gradient cannot
be turned into a LESS feature afterwards.

Checkpoints (--checkpoint DIR, repeat it; a PEFT / Hugging Face Trainer checkpoint folder):
  adapter_config.json         r, lora_alpha (scale alpha/r; use_rslora: alpha/sqrt(r))
  adapter_model.safetensors   <prefix><module path>.lora_A.weight [r, in], .lora_B.weight [out, r]
                              (or adapter_model.bin); prefixes "base_model.model." and ".default" are dropped
  optimizer.pt | optimizer.bin  torch.save(optimizer.state_dict()) of an Adam/AdamW over the adapters:
                              exp_avg, exp_avg_sq, step per parameter; betas, eps, lr per param group
                              (or optimizer.safetensors as gradlab's bridge.writePeftCheckpoint writes it).
  Integer state keys are matched to the adapters in model order (A then B per adapted matrix), the
  order Trainer and torch give them; every shape is checked (shapes cannot tell two adapted matrices
  of one shape apart). Name keys, or param_groups with "param_names", are matched by name.
Base model: --model (a gradlab TinyTransformer saved without adapters), --module or --hf as in
torch_probe.py (LoRA is then added with forward hooks on the adapted nn.Linear modules).

Forms (--adam-form): "less" (default, the released LESS code): m' = b1 m + (1-b1) g,
v' = b2 v + (1-b2) g^2, G = m' / sqrt(v' + eps); "bias-corrected": G = (m'/(1-b1^(t+1))) /
(sqrt(v'/(1-b2^(t+1))) + eps) with t = the checkpoint's step. Checkpoint weights (--lr-weights):
LESS uses each epoch's mean learning rate; pass them as a list, or "optimizer" to take each
checkpoint's saved param-group lr (the schedule's rate at save time, an approximation).

Scale-out: --shard i/n (0-based, or "auto" from SLURM_ARRAY_TASK_ID/COUNT or JOB_COMPLETION_INDEX
+ GRADLAB_SHARD_COUNT) computes the contiguous rows [floor(i N/n), floor((i+1) N/n)); give each
shard its own --out; the reader merges them in shard order. Resume: rerun the same command after a
kill; complete chunk files (written atomically) are counted and kept, the rest is recomputed
(at most --chunk-rows - 1 rows per checkpoint). A progress line per batch goes to stderr.

Output (--out): less-manifest.json ("complete": false until every store is finished) and one
gradlab feature store per checkpoint, ckpt-<k>/ (meta.json + chunk-NNNNNN.npy float32 [rows, D]).
Depends only on numpy and torch (>= 1.13).
"""
import argparse
import hashlib
import json
import math
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch_probe as tp  # noqa: E402 -- the shared loaders, data checks and projection

FORMAT = "gradlab-less-features"
VERSION = 1
ADAM_FORMS = ("less", "bias-corrected")
torch = None


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    source = ap.add_mutually_exclusive_group(required=True)
    source.add_argument("--model", help="a gradlab TinyTransformer safetensors file (saved without LoRA)")
    source.add_argument("--hf", metavar="NAME", help="a Hugging Face causal LM (needs transformers)")
    source.add_argument("--module", metavar="PATH:FACTORY", help="as torch_probe.py --module")
    ap.add_argument("--checkpoint", action="append", required=True, metavar="DIR", help="a LoRA checkpoint folder (repeat for several)")
    ap.add_argument("--lr-weights", default="optimizer", help="comma list of checkpoint weights (LESS: each epoch's mean lr), or 'optimizer'")
    ap.add_argument("--role", required=True, choices=("pool", "target"), help="pool: Adam-preconditioned; target: plain gradients")
    ap.add_argument("--adam-form", default="less", choices=ADAM_FORMS)
    ap.add_argument("--data", required=True, help="JSONL rows as in torch_probe.py")
    ap.add_argument("--mask-rule", default="response")
    ap.add_argument("--max-length", type=int)
    ap.add_argument("--project", type=int, required=True, metavar="D", help="projected dimension")
    ap.add_argument("--seed", required=True, help="projection seed (gradlab's: 7 and \"7\" are the same)")
    ap.add_argument("--block-rows", type=int, default=tp.DEFAULT_BLOCK_ROWS)
    ap.add_argument("--projection-cache-mb", type=float, default=512)
    ap.add_argument("--out", required=True, help="this shard's output folder (resumed if it holds an unfinished run of the same command)")
    ap.add_argument("--shard", default="0/1", help="i/n (0-based) or auto")
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--chunk-rows", type=int, default=256, help="rows per feature-store chunk (the unit of resume)")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--dtype", default="auto")
    ap.add_argument("--threads", type=int)
    ap.add_argument("--quiet", action="store_true", help="no progress line")
    ap.add_argument("--sleep-per-batch", type=float, default=0.0, help=argparse.SUPPRESS)  # tests: slow enough to kill
    args = ap.parse_args(argv)
    for name in ("project", "block_rows", "batch_size", "chunk_rows"):
        if getattr(args, name) < 1:
            ap.error(f"--{name.replace('_', '-')}: expected a positive integer")
    try:
        args.shard_index, args.shard_count = tp.resolve_shard(args.shard)
    except ValueError as e:
        ap.error(f"--shard: {e}")
    if args.lr_weights != "optimizer":
        try:
            args.weights = [float(w) for w in args.lr_weights.split(",")]
        except ValueError:
            ap.error(f"--lr-weights: expected numbers separated by commas or 'optimizer', got {args.lr_weights!r}")
        if len(args.weights) != len(args.checkpoint) or not all(w > 0 and math.isfinite(w) for w in args.weights):
            ap.error(f"--lr-weights: expected {len(args.checkpoint)} positive numbers (one per --checkpoint)")
    return args


# ---- checkpoints -------------------------------------------------------------------------------

def read_tensors(path):
    if path.endswith(".safetensors"):
        from gradlab_torch import read_safetensors
        tensors, _ = read_safetensors(path)
        return tensors
    return torch.load(path, map_location="cpu")


def adapter_key(name):
    """'base_model.model.layers.0.q_proj.lora_A.default.weight' -> ('layers.0.q_proj', 'A')."""
    for prefix in ("base_model.model.", "base_model."):
        if name.startswith(prefix):
            name = name[len(prefix):]
    name = name.replace(".default.", ".")
    for part in ("A", "B"):
        suffix = f".lora_{part}.weight"
        if name.endswith(suffix):
            return name[: -len(suffix)], part
    return None, None


def load_checkpoint(folder, module_order):
    """(scale, adapters {module: {"A", "B"}}, ordered [(module, part)], optimizer state dict)."""
    where = f"--checkpoint {folder}"
    config_path = os.path.join(folder, "adapter_config.json")
    if not os.path.isfile(config_path):
        raise tp.BridgeError(f"{where}: no adapter_config.json (a PEFT LoRA checkpoint folder is expected)")
    config = json.load(open(config_path, encoding="utf-8"))
    r, alpha = config.get("r"), config.get("lora_alpha", config.get("r"))
    if not isinstance(r, int) or r < 1 or not isinstance(alpha, (int, float)) or alpha <= 0:
        raise tp.BridgeError(f"{where}/adapter_config.json: needs r (a positive integer) and lora_alpha > 0")
    scale = alpha / math.sqrt(r) if config.get("use_rslora") else alpha / r
    weights_path = next((os.path.join(folder, f) for f in ("adapter_model.safetensors", "adapter_model.bin") if os.path.isfile(os.path.join(folder, f))), None)
    if weights_path is None:
        raise tp.BridgeError(f"{where}: no adapter_model.safetensors or adapter_model.bin")
    adapters = {}
    for name, tensor in read_tensors(weights_path).items():
        module, part = adapter_key(name)
        if module is not None:
            adapters.setdefault(module, {})[part] = tensor.float()
    unknown = [m for m in adapters if m not in module_order]
    if not adapters or unknown or any(set(p) != {"A", "B"} for p in adapters.values()):
        raise tp.BridgeError(f"{where}: adapters must pair lora_A and lora_B on modules of the base model (unknown: {unknown[:3]}, found: {list(adapters)[:3]})")
    for module, parts in adapters.items():
        if parts["A"].shape[0] != r or parts["B"].shape[1] != r:
            raise tp.BridgeError(f"{where}: {module} has A {tuple(parts['A'].shape)}, B {tuple(parts['B'].shape)}; r is {r}")
    order = [(m, p) for m in module_order if m in adapters for p in ("A", "B")]
    optimizer_path = next((os.path.join(folder, f) for f in ("optimizer.pt", "optimizer.bin", "optimizer.safetensors") if os.path.isfile(os.path.join(folder, f))), None)
    return scale, adapters, order, optimizer_path


def adam_state(optimizer_path, order, adapters, where):
    """m, v (flat float64, in `order`), step, beta1, beta2, eps, lr of one checkpoint's optimizer."""
    if optimizer_path is None:
        raise tp.BridgeError(f"{where}: no optimizer.pt / optimizer.bin (role pool needs the Adam state)")
    sd = gradlab_adam_state(optimizer_path) if optimizer_path.endswith(".safetensors") else torch.load(optimizer_path, map_location="cpu")
    if not isinstance(sd, dict) or "state" not in sd or "param_groups" not in sd:
        raise tp.BridgeError(f"{optimizer_path}: not an optimizer state_dict (no state / param_groups)")
    groups = sd["param_groups"]
    ids = [i for g in groups for i in g["params"]]
    group_of = {i: g for g in groups for i in g["params"]}
    state = sd["state"]
    if groups and all("param_names" in g for g in groups):  # torch >= 2.x with named parameters: match by name
        by_module = {}
        for g in groups:
            for name, i in zip(g["param_names"], g["params"]):
                by_module[adapter_key(name)] = (state.get(i), g)
        pairs = [by_module.get((m, p), (None, groups[0])) for m, p in order]
        entries, groups_used = [e for e, _ in pairs], [g for _, g in pairs]
    elif all(isinstance(k, str) for k in state):  # keyed by parameter name
        by_module = {adapter_key(k): v for k, v in state.items()}
        entries = [by_module.get((m, p)) for m, p in order]
        group = groups[0]
        groups_used = [group] * len(order)
    else:
        if len(ids) != len(order):
            raise tp.BridgeError(f"{optimizer_path}: the optimizer holds {len(ids)} parameters, the adapters {len(order)}")
        entries = [state.get(i) for i in ids]
        groups_used = [group_of[i] for i in ids]
    ms, vs, steps = [], [], set()
    for (module, part), entry in zip(order, entries):
        if entry is None or "exp_avg" not in entry or "exp_avg_sq" not in entry:
            raise tp.BridgeError(f"{optimizer_path}: no exp_avg / exp_avg_sq for {module}.lora_{part} (never updated?)")
        shape = tuple(adapters[module][part].shape)
        if tuple(entry["exp_avg"].shape) != shape or tuple(entry["exp_avg_sq"].shape) != shape:
            raise tp.BridgeError(f"{optimizer_path}: state for {module}.lora_{part} has shape {tuple(entry['exp_avg'].shape)}, the adapter {shape} "
                                 "(integer state keys are matched in model order, A then B)")
        ms.append(entry["exp_avg"].double().reshape(-1))
        vs.append(entry["exp_avg_sq"].double().reshape(-1))
        steps.add(int(entry.get("step", 0)))
    betas = {tuple(g.get("betas", (0.9, 0.999))) for g in groups_used}
    eps = {g.get("eps", 1e-8) for g in groups_used}
    if len(steps) != 1 or len(betas) != 1 or len(eps) != 1:
        raise tp.BridgeError(f"{optimizer_path}: the adapters' steps / betas / eps differ ({steps}, {betas}, {eps})")
    (b1, b2), = betas
    return {"m": torch.cat(ms), "v": torch.cat(vs), "step": steps.pop(), "beta1": b1, "beta2": b2, "eps": eps.pop(), "lr": groups_used[0].get("lr")}


def gradlab_adam_state(path):
    """optimizer.safetensors (bridge.writePeftCheckpoint) as a state_dict keyed by parameter name."""
    from gradlab_torch import read_safetensors
    tensors, meta = read_safetensors(path)
    if meta.get("format") != "gradlab-adam":
        raise tp.BridgeError(f"{path}: metadata format {meta.get('format')!r}; expected gradlab-adam")
    step = int(meta["step"])
    state = {}
    for name, t in tensors.items():
        for moment in ("exp_avg_sq", "exp_avg"):
            if name.endswith("." + moment):
                state.setdefault(name[: -len(moment) - 1], {"step": step})[moment] = t
                break
    group = {"lr": float(meta["lr"]), "betas": (float(meta["beta1"]), float(meta["beta2"])), "eps": float(meta["eps"]), "params": list(state)}
    return {"state": state, "param_groups": [group]}


def precondition(g, st, form):
    """Gamma for gradients g [B, P] (float64 math, float32 out)."""
    g = g.double()
    b1, b2, eps = st["beta1"], st["beta2"], st["eps"]
    m1 = b1 * st["m"] + (1 - b1) * g
    v1 = b2 * st["v"] + (1 - b2) * g * g
    if form == "less":
        return (m1 / torch.sqrt(v1 + eps)).float()
    t = st["step"] + 1
    return ((m1 / (1 - b1 ** t)) / (torch.sqrt(v1 / (1 - b2 ** t)) + eps)).float()


# ---- LoRA on the model ---------------------------------------------------------------------------

class LoraTarget:
    """The base model with one checkpoint's adapters: logits(tokens) and the adapter tensors."""

    def __init__(self, target, gradlab):
        self.target, self.gradlab, self.hooks, self.params = target, gradlab, [], []

    def module_order(self):
        if self.gradlab:
            return self.target.module.matrix_names()
        # nn.Linear, and transformers' Conv1D (GPT-2 style, weight [in, out]): the hook's update
        # s (x A^T) B^T does not depend on how the base weight is stored.
        return [n for n, m in self.target.module.named_modules() if isinstance(m, torch.nn.Linear) or type(m).__name__ == "Conv1D"]

    def attach(self, scale, adapters, order, device):
        self.detach()
        self.scale = scale
        self.tensors = {(m, p): adapters[m][p].to(device).clone().requires_grad_(True) for m, p in order}
        self.params = [self.tensors[k] for k in order]
        if not self.gradlab:
            modules = dict(self.target.module.named_modules())
            for m in {m for m, _ in order}:
                A, B = self.tensors[(m, "A")], self.tensors[(m, "B")]
                self.hooks.append(modules[m].register_forward_hook(lambda _mod, inp, out, A=A, B=B: out + ((inp[0] @ A.T) * scale) @ B.T))

    def detach(self):
        for h in self.hooks:
            h.remove()
        self.hooks = []

    def logits(self, tokens):
        if not self.gradlab:
            return self.target.logits(tokens)
        from gradlab_torch import forward_with
        P = {k: v.detach() for k, v in self.target.module.params().items()}
        for (m, p), t in self.tensors.items():
            P[f"{m}.lora{p}"] = t
        return forward_with({**self.target.module.config, "loraScale": self.scale}, P, tokens)


def flat_gradients(lora, examples, device):
    """[B, P] float32: one backward per example w.r.t. the adapters, A then B per module, row-major."""
    out = torch.empty((len(examples), sum(p.numel() for p in lora.params)), dtype=torch.float32, device=device)
    for i, example in enumerate(examples):
        tokens, mask = tp.pad([example], device)
        loss = tp.masked_loss(lora.logits(tokens), tokens, mask)[0]
        if not torch.isfinite(loss):
            raise tp.BridgeError(f"line {example[2]['line']}: the loss is not finite")
        grads = torch.autograd.grad(loss, lora.params)
        out[i] = torch.cat([g.reshape(-1) for g in grads])
    return out


# ---- feature stores --------------------------------------------------------------------------------

def write_npy_atomic(path, array):
    temp = f"{path}.tmp-{os.getpid()}"
    with open(temp, "wb") as f:
        np.save(f, np.ascontiguousarray(array, dtype="<f4"))
        f.flush()
        os.fsync(f.fileno())
    os.replace(temp, path)


def existing_chunks(store, dim, chunk_rows):
    """Complete chunk files on disk (each written atomically, each full), in order."""
    chunks, k = [], 0
    while os.path.isfile(os.path.join(store, f"chunk-{k:06d}.npy")):
        arr = np.load(os.path.join(store, f"chunk-{k:06d}.npy"), mmap_mode="r")
        if arr.shape != (chunk_rows, dim):
            break
        chunks.append({"file": f"chunk-{k:06d}.npy", "rows": chunk_rows})
        k += 1
    return chunks


def run(args):
    started, device = tp.start_run(args)
    if args.model:
        target, gradlab = tp.load_gradlab(args.model), True
        target.module.to(device)
    elif args.hf:
        target, gradlab = tp.load_hf(args.hf, device, tp.hf_dtype(args.dtype, torch.float32), False), False
    else:
        target, gradlab = tp.load_module(args.module, device), False
    for _, p in target.named_parameters():
        p.requires_grad_(False)
    lora = LoraTarget(target, gradlab)
    order_names = lora.module_order()
    checkpoints = []
    for k, folder in enumerate(args.checkpoint):
        scale, adapters, order, optimizer_path = load_checkpoint(folder, order_names)
        st = adam_state(optimizer_path, order, adapters, f"--checkpoint {folder}") if args.role == "pool" or args.lr_weights == "optimizer" else None
        weight = args.weights[k] if args.lr_weights != "optimizer" else (st or {}).get("lr")
        if not isinstance(weight, (int, float)) or not weight > 0:
            raise tp.BridgeError(f"--checkpoint {folder}: no positive learning rate in its optimizer to weight it by; pass --lr-weights")
        checkpoints.append({"dir": os.path.abspath(folder), "scale": scale, "adapters": adapters, "order": order, "adam": st, "weight": float(weight),
                            "step": None if st is None else st["step"], "params": sum(adapters[m][p].numel() for m, p in order)})
    if len({c["params"] for c in checkpoints}) != 1:
        raise tp.BridgeError("--checkpoint: the checkpoints adapt different matrices (parameter counts differ)")

    n = tp.validate_rows(args.data, args.mask_rule, target, args.max_length)
    start, end = args.shard_index * n // args.shard_count, (args.shard_index + 1) * n // args.shard_count
    P = checkpoints[0]["params"]
    settings = {
        "format": FORMAT, "version": VERSION, "role": args.role, "adam_form": args.adam_form if args.role == "pool" else None,
        "data": {"file": os.path.abspath(args.data), "sha256": tp.sha256_file(args.data)}, "n_examples": n, "mask_rule": args.mask_rule, "max_length": args.max_length,
        "model": target.description, "parameters": P,
        "projection": {"kind": "rademacher", "seed": tp.seed_value(args.seed), "dim": args.project, "blockRows": args.block_rows, "inputDim": P},
        "checkpoints": [{"dir": c["dir"], "weight": c["weight"], "step": c["step"], "scale": c["scale"], "store": f"ckpt-{k}",
                         "adapters": [f"{m}.lora_{p}" for m, p in c["order"]]} for k, c in enumerate(checkpoints)],
        "weights_from": "optimizer" if args.lr_weights == "optimizer" else "--lr-weights",
        "shard": {"index": args.shard_index, "count": args.shard_count, "start": start, "end": end},
        "chunk_rows": args.chunk_rows,
    }
    settings_hash = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()
    manifest_path = os.path.join(args.out, "less-manifest.json")
    if os.path.isfile(manifest_path):
        old = json.load(open(manifest_path, encoding="utf-8"))
        if old.get("settings_hash") != settings_hash:
            raise tp.BridgeError(f"--out {args.out}: holds a run with other settings; use another folder (or delete it)")
        if old.get("complete"):
            print(f"torch_less: {args.out} is already complete", file=sys.stderr)
            return old
    os.makedirs(args.out, exist_ok=True)
    manifest = {**settings, "settings_hash": settings_hash, "complete": False, "tool": "scripts/torch_less.py",
                "versions": {"torch": torch.__version__, "numpy": np.__version__}}
    tp.write_json_atomic(manifest_path, manifest)

    projector = tp.RademacherProjector(P, args.project, str(args.seed), args.block_rows, device, args.projection_cache_mb * (1 << 20))
    rows_total = (end - start) * len(checkpoints)
    done_total, resumed = 0, 0
    for k, ckpt in enumerate(checkpoints):
        store = os.path.join(args.out, f"ckpt-{k}")
        os.makedirs(store, exist_ok=True)
        if os.path.isfile(os.path.join(store, "meta.json")):
            done_total += end - start
            resumed += end - start
            continue
        chunks = existing_chunks(store, args.project, args.chunk_rows)
        done = len(chunks) * args.chunk_rows
        done_total += done
        resumed += done
        lora.attach(ckpt["scale"], ckpt["adapters"], ckpt["order"], device)
        if ckpt["adam"] is not None:
            ckpt["adam"] = {**ckpt["adam"], "m": ckpt["adam"]["m"].to(device), "v": ckpt["adam"]["v"].to(device)}
        buffer, batch, index = [], [], 0
        t0 = time.time()

        def emit(batch_rows):
            nonlocal done, done_total
            g = flat_gradients(lora, batch_rows, device)
            directions = precondition(g, ckpt["adam"], args.adam_form) if args.role == "pool" else g
            z = projector.project(directions)
            norms = torch.linalg.vector_norm(z, dim=1, keepdim=True)
            z = torch.where(norms > 0, z / torch.where(norms > 0, norms, torch.ones_like(norms)), z)  # a zero row stays zero, as in gradlab
            buffer.extend(z.float().cpu().numpy())
            while len(buffer) >= args.chunk_rows:
                write_npy_atomic(os.path.join(store, f"chunk-{len(chunks):06d}.npy"), np.stack(buffer[: args.chunk_rows]))
                chunks.append({"file": f"chunk-{len(chunks):06d}.npy", "rows": args.chunk_rows})
                del buffer[: args.chunk_rows]
            done += len(batch_rows)
            done_total += len(batch_rows)
            if not args.quiet:
                rate = (done_total - resumed) / max(time.time() - t0, 1e-9)
                eta = (rows_total - done_total) / rate if rate > 0 else float("nan")
                print(f"torch_less: [ckpt {k + 1}/{len(checkpoints)}] {done}/{end - start} rows, {done_total}/{rows_total} in all "
                      f"({100 * done_total / rows_total:.1f}%), {rate:.1f} rows/s, eta {eta:.0f} s", file=sys.stderr, flush=True)
            if args.sleep_per_batch > 0:
                time.sleep(args.sleep_per_batch)

        skip = start + done  # rows of this shard already on disk are not recomputed
        for number, row in tp.read_rows(args.data):
            if index >= end:
                break
            if index >= skip:
                tokens, mask = tp.example_from_row(args.data, number, row, args.mask_rule, target, args.max_length)
                batch.append((tokens, mask, {"line": number}))
                if len(batch) == args.batch_size:
                    emit(batch)
                    batch = []
            index += 1
        if batch:
            emit(batch)
        if buffer:
            write_npy_atomic(os.path.join(store, f"chunk-{len(chunks):06d}.npy"), np.stack(buffer))
            chunks.append({"file": f"chunk-{len(chunks):06d}.npy", "rows": len(buffer)})
        meta = {"format": "gradlab-feature-store", "version": 1, "rows": end - start, "dim": args.project, "chunkRows": args.chunk_rows, "chunks": chunks,
                "attributes": {"source": "scripts/torch_less.py", "role": args.role, "adamForm": settings["adam_form"], "checkpoint": ckpt["dir"],
                               "weight": ckpt["weight"], "step": ckpt["step"], "shard": settings["shard"], "projection": settings["projection"]}}
        tp.write_json_atomic(os.path.join(store, "meta.json"), meta)
        lora.detach()
    manifest.update({"complete": True, "seconds": round(time.time() - started, 3), "resumed_rows": resumed})
    tp.write_json_atomic(manifest_path, manifest)
    return manifest


def main(argv=None):
    global torch
    args = parse_args(sys.argv[1:] if argv is None else argv)
    tp.import_torch()
    torch = tp.torch
    try:
        manifest = run(args)
    except tp.BridgeError as e:
        print(f"torch_less: error: {e}", file=sys.stderr)
        return 2
    print(json.dumps({"out": os.path.abspath(args.out), "rows": manifest["shard"]["end"] - manifest["shard"]["start"],
                      "checkpoints": len(manifest["checkpoints"]), "seconds": manifest.get("seconds")}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
