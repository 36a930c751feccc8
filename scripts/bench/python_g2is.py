"""numpy side of the G2IS graph benchmark: the exact k-NN graph (k = 10) of the same feature rows.

Usage: python_g2is.py WORKDIR   (WORKDIR holds g2is-graph-features.npy [n, d] float32 and
g2is-graph-exact.npy [n, k] int32, written by scripts/bench/g2is-workloads.ts benchGraphs(workdir)).
Prints one JSON line: {"graph_exact": {"seconds", "agreement", "threads"}} — agreement is the
fraction of neighbour slots equal to gradlab's graph (slot by slot; near-ties may swap).
Same algorithm as gradlab: unit rows, blocks of 1024 rows times the whole pool, self excluded,
top k per row sorted by descending similarity (ties by lower index). Measured here the time
splits roughly evenly between the BLAS matmul and np.argpartition (numpy's per-row introselect).
"""
import json
import os
import sys
import time

try:
    import numpy as np
except ImportError as e:  # pragma: no cover
    print(json.dumps({"graph_exact": f"unavailable: {e}"}))
    sys.exit(0)

work = sys.argv[1]
x = np.load(os.path.join(work, "g2is-graph-features.npy")).astype(np.float32)
reference = np.load(os.path.join(work, "g2is-graph-exact.npy"))
n, k = reference.shape


def exact_knn(rows, k, block=1024):
    unit = rows / np.linalg.norm(rows, axis=1, keepdims=True)
    out = np.empty((rows.shape[0], k), dtype=np.int32)
    for start in range(0, rows.shape[0], block):
        sims = unit[start:start + block] @ unit.T
        idx = np.arange(start, min(start + block, rows.shape[0]))
        sims[idx - start, idx] = -np.inf
        part = np.argpartition(sims, -k, axis=1)[:, -k:]  # no negated copy of the block
        vals = np.take_along_axis(sims, part, axis=1)
        order = np.lexsort((part, -vals), axis=1)  # by descending similarity, then index
        out[start:start + block] = np.take_along_axis(part, order, axis=1)
    return out


t0 = time.perf_counter()
graph = exact_knn(x, k)
seconds = time.perf_counter() - t0
try:
    from threadpoolctl import threadpool_info  # optional
    threads = str(sum(p.get("num_threads", 0) for p in threadpool_info() if p.get("user_api") == "blas"))
except Exception:
    threads = os.environ.get("OPENBLAS_NUM_THREADS", "default")
print(json.dumps({"graph_exact": {"seconds": seconds, "agreement": float(np.mean(graph == reference)), "threads": threads}}))
