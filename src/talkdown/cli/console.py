"""Where the command talks: results to stdout, everything else to stderr, progress bars only on a terminal.

rich draws the bars; markup is off except where asked for, because titles and paths
hold brackets (``[LIVE]``, ``[MGgDHevAc8A].md``) that rich would read as styles.
"""

from __future__ import annotations

import os
import sys
from typing import NoReturn

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, DownloadColumn, Progress, TaskID, TextColumn, TimeRemainingColumn

__all__ = ["RichReporter", "err", "fail", "interrupted"]

err = Console(stderr=True, highlight=False, markup=False, soft_wrap=True)


class RichReporter:
    """Shows each long step as a progress bar on a terminal; silent otherwise."""

    def __init__(self) -> None:
        self._progress: Progress | None = None
        self._task: TaskID | None = None
        self._unit = ""

    def task(self, description: str, total: float | None, unit: str) -> None:
        self.done()
        if not err.is_terminal:
            return
        columns = [TextColumn("{task.description}", style="bold", markup=False), BarColumn()]
        columns += [DownloadColumn()] if unit == "B" else [TextColumn("{task.completed:.0f}/{task.total:.0f} s audio")]
        self._progress = Progress(*columns, TimeRemainingColumn(), console=err, transient=True)
        self._progress.start()
        self._task = self._progress.add_task(description[:60], total=total)

    def update(self, done: float, total: float | None = None) -> None:
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, completed=done, **({"total": total} if total else {}))

    def done(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None


def fail(message: str) -> None:
    err.print(f"[red]error:[/] {escape(message)}", markup=True, soft_wrap=True)


def interrupted(done: str = "") -> NoReturn:
    """Ends the run at Ctrl-C with the shell's code 130, saying what is finished.

    ``os._exit``, not ``sys.exit``: a worker thread may still be inside CTranslate2, and
    a normal exit waited for it and then freed the model under it (a segfault in 3 of
    11 interrupted archive runs). Every file is written whole or not at all.
    """
    err.print(f"Interrupted{': ' + done if done else ''}.")
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(130)
