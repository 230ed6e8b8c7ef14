"""Store: safe archive names, atomic writes, the SQLite catalogue, the lock, and FTS5 search."""

from __future__ import annotations

import json
import multiprocessing
import os
import subprocess
import sys
import time
from multiprocessing.synchronize import Event
from pathlib import Path

import pytest

from talkdown.errors import CatalogError, OutputError, QueryError
from talkdown.store.catalog import DB_NAME, Catalog, lock
from talkdown.store.files import (
    TEMP_PREFIX,
    archive_paths,
    clean_temp,
    ensure_writable,
    safe_name,
    transcript_stem,
    write_atomic,
)
from talkdown.store.search import MARK_END, MARK_START, fts_query, search
from talkdown.store.schema import MIGRATIONS
from talkdown.types import Line, Media, ModelInfo, Section, Transcript

MODEL = ModelInfo("tiny.en", "faster-whisper", "1.2.0", "int8")


def make_media(vid: str = "abc123", title: str = "A talk", channel: str | None = "Chan",
               upload_date: str | None = "2024-05-01") -> Media:
    return Media(id=f"youtube:{vid}", title=title, url=f"https://www.youtube.com/watch?v={vid}",
                 channel=channel, upload_date=upload_date)


def make_transcript(texts: list[str], media: Media | None = None, step: float = 5.0) -> Transcript:
    lines = tuple(Line(i * step, (i + 1) * step, text) for i, text in enumerate(texts))
    return Transcript(media=media or make_media(), sections=(Section(None, 0.0, lines),), model=MODEL, language="en")


def to_json(transcript: Transcript) -> str:
    return json.dumps(transcript.to_dict())


def load_json(text: str) -> Transcript:
    return Transcript.from_dict(json.loads(text))


def archive(root: Path, catalog: Catalog, transcript: Transcript) -> None:
    """What the pipeline does: JSON, then Markdown, then the row."""
    paths = archive_paths(root, transcript.media)
    write_atomic(paths.json, to_json(transcript))
    write_atomic(paths.markdown, f"# {transcript.media.title}\n")
    catalog.record_done(transcript, paths.markdown, paths.json)


@pytest.fixture
def catalog(tmp_path: Path):
    with Catalog(tmp_path / DB_NAME) as cat:
        yield cat


# -- names ------------------------------------------------------------------------------

HOSTILE = ["../../etc/passwd", "CON", "con.txt", "LPT1", "x" * 300, "😀" * 80, "👨‍👩‍👧" * 30,
           "a/b\\c:d*e?f\"g<h>i|j", "..", ".", "  ", "", "\x00\x1f ctrl", "🇫🇷" * 60, "/", "..\\..\\boot.ini"]


@pytest.mark.parametrize("text", HOSTILE)
def test_safe_name_is_one_safe_component(text: str) -> None:
    name = safe_name(text)
    assert name and name not in (".", "..")
    assert not set(name) & set('/\\:*?"<>|')
    assert all(ord(c) >= 32 for c in name)
    assert name == name.strip(" .")
    assert len(name.encode("utf-8")) <= 150
    assert name.split(".")[0].upper() not in {"CON", "PRN", "AUX", "NUL", "LPT1", "COM1"}
    name.encode("utf-8").decode("utf-8")  # no split character


def test_safe_name_details() -> None:
    assert safe_name("CON") == "CON_"
    assert safe_name("con.txt") == "con_.txt"
    assert safe_name("Console") == "Console"
    assert safe_name("") == "untitled"
    assert safe_name("...") == "untitled"
    assert safe_name("e\u0301t\u00e9") == "\u00e9t\u00e9"  # NFC
    assert safe_name("What? No: yes/no") == "What No yes no"
    family = "👨‍👩‍👧"  # 18 bytes; a cut inside must drop it whole
    assert safe_name("ab" + family, 10) == "ab"
    assert safe_name("🇫🇷🇩🇪", 12) == "🇫🇷"


@pytest.mark.parametrize("title", HOSTILE)
@pytest.mark.parametrize("channel", ["../../etc", "CON", None, "😀/:" * 50])
def test_archive_paths_stay_inside_root(tmp_path: Path, title: str, channel: str | None) -> None:
    media = make_media(vid="dQw4w9WgXcQ", title=title, channel=channel)
    paths = archive_paths(tmp_path, media)
    root = tmp_path.resolve()
    for path in (paths.markdown, paths.json, paths.folder):
        assert path.resolve().is_relative_to(root)
        assert path.resolve() != root
    assert paths.markdown.parent == paths.folder
    assert paths.json.parent == paths.folder / ".json"
    assert paths.markdown.name.endswith(" [dQw4w9WgXcQ].md")
    assert len(paths.markdown.name.encode("utf-8")) <= 160
    write_atomic(paths.markdown, "ok")  # the OS accepts the name
    assert paths.markdown.read_text() == "ok"


def test_transcript_stem() -> None:
    assert transcript_stem(make_media(title="Hello: world")) == "2024-05-01 Hello world [abc123]"
    assert transcript_stem(make_media(title="Hi", upload_date=None)) == "Hi [abc123]"
    long = transcript_stem(make_media(title="é" * 300))
    assert long.endswith(" [abc123]") and len(long.encode()) <= 150
    assert archive_paths(Path("/r"), make_media(channel=None)).folder == Path("/r/Local files")


# -- writes -----------------------------------------------------------------------------


def test_write_atomic_replaces_whole(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "a.md"
    write_atomic(target, "old")
    write_atomic(target, "new ✓")
    assert target.read_text(encoding="utf-8") == "new ✓"
    assert [p.name for p in target.parent.iterdir()] == ["a.md"]


def test_write_atomic_failure_keeps_old_content(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "a.md"
    write_atomic(target, "old")

    def broken(src: object, dst: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken)
    with pytest.raises(OutputError, match="Cannot write to .*: the disk is full; choose another folder with -o"):
        write_atomic(target, "new" * 1000)
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["a.md"]


_SLOW_WRITER = """
import os, sys, tempfile
from pathlib import Path
import talkdown.store.files as files
real_fdopen = os.fdopen
class Slow:
    def __init__(self, handle): self.handle = handle
    def __enter__(self): return self
    def __exit__(self, *a): return self.handle.__exit__(*a)
    def write(self, text):
        self.handle.write(text[:10]); self.handle.flush()
        print("writing", flush=True)
        import time; time.sleep(60)
    def __getattr__(self, name): return getattr(self.handle, name)
os.fdopen = lambda *a, **k: Slow(real_fdopen(*a, **k))
files.write_atomic(Path(sys.argv[1]), "new content " * 1000)
"""


def test_killed_writer_leaves_old_content(tmp_path: Path) -> None:
    target = tmp_path / "a.md"
    write_atomic(target, "old")
    proc = subprocess.Popen([sys.executable, "-c", _SLOW_WRITER, str(target)], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "writing"
        proc.kill()
    finally:
        proc.wait()
    assert target.read_text() == "old"
    leftovers = [p for p in tmp_path.iterdir() if p.name.startswith(TEMP_PREFIX)]
    assert len(leftovers) == 1  # the half-written temp, never the target
    assert clean_temp(tmp_path) == 1
    assert [p.name for p in tmp_path.iterdir()] == ["a.md"]


def test_unwritable_folder_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import tempfile

    def denied(*args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", denied)  # root ignores chmod, so fake the refusal
    with pytest.raises(OutputError, match=r"^Cannot write to .*locked: permission denied; choose another folder with -o$"):
        ensure_writable(tmp_path / "locked")
    with pytest.raises(OutputError, match="permission denied"):
        write_atomic(tmp_path / "locked" / "a.md", "x")
    assert not (tmp_path / "locked" / "a.md").exists()


def test_ensure_writable_on_a_file(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(OutputError, match="Cannot write to"):
        ensure_writable(blocker / "sub")
    ensure_writable(tmp_path / "new" / "deep")
    assert (tmp_path / "new" / "deep").is_dir()


# -- catalogue --------------------------------------------------------------------------


def test_schema_is_migrated_once(tmp_path: Path) -> None:
    path = tmp_path / DB_NAME
    Catalog(path).close()
    with Catalog(path) as cat:
        assert cat.db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS) == 2
        assert cat.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    with Catalog(path, readonly=True) as ro:
        assert ro.videos() == []


def test_newer_or_foreign_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / DB_NAME
    Catalog(path).close()
    import sqlite3

    db = sqlite3.connect(path)
    db.execute("PRAGMA user_version = 99")
    db.close()
    with pytest.raises(CatalogError, match="newer talkdown"):
        Catalog(path)
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not a database at all" * 100)
    with pytest.raises(CatalogError, match="not a talkdown catalogue"):
        Catalog(junk)
    with pytest.raises(CatalogError, match="No archive catalogue"):
        Catalog(tmp_path / "missing.db", readonly=True)


def test_record_done_and_read_back(tmp_path: Path, catalog: Catalog) -> None:
    transcript = make_transcript(["Hello there.", "General Kenobi."])
    archive(tmp_path, catalog, transcript)
    assert catalog.has("youtube:abc123") and catalog.status("youtube:abc123") == "done"
    assert not catalog.has("youtube:other") and catalog.status("youtube:other") is None
    video = catalog.get("youtube:abc123")
    assert video is not None
    assert video.md_path == "Chan/2024-05-01 A talk [abc123].md"
    assert video.json_path == "Chan/.json/youtube abc123.json"
    assert video.model == "faster-whisper 1.2.0 tiny.en (int8)" and video.language == "en"
    assert catalog.channels() == [("Chan", 1)]
    assert [v.id for v in catalog.videos("Chan")] == ["youtube:abc123"]
    assert catalog.videos("Nope") == []


def test_rerecording_replaces_lines(catalog: Catalog) -> None:
    first = make_transcript(["alpha line", "beta line"])
    catalog.record_done(first, "a.md", "a.json")
    catalog.record_done(first, "a.md", "a.json")
    assert catalog.db.execute("SELECT count(*) FROM lines").fetchone()[0] == 2
    second = make_transcript(["gamma line"])
    catalog.record_done(second, "b.md", "b.json")
    assert catalog.db.execute("SELECT count(*) FROM lines").fetchone()[0] == 1
    assert search(catalog, "alpha") == []
    assert [h.text for h in search(catalog, "line")] == ["gamma line"]
    assert catalog.get("youtube:abc123").md_path == "b.md"  # type: ignore[union-attr]


def test_record_failure_then_success(catalog: Catalog) -> None:
    catalog.record_failure("youtube:abc123", "Video is private", title="A talk", url="https://x")
    catalog.record_failure("youtube:abc123", "Video is still private")
    video = catalog.get("youtube:abc123")
    assert video is not None and video.status == "failed" and video.attempts == 2
    assert video.error == "Video is still private" and video.title == "A talk"
    assert catalog.failed_ids() == ["youtube:abc123"] and not catalog.has("youtube:abc123")
    catalog.record_done(make_transcript(["now it works"]), "a.md", "a.json")
    video = catalog.get("youtube:abc123")
    assert video is not None and video.status == "done" and video.error is None
    assert catalog.failed_ids() == []
    catalog.record_failure("youtube:abc123", "late failure")  # never downgrades a done item
    assert catalog.has("youtube:abc123")


def test_failed_line_write_rolls_back_the_row(catalog: Catalog) -> None:
    bad = make_transcript(["fine"])
    broken = Transcript(media=bad.media, sections=(Section(None, 0, (Line(0, 1, None),)),), model=MODEL)  # type: ignore[arg-type]
    with pytest.raises(Exception):
        catalog.record_done(broken, "a.md", "a.json")
    assert catalog.status("youtube:abc123") is None
    assert catalog.db.execute("SELECT count(*) FROM lines").fetchone()[0] == 0


def test_runs(catalog: Catalog) -> None:
    run = catalog.start_run()
    catalog.end_run(run, archived=3, skipped=2, failed=1)
    row = catalog.db.execute("SELECT * FROM runs WHERE id = ?", (run,)).fetchone()
    assert (row["archived"], row["skipped"], row["failed"]) == (3, 2, 1) and row["ended_at"]


def _hold_lock(root: str, ready: Event, done: Event) -> None:
    with lock(Path(root)):
        ready.set()
        done.wait(30)


def test_lock_refuses_a_second_process(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("spawn")
    ready, done = ctx.Event(), ctx.Event()
    holder = ctx.Process(target=_hold_lock, args=(str(tmp_path), ready, done))
    holder.start()
    try:
        assert ready.wait(30)
        with pytest.raises(CatalogError, match=rf"Another talkdown run is using .* \(pid {holder.pid}\); wait"):
            with lock(tmp_path):
                pass
    finally:
        done.set()
        holder.join(30)
    with lock(tmp_path):  # free again once the holder is gone
        pass


def test_lock_is_freed_when_the_holder_is_killed(tmp_path: Path) -> None:
    code = "import sys,time; from pathlib import Path; from talkdown.store.catalog import lock\n" \
           "with lock(Path(sys.argv[1])):\n    print('locked', flush=True); time.sleep(60)"
    proc = subprocess.Popen([sys.executable, "-c", code, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"
        with pytest.raises(CatalogError):
            with lock(tmp_path):
                pass
        proc.kill()
    finally:
        proc.wait()
    with lock(tmp_path):
        pass


def test_reconcile_drops_rows_without_files_and_restores_orphans(tmp_path: Path, catalog: Catalog) -> None:
    gone = make_transcript(["gone"], make_media("gone1"))
    kept = make_transcript(["kept"], make_media("kept1"))
    orphan = make_transcript(["orphan words"], make_media("orph1"))
    half = make_transcript(["half"], make_media("half1"))
    for t in (gone, kept):
        archive(tmp_path, catalog, t)
    archive_paths(tmp_path, gone.media).markdown.unlink()
    paths = archive_paths(tmp_path, orphan.media)  # crashed after both writes, before the row
    write_atomic(paths.json, to_json(orphan))
    write_atomic(paths.markdown, "# orphan")
    write_atomic(archive_paths(tmp_path, half.media).json, to_json(half))  # crashed before the Markdown
    (paths.folder / f"{TEMP_PREFIX}stale.part").write_text("half")
    (paths.folder / ".json" / "broken.json").write_text("{")

    result = catalog.reconcile(load_json)

    assert result.dropped == ("youtube:gone1",)
    assert result.restored == ("youtube:orph1",)
    assert [p.name for p in result.unrendered] == ["youtube gone1.json", "youtube half1.json"]  # JSON kept: re-render, no re-transcribe
    assert len(result.unreadable) == 1 and "broken.json" in result.unreadable[0]
    assert catalog.done_ids() == {"youtube:kept1", "youtube:orph1"}
    assert [h.video_id for h in search(catalog, "orphan")] == ["youtube:orph1"]
    assert search(catalog, "gone") == []
    assert not any(p.name.startswith(TEMP_PREFIX) for p in paths.folder.iterdir())
    assert catalog.reconcile(load_json).dropped == ()  # a second pass changes nothing


# -- search -----------------------------------------------------------------------------


@pytest.fixture
def indexed(catalog: Catalog) -> Catalog:
    catalog.record_done(make_transcript([
        "Welcome to the show.",
        "Today we talk about direct talks with Putin.",
        "The negotiations were long.",
        "Don't forget the U.S. position on the 30-day ceasefire, written in C++.",
        "Café culture in Paris.",
    ], make_media("v1", "Direct talks", "BBC", "2024-03-01")), "1.md", "1.json")
    catalog.record_done(make_transcript([
        "Neurons and brains.",
        "Talks about talks: talks everywhere.",
        "A computer computes.",
    ], make_media("v2", "Brains", "Brain Inspired", "2023-01-10")), "2.md", "2.json")
    return catalog


def test_phrase_found_with_line_start(indexed: Catalog) -> None:
    hits = search(indexed, '"direct talks with Putin"')
    assert len(hits) == 1
    hit = hits[0]
    assert (hit.video_id, hit.start, hit.title, hit.channel) == ("youtube:v1", 5.0, "Direct talks", "BBC")
    assert hit.url == "https://www.youtube.com/watch?v=v1" and hit.upload_date == "2024-03-01"
    assert hit.snippet == f"Today we talk about {MARK_START}direct talks with Putin{MARK_END}."
    assert search(indexed, "putin")[0].snippet.endswith(f"{MARK_START}Putin{MARK_END}.")
    assert hit.text == "Today we talk about direct talks with Putin."


def test_words_all_must_match_and_stemming(indexed: Catalog) -> None:
    assert [h.start for h in search(indexed, "talks Putin")] == [5.0]
    assert {h.video_id for h in search(indexed, "negotiation")} == {"youtube:v1"}  # porter stem
    assert [h.text for h in search(indexed, "cafe")] == ["Café culture in Paris."]  # diacritics folded
    assert [h.text for h in search(indexed, "comput*")] == ["A computer computes."]
    assert len(search(indexed, "neurons OR negotiations")) == 2
    assert len(search(indexed, "talks NOT Putin")) == 1
    assert len(search(indexed, "NEAR(direct Putin, 3)")) == 1


@pytest.mark.parametrize("query", ["don't", "U.S.", "30-day", "C++", "ceasefire!", "(U.S.)?"])
def test_punctuation_in_plain_words(indexed: Catalog, query: str) -> None:
    hits = search(indexed, query)
    assert [h.start for h in hits] == [15.0]


def test_filters(indexed: Catalog) -> None:
    assert {h.video_id for h in search(indexed, "talks")} == {"youtube:v1", "youtube:v2"}
    assert {h.video_id for h in search(indexed, "talks", channel="brain inspired")} == {"youtube:v2"}
    assert {h.video_id for h in search(indexed, "talks", since="2024-01-01")} == {"youtube:v1"}
    assert search(indexed, "talks", channel="BBC", since="2025") == []
    assert len(search(indexed, "the", limit=1)) == 1


def test_local_files_filter_finds_items_without_a_channel(catalog: Catalog, tmp_path: Path) -> None:
    """The web page lists items without a channel as "Local files" and searches that name."""
    archive(tmp_path, catalog, make_transcript(["A lecture on tides."], make_media(vid="f1", channel=None)))
    archive(tmp_path, catalog, make_transcript(["Tides at the coast."], make_media(vid="c1", channel="Coast")))
    assert {h.video_id for h in search(catalog, "tides", channel="Local files")} == {"youtube:f1"}
    assert {h.video_id for h in search(catalog, "tides", channel="coast")} == {"youtube:c1"}


def test_bm25_ranks_more_matches_first(indexed: Catalog) -> None:
    hits = search(indexed, "talks")
    assert hits[0].text == "Talks about talks: talks everywhere."
    assert hits == sorted(hits, key=lambda h: h.rank)


def test_search_by_path(tmp_path: Path, indexed: Catalog) -> None:
    assert len(search(tmp_path, "Putin")) == 1
    assert len(search(tmp_path / DB_NAME, "Putin", mark=("<mark>", "</mark>"))) == 1
    assert "<mark>Putin</mark>" in search(tmp_path, "Putin", mark=("<mark>", "</mark>"))[0].snippet
    with pytest.raises(CatalogError, match="No archive"):
        search(tmp_path / "nowhere", "x")


@pytest.mark.parametrize("query, message", [
    ("", "Nothing to search for: give one or more words"),
    ("   \t", "Nothing to search for"),
    ("- ...", "Nothing to search for"),
    ('"" "!!"', "Nothing to search for"),
    ('"unclosed', "A quote is not closed"),
    ("AND", "Nothing to search for"),
    ("foo(", "Cannot understand the search"),
    ("talks OR", "Cannot understand the search"),
    ("NEAR(a b", "Cannot understand the search"),
])
def test_bad_queries_say_so(indexed: Catalog, query: str, message: str) -> None:
    with pytest.raises(QueryError, match=message.replace("(", r"\(")):
        search(indexed, query)


def test_bad_filters_say_so(indexed: Catalog) -> None:
    with pytest.raises(QueryError, match="--since wants a date"):
        search(indexed, "talks", since="last week")
    with pytest.raises(QueryError, match="--limit"):
        search(indexed, "talks", limit=0)


def test_fts_query_translation() -> None:
    assert fts_query("don't stop") == '"don\'t" "stop"'
    assert fts_query('"a b" c*') == '"a b" "c"*'
    assert fts_query("a OR b") == '"a" OR "b"'
    assert fts_query("or and") == '"or" "and"'
    assert fts_query("apples, oranges") == '"apples" "oranges"'
    assert fts_query("NEAR(a b, 10)") == 'NEAR ( "a" "b" , 10 )'


_VOCAB = ("alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november oscar papa "
          "quebec romeo sierra tango uniform victor whiskey xray yankee zulu the and of to in is it that was "
          "for on are with as they be at one have this from by hot word but what some we can out other were "
          "all there when up use your how said an each she which do their time if will way about many then").split()


def test_search_is_fast_over_2000_transcripts(catalog: Catalog) -> None:
    import random

    rng = random.Random(7)
    items = []
    for n in range(2000):
        texts = [" ".join(rng.choice(_VOCAB) for _ in range(12)) for _ in range(40)]
        if n % 50 == 0:
            texts[7] += " serendipity"
        items.append((make_transcript(texts, make_media(f"v{n}", f"Talk {n}", f"Chan {n % 7}")), f"{n}.md", f"{n}.json"))
    catalog.record_done_many(items)
    catalog.optimize()
    search(catalog, "serendipity")  # warm the page cache
    timings = []
    for query in ("serendipity", "zulu", "quebec", "serendipity"):
        began = time.perf_counter()
        hits = search(catalog, query)
        timings.append(time.perf_counter() - began)
        assert len(hits) == 20
    assert search(catalog, "serendipity", limit=100)[0].start == 35.0
    assert min(timings[0], timings[-1]) < 0.05, timings


def test_reconcile_reads_only_json_files_no_row_names(tmp_path: Path) -> None:
    """After a clean run, reconcile opens no transcript: big archives start at once."""
    root = tmp_path
    with Catalog(root / DB_NAME) as catalog:
        for i in range(3):
            t = make_transcript(["Hello there."], make_media(vid=f"v{i}", title=f"T{i}"))
            paths = archive_paths(root, t.media)
            write_atomic(paths.json, to_json(t))
            write_atomic(paths.markdown, "# T\n")
            catalog.record_done(t, paths.markdown, paths.json)
        reads: list[str] = []

        def loader(text: str):  # type: ignore[no-untyped-def]
            reads.append(text)
            return load_json(text)

        assert catalog.reconcile(loader).restored == ()
        assert reads == []
