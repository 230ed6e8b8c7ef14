"""The 3-hour transcript page: its weight and its load time in Chromium, against a baseline checkout.

The BBC fixture's 120 real lines (``fixtures/bbc-putin-direct-talks.md``) are repeated
at their own pace until they fill three hours (about 2,900 lines), each line's words
timed by length as the engine's word times would be, in chapters of 100 lines. Each
checkout (this one and ``--against DIR``) builds that archive with its own code in a
child process and serves it with uvicorn on 127.0.0.1; the page
``/v/youtube:MGgDHevAc8A?t=5400`` is then weighed (bytes, gzip -6 bytes) and loaded
``--rounds`` times in Chromium (Playwright, ``/usr/bin/chromium``), the two servers
interleaved, and the medians of DOMContentLoaded and load (navigation start to the
end of the load event, the page's script included) are printed with their ratio.

    .venv/bin/python bench/page.py --against /tmp/base-web [--rounds 7]
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import statistics
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
FIXTURE = HERE.parents[0].parent / "shared" / "fixtures" / "bbc-putin-direct-talks.md"
HOURS = 3.0
PAGE = "/v/youtube:MGgDHevAc8A?t=5400"


def three_hours() -> list[tuple[float, float, str]]:
    """(start, end, text) of the fixture's lines, repeated at their own pace to fill ``HOURS``."""
    sys.path.insert(0, str(HERE.parent / "src"))
    from talkdown.parse import parse_markdown

    said = [(line.start, line.text) for line in parse_markdown(FIXTURE.read_text(encoding="utf-8")).lines()
            if line.start is not None]
    length = said[-1][0] + 8.0
    out: list[tuple[float, float, str]] = []
    offset = 0.0
    while offset < HOURS * 3600:
        for i, (start, text) in enumerate(said):
            end = said[i + 1][0] if i + 1 < len(said) else length
            out.append((round(offset + start, 2), round(offset + end, 2), text))
        offset += length
    return [row for row in out if row[0] < HOURS * 3600]


def child(src: str, root: str, rows_path: str) -> None:
    """Builds the archive with the code under ``src`` and serves it; prints the port, then serves forever."""
    sys.path.insert(0, src)
    import uvicorn

    from talkdown.render import render
    from talkdown.serve import bind, create_app
    from talkdown.store import DB_NAME, Catalog, archive_paths, write_atomic
    from talkdown.types import Line, Media, ModelInfo, Section, Transcript, Word

    rows = json.loads(Path(rows_path).read_text())
    lines = []
    for start, end, text in rows:
        tokens = text.split()
        total = sum(len(t) for t in tokens) or 1
        words, at = [], start
        for token in tokens:
            step = (end - start) * len(token) / total
            words.append(Word(round(at, 2), round(at + step, 2), " " + token, 0.9))
            at += step
        lines.append(Line(start, end, text, tuple(words)))
    sections = tuple(Section(f"Chapter {i // 100 + 1}", lines[i].start or 0.0, tuple(lines[i:i + 100]))
                     for i in range(0, len(lines), 100))
    media = Media(id="youtube:MGgDHevAc8A", title="Putin offers direct talks (three hours)",
                  url="https://www.youtube.com/watch?v=MGgDHevAc8A", channel="BBC - World News",
                  upload_date="2025-05-11", duration=HOURS * 3600)
    t = Transcript(media, sections, ModelInfo("medium", "openai-whisper"), "en")
    archive = Path(root)
    paths = archive_paths(archive, media)
    write_atomic(paths.json, render(t, "json"))
    write_atomic(paths.markdown, render(t, "md"))
    with Catalog(archive / DB_NAME) as catalog:
        catalog.record_done(t, paths.markdown, paths.json)
    sock = bind("127.0.0.1", 0)
    print(sock.getsockname()[1], flush=True)
    uvicorn.Server(uvicorn.Config(create_app(archive), log_level="warning", lifespan="off")).run(sockets=[sock])


def start(src: Path, work: Path, rows: Path, name: str) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen([sys.executable, __file__, "--child", str(src), str(work / name), str(rows)],
                            stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(src)})
    assert proc.stdout is not None
    port = proc.stdout.readline().strip()
    if not port:
        proc.kill()
        raise SystemExit(f"the {name} server did not start")
    return proc, f"http://127.0.0.1:{port}"


def _only(base: str):  # noqa: ANN202 - a Playwright route handler
    """Lets the page reach only its own server (the YouTube API is refused, as offline)."""
    def handle(route):  # noqa: ANN001, ANN202 - one parameter, so Playwright passes only the route
        if route.request.url.startswith(base):
            route.continue_()
        else:
            route.abort()
    return handle


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", type=Path, help="a baseline checkout (git worktree) to measure in the same run")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    from playwright.sync_api import sync_playwright

    rows = three_hours()
    words = sum(len(r[2].split()) for r in rows)
    print(f"{len(rows)} lines, {words} words, {rows[-1][1] / 3600:.2f} h (the BBC fixture's lines repeated)")
    with tempfile.TemporaryDirectory(prefix="bench-page-") as tmp:
        work = Path(tmp)
        rows_path = work / "rows.json"
        rows_path.write_text(json.dumps(rows))
        checkouts = {"this": HERE.parent / "src"}
        if args.against:
            checkouts = {"baseline": args.against / "src", **checkouts}
        servers = {name: start(src, work, rows_path, name) for name, src in checkouts.items()}
        try:
            weights = {}
            for name, (_, base) in servers.items():
                html = urllib.request.urlopen(base + PAGE, timeout=30).read()
                weights[name] = (len(html), len(gzip.compress(html, 6)))
            times: dict[str, list[tuple[float, float]]] = {name: [] for name in servers}
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path="/usr/bin/chromium",
                                            args=["--headless", "--no-sandbox", "--disable-gpu"])
                for _ in range(args.rounds):
                    for name, (_, base) in servers.items():
                        context = browser.new_context(viewport={"width": 1366, "height": 900})
                        context.route("**/*", _only(base))
                        page = context.new_page()
                        page.goto(base + PAGE, wait_until="load")
                        nav = page.evaluate("() => { const n = performance.getEntriesByType('navigation')[0];"
                                            " return [n.domContentLoadedEventEnd, n.loadEventEnd]; }")
                        times[name].append((nav[0], nav[1]))
                        context.close()
                browser.close()
        finally:
            for proc, _ in servers.values():
                proc.kill()
    print(f"{'page':10} {'bytes':>10} {'gzip':>9} {'DOMContentLoaded':>17} {'load':>9}  (medians of {args.rounds}, ms)")
    medians = {}
    for name in servers:
        dcl = statistics.median(t[0] for t in times[name])
        load = statistics.median(t[1] for t in times[name])
        medians[name] = (dcl, load)
        print(f"{name:10} {weights[name][0]:>10,} {weights[name][1]:>9,} {dcl:>17.0f} {load:>9.0f}")
    if "baseline" in servers:
        b, t = weights["baseline"], weights["this"]
        print(f"ratio this/baseline: bytes {t[0] / b[0]:.2f}, gzip {t[1] / b[1]:.2f}, "
              f"DOMContentLoaded {medians['this'][0] / medians['baseline'][0]:.2f}, "
              f"load {medians['this'][1] / medians['baseline'][1]:.2f}")


if __name__ == "__main__":
    main()
