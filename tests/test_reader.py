"""The reader's page data (issue 18), without a browser: word steps, quote links, grouped search, unsure lines."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytest.importorskip("starlette", reason="the web extra (starlette) is not installed")

from factories import line, media, section, transcript
from starlette.testclient import TestClient
from test_serve import add, three_hours

from talkdown.render.timecode import deep_link
from talkdown.serve import create_app, pages
from talkdown.store import DB_NAME, Catalog
from talkdown.store.search import Hit
from talkdown.types import Line, Media, Word


def steps_to_times(start: float, steps: str) -> list[float]:
    t, out = round(start * 100), []
    for s in steps.split():
        t += int(s)
        out.append(t / 100)
    return out


def test_word_steps_give_back_each_words_start() -> None:
    said = line("So the committee agreed.", 12.34, step=0.37)
    steps = pages.word_steps(said.text, said.start, tuple((w.start, w.text) for w in said.words))
    assert steps is not None
    assert steps_to_times(12.34, steps) == pytest.approx([w.start for w in said.words], abs=0.006)


def test_word_steps_follow_the_text_when_the_engine_split_it_otherwise() -> None:
    words = ((1.0, " U."), (1.2, "S."), (1.5, " talks"))  # two engine words for the text's one
    assert steps_to_times(1.0, pages.word_steps("U.S. talks", 1.0, words) or "") == [1.0, 1.5]
    assert pages.word_steps("Different words entirely", 1.0, words) is None
    assert pages.word_steps("No words", 1.0, ()) is None


def test_quote_links_are_the_markdowns_deep_links() -> None:
    for url in ("https://www.youtube.com/watch?v=MGgDHevAc8A", "https://youtu.be/MGgDHevAc8A",
                "https://example.com/ep1.mp3"):
        template = pages.quote_link(Media(id="x", title="t", url=url))
        assert template is not None and template.replace("{s}", "123") == deep_link(url, 123.9)
    assert pages.quote_link(Media(id="file:abc", title="t")) is None
    assert pages.quote_link(Media(id="x", title="t", url="javascript:alert(1)")) is None


def hit(video: str, start: float, rank: float, date: str) -> Hit:
    return Hit(video, f"Title {video}", "C", date, None, start, "text", "text", rank)


def test_search_hits_group_by_item_and_order_by_time() -> None:
    hits = [hit("a", 50, -3, "2020-01-01"), hit("b", 10, -2, "2024-01-01"), hit("a", 5, -1, "2020-01-01")]
    ranked = pages.group_hits(hits)
    assert [g.video_id for g in ranked] == ["a", "b"] and [h.start for h in ranked[0].hits] == [50, 5]
    by_time = pages.group_hits(hits, "time")
    assert [g.video_id for g in by_time] == ["b", "a"] and [h.start for h in by_time[1].hits] == [5, 50]


def test_unsure_lines_and_speaker_colours_on_the_page(tmp_path: Path) -> None:
    root = tmp_path / "archive"
    said = [Line(0.0, 2.0, "We agreed.", (Word(0.0, 1.0, " We"), Word(1.0, 2.0, " agreed.")), "Anna", 0.9),
            Line(2.0, 4.0, "Maybe not.", (Word(2.0, 3.0, " Maybe"), Word(3.0, 4.0, " not.")), "Boris", 0.31)]
    with Catalog(root / DB_NAME) as catalog:
        add(root, catalog, transcript(section(None, *said), media=media(), speakers=("Anna", "Boris")))
    html = TestClient(create_app(root)).get("/v/youtube:abc123XYZ_-").text
    assert re.search(r'class="line unsure" id="t-2" data-start="2.0" data-w="0 100" title="Unsure \(confidence 0.31\)', html)
    assert 'class="line" id="t-0" data-start="0.0" data-w="0 100"' in html
    assert '<p class="speaker voice-0">Anna</p>' in html and '<p class="speaker voice-1">Boris</p>' in html
    assert 'data-link="https://www.youtube.com/watch?v=abc123XYZ_-&amp;t={s}s"' in html


def test_a_three_hour_page_with_its_words_stays_under_a_megabyte(tmp_path: Path) -> None:
    root = tmp_path / "archive"
    with Catalog(root / DB_NAME) as catalog:
        add(root, catalog, three_hours())
    page = TestClient(create_app(root)).get("/v/youtube:threehours1")
    assert page.status_code == 200
    assert page.text.count(" data-w=") == 2500  # every line carries its words
    assert len(page.content) < 1_000_000
