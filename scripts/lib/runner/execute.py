"""Executes one notebook with nbclient and always saves what ran, even when a cell fails.

Why not `jupyter nbconvert --to notebook --execute`: on a failing cell nbconvert 6.5 raises and
writes no notebook at all, and with tslab its message is empty (tslab sends no ename/evalue). This
driver uses the same engine (nbclient's NotebookClient, which nbconvert's ExecutePreprocessor
wraps), stops at the first failing cell like nbconvert does, and writes:
  --output   the executed (possibly partial) notebook
  --result   JSON: {"status": "ok"|"failed", "kind": null|"cell-error"|"async-error"|"timeout"|
             "dead-kernel"|"internal", "cell_index": int|null, "stderr": str, "message": str,
             "async_kind": null|"uncaught-exception"|"unhandled-rejection",
             "peak_rss_bytes": int|null}
An "async-error" is an error thrown by a cell's asynchronous code (a timer callback, an unhandled
promise rejection) during or after that cell; async_guard.py explains how it is caught. Its
"message" is what the kernel printed for that error (message and stack), without the rest of
the cell's stderr.
peak_rss_bytes is the largest resident memory of the kernel's process tree (the kernel and the
sweep workers or threads it starts) sampled every 0.2 s, and at least the kernel's own high-water
mark (VmHWM) read after every cell; null where /proc is not available.
Exit code 0 whenever the result JSON was written; non-zero only if the driver itself broke.
"""
import argparse
import json
import os
import sys
import threading
import traceback

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

from async_guard import SETTLE_SECONDS, AsyncCellError, GuardedClient, GuardSetupError, renumber_execution_counts, stream_text


def proc_status_kib(pid, field):
    try:
        with open(f"/proc/{pid}/status", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


def process_tree(root):
    """root and its descendants, from /proc/<pid>/task/*/children."""
    seen, stack = [], [root]
    while stack:
        pid = stack.pop()
        seen.append(pid)
        try:
            for task in os.listdir(f"/proc/{pid}/task"):
                with open(f"/proc/{pid}/task/{task}/children", encoding="utf-8") as handle:
                    stack.extend(int(c) for c in handle.read().split())
        except OSError:
            pass
    return seen


class PeakMemory:
    """Samples the RSS summed over a process tree until stopped; keeps the largest sum."""

    def __init__(self):
        self.pid = None
        self.peak_kib = None
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def watch(self, pid):
        self.pid = pid
        if os.path.isdir("/proc"):
            self.thread.start()

    def sample(self):
        total = [proc_status_kib(p, "VmRSS") for p in process_tree(self.pid)]
        known = [t for t in total if t is not None]
        if known:
            self.peak_kib = max(self.peak_kib or 0, sum(known))

    def run(self):
        while not self.stopped.wait(0.2):
            self.sample()

    def high_water_mark(self):
        if self.pid is not None:
            hwm = proc_status_kib(self.pid, "VmHWM")
            if hwm is not None:
                self.peak_kib = max(self.peak_kib or 0, hwm)

    def stop(self):
        self.stopped.set()
        return None if self.peak_kib is None else self.peak_kib * 1024


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--input", required=True)
    parser.add_argument("--output", required=True)
    parser.add_argument("--result", required=True)
    parser.add_argument("--cwd", required=True, help="kernel working directory (the notebook's own folder)")
    parser.add_argument("--kernel", default="tslab")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds per cell")
    parser.add_argument("--startup-timeout", type=float, default=120)
    parser.add_argument("--async-settle", type=float, default=SETTLE_SECONDS,
                        help="seconds to wait after each cell for its asynchronous errors (tslab only)")
    args = parser.parse_args()

    notebook = nbformat.read(args.input, as_version=4)
    current = {"index": None}

    def on_cell_start(cell, cell_index, **_):
        current["index"] = cell_index
        if memory.pid is None:
            process = getattr(getattr(client.km, "provisioner", None), "process", None)
            if process is not None and getattr(process, "pid", None):
                memory.watch(process.pid)

    def on_cell_executed(**_):
        memory.high_water_mark()  # the kernel is still alive here; it is gone after execute()

    memory = PeakMemory()

    # The guard's hidden requests are TypeScript: other kernels run unguarded.
    client_class = GuardedClient if args.kernel == "tslab" else NotebookClient
    client = client_class(
        notebook,
        kernel_name=args.kernel,
        timeout=max(1, int(round(args.timeout))),  # the trait is an int
        startup_timeout=int(args.startup_timeout),
        resources={"metadata": {"path": args.cwd}},
        on_cell_start=on_cell_start,
        on_cell_executed=on_cell_executed,
    )
    client.settle_seconds = args.async_settle
    result = {"status": "ok", "kind": None, "cell_index": None, "stderr": "", "message": "", "async_kind": None, "peak_rss_bytes": None}
    try:
        client.execute()
    except AsyncCellError as error:
        result.update(status="failed", kind="async-error", async_kind=error.kind, message=error.text)
    except CellTimeoutError as error:
        result.update(status="failed", kind="timeout", message=str(error).strip())
    except DeadKernelError as error:
        result.update(status="failed", kind="dead-kernel", message=str(error).strip())
    except CellExecutionError as error:
        result.update(status="failed", kind="cell-error", message=str(error).strip())
    except GuardSetupError as error:
        result.update(status="failed", kind="internal", message=str(error))
        if not error.in_cell:
            current["index"] = None  # no cell of the notebook had run
    except Exception as error:  # kernel did not start, bad notebook, …: still report, never hang
        result.update(status="failed", kind="internal", message=f"{type(error).__name__}: {error}\n{traceback.format_exc()}")
    result["peak_rss_bytes"] = memory.stop()
    if result["status"] == "failed" and current["index"] is not None:
        result["cell_index"] = current["index"]
        result["stderr"] = stream_text(notebook.cells[current["index"]], "stderr")

    renumber_execution_counts(notebook)
    nbformat.write(notebook, args.output)
    with open(args.result, "w", encoding="utf-8") as handle:
        json.dump(result, handle)
    return 0


if __name__ == "__main__":
    sys.exit(main())
