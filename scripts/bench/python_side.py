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


def action_grpo_twin():
    """The action-level GRPO update (reference pass, forward, backward, SGD step) in PyTorch on
    gradlab's weights and rollouts, checked value by value against gradlab's log π, loss, grads."""
    import torch
    from gradlab_torch import action_log_probs, grpo_loss, read_safetensors

    w = json.load(open(os.path.join(work, "action-workload.json")))
    weights, _ = read_safetensors(os.path.join(work, "action-model.safetensors"))
    grads_gradlab, _ = read_safetensors(os.path.join(work, "action-grads.safetensors"))
    c, o, E, S = w["config"], w["options"], w["E"], w["S"]
    P = {k: torch.nn.Parameter(v.float()) for k, v in weights.items()}
    ref_P = {k: v.detach().clone() for k, v in P.items()}
    old = torch.tensor(w["old"]).view(E, S)
    adv = torch.tensor(w["advantages"]).view(E, S)
    mask = torch.tensor(w["mask"]).view(E, S)
    optimizer = torch.optim.SGD(list(P.values()), lr=0.0)

    def update():
        with torch.no_grad():
            ref = action_log_probs(c, ref_P, w["episodes"], o["temperature"])
        log_pi = action_log_probs(c, P, w["episodes"], o["temperature"])
        loss, stats = grpo_loss(log_pi, old, ref, adv, mask, clip=o["clipEpsilon"], kl_beta=o["klBeta"])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return log_pi.detach(), loss.detach(), stats

    seconds, (log_pi, loss, stats) = best_of(update, 3)
    mine = torch.tensor(w["gradlab"]["logPi"]).view(E, S)
    worst_grad, scale = 0.0, 0.0
    for name, g in grads_gradlab.items():
        worst_grad = max(worst_grad, float((P[name].grad - g).abs().max()))
        scale = max(scale, float(g.abs().max()))
    return {
        "seconds": seconds, "episodes": E, "threads": torch.get_num_threads(), "torch": torch.__version__,
        "maxAbsLogPiDiff": float(((log_pi - mine) * mask).abs().max()),
        "lossDiff": abs(float(loss) - w["gradlab"]["loss"]),
        "maxAbsGradDiff": worst_grad, "maxAbsGrad": scale,
        "statsDiff": float((stats - torch.tensor(w["gradlab"]["stats"])).abs().max()),
    }


if os.path.exists(os.path.join(work, "action-workload.json")):
    try:
        out["action_grpo"] = action_grpo_twin()
    except ImportError as e:
        out["action_grpo"] = f"unavailable: {e}"

print(json.dumps(out))
