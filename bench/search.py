"""Search speed over a large archive: index build time, size, and query p50/p95.

Builds a catalogue of N transcripts (default 10,000) from generated variants of the real
transcript in ../shared/fixtures/bbc-putin-direct-talks.md: each variant has its own id,
title, channel and date, its lines are a shuffled subset of the original's, about a
fifth of them swapped for lines of earlier variants, and some words replaced from a
Zipf-distributed vocabulary of made-up words (so there are rare words, as in a real
archive) and a confidence like ASR's. Transcripts go in via ``Catalog.record_done_many`` in batches of 1,000 (what
``talkdown import`` does), then ``talkdown.store.search`` is timed in-process, warm, for
single common and rare words, phrases and prefix queries.

    .venv/bin/python bench/search.py [--transcripts 10000] [--keep DB] [--db DB] [--against DIR]

``--keep`` leaves the built database at DB; ``--db`` times an existing one instead of building.
``--against DIR`` builds a second catalogue with another checkout's talkdown (``git worktree
add /tmp/base HEAD~N``; its own schema and index) and times both in one run, query by query,
alternating which goes first: before/after figures on the same noisy CPU. Each checkout
runs in a child process of this script (``--worker``) with its ``src`` first on the path.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from _run import REPO  # noqa: F401  (puts tests/ on sys.path)

import corpus
from talkdown.parse import parse_markdown
from talkdown.store import Catalog, fts_query, search
from talkdown.types import Line, Section, Transcript

FIXTURE = corpus.FIXTURES / "bbc-putin-direct-talks.md"
CHANNELS = ["BBC News", "Sky News", "DW News", "Al Jazeera English", "CNN", "France 24", "NBC News", "ABC News"]
SYLLABLES = ["ka", "lo", "mi", "ren", "tu", "sha", "vor", "pel", "dri", "xan", "qui", "zo", "bek", "nal", "fis", "gor"]

QUERIES = {
    "common word": ["the", "putin", "russia", "ukraine", "said", "moscow", "talks", "ceasefire"],
    "rare word": [],  # filled with made-up words of 1–20 occurrences
    "phrase": ['"direct talks"', '"vladimir putin"', '"full and unconditional ceasefire"',
               '"the 15th of may"', '"european leaders"', '"root causes of the conflict"'],
    "prefix": ["negot*", "cease*", "ukrain*", "istan*", "pres*", "sanction*"],
    "words (AND)": ["putin istanbul", "ceasefire monday", "russia talks", "moscow president"],
}


def vocabulary(rng: random.Random, size: int) -> list[str]:
    words: set[str] = set()
    while len(words) < size:
        words.add("".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))))
    return sorted(words)


def variants(base: Transcript, n: int, seed: int = 7):
    rng = random.Random(seed)
    sure = random.Random(seed + 1)
    vocab = vocabulary(rng, 50_000)
    cum, acc = [], 0.0
    for r in range(len(vocab)):  # Zipf
        acc += 1 / (r + 1)
        cum.append(acc)
    originals = [line.text for line in base.lines()]
    pool: list[str] = list(originals)
    for i in range(n):
        texts = rng.sample(originals, k=int(len(originals) * rng.uniform(0.6, 1.0)))
        for j in range(len(texts)):
            roll = rng.random()
            if roll < 0.2:
                texts[j] = rng.choice(pool)
            if rng.random() < 0.3:
                words = texts[j].split()
                for _ in range(rng.randint(1, 3)):
                    words[rng.randrange(len(words))] = rng.choices(vocab, cum_weights=cum)[0]
                texts[j] = " ".join(words)
        pool.extend(rng.sample(texts, k=min(5, len(texts))))
        # ASR lines carry a confidence (about 5 % below UNSURE_BELOW), from their own generator so
        # the texts stay those of earlier runs
        lines = tuple(Line(start=7.0 * k, end=7.0 * k + 6.5, text=t, confidence=min(1.0, sure.gauss(0.85, 0.15)))
                      for k, t in enumerate(texts))
        year, day = 2015 + i % 10, i % 365
        media = replace(base.media, id=f"v{i:06d}", title=f"{base.media.title} (variant {i})",
                        channel=CHANNELS[i % len(CHANNELS)], url=f"https://example.org/watch?v=v{i:06d}",
                        upload_date=f"{year}-{1 + day // 31 % 12:02d}-{1 + day % 28:02d}")
        yield replace(base, media=media, sections=(Section(title=None, start=0.0, lines=lines),))


def build(db_path: Path, n: int) -> tuple[float, int]:
    base = parse_markdown(FIXTURE.read_text(encoding="utf-8"))
    spent = 0.0
    lines = 0
    with Catalog(db_path) as cat:
        batch = []
        for t in variants(base, n):
            lines += sum(1 for _ in t.lines())
            batch.append((t, f"x/{t.media.id}.md", f"x/{t.media.id}.json"))
            if len(batch) == 1000:
                spent += _record(cat, batch)
                batch = []
        if batch:
            spent += _record(cat, batch)
        start = time.perf_counter()
        cat.optimize()
        spent += time.perf_counter() - start
    return spent, lines


def _record(cat: Catalog, batch: list) -> float:
    """Seconds to record one batch (generating the variants is not timed)."""
    start = time.perf_counter()
    cat.record_done_many(batch)
    return time.perf_counter() - start


def rare_words(cat: Catalog, count: int) -> list[str]:
    cat.db.execute("CREATE VIRTUAL TABLE IF NOT EXISTS temp.bench_vocab USING fts5vocab(main, lines_fts, row)")
    rows = cat.db.execute("SELECT term FROM temp.bench_vocab WHERE doc BETWEEN 1 AND 20 AND length(term) > 5 "
                          "ORDER BY term LIMIT ?", (count,)).fetchall()
    return [r[0] for r in rows]


def matches(cat: Catalog, query: str) -> int:
    return cat.db.execute("SELECT count(*) FROM lines_fts WHERE lines_fts MATCH ?", (fts_query(query),)).fetchone()[0]


def timed(cat: Catalog, query: str, repeats: int) -> list[float]:
    search(cat, query)  # warm
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        search(cat, query)
        out.append((time.perf_counter() - t0) * 1000)
    return out


def pct(values: list[float], p: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(p) - 1] if len(values) > 1 else values[0]


def worker(db_path: Path, transcripts: int) -> None:
    """Builds (unless DB exists) and times queries sent as JSON lines on stdin, for ``--against``."""
    import talkdown

    header: dict = {"talkdown": talkdown.__file__}
    if not db_path.exists():
        header["build_s"], header["lines"] = build(db_path, transcripts)
    header["size"] = db_path.stat().st_size
    with Catalog(db_path, readonly=True) as cat:
        header["total"] = cat.db.execute("SELECT count(*) FROM lines").fetchone()[0]
        header["rare"] = rare_words(cat, 8)
        print(json.dumps(header), flush=True)
        for request in sys.stdin:
            asked = json.loads(request)
            print(json.dumps({"times": timed(cat, asked["query"], asked["repeats"]),
                              "matches": matches(cat, asked["query"])}), flush=True)


class Checkout:
    """One checkout's worker process."""

    def __init__(self, name: str, src: Path, db_path: Path, transcripts: int) -> None:
        self.name = name
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(src), os.environ.get("PYTHONPATH", "")])}
        self.proc = subprocess.Popen([sys.executable, __file__, "--worker", "--db", str(db_path),
                                      "--transcripts", str(transcripts)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
        self.header = self._read()

    def _read(self) -> dict:
        line = self.proc.stdout.readline()
        if not line:
            raise SystemExit(f"the {self.name} worker ended early (exit {self.proc.wait()})")
        return json.loads(line)

    def time(self, query: str, repeats: int) -> dict:
        self.proc.stdin.write(json.dumps({"query": query, "repeats": repeats}) + "\n")
        self.proc.stdin.flush()
        return self._read()

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait()


def against(args: argparse.Namespace, tmp: Path) -> None:
    here = Checkout("this", REPO / "src", tmp / "this.db", args.transcripts)
    base = Checkout(str(args.against), args.against / "src", tmp / "base.db", args.transcripts)
    sides = [base, here]
    try:
        for side in sides:
            h = side.header
            print(f"{side.name}: {h['talkdown']}; {h['total']:,} lines; build {h.get('build_s', 0):.1f} s; "
                  f"{h['size'] / 2**20:.1f} MiB")
        QUERIES["rare word"] = here.header["rare"]
        times: dict[tuple[str, str], list[float]] = {}
        detail = []
        for n, (kind, queries) in enumerate(QUERIES.items()):
            for i, q in enumerate(queries):
                order = sides if (n + i) % 2 else sides[::-1]  # alternate who goes first
                got = {side.name: side.time(q, args.repeats) for side in order}
                for side in sides:
                    times.setdefault((kind, side.name), []).extend(got[side.name]["times"])
                detail.append(f"| {kind} | `{q}` | " + " | ".join(
                    f"{statistics.median(got[s.name]['times']):.1f}" for s in sides) + " |")
    finally:
        for side in sides:
            side.close()
    print(f"\n{args.repeats} timed runs per query after one warm-up, the two checkouts alternating query by query\n")
    print("| query kind | queries | before p50 ms | before p95 ms | after p50 ms | after p95 ms | p95 after/before |")
    print("|---|---|---|---|---|---|---|")
    for kind, queries in QUERIES.items():
        b, a = times[(kind, base.name)], times[(kind, here.name)]
        print(f"| {kind} | {len(queries)} | {pct(b, 50):.1f} | {pct(b, 95):.1f} | {pct(a, 50):.1f} | {pct(a, 95):.1f} "
              f"| {pct(a, 95) / pct(b, 95):.2f} |")
    sb, sa = base.header["size"], here.header["size"]
    print(f"\nCatalogue size: before {sb / 2**20:.1f} MiB, after {sa / 2**20:.1f} MiB ({(sa / sb - 1) * 100:+.1f} %)")
    if args.per_query:
        print("\n| kind | query | before median ms | after median ms |\n|---|---|---|---|")
        print("\n".join(detail))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--transcripts", type=int, default=10_000)
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--keep", type=Path, help="build the database here and leave it")
    ap.add_argument("--db", type=Path, help="time this existing database instead of building one")
    ap.add_argument("--per-query", action="store_true", help="also print each query's figures")
    ap.add_argument("--against", type=Path, help="another checkout of talkdown to time beside this one")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        return worker(args.db, args.transcripts)
    with tempfile.TemporaryDirectory() as tmp:
        if args.against:
            return against(args, Path(tmp))
        db_path = args.db or args.keep or Path(tmp) / "talkdown.db"
        if args.db is None:
            db_path.unlink(missing_ok=True)
            build_s, lines = build(db_path, args.transcripts)
            size = db_path.stat().st_size
            print(f"Index: {args.transcripts:,} transcripts, {lines:,} lines; build (record_done_many + optimize) {build_s:.1f} s "
                  f"= {build_s / args.transcripts * 1000:.2f} s per 1,000 transcripts; "
                  f"{size / 2**20:.0f} MiB = {size / args.transcripts / 1024:.1f} KiB per transcript\n")
        with Catalog(db_path, readonly=True) as cat:
            total = cat.db.execute("SELECT count(*) FROM lines").fetchone()[0]
            QUERIES["rare word"] = rare_words(cat, 8)
            rows, detail = [], []
            for kind, queries in QUERIES.items():
                times: list[float] = []
                for q in queries:
                    t = timed(cat, q, args.repeats)
                    times += t
                    detail.append(f"| {kind} | `{q}` | {matches(cat, q) / total * 100:.2f} % "
                                  f"| {statistics.median(t):.1f} | {max(t):.1f} |")
                rows.append(f"| {kind} | {len(queries)} | {pct(times, 50):.1f} | {pct(times, 95):.1f} | {max(times):.1f} |")
    print(f"{total:,} lines indexed; {args.repeats} timed runs per query after one warm-up\n")
    print("| query kind | queries | p50 ms | p95 ms | max ms |\n|---|---|---|---|---|")
    print("\n".join(rows))
    if args.per_query:
        print("\n| kind | query | lines matched | median ms | max ms |\n|---|---|---|---|---|")
        print("\n".join(detail))


if __name__ == "__main__":
    main()
