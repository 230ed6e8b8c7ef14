"""Archive on Ray: throughput against local threads, and where the single writer stops scaling.

(1) The longest corpus clips (≥ 10 items) served as an RSS feed on 127.0.0.1, archived with
the bundled tiny.en by ``--executor local --jobs 2`` and by ``--executor ray --jobs 2`` (a
cluster the run starts itself, as a user without one gets), each its own process with an
empty cache. Prints audio s per wall s, the ratio, the driver's peak RSS and the largest
worker's (VmHWM of the Ray actor processes).

(2) The driver's ceiling: an engine that returns at once (``--engine fake``) on N distinct
1 s recordings, 4 Ray workers on a 4-CPU head node started here; items per second of the
driver (JSON + Markdown written atomically with fsync, one catalogue transaction each) from
the difference of two runs (N and N + extra), so start-up cancels out.

    .venv/bin/python bench/cluster.py [--items 10] [--instant 40 240]
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from _run import REPO, measure

import corpus
from localweb import podcast_feed, serve
from processes import end

BIN = REPO / ".venv/bin"
ENV = {"RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "disabled"}


class WorkerPeak(threading.Thread):
    """Polls /proc for Ray actor processes and keeps the largest VmHWM seen (MiB)."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak, self.stop = 0.0, threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            for status in Path("/proc").glob("[0-9]*/status"):
                try:
                    cmd = (status.parent / "cmdline").read_bytes()
                    if b"_Worker" in cmd:
                        hwm = next(l for l in status.read_text().splitlines() if l.startswith("VmHWM"))
                        self.peak = max(self.peak, int(hwm.split()[1]) / 1024)
                except (OSError, StopIteration, ValueError):
                    pass
            time.sleep(0.3)


def throughput(items: int, tmp: Path) -> None:
    clips = sorted(((c.audio, len(corpus.decode16k(c.audio)) / corpus.SAMPLE_RATE) for c in corpus.clips()),
                   key=lambda d: -d[1])[:items]
    audio_s = sum(d for _, d in clips)
    files = {f"/media/{p.name}": p.read_bytes() for p, _ in clips}
    rows = []
    head, port = _head(2)
    runs = {"local": [], "ray (starts its cluster)": [], "ray (running cluster)": ["--ray-address", f"127.0.0.1:{port}"]}
    try:
        with serve(files) as web:
            files["/feed.xml"] = podcast_feed(web.base, [p.name for p, _ in clips])
            for name in [*runs, *runs]:  # interleaved, twice
                peak = WorkerPeak()
                peak.start()
                out = tmp / f"run-{len(rows)}"
                executor = name.split()[0]
                m = measure([str(BIN / "talkdown"), "archive", f"{web.base}/feed.xml", "-o", str(out), "--jobs", "2",
                             "--executor", executor, *runs[name]], env={**ENV, "TALKDOWN_CACHE": str(out) + "-cache"})
                peak.stop.set()
                rows.append((name, m.wall, m.peak_rss_mib, peak.peak, len(list(out.glob("*/*.md")))))
    finally:
        end(head)
    print(f"(1) {items} feed items, {audio_s:.0f} s of audio, tiny.en, --jobs 2\n")
    print("| executor | wall s | audio s / wall s | driver peak RSS MiB | worker peak RSS MiB | items |")
    print("|---|---|---|---|---|---|")
    for executor, wall, rss, worker, done in rows:
        print(f"| {executor} | {wall:.1f} | {audio_s / wall:.2f} | {rss:.0f} | {worker:.0f} | {done} |")
    local = min(w for e, w, *_ in rows if e == "local")
    for name in list(runs)[1:]:
        ray = min(w for e, w, *_ in rows if e == name)
        print(f"\n{name} / local throughput (best of two each): {local / ray:.2f}×")
    print()


def _head(cpus: int) -> tuple[subprocess.Popen, int]:
    """A Ray head node on 127.0.0.1 with ``cpus`` CPUs, in its own process group."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    head = subprocess.Popen([str(BIN / "ray"), "start", "--head", "--block", f"--port={port}", f"--num-cpus={cpus}",
                             "--node-ip-address=127.0.0.1", "--include-dashboard=false", "--disable-usage-stats",
                             f"--temp-dir={tempfile.mkdtemp(prefix='tdray-', dir='/tmp')}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
                            env={**os.environ, **ENV})
    time.sleep(8)
    return head, port


def instant(counts: tuple[int, int], tmp: Path) -> None:
    head, port = _head(4)
    try:
        walls = []
        for n in counts:
            folder = tmp / f"instant-{n}"
            folder.mkdir()
            for i in range(n):  # distinct content: distinct ids
                corpus.write_wav(folder / f"{i:04d}.wav", np.random.default_rng(i).normal(0, 0.1, 16_000)
                                 .astype(np.float32))
            m = measure([str(BIN / "talkdown"), "archive", str(folder), "-o", str(tmp / f"arch-{n}"), "--jobs", "4",
                         "--executor", "ray", "--ray-address", f"127.0.0.1:{port}", "--engine", "fake"], env=ENV)
            walls.append(m.wall)
        rate = (counts[1] - counts[0]) / (walls[1] - walls[0])
        print(f"(2) instant engine, 4 Ray workers: {counts[0]} items in {walls[0]:.1f} s, {counts[1]} in "
              f"{walls[1]:.1f} s: the driver takes {rate:.1f} items/s ({1000 / rate:.0f} ms an item)")
    finally:
        end(head)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--items", type=int, default=10)
    ap.add_argument("--instant", type=int, nargs=2, default=(40, 240))
    ap.add_argument("--skip-throughput", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if not args.skip_throughput:
            throughput(args.items, Path(tmp))
        instant(tuple(args.instant), Path(tmp))
    print(f"machine: {os.cpu_count()} cores; python {sys.version.split()[0]}")


if __name__ == "__main__":
    main()
