"""talkdown archive / import / search / render, end to end on real parts (yt-dlp, SQLite)."""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

import corpus
from localweb import podcast_feed, serve
from talkdown import info
from talkdown.cli import cli
from talkdown.parse import parse_markdown
from talkdown.render import read_json

FIXTURE = corpus.FIXTURES / "bbc-putin-direct-talks.md"
CLIPS = ["jfk.flac", "p001.mp3", "p002.mp3", "acoustic_corpus.wav", "mfa_words.flac", "61-70968-0000.flac",
         "mfa_surround.flac"]
TALKDOWN = Path(sys.executable).with_name("talkdown")


def _clip_bytes(name: str) -> bytes:
    return next(corpus.CORPUS.rglob(name)).read_bytes()


@pytest.fixture
def feed(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.setenv("TALKDOWN_CACHE", str(tmp_path / "cache"))
    files = {f"/media/{n}": _clip_bytes(n) for n in CLIPS}
    with serve(files) as web:
        def publish(names: list[str]) -> str:
            files["/feed.xml"] = podcast_feed(web.base, names)
            return f"{web.base}/feed.xml"
        web.publish = publish  # type: ignore[attr-defined]
        yield web


def _archive(*args: str):
    return CliRunner().invoke(cli, ["archive", *args], catch_exceptions=False)


def _id(feed_url: str, guid: str) -> str:
    """A feed item's id: its guid, and a hash of the feed and the guid."""
    return "generic:" + info.generic_id(guid, info.feed_identity(feed_url, guid))


def _catalogue(root: Path) -> dict[str, str]:
    with sqlite3.connect(root / "talkdown.db") as db:
        return dict(db.execute("SELECT id, status FROM videos"))


def test_feed_is_archived_and_only_new_entries_are_done_next_time(feed, tmp_path: Path) -> None:
    root = tmp_path / "archive"
    url = feed.publish(CLIPS[:2])
    first = _archive(url, "-o", str(root))
    assert first.exit_code == 0, first.output
    assert first.stderr.strip().endswith("2 archived, 0 skipped, 0 failed")
    mds = sorted((root / "Corpus Cast").glob("*.md"))
    ids = [_id(url, "ep-1").split(":")[1], _id(url, "ep-2").split(":")[1]]
    assert [m.name for m in mds] == [f"2023-01-11 Episode 1 jfk.flac [{ids[0]}].md", f"2023-01-12 Episode 2 p001.mp3 [{ids[1]}].md"]
    text = mds[1].read_text()
    assert "From fairest creatures" in text and f"]({feed.base}/media/p001.mp3#t=" in text
    assert not list((tmp_path / "cache").rglob("*.mp3"))  # audio is not kept once archived

    url = feed.publish(CLIPS[:3])
    second = _archive(url, "-o", str(root))
    assert second.exit_code == 0
    assert second.stderr.strip().endswith("1 archived, 2 skipped, 0 failed")
    assert set(_catalogue(root).values()) == {"done"} and len(_catalogue(root)) == 3

    hits = CliRunner().invoke(cli, ["search", "fairest creatures", "-o", str(root), "--json"])
    hit = json.loads(hits.stdout.splitlines()[0])
    assert hit["id"] == _id(url, "ep-2") and hit["start"] < 3 and hit["link"].endswith("#t=0")


def test_a_missing_enclosure_is_recorded_and_the_rest_go_on(feed, tmp_path: Path) -> None:
    root = tmp_path / "archive"
    url = feed.publish([CLIPS[0], "gone.mp3"])
    result = _archive(url, "-o", str(root))
    assert result.exit_code == 1
    assert "not found (HTTP 404)" in result.stderr
    assert result.stderr.strip().endswith("1 archived, 0 skipped, 1 failed")
    with sqlite3.connect(root / "talkdown.db") as db:
        status, error, attempts = db.execute("SELECT status, error, attempts FROM videos WHERE id = ?",
                                             (_id(url, "ep-2"),)).fetchone()
    assert status == "failed" and "404" in error and attempts == 1
    again = _archive(url, "-o", str(root))  # inside the back-off: not tried again, and not called archived
    assert again.exit_code == 1
    assert "1 to transcribe" not in again.stderr and "0 to transcribe, 1 already archived, 1 failed before" in again.stderr
    assert re.search(r"Not archived:\n  Episode 2: gone.mp3 \(http://[^)]+/gone.mp3\): .*HTTP 404", again.stderr)
    assert again.stderr.strip().endswith("0 archived, 1 skipped, 0 failed, 1 waiting to be retried "
                                         "(after the back-off, or now with --retry-failed)")
    retried = _archive(url, "-o", str(root), "--retry-failed")
    assert retried.stderr.strip().endswith("0 archived, 1 skipped, 1 failed")


def test_two_runs_on_one_archive(feed, tmp_path: Path) -> None:
    root = tmp_path / "archive"
    url = feed.publish(CLIPS[:1])
    env = {**os.environ, "TALKDOWN_CACHE": str(tmp_path / "cache")}
    proc = subprocess.Popen([str(TALKDOWN), "archive", url, "-o", str(root)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 30
    while not (root / "talkdown.db").exists() and time.time() < deadline:
        time.sleep(0.05)
    second = _archive(url, "-o", str(root))
    proc.communicate(timeout=120)
    assert second.exit_code == 1
    assert "Another talkdown run is using" in second.stderr


def _check_archive(root: Path, expected: int) -> None:
    rows = _catalogue(root)
    assert len(rows) == expected and set(rows.values()) == {"done"}
    mds = list(root.glob("*/*.md"))
    jsons = list(root.glob("*/.json/*.json"))
    assert len(mds) == len(jsons) == expected
    for path in jsons:
        assert read_json(path.read_text()).media.id in rows
    for path in mds:
        assert parse_markdown(path.read_text()).media.title
    assert not [p for p in root.rglob("*") if p.name.startswith(".tmp-talkdown-")]


def _rows(root: Path) -> int:
    try:
        with sqlite3.connect(f"file:{root / 'talkdown.db'}?mode=ro", uri=True) as db:
            return db.execute("SELECT count(*) FROM videos").fetchone()[0]
    except sqlite3.Error:
        return 0


KILL_POINTS = {
    # the moment to kill, seen from outside: polled every 2 ms
    "during the first download": lambda root, cache: any(cache.rglob("*.part")) or any(cache.rglob("*.mp3")),
    "during a transcription": lambda root, cache: any(cache.rglob("*.flac")) and not any(root.rglob("*.json")),
    "between JSON and Markdown writes": lambda root, cache: any(root.rglob("*.json")),
    "while the catalogue is written": lambda root, cache: (root / "talkdown.db-wal").exists() and _rows(root) >= 2,
}


@pytest.mark.parametrize("moment", sorted(KILL_POINTS))
def test_sigkill_at_any_moment_loses_nothing(feed, tmp_path: Path, moment: str) -> None:
    """SIGKILL at a point of a 6-item run; the next run finishes the job, nothing twice."""
    root, cache = tmp_path / "archive", tmp_path / "cache"
    url = feed.publish(CLIPS[:6])
    env = {**os.environ, "TALKDOWN_CACHE": str(cache)}
    proc = subprocess.Popen([str(TALKDOWN), "archive", url, "-o", str(root)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    seen = KILL_POINTS[moment]
    deadline = time.time() + 60
    while proc.poll() is None and time.time() < deadline and not seen(root, cache):
        time.sleep(0.002)
    assert proc.poll() is None, "the run ended before the kill point"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done_before = _rows(root)
    result = _archive(url, "-o", str(root))
    assert result.exit_code == 0, result.output
    archived, skipped, failed = (int(w) for w in re.findall(r"(\d+) (?:archived|skipped|failed)", result.stderr))
    # a JSON the kill left without its Markdown is re-rendered, not transcribed again: skipped
    assert archived + skipped == 6 and archived <= 6 - done_before and failed == 0
    _check_archive(root, 6)


@pytest.mark.parametrize("moment", ["during a transcription", "between JSON and Markdown writes"])
def test_ctrl_c_ends_with_130_and_a_summary_and_the_next_run_finishes(feed, tmp_path: Path, moment: str) -> None:
    """Ctrl-C had ended some runs in a segfault (exit 139): threads inside the model at exit."""
    root, cache = tmp_path / "archive", tmp_path / "cache"
    url = feed.publish(CLIPS[:4])
    env = {**os.environ, "TALKDOWN_CACHE": str(cache)}
    proc = subprocess.Popen([str(TALKDOWN), "archive", url, "-o", str(root), "--jobs", "2"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seen = KILL_POINTS[moment]
    deadline = time.time() + 60
    while proc.poll() is None and time.time() < deadline and not seen(root, cache):
        time.sleep(0.002)
    assert proc.poll() is None, "the run ended before Ctrl-C"
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert re.search(r"Interrupted: \d+ archived in this run; run the same command again", err)
    assert "Traceback" not in err and "Aborted" not in err
    result = _archive(url, "-o", str(root))
    assert result.exit_code == 0, result.output
    _check_archive(root, 4)


def test_transcripts_are_readable_by_all_as_the_umask_allows(feed, tmp_path: Path) -> None:
    root = tmp_path / "archive"
    old = os.umask(0o022)
    try:
        assert _archive(feed.publish(CLIPS[:1]), "-o", str(root)).exit_code == 0
    finally:
        os.umask(old)
    files = [p for p in root.rglob("*") if p.is_file() and p.suffix in (".md", ".json")]
    assert files and {oct(p.stat().st_mode & 0o777) for p in files} == {oct(0o644)}


def test_crash_between_json_and_markdown_rerenders_without_transcribing(feed, tmp_path: Path) -> None:
    root = tmp_path / "archive"
    url = feed.publish(CLIPS[:1])
    assert _archive(url, "-o", str(root)).exit_code == 0
    md = next(root.glob("*/*.md"))
    md.unlink()  # as if killed after the JSON was written
    with sqlite3.connect(root / "talkdown.db") as db:
        db.execute("DELETE FROM lines")
        db.execute("DELETE FROM videos")
    result = _archive(url, "-o", str(root))
    assert result.stderr.strip().endswith("0 archived, 1 skipped, 0 failed")
    assert md.exists()
    _check_archive(root, 1)


def _variants(folder: Path) -> dict[str, tuple[str, float]]:
    """The fixture and files made from it as users' older corpora have them: phrase -> line time."""
    text = FIXTURE.read_text()
    (folder / "fixture.md").write_text(text)
    head, body = text.split("\n---\n", 1)
    no_desc = head.split("Video Description:")[0].rstrip() + "\n---\n" + body
    (folder / "no-description.md").write_text(no_desc.replace("MGgDHevAc8A", "AAAAAAAAAA1"))
    bare = "\n".join(line.split(" [[")[0] if line.startswith("*  ") else line for line in text.splitlines())
    (folder / "no-timestamps.md").write_text(bare.replace("MGgDHevAc8A", "AAAAAAAAAA2"))
    colons = text.replace("Video Description: Russian", "Video Description: Note: see --- below: Russian")
    colons = colons.replace("Subscribe here:", "---\nSubscribe here:")
    (folder / "colons.md").write_text(colons.replace("MGgDHevAc8A", "AAAAAAAAAA3"))
    (folder / "broken.md").write_text("not a transcript at all\n")
    return {"Vitaly Shevchenko": 59.2, "posse of leaders": 263.68}


def test_import_then_search_finds_each_phrase_at_its_line(tmp_path: Path) -> None:
    src, root = tmp_path / "old", tmp_path / "archive"
    src.mkdir()
    phrases = _variants(src)
    result = CliRunner().invoke(cli, ["import", str(src), "-o", str(root)])
    assert result.exit_code == 1  # broken.md is reported, the rest imported
    assert "broken.md" in result.stderr and result.stderr.strip().endswith("4 imported, 1 failed")
    for phrase, start in phrases.items():
        out = CliRunner().invoke(cli, ["search", f'"{phrase}"', "-o", str(root), "--json"])
        hits = [json.loads(line) for line in out.stdout.splitlines()]
        ids = {h["id"] for h in hits}
        assert {"youtube:MGgDHevAc8A", "youtube:AAAAAAAAAA1", "youtube:AAAAAAAAAA2", "youtube:AAAAAAAAAA3"} <= ids
        for h in hits:
            if h["id"] != "youtube:AAAAAAAAAA2":
                assert abs(h["start"] - start) <= 1, h
        assert "[bold" not in out.stdout
    colons = next(root.glob("*/*AAAAAAAAAA3*.md")).read_text()
    assert "Note: see --- below" in colons
    again = CliRunner().invoke(cli, ["import", str(src), "-o", str(root)])
    assert again.stderr.strip().endswith("4 imported, 1 failed")
    with sqlite3.connect(root / "talkdown.db") as db:
        assert db.execute("SELECT count(*) FROM videos").fetchone()[0] == 4  # re-import: no duplicates


def test_search_errors_are_plain(tmp_path: Path) -> None:
    src, root = tmp_path / "old", tmp_path / "archive"
    src.mkdir()
    (src / "fixture.md").write_text(FIXTURE.read_text())
    CliRunner().invoke(cli, ["import", str(src), "-o", str(root)])
    for query, message in (("   ", "Nothing to search for"), ('"unclosed', "quote is not closed")):
        result = CliRunner().invoke(cli, ["search", query, "-o", str(root)])
        assert result.exit_code == 1 and message in result.stderr
    missing = CliRunner().invoke(cli, ["search", "x", "-o", str(tmp_path / "nowhere")])
    assert missing.exit_code == 1 and "run talkdown archive first" in missing.stderr
    human = CliRunner().invoke(cli, ["search", "Istanbul", "-o", str(root), "--channel", "bbc - world news"])
    assert "https://www.youtube.com/watch?v=MGgDHevAc8A&t=0s" in human.stdout


def test_render_from_the_stored_json(tmp_path: Path) -> None:
    src, root = tmp_path / "old", tmp_path / "archive"
    src.mkdir()
    (src / "fixture.md").write_text(FIXTURE.read_text())
    CliRunner().invoke(cli, ["import", str(src), "-o", str(root)])
    result = CliRunner().invoke(cli, ["render", "youtube:MGgDHevAc8A", "--archive", str(root),
                                      "-f", "srt,vtt", "-o", str(tmp_path / "subs")])
    assert result.exit_code == 0, result.output
    srt = next((tmp_path / "subs").glob("*.srt")).read_text()
    assert srt.startswith("1\n00:00:00,000 --> ") and "Istanbul" in srt
    md = CliRunner().invoke(cli, ["render", "MGgDHevAc8A", "--archive", str(root), "-o", "-"])
    meta = yaml.safe_load(md.stdout[4 : md.stdout.index("\n---\n", 3)])
    assert meta["Video Views"] == 341902 and "Keir Starmer" in meta["Video Description"]
    unknown = CliRunner().invoke(cli, ["render", "nope", "--archive", str(root)])
    assert unknown.exit_code == 1 and "No transcript with id 'nope'" in unknown.stderr
