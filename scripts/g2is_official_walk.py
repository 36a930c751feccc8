#!/usr/bin/env python3
"""
A transcription (written for gradlab, numpy only) of the official G2IS selection path:
sklearn-style PCA of the validation gradients (PCA(n_components=val_k), full SVD, sklearn >= 1.5's
V-based svd_flip, the float n_components cut searchsorted(cumsum, val_k, side="right") + 1),
weights renormalised, budgets by the largest-remainder method with numpy's
argsort(fractional)[::-1] tie order, rows L2-normalised (zero norms -> 1e-10), anchors from the
top-1000 list by signed cosine (argpartition then argsort[::-1]), and the walk of
GraphWalk.graph_walk: neighbour scan of the last-added node, no-conflict test against the
component's set, consistency |cos(S'+g, K)| >= delta * |cos(S', K)|, global fallback in
argsort(masked)[::-1] order with the same tests, stop the component when both fail.

It is slow and obvious on purpose: it is the oracle test/g2is-official.test.ts compares gradlab
with (live when python3 + numpy are present, and through the committed fixture always).
Precision follows gradlab's storage: pool rows arrive as float32, unit rows are stored as float32
and every dot product is taken in float64 (the official code does the same on float32 tensors).

Usage: python3 scripts/g2is_official_walk.py < cases.json > selections.json
  cases.json: {"cases": [{"name", "pool": [[...]], "targets": [[...]], "graph": [[...]],
               "trainK", "valK", "delta"}]}
  output:     {"results": [{"name", "indices", "budgets", "weights", "numComponents"}]}
"""
import json
import sys

import numpy as np


def sequential_norm(row):
    s = 0.0
    for x in row:
        s += float(x) * float(x)
    return np.sqrt(s)


def sklearn_pca(targets, val_k):
    """PCA(n_components=val_k).fit(targets): components_ and explained_variance_ratio_, as sklearn >= 1.5."""
    x = np.asarray(targets, dtype=np.float64)
    n = x.shape[0]
    centred = x - x.mean(axis=0)
    _, s, vt = np.linalg.svd(centred, full_matrices=False)
    # svd_flip(u, v, u_based_decision=False): the largest-|entry| of each row of V^T positive.
    biggest = np.argmax(np.abs(vt), axis=1)
    signs = np.sign(vt[np.arange(vt.shape[0]), biggest])
    vt = vt * signs[:, None]
    explained = (s ** 2) / (n - 1)
    ratio = explained / explained.sum()
    keep = int(np.searchsorted(np.cumsum(ratio), val_k, side="right") + 1)
    keep = min(keep, vt.shape[0])
    return vt[:keep], ratio[:keep]


def largest_remainder(total, weights):
    exact = total * weights
    budgets = np.floor(exact).astype(int)
    remainder = total - int(budgets.sum())
    if remainder > 0:
        order = np.argsort(exact - budgets)[::-1]
        for r in range(remainder):
            budgets[order[r]] += 1
    return budgets


def consistency_ok(sum_grad, candidate_row, kv, delta):
    norm_old = np.linalg.norm(sum_grad)
    old = abs(np.dot(sum_grad / norm_old, kv)) if norm_old > 1e-10 else 0.0
    new_sum = sum_grad + candidate_row
    norm_new = np.linalg.norm(new_sum)
    new = abs(np.dot(new_sum / norm_new, kv)) if norm_new > 1e-10 else 0.0
    return new >= delta * old, new_sum


def walk(train, components, weights, graph, train_k, delta):
    n = train.shape[0]
    total = int(n * train_k)
    budgets = largest_remainder(total, weights)
    corr = components @ train.T
    top = min(1000, n)
    topk = np.argpartition(corr, -top, axis=1)[:, -top:]
    for i in range(corr.shape[0]):
        topk[i] = topk[i][np.argsort(corr[i, topk[i]])[::-1]]

    excluded = set()
    selected = []
    for i, budget in enumerate(budgets):
        if budget <= 0:
            continue
        kv = components[i]
        sims = train @ kv
        anchor = next((int(c) for c in topk[i] if int(c) not in excluded), -1)
        if anchor == -1:
            masked = sims.copy()
            if excluded:
                masked[list(excluded)] = -np.inf
            anchor = int(np.argmax(masked))
            if masked[anchor] == -np.inf:
                break
        current = [anchor]
        excluded.add(anchor)
        selected.append(anchor)
        sum_grad = train[anchor].copy()

        def acceptable(j):
            if np.any(train[current] @ train[j] < 0):
                return False, None
            return consistency_ok(sum_grad, train[j], kv, delta)

        while len(current) < budget:
            picked = -1
            for j in graph[current[-1]]:
                j = int(j)
                if j in excluded:
                    continue
                ok, new_sum = acceptable(j)
                if ok:
                    picked = j
                    break
            if picked < 0:
                masked = sims.copy()
                if excluded:
                    masked[list(excluded)] = -np.inf
                for j in np.argsort(masked)[::-1]:
                    j = int(j)
                    if masked[j] == -np.inf:
                        break
                    ok, new_sum = acceptable(j)
                    if ok:
                        picked = j
                        break
            if picked < 0:
                break
            current.append(picked)
            excluded.add(picked)
            selected.append(picked)
            sum_grad = new_sum
    return selected, budgets


def run_case(case):
    pool = np.asarray(case["pool"], dtype=np.float32)
    norms = np.array([sequential_norm(r) for r in pool])
    norms[norms == 0] = 1e-10
    train = (pool.astype(np.float64) / norms[:, None]).astype(np.float32).astype(np.float64)
    components, ratios = sklearn_pca(case["targets"], case["valK"])
    components = components / np.linalg.norm(components, axis=1, keepdims=True)
    weights = ratios / ratios.sum()
    graph = [list(row) for row in case["graph"]]
    indices, budgets = walk(train, components, weights, graph, case["trainK"], case["delta"])
    return {
        "name": case["name"], "indices": [int(j) for j in indices], "budgets": [int(b) for b in budgets],
        "weights": [float(w) for w in weights], "numComponents": int(len(weights)),
    }


if __name__ == "__main__":
    cases = json.load(sys.stdin)["cases"]
    json.dump({"results": [run_case(c) for c in cases]}, sys.stdout)
