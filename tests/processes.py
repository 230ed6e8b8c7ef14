"""Ending what a test or bench started: a process and every process it spawned.

Ray's ``ray start --block`` spawns the raylet, the GCS and the workers; some leave the
process group, so they are found by parentage in /proc and killed by pid.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from pathlib import Path


def descendants(pid: int) -> set[int]:
    """Every living process below ``pid``, by the parent ids in /proc."""
    children: dict[int, set[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), set()).add(int(stat.parent.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), ()):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def end(proc: subprocess.Popen) -> None:
    """Kills ``proc``'s process group and every descendant, then reaps it."""
    everyone = descendants(proc.pid) | {proc.pid}
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    for pid in everyone:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
    proc.wait(timeout=30)
