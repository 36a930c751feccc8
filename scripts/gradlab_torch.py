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
    dtypes = {"F32": np.float32, "F64": np.float64, "I32": np.int32, "I64": np.int64}
    tensors = {}
    for name, info in header.items():
        start, end = info["data_offsets"]
        arr = np.frombuffer(data[start:end], dtype=dtypes[info["dtype"]]).reshape(info["shape"])
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
    """Logits [B, T, V] from a config and a dict of weights (functional, so vmap can use it)."""
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
        q = (a @ P[f"layer{l}.q"].T).view(B, T, H, hd).transpose(1, 2)
        k = (a @ P[f"layer{l}.k"].T).view(B, T, Hkv, hd).transpose(1, 2)
        v = (a @ P[f"layer{l}.v"].T).view(B, T, Hkv, hd).transpose(1, 2)
        k = k.repeat_interleave(G, dim=1)
        v = v.repeat_interleave(G, dim=1)
        att = torch.softmax(q @ k.transpose(-1, -2) / hd**0.5 + mask, dim=-1)
        out = (att @ v).transpose(1, 2).reshape(B, T, H * hd)
        h = h + out @ P[f"layer{l}.o"].T
        m = rms(h, f"layer{l}.mlpNorm")
        gate = m @ P[f"layer{l}.gate"].T
        up = m @ P[f"layer{l}.up"].T
        h = h + (torch.nn.functional.silu(gate) * up) @ P[f"layer{l}.down"].T
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
