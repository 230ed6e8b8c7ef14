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
    """Wall seconds and peak RSS of that one child, with its stdout.

    The peak is the child's own high-water mark (VmHWM, read every 20 ms while it runs),
    not wait4's ru_maxrss: Linux carries ru_maxrss over from the process the child was
    forked from, so a bench that had just built a 3-hour join in memory read 2,678 MiB
    for a child whose own peak was under 1 GiB.
    """
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, text=True, env={**os.environ, **(env or {})})
        peak_kib = 0
        while proc.poll() is None:
            peak_kib = max(peak_kib, _high_water_kib(proc.pid))
            time.sleep(0.02)
        wall = time.perf_counter() - start
        out.seek(0)
        err.seek(0)
        if proc.returncode:
            raise SystemExit(f"{cmd[:3]} failed ({proc.returncode}):\n{err.read()[-2000:]}")
        return Measured(wall, peak_kib / 1024, out.read())


def _high_water_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as f:
            return int(next(line for line in f if line.startswith("VmHWM")).split()[1])
    except (OSError, StopIteration, ValueError):  # exited (or a zombie) between poll and read
        return 0


def row(name: str, audio_s: float, m: Measured, wer: float, base: Measured | None = None) -> str:
    ratio = f"{base.wall / m.wall:5.2f}×" if base else "  —  "
    return (f"| {name:<44} | {audio_s:7.1f} | {m.wall:6.1f} | {audio_s / m.wall:6.1f} | {ratio} "
            f"| {m.peak_rss_mib:6.0f} | {wer * 100:5.2f} % |")


HEADER = ("| run | audio s | wall s | × real time | vs seed | peak RSS MiB | WER |\n"
          "|---|---|---|---|---|---|---|")
