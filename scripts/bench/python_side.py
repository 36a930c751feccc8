"""Python side of `npm run bench`: the same workloads in numpy / PyTorch, timed in this process.

Usage: python_side.py WORKDIR   (WORKDIR holds what the TypeScript side wrote: gini.npy,
probe-model.safetensors, probe-tokens.npy, probe-mask.npy, probe-config.json).
Prints one JSON object with the measurements. Missing numpy or torch → that part is reported
as unavailable, never faked.
"""
import json
import os
import sys
import time

out = {}
work = sys.argv[1]
try:
    import numpy as np
except ImportError as e:  # pragma: no cover
    print(json.dumps({"numpy": f"unavailable: {e}"}))
    sys.exit(0)


def best_of(fn, repeats):
    times = []
    result = None
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return min(times), result


def gini_numpy(x):
    x = np.sort(x.astype(np.float64))
    n = x.size
    j = np.arange(1, n + 1, dtype=np.float64)
    return float(np.sum((2 * j - n - 1) * x) / (n * x.sum()))


x = np.load(os.path.join(work, "gini.npy"))
seconds, value = best_of(lambda: gini_numpy(x), 3)
out["gini"] = {"seconds": seconds, "value": value, "n": int(x.size)}

try:
    import torch

    sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
    from gradlab_torch import TinyTransformerTorch, probe_loop, probe_vmap, read_safetensors

    torch.set_num_threads(int(os.environ.get("GRADLAB_TORCH_THREADS", "2")))
    config = json.load(open(os.path.join(work, "probe-config.json")))
    weights, _ = read_safetensors(os.path.join(work, "probe-model.safetensors"))
    model = TinyTransformerTorch(config, weights)
    tokens = torch.from_numpy(np.load(os.path.join(work, "probe-tokens.npy")).astype(np.int64))
    mask = torch.from_numpy(np.load(os.path.join(work, "probe-mask.npy")).astype(np.float32))
    reference = np.load(os.path.join(work, "probe-vectors.npy"))
    seconds, vectors = best_of(lambda: probe_loop(model, tokens, mask), 2)
    rel = float(np.max(np.abs(vectors - reference) / np.maximum(np.abs(reference), 1e-12)))
    out["probe_loop"] = {"seconds": seconds, "examples": int(tokens.shape[0]), "maxRelErrorVsGradlab": rel, "threads": torch.get_num_threads(), "torch": torch.__version__}
    try:
        seconds, vectors = best_of(lambda: probe_vmap(model, tokens, mask), 2)
        rel = float(np.max(np.abs(vectors - reference) / np.maximum(np.abs(reference), 1e-12)))
        out["probe_vmap"] = {"seconds": seconds, "examples": int(tokens.shape[0]), "maxRelErrorVsGradlab": rel}
    except Exception as e:  # functorch missing or op unsupported: say so
        out["probe_vmap"] = f"unavailable: {type(e).__name__}: {e}"
except ImportError as e:
    out["probe_loop"] = f"unavailable: {e}"


if os.path.exists(os.path.join(work, "action-workload.json")):
    try:
        from gradlab_torch import action_grpo_check

        out["action_grpo"] = action_grpo_check(work, repeats=3)
    except ImportError as e:
        out["action_grpo"] = f"unavailable: {e}"

print(json.dumps(out))
