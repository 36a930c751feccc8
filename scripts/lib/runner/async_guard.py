"""Makes errors thrown by a cell's asynchronous code fail that cell, like synchronous ones.

Why this exists: tslab runs cells in its own Node process and installs process-level handlers
for 'uncaughtException' and 'unhandledRejection' that only print the error (tslab main.js). When
a timer callback throws, or a promise nobody awaits rejects, after the cell has replied, that
print goes to an execute request nbclient no longer listens to: the cell reports "ok", the next
cell runs, and the error appears nowhere (audit: ../shared/reviews/reliability.md, 2.10).

What it does, all from the execution driver so it covers every notebook (also those that never
call `lab.startNotebook`):
  1. before the first code cell, a hidden request installs recorders for both process events;
  2. after every code cell, a hidden request waits SETTLE_SECONDS (so a short timer or a
     rejection reported on the next tick is seen), and if anything was recorded it prints a
     "[gradlab runner] ..." line and re-throws the recorded value, so tslab prints its real
     message and stack exactly as for a synchronous throw; the check's outputs are appended to
     the cell, and the failure is that cell's.
A rejection that is handled before the check ('rejectionHandled') is forgotten: its error was
not lost. An error that fires later than the settle time surfaces at the check after a later
cell, named as "during or after" that cell; one scheduled to fire after the last cell's check
is not seen (the kernel is shut down).

The hidden requests use execution counts; `renumber_execution_counts` gives the notebook's
cells 1, 2, 3 … again so the reports read as if they were not there.
"""

from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
from nbformat.v4 import new_code_cell

SETTLE_SECONDS = 0.1
MARKER = "[gradlab runner] "

# TypeScript, compiled by tslab. No top-level declarations: they would join every later cell's
# declarations. `globalThis as any` because the kernel's type environment is not ours to assume.
INSTALL_SOURCE = """{
  const host: any = globalThis as any;
  if (!host.__gradlabAsyncGuard) {
    const recorded: Array<{ kind: string; error: unknown; promise?: unknown }> = [];
    host.process.on("uncaughtException", (error: unknown) => { recorded.push({ kind: "uncaught-exception", error }); });
    host.process.on("unhandledRejection", (error: unknown, promise: unknown) => { recorded.push({ kind: "unhandled-rejection", error, promise }); });
    host.process.on("rejectionHandled", (promise: unknown) => {
      const at = recorded.findIndex((entry) => entry.promise === promise);
      if (at >= 0) recorded.splice(at, 1);
    });
    const headline = (kind: string) => kind === "unhandled-rejection"
      ? "unhandled promise rejection (nothing awaited or caught this promise), during or after this cell:"
      : "uncaught exception in asynchronous code (a timer, event or callback), during or after this cell:";
    host.__gradlabAsyncGuard = {
      async check(settleMs: number) {
        await new Promise((resolve) => setTimeout(resolve, settleMs));
        await new Promise((resolve) => host.setImmediate(resolve));
        if (recorded.length === 0) return;
        const found = recorded.splice(0);
        for (const other of found.slice(1)) {
          const text = other.error instanceof Error ? `${other.error.name}: ${other.error.message}` : String(other.error);
          console.error(`MARKER${other.kind === "unhandled-rejection" ? "also an unhandled rejection" : "also an uncaught exception"}: ${text}`);
        }
        console.error(`MARKER${headline(found[0].kind)}${found.length > 1 ? ` (the first of ${found.length})` : ""}`);
        const error = found[0].error;
        throw error ?? new Error(`a promise was rejected with ${String(error)}`);
      },
    };
  }
}""".replace("MARKER", MARKER)

# Not `await (globalThis as any)…`: in a script tslab's TypeScript reads `await (…)` as a call of
# a function named await, and the cell would run without top-level await.
CHECK_SOURCE = "{{ const guard: any = (globalThis as any).__gradlabAsyncGuard; await guard.check({settle_ms}); }}"

KINDS = {"unhandled promise rejection": "unhandled-rejection", "uncaught exception": "uncaught-exception"}


class GuardSetupError(RuntimeError):
    """The guard itself failed, so the driver cannot promise to see async errors. `in_cell` is
    False when the recorders could not be installed (before any cell of the notebook ran)."""

    def __init__(self, message, in_cell):
        super().__init__(message)
        self.in_cell = in_cell


class AsyncCellError(CellExecutionError):
    """A cell's asynchronous code failed; `kind` is "uncaught-exception" or "unhandled-rejection"
    and `text` is what the kernel printed for the error (message and stack)."""

    def __init__(self, kind, text):
        super().__init__(traceback=text, ename=kind, evalue=text.strip().split("\n")[0] if text.strip() else "")
        self.kind = kind
        self.text = text


def stream_text(cell, name):
    parts = []
    for output in cell.get("outputs", []):
        if output.get("output_type") == "stream" and output.get("name") == name:
            text = output.get("text", "")
            parts.append("".join(text) if isinstance(text, list) else text)
    return "".join(parts)


def split_report(stderr):
    """(kind, text after the last headline) from the check's stderr, or (None, stderr)."""
    lines = stderr.split("\n")
    for i in range(len(lines) - 1, -1, -1):
        if not lines[i].startswith(MARKER):
            continue
        for phrase, kind in KINDS.items():
            if lines[i][len(MARKER):].startswith(phrase):
                return kind, "\n".join(lines[i + 1:])
    return None, stderr


class GuardedClient(NotebookClient):
    """NotebookClient that runs the install request once and the check after every code cell."""

    settle_seconds = SETTLE_SECONDS
    guard_installed = False

    async def _hidden(self, source, cell_index):
        """Runs `source` as a cell that is not in the notebook; returns (ok, that cell)."""
        real = self.nb.cells[cell_index]
        hidden = new_code_cell(source=source)
        try:
            await super().async_execute_cell(hidden, cell_index, store_history=False)
            return True, hidden
        except CellExecutionError:
            return False, hidden
        finally:
            # nbclient stores the executed cell at cell_index; the notebook keeps its own cell.
            self.nb.cells[cell_index] = real

    async def async_execute_cell(self, cell, cell_index, execution_count=None, store_history=True):
        runs = cell.cell_type == "code" and cell.source.strip() and self.skip_cells_with_tag not in cell.metadata.get("tags", [])
        if runs and not self.guard_installed:
            ok, hidden = await self._hidden(INSTALL_SOURCE, cell_index)
            if not ok:
                text = stream_text(hidden, "stderr")
                raise GuardSetupError(f"could not install the asynchronous-error recorders in the kernel\n{text}", in_cell=False)
            self.guard_installed = True
        result = await super().async_execute_cell(cell, cell_index, execution_count, store_history)
        if runs:
            ok, hidden = await self._hidden(CHECK_SOURCE.format(settle_ms=int(round(self.settle_seconds * 1000))), cell_index)
            if not ok:
                # The reader of the report sees the error in the cell where it surfaced.
                cell.outputs.extend(hidden.outputs)
                kind, text = split_report(stream_text(hidden, "stderr"))
                if kind is None:
                    last = next((line for line in reversed(text.strip().split("\n")) if line.strip()), "no output")
                    raise GuardSetupError(f"the asynchronous-error check itself failed: {last}\n{text}", in_cell=True)
                raise AsyncCellError(kind, text)
        return result


def renumber_execution_counts(notebook):
    """Numbers the executed code cells 1, 2, 3 … in order, as a kernel without hidden requests would."""
    count = 0
    for cell in notebook.cells:
        if cell.cell_type != "code" or cell.get("execution_count") is None:
            continue
        count += 1
        cell["execution_count"] = count
        for output in cell.get("outputs", []):
            if "execution_count" in output:
                output["execution_count"] = count
