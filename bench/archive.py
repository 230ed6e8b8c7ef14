"""Archive throughput: ``talkdown archive`` of a local podcast feed vs ``talkdown transcribe`` one by one.

Serves the longest corpus clips (≥ 10 items, ≥ 3 minutes of audio) as an RSS feed on
127.0.0.1 (tests/localweb.py, the same feed shape as tests/test_archive.py) and runs,
each as its own process with a fresh empty TALKDOWN_CACHE so every download is real:
(a) ``talkdown transcribe URL`` once per enclosure (wall times summed), (b) ``talkdown
archive FEED --jobs 1``, (c) ``talkdown archive FEED --jobs 2``. Prints audio s, wall s,
audio seconds per wall second, speed vs (a) and peak RSS (for (a) the largest of the
per-file processes; for (b)/(c) the archive process, whose workers are threads).

    .venv/bin/python bench/archive.py [--items 12] [--against DIR] [--no-one-by-one]

``--against DIR`` also runs (b) and (c) from another checkout (``git worktree add /tmp/base
HEAD~N``), interleaved with this one's: before/after figures from one run. ``--no-one-by-one``
skips (a), the slowest part, when only archive-against-archive is wanted.
"""

from __future__ import annotations

import argparse
import sqlite3
import tempfile
from dataclasses import replace
from pathlib import Path

from _run import REPO, Measured, measure

import corpus
from localweb import podcast_feed, serve

TALKDOWN = str(REPO / ".venv/bin/talkdown")


def longest_clips(n: int) -> list[tuple[Path, float]]:
    durations = [(c.audio, len(corpus.decode16k(c.audio)) / corpus.SAMPLE_RATE) for c in corpus.clips()]
    return sorted(durations, key=lambda d: -d[1])[:n]


def line(name: str, audio_s: float, m: Measured, base: Measured | None) -> str:
    ratio = f"{base.wall / m.wall:.2f}×" if base else "1.00×"
    return f"| {name} | {audio_s:.1f} | {m.wall:.1f} | {audio_s / m.wall:.2f} | {ratio} | {m.peak_rss_mib:.0f} |"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--items", type=int, default=12)
    ap.add_argument("--against", type=Path, help="another checkout of talkdown to time beside this one")
    ap.add_argument("--no-one-by-one", action="store_true", help="skip (a)")
    args = ap.parse_args()
    chosen = longest_clips(args.items)
    audio_s = sum(d for _, d in chosen)
    names = [p.name for p, _ in chosen]
    files = {f"/media/{p.name}": p.read_bytes() for p, _ in chosen}
    with serve(files) as web, tempfile.TemporaryDirectory() as tmp:
        tmpd = Path(tmp)
        files["/feed.xml"] = podcast_feed(web.base, names)
        feed = f"{web.base}/feed.xml"

        def cache(tag: str) -> dict[str, str]:
            return {"TALKDOWN_CACHE": str(tmpd / f"cache-{tag}")}

        # (a) one process per file, each with its own empty cache
        one_by_one = Measured(0.0, 0.0, "")
        for i, name in enumerate([] if args.no_one_by_one else names):
            m = measure([TALKDOWN, "transcribe", f"{web.base}/media/{name}", "-o", str(tmpd / "a")],
                        env=cache(f"a{i}"))
            one_by_one = replace(one_by_one, wall=one_by_one.wall + m.wall,
                                 peak_rss_mib=max(one_by_one.peak_rss_mib, m.peak_rss_mib))
        produced_a = len(list((tmpd / "a").glob("*.md")))
        runs = []
        checkouts = [("", None)] + ([(f" [{args.against}]", {"PYTHONPATH": str(args.against / "src")})]
                                    if args.against else [])
        for jobs in (1, 2):
            for tag, env in checkouts:  # interleaved: this checkout, then the other, per --jobs
                out = tmpd / f"archive-j{jobs}{len(runs)}"
                m = measure([TALKDOWN, "archive", feed, "-o", str(out), "--jobs", str(jobs)],
                            env={**cache(f"j{jobs}{len(runs)}"), **(env or {})})
                with sqlite3.connect(out / "talkdown.db") as db:
                    done = db.execute("SELECT count(*) FROM videos WHERE status = 'done'").fetchone()[0]
                runs.append((jobs, tag, m, done))

    print(f"{len(names)} items, {audio_s:.1f} s of audio ({', '.join(names)}), served from 127.0.0.1\n")
    print("| run | audio s | wall s | audio s / wall s | vs (a) | peak RSS MiB |\n|---|---|---|---|---|---|")
    base = one_by_one if one_by_one.wall else None
    if base:
        print(line(f"(a) talkdown transcribe, one process per file ({produced_a} .md)", audio_s, one_by_one, None))
    for jobs, tag, m, done in runs:
        label = "(b)" if jobs == 1 else "(c)"
        print(line(f"{label} talkdown archive FEED --jobs {jobs}{tag} ({done} done)", audio_s, m, base))
    print("\n(a) peak RSS is the largest single transcribe process; (b)/(c) the whole archive process.")


if __name__ == "__main__":
    main()
