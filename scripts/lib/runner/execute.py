"""Executes one notebook with nbclient and always saves what ran, even when a cell fails.

Why not `jupyter nbconvert --to notebook --execute`: on a failing cell nbconvert 6.5 raises and
writes no notebook at all, and with tslab its message is empty (tslab sends no ename/evalue). This
driver uses the same engine (nbclient's NotebookClient, which nbconvert's ExecutePreprocessor
wraps), stops at the first failing cell like nbconvert does, and writes:
  --output   the executed (possibly partial) notebook
  --result   JSON: {"status": "ok"|"failed", "kind": null|"cell-error"|"timeout"|"dead-kernel"|
             "internal", "cell_index": int|null, "stderr": str, "message": str}
Exit code 0 whenever the result JSON was written; non-zero only if the driver itself broke.
"""
import argparse
import json
import sys
import traceback

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError


def stream_text(cell, name):
    parts = []
    for output in cell.get("outputs", []):
        if output.get("output_type") == "stream" and output.get("name") == name:
            text = output.get("text", "")
            parts.append("".join(text) if isinstance(text, list) else text)
    return "".join(parts)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--input", required=True)
    parser.add_argument("--output", required=True)
    parser.add_argument("--result", required=True)
    parser.add_argument("--cwd", required=True, help="kernel working directory (the notebook's own folder)")
    parser.add_argument("--kernel", default="tslab")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds per cell")
    parser.add_argument("--startup-timeout", type=float, default=120)
    args = parser.parse_args()

    notebook = nbformat.read(args.input, as_version=4)
    current = {"index": None}

    def on_cell_start(cell, cell_index, **_):
        current["index"] = cell_index

    client = NotebookClient(
        notebook,
        kernel_name=args.kernel,
        timeout=max(1, int(round(args.timeout))),  # the trait is an int
        startup_timeout=int(args.startup_timeout),
        resources={"metadata": {"path": args.cwd}},
        on_cell_start=on_cell_start,
    )
    result = {"status": "ok", "kind": None, "cell_index": None, "stderr": "", "message": ""}
    try:
        client.execute()
    except CellTimeoutError as error:
        result.update(status="failed", kind="timeout", message=str(error).strip())
    except DeadKernelError as error:
        result.update(status="failed", kind="dead-kernel", message=str(error).strip())
    except CellExecutionError as error:
        result.update(status="failed", kind="cell-error", message=str(error).strip())
    except Exception as error:  # kernel did not start, bad notebook, …: still report, never hang
        result.update(status="failed", kind="internal", message=f"{type(error).__name__}: {error}\n{traceback.format_exc()}")
    if result["status"] == "failed" and current["index"] is not None:
        result["cell_index"] = current["index"]
        result["stderr"] = stream_text(notebook.cells[current["index"]], "stderr")

    nbformat.write(notebook, args.output)
    with open(args.result, "w", encoding="utf-8") as handle:
        json.dump(result, handle)
    return 0


if __name__ == "__main__":
    sys.exit(main())
