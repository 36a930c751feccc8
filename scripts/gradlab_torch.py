"""PyTorch twin of gradlab's TinyTransformer, and a per-example gradient probe for it.

Loads weights that gradlab wrote as safetensors (matrices stored [out, in], y = x W^T, exactly
as torch.nn.Linear) and reproduces the forward pass and the masked next-token loss, so the same
probe can be computed on both sides and compared. Depends only on numpy and torch (the
safetensors container is parsed by hand: the `safetensors` package is not installable offline).

Architecture (must match kernel-lib/models/transformer.ts): one-hot token embedding + learned
position embedding; per layer pre-RMSNorm attention with q, k, v, o (grouped-query: query head h
reads kv head h // (H / Hkv)), causal mask, softmax(q k^T / sqrt(hd)); pre-RMSNorm SwiGLU MLP
down(silu(gate x) * up x); final RMSNorm; untied head. No biases.
"""
import json
import struct

import numpy as np
import torch

MODULES = ("q", "k", "v", "o", "gate", "up", "down")


def read_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 8:
        raise ValueError(f"{path}: truncated (no header length)")
    (header_len,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + header_len])
    meta = header.pop("__metadata__", {})
    data = raw[8 + header_len :]
    dtypes = {"F32": np.float32, "F64": np.float64, "F16": np.float16, "I32": np.int32, "I64": np.int64}
    tensors = {}
    for name, info in header.items():
        start, end = info["data_offsets"]
        if info["dtype"] == "BF16":  # the top half of a float32 (PEFT adapters are often saved so)
            arr = (np.frombuffer(data[start:end], dtype="<u2").astype(np.uint32) << 16).view(np.float32).reshape(info["shape"])
        elif info["dtype"] in dtypes:
            arr = np.frombuffer(data[start:end], dtype=dtypes[info["dtype"]]).reshape(info["shape"])
        else:
            raise ValueError(f"{path}: {name} has dtype {info['dtype']}, which this reader does not know")
        tensors[name] = torch.from_numpy(arr.copy())
    return tensors, meta


class TinyTransformerTorch(torch.nn.Module):
    def __init__(self, config, weights):
        super().__init__()
        self.config = config
        self.w = torch.nn.ParameterDict({name.replace(".", "__"): torch.nn.Parameter(t.float()) for name, t in weights.items()})

    def p(self, name):
        return self.w[name.replace(".", "__")]

    def params(self):
        """name -> tensor, the dict the functional forward takes (names as gradlab writes them)."""
        return {k.replace("__", "."): v for k, v in self.w.items()}

    def forward(self, tokens):
        return forward_with(self.config, self.params(), tokens)

    def per_example_losses(self, tokens, loss_mask):
        return per_example_losses_with(self.config, self.params(), tokens, loss_mask)

    def matrix_names(self):
        return [f"layer{l}.{m}" for l in range(self.config["nLayers"]) for m in MODULES]


def forward_with(c, P, tokens):
    """Logits [B, T, V] from a config and a dict of weights (functional, so vmap can use it).

    LoRA: where P holds `<matrix>.loraA` [r, in] and `<matrix>.loraB` [out, r], the projection is
    x W^T + (s * (x A^T)) B^T with s = c["loraScale"] (alpha / r), in gradlab's order of operations
    (kernel-lib/models/lora.ts)."""
    scale = c.get("loraScale", 1.0)

    def lin(x, name):
        y = x @ P[name].T
        if name + ".loraA" in P:
            y = y + ((x @ P[name + ".loraA"].T) * scale) @ P[name + ".loraB"].T
        return y

    def rms(x, name):
        eps = c.get("normEps", 1e-5)
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * P[name]

    B, T = tokens.shape
    V, d, H = c["vocabSize"], c["dModel"], c["nHeads"]
    Hkv = c.get("nKvHeads", H)
    hd, G = d // H, H // Hkv
    # A comparison, not F.one_hot: one_hot checks its input with .item(), which vmap refuses.
    one_hot = (tokens.unsqueeze(-1) == torch.arange(V, device=tokens.device)).float()
    h = one_hot @ P["tokenEmbedding"] + P["positionEmbedding"][:T]
    mask = torch.triu(torch.full((T, T), -1e9, device=tokens.device), diagonal=1)
    for l in range(c["nLayers"]):
        a = rms(h, f"layer{l}.attnNorm")
        q = (lin(a, f"layer{l}.q")).view(B, T, H, hd).transpose(1, 2)
        k = (lin(a, f"layer{l}.k")).view(B, T, Hkv, hd).transpose(1, 2)
        v = (lin(a, f"layer{l}.v")).view(B, T, Hkv, hd).transpose(1, 2)
        k = k.repeat_interleave(G, dim=1)
        v = v.repeat_interleave(G, dim=1)
        att = torch.softmax(q @ k.transpose(-1, -2) / hd**0.5 + mask, dim=-1)
        out = (att @ v).transpose(1, 2).reshape(B, T, H * hd)
        h = h + lin(out, f"layer{l}.o")
        m = rms(h, f"layer{l}.mlpNorm")
        gate = lin(m, f"layer{l}.gate")
        up = lin(m, f"layer{l}.up")
        h = h + lin(torch.nn.functional.silu(gate) * up, f"layer{l}.down")
    return rms(h, "finalNorm") @ P["head"].T


def per_example_losses_with(c, P, tokens, loss_mask):
    """Mean CE over each example's target tokens (mask[t] = 1: token t predicted from < t)."""
    logits = forward_with(c, P, tokens)[:, :-1]
    targets = tokens[:, 1:]
    weights = loss_mask[:, 1:].float()
    nll = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), reduction="none")
    return (nll.view(weights.shape) * weights).sum(1) / weights.sum(1)


def probe_loop(model, tokens, loss_mask):
    """PRISM probe vectors [B, 7L] by one backward pass per example (the obvious oracle)."""
    names = model.matrix_names()
    params = [model.p(n) for n in names]
    out = np.zeros((tokens.shape[0], len(names)), dtype=np.float64)
    for b in range(tokens.shape[0]):
        loss = model.per_example_losses(tokens[b : b + 1], loss_mask[b : b + 1])[0]
        grads = torch.autograd.grad(loss, params)
        out[b] = [g.norm().item() for g in grads]
    return out


def probe_vmap(model, tokens, loss_mask):
    """The same probe with functorch's vmap over per-example grads (PyTorch's fast path)."""
    from functorch import grad, vmap  # torch 1.13

    names = model.matrix_names()
    all_params = {k: v.detach() for k, v in model.params().items()}

    def loss_of(probe_params, tok, msk):
        merged = dict(all_params)
        merged.update(probe_params)
        return per_example_losses_with(model.config, merged, tok.unsqueeze(0), msk.unsqueeze(0))[0]

    probe_params = {n: all_params[n] for n in names}
    g = vmap(grad(loss_of), in_dims=(None, 0, 0))(probe_params, tokens, loss_mask)
    return torch.stack([g[n].flatten(1).norm(dim=1) for n in names], dim=1).double().numpy()


# ---- action-level GRPO: the twin of kernel-lib/agents/{episode-scoring,prefix-scoring,action-grpo}.ts ----
#
# log π(a_t | s_t) = log softmax over the step's candidates of (Σ token log-probs of the candidate
# after the step's context) / τ. Each episode's steps share one context where they nest, and each
# step's candidates run as a prefix tree (one row per distinct proper prefix) attending to their
# step's context prefix and their ancestors — the same algorithm as gradlab, written independently
# here, so the bench compares frameworks, not algorithms, and the check compares two codes.

NEG = -1e9


def _shared_queries(episodes):
    """[(episode, {"context", "actions", "lens", "decisions": [(slot, first, count, chosen)]})]."""
    out = []
    for e, steps in enumerate(episodes):
        current = None
        for slot, step in enumerate(steps):
            ctx = step["context"]
            if current is None or len(ctx) < len(current["context"]) or ctx[: len(current["context"])] != current["context"]:
                current = {"context": ctx, "actions": [], "lens": [], "decisions": []}
                out.append((e, current))
            else:
                current["context"] = ctx
            current["decisions"].append((slot, len(current["actions"]), len(step["candidates"]), step["chosen"]))
            for a in step["candidates"]:
                current["actions"].append(a)
                current["lens"].append(len(ctx))
    return out


def _prefix_tree(query, max_len):
    nodes, index, pairs, pair_index, cand_pairs = [], {}, [], {}, []
    for a, lc in zip(query["actions"], query["lens"]):
        used, parent = [], -1
        for i in range(len(a) - 1):
            key = (lc, tuple(a[: i + 1]))
            if key not in index:
                index[key] = len(nodes)
                nodes.append({"token": a[i], "pos": min(lc + i, max_len - 1), "lc": lc, "anc": [] if parent < 0 else nodes[parent]["anc"] + [parent]})
            node = index[key]
            pk = (node, a[i + 1])
            if pk not in pair_index:
                pair_index[pk] = len(pairs)
                pairs.append(pk)
            used.append(pair_index[pk])
            parent = node
        cand_pairs.append(used)
    return nodes, pairs, cand_pairs


def action_log_probs(c, P, episodes, temperature, pad_id=0):
    """log π of every decision as a tensor [E, S] (0 on empty slots), differentiable in P."""
    V, d, H = c["vocabSize"], c["dModel"], c["nHeads"]
    Hkv = c.get("nKvHeads", H)
    hd, G, L, max_len = d // H, H // Hkv, c["nLayers"], c["maxLen"]
    eps = c.get("normEps", 1e-5)
    shared = _shared_queries(episodes)
    trees = [_prefix_tree(q, max_len) for _, q in shared]
    Q = len(shared)
    Tc = max(len(q["context"]) for _, q in shared)
    Nn = max(1, max(len(t[0]) for t in trees))
    # Layout in numpy (cheap element writes), then one conversion each.
    ctx_ids = np.full((Q, Tc), pad_id, dtype=np.int64)
    node_ids = np.full((Q, Nn), pad_id, dtype=np.int64)
    node_pos = np.zeros((Q, Nn), dtype=np.int64)
    node_ctx_mask = np.full((Q, 1, Nn, Tc), NEG, dtype=np.float32)
    node_self_mask = np.full((Q, 1, Nn, Nn), NEG, dtype=np.float32)
    for q, ((_, query), (nodes, _, _)) in enumerate(zip(shared, trees)):
        ctx_ids[q, : len(query["context"])] = query["context"]
        for n in range(Nn):
            node_self_mask[q, 0, n, n] = 0
            if n >= len(nodes):
                node_ctx_mask[q, 0, n, 0] = 0
                continue
            node_ids[q, n], node_pos[q, n] = nodes[n]["token"], nodes[n]["pos"]
            node_ctx_mask[q, 0, n, : nodes[n]["lc"]] = 0
            node_self_mask[q, 0, n, nodes[n]["anc"]] = 0
    ctx_ids, node_ids, node_pos = torch.from_numpy(ctx_ids), torch.from_numpy(node_ids), torch.from_numpy(node_pos)
    node_ctx_mask, node_self_mask = torch.from_numpy(node_ctx_mask), torch.from_numpy(node_self_mask)

    def rms(x, name):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * P[name]

    def heads(x, n):  # [Q, T, n·hd] -> [Q, H, T, hd] (kv heads repeated per query head)
        x = x.view(x.shape[0], x.shape[1], n, hd).transpose(1, 2)
        return x.repeat_interleave(H // n, dim=1) if n != H else x

    def mlp(x, l):
        m = rms(x, f"layer{l}.mlpNorm")
        return x + (torch.nn.functional.silu(m @ P[f"layer{l}.gate"].T) * (m @ P[f"layer{l}.up"].T)) @ P[f"layer{l}.down"].T

    one_hot = lambda ids, depth: (ids.unsqueeze(-1) == torch.arange(depth)).float()
    h = one_hot(ctx_ids, V) @ P["tokenEmbedding"] + P["positionEmbedding"][:Tc]
    g = one_hot(node_ids, V) @ P["tokenEmbedding"] + one_hot(node_pos, max_len) @ P["positionEmbedding"]
    causal = torch.triu(torch.full((Tc, Tc), NEG), diagonal=1)
    for l in range(L):
        a = rms(h, f"layer{l}.attnNorm")
        qc, kc, vc = heads(a @ P[f"layer{l}.q"].T, H), heads(a @ P[f"layer{l}.k"].T, Hkv), heads(a @ P[f"layer{l}.v"].T, Hkv)
        ctx_out = torch.softmax(qc @ kc.transpose(-1, -2) / hd**0.5 + causal, -1) @ vc
        h_next = mlp(h + ctx_out.transpose(1, 2).reshape(Q, Tc, H * hd) @ P[f"layer{l}.o"].T, l)
        b = rms(g, f"layer{l}.attnNorm")
        qg, kg, vg = heads(b @ P[f"layer{l}.q"].T, H), heads(b @ P[f"layer{l}.k"].T, Hkv), heads(b @ P[f"layer{l}.v"].T, Hkv)
        scores = torch.cat([qg @ kc.transpose(-1, -2) / hd**0.5 + node_ctx_mask, qg @ kg.transpose(-1, -2) / hd**0.5 + node_self_mask], -1)
        w = torch.softmax(scores, -1)
        node_out = w[..., :Tc] @ vc + w[..., Tc:] @ vg
        g = mlp(g + node_out.transpose(1, 2).reshape(Q, Nn, H * hd) @ P[f"layer{l}.o"].T, l)
        h = h_next
    head = lambda x: torch.log_softmax(rms(x, "finalNorm") @ P["head"].T, -1)
    ctx_lp, node_lp = head(h), head(g)  # [Q, Tc, V], [Q, Nn, V]
    # Index lists (built in Python, applied as single gathers, so autograd sees a few big ops).
    first_q, first_t, first_v, pair_q, pair_n, pair_v, occ_pair, occ_cand = [], [], [], [], [], [], [], []
    dec_cands, dec_chosen, dec_place = [], [], []
    cand_base = 0
    for q, ((e, query), (_, pairs, cand_pairs)) in enumerate(zip(shared, trees)):
        pair_base = len(pair_q)
        for n, t in pairs:
            pair_q.append(q), pair_n.append(n), pair_v.append(t)
        for i, a in enumerate(query["actions"]):
            first_q.append(q), first_t.append(query["lens"][i] - 1), first_v.append(a[0])
            for p in cand_pairs[i]:
                occ_pair.append(pair_base + p), occ_cand.append(cand_base + i)
        for slot, first, count, chosen in query["decisions"]:
            dec_cands.append(list(range(cand_base + first, cand_base + first + count)))
            dec_chosen.append(chosen)
            dec_place.append(e * max(len(s) for s in episodes) + slot)
        cand_base += len(query["actions"])
    T = lambda xs: torch.tensor(xs, dtype=torch.long)
    cand = ctx_lp[T(first_q), T(first_t), T(first_v)]
    if occ_pair:
        pair_lp = node_lp[T(pair_q), T(pair_n), T(pair_v)]
        cand = cand.index_add(0, T(occ_cand), pair_lp[T(occ_pair)])
    C = max(len(c) for c in dec_cands)
    padded = T([c + [0] * (C - len(c)) for c in dec_cands])
    valid = torch.tensor([[1.0] * len(c) + [0.0] * (C - len(c)) for c in dec_cands])
    logits = cand[padded] / temperature + (1 - valid) * NEG
    picked = torch.log_softmax(logits, -1).gather(1, T(dec_chosen).unsqueeze(1)).squeeze(1)
    S = max(len(steps) for steps in episodes)
    return torch.zeros(len(episodes) * S).index_add(0, T(dec_place), picked).view(len(episodes), S)


def grpo_loss(log_probs, old, ref, adv, mask, clip=0.2, kl_beta=0.04):
    """gradlab's grpoLoss, sequence-level aggregation: (loss, [policyLoss, kl, clipFraction, meanRatio, approxKL])."""
    agg = lambda x: ((x * mask).sum(1) / mask.sum(1)).mean()
    token_mean = lambda x: (x * mask).sum() / mask.sum()
    log_ratio = (log_probs - old) * mask
    ratio = torch.exp(log_ratio)
    unclipped, clipped = ratio * adv, torch.clamp(ratio, 1 - clip, 1 + clip) * adv
    policy = agg(-torch.minimum(unclipped, clipped))
    d = (ref - log_probs) * mask
    kl = agg(torch.exp(d) - d - 1)
    stats = [policy, kl, token_mean((clipped < unclipped).float()), token_mean(ratio), token_mean(ratio - 1 - log_ratio)]
    return policy + kl_beta * kl, torch.stack([s.detach() for s in stats])


def action_grpo_check(work, repeats=3):
    """The action-level GRPO update (reference pass, forward, backward, SGD step) in PyTorch on the
    weights and rollouts gradlab wrote to `work` (action-model.safetensors, action-grads.safetensors,
    action-workload.json), timed best of `repeats`, and compared value by value with gradlab's
    log π, loss, diagnostics and gradients."""
    import os
    import time

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

    best, result = float("inf"), None
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = update()
        best = min(best, time.perf_counter() - t0)
    log_pi, loss, stats = result
    mine = torch.tensor(w["gradlab"]["logPi"]).view(E, S)
    worst_grad, scale = 0.0, 0.0
    for name, g in grads_gradlab.items():
        worst_grad = max(worst_grad, float((P[name].grad - g).abs().max()))
        scale = max(scale, float(g.abs().max()))
    return {
        "seconds": best, "episodes": E, "threads": torch.get_num_threads(), "torch": torch.__version__,
        "maxAbsLogPiDiff": float(((log_pi - mine) * mask).abs().max()),
        "lossDiff": abs(float(loss) - w["gradlab"]["loss"]),
        "maxAbsGradDiff": worst_grad, "maxAbsGrad": scale,
        "statsDiff": float((stats - torch.tensor(w["gradlab"]["stats"])).abs().max()),
    }
