"""Runs a command as a child process and measures wall time and the child's peak RSS."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))


@dataclass(frozen=True)
class Measured:
    wall: float
    peak_rss_mib: float
    stdout: str


def measure(cmd: list[str], env: dict[str, str] | None = None) -> Measured:
    """Wall seconds and peak RSS of that one child (wait4's rusage), with its stdout."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, text=True, env={**os.environ, **(env or {})})
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if proc.returncode:
            raise SystemExit(f"{cmd[:3]} failed ({proc.returncode}):\n{err.read()[-2000:]}")
        return Measured(wall, usage.ru_maxrss / 1024, out.read())


def row(name: str, audio_s: float, m: Measured, wer: float, base: Measured | None = None) -> str:
    ratio = f"{base.wall / m.wall:5.2f}×" if base else "  —  "
    return (f"| {name:<44} | {audio_s:7.1f} | {m.wall:6.1f} | {audio_s / m.wall:6.1f} | {ratio} "
            f"| {m.peak_rss_mib:6.0f} | {wer * 100:5.2f} % |")


HEADER = ("| run | audio s | wall s | × real time | vs seed | peak RSS MiB | WER |\n"
          "|---|---|---|---|---|---|---|")
