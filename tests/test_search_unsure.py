"""search --unsure: each line's confidence in the catalogue, and an archive of schema 1 upgraded."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner

from factories import media, transcript
from talkdown.cli import cli
from talkdown.errors import QueryError
from talkdown.store import DB_NAME, Catalog, search
from talkdown.store.schema import MIGRATIONS
from talkdown.types import UNSURE_BELOW, Line

LOW, HIGH = UNSURE_BELOW / 2, (1 + UNSURE_BELOW) / 2


def _item(media_id: str, date: str | None, lines: list[tuple[str, float | None]], channel: str = "News"):
    t = transcript(*(Line(float(i), i + 0.9, text, confidence=c) for i, (text, c) in enumerate(lines)),
                   media=media(id=media_id, title=f"Item {media_id}", channel=channel, upload_date=date,
                               url=f"https://www.youtube.com/watch?v={media_id}"))
    return t, f"{media_id}.md", f"{media_id}.json"


@pytest.fixture
def archive(tmp_path: Path) -> Path:
    with Catalog(tmp_path / DB_NAME) as cat:
        cat.record_done_many([
            _item("old", "2023-05-01", [("the ceasefire talks began", HIGH), ("a ceasefire mumbled", LOW),
                                        ("unclear words here", LOW)]),
            _item("new", "2025-01-02", [("ceasefire agreed in talks", LOW), ("all clear now", HIGH)]),
            _item("caps", "2024-06-01", [("ceasefire from captions", None)], channel="Captions"),
        ])
    return tmp_path


def test_confidence_is_stored_and_unsure_keeps_only_unsure_lines(archive: Path) -> None:
    everything = search(archive, "ceasefire")
    assert {h.text: h.confidence for h in everything} == {
        "the ceasefire talks began": HIGH, "a ceasefire mumbled": LOW,
        "ceasefire agreed in talks": LOW, "ceasefire from captions": None}
    assert [h.unsure for h in everything if h.confidence is None] == [False]  # captions: nothing said
    unsure = search(archive, "ceasefire", unsure=True)
    assert sorted(h.text for h in unsure) == ["a ceasefire mumbled", "ceasefire agreed in talks"]
    assert all(h.unsure and "\x02ceasefire\x03" in h.snippet for h in unsure)
    assert [h.text for h in search(archive, "ceasefire talks", unsure=True)] == ["ceasefire agreed in talks"]
    assert search(archive, "ceasefire", unsure=True, channel="Captions") == []


def test_unsure_is_the_same_test_in_the_catalogue_as_in_the_transcript(tmp_path: Path) -> None:
    edge = [UNSURE_BELOW - 1e-3, UNSURE_BELOW, UNSURE_BELOW + 1e-3, 0.0, 1.0]
    t, md, js = _item("edge", "2025-01-01", [(f"edge line {i}", c) for i, c in enumerate(edge)])
    with Catalog(tmp_path / DB_NAME) as cat:
        cat.record_done(t, md, js)
        hits = search(cat, "edge", limit=10)
        assert {h.text: h.unsure for h in hits} == {line.text: line.unsure for line in t.lines()}
        assert {h.text: h.confidence for h in hits}["edge line 0"] == pytest.approx(UNSURE_BELOW - 1e-2)
        assert [h.text for h in search(cat, "", unsure=True)] == ["edge line 0", "edge line 3"]


def test_unsure_without_words_lists_newest_items_first_in_line_order(archive: Path) -> None:
    hits = search(archive, "", unsure=True)
    assert [(h.video_id, h.text) for h in hits] == [
        ("new", "ceasefire agreed in talks"), ("old", "a ceasefire mumbled"), ("old", "unclear words here")]
    assert [h.start for h in hits] == [0.0, 1.0, 2.0]
    assert len(search(archive, "", unsure=True, limit=2)) == 2
    assert [h.video_id for h in search(archive, "", unsure=True, since="2024")] == ["new"]
    with pytest.raises(QueryError, match="Nothing to search for"):
        search(archive, "")  # words are still wanted without --unsure
    with Catalog(archive / DB_NAME) as cat:
        cat.record_done(*_item("undated", None, [("when was this", LOW)]))
    assert [h.video_id for h in search(archive, "", unsure=True)] == ["new", "old", "old", "undated"]


def test_cli_search_unsure_text_and_json(archive: Path) -> None:
    runner = CliRunner()
    text = runner.invoke(cli, ["search", "ceasefire", "-o", str(archive)])
    assert text.exit_code == 0, text.output
    assert f"a ceasefire mumbled (?) {LOW:.2f}" in text.output
    assert "talks began (?)" not in text.output and "captions (?)" not in text.output
    listed = runner.invoke(cli, ["search", "--unsure", "--json", "-o", str(archive)])
    assert listed.exit_code == 0, listed.output
    rows = [json.loads(line) for line in listed.output.splitlines()]
    assert [(r["id"], r["text"], r["unsure"]) for r in rows] == [
        ("new", "ceasefire agreed in talks", True), ("old", "a ceasefire mumbled", True),
        ("old", "unclear words here", True)]
    assert rows[1]["confidence"] == LOW and rows[1]["link"].endswith("t=1s")
    missing = runner.invoke(cli, ["search", "-o", str(archive)])
    assert missing.exit_code == 1 and "Nothing to search for" in missing.output


def _version_1(path: Path) -> None:
    """A catalogue as talkdown wrote it before confidences: schema 1 and its lines."""
    db = sqlite3.connect(path, isolation_level=None)
    MIGRATIONS[0](db)
    db.execute("PRAGMA user_version = 1")
    db.execute("INSERT INTO videos (id, title, channel, upload_date, url, md_path, json_path, status, updated_at) "
               "VALUES ('v1', 'Old talk', 'News', '2022-02-02', 'https://example.org/v1', 'a.md', 'a.json', "
               "'done', '2022-02-02T00:00:00+00:00')")
    db.executemany("INSERT INTO lines (video_id, idx, start, text) VALUES ('v1', ?, ?, ?)",
                   [(0, 0.0, "Negotiations in Istanbul resumed."), (1, 4.0, "The president spoke of peace.")])
    db.close()


def test_version_1_archive_is_searched_then_upgraded_and_still_finds_its_lines(tmp_path: Path) -> None:
    path = tmp_path / DB_NAME
    _version_1(path)
    # read-only (search, serve) never migrates: the old archive is searched as it stands
    assert [h.start for h in search(tmp_path, "istanbul")] == [0.0]
    assert search(tmp_path, "", unsure=True) == []  # no line is known to be unsure
    with Catalog(path) as cat:  # the next archive run upgrades it
        assert cat.db.execute("PRAGMA user_version").fetchone()[0] == 2
        cols = [r[1] for r in cat.db.execute("PRAGMA table_info(lines)")]
        assert "confidence_pct" in cols
        options = cat.db.execute("SELECT sql FROM sqlite_schema WHERE name = 'lines_fts'").fetchone()[0]
        assert "prefix = '3 6'" in options
        assert cat.db.execute("SELECT count(*) FROM lines_fts WHERE lines_fts MATCH 'pre*'").fetchone()[0] == 1
        t, md, js = _item("v2", "2025-01-01", [("Peace talks in Istanbul again.", LOW)])
        cat.record_done(replace(t), md, js)
    hits = search(tmp_path, "istanbul")
    assert {(h.video_id, h.confidence) for h in hits} == {("v1", None), ("v2", LOW)}
    assert [h.text for h in search(tmp_path, "negot*")] == ["Negotiations in Istanbul resumed."]
    assert [h.text for h in search(tmp_path, "pres*")] == ["The president spoke of peace."]
    assert [h.video_id for h in search(tmp_path, "istanbul", unsure=True)] == ["v2"]
    with Catalog(path) as cat:  # the lines' triggers still keep the rebuilt index in step
        cat.forget("v1")
    assert [h.video_id for h in search(tmp_path, "istanbul")] == ["v2"]
