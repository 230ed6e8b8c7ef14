"""Reading Markdown transcripts back: the whisper-era files users have, and ours."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest

from factories import line, media, section, transcript
from talkdown.errors import ParseError
from talkdown.parse import parse_markdown
from talkdown.render import render_markdown
from talkdown.types import Media

SHARED = Path(__file__).resolve().parents[2] / "shared"
FIXTURE = SHARED / "fixtures" / "bbc-putin-direct-talks.md"
WATCH = "https://www.youtube.com/watch?v=MGgDHevAc8A"


def test_the_real_fixture_reads_back_with_every_line_and_time() -> None:
    text = FIXTURE.read_text(encoding="utf-8")
    t = parse_markdown(text)
    lines = list(t.lines())
    bullets = [row for row in text.splitlines() if row.startswith("*  ")]
    assert len(lines) == len(bullets) > 100
    assert [x.text for x in lines] == [re.sub(r" \[\[\d\d:\d\d:\d\d\]\(.*\)\]$", "", b[3:]) for b in bullets]
    assert lines[0].text.startswith("The Russian President Vladimir Putin has offered direct talks")
    assert (lines[0].start, lines[1].start, lines[2].start) == (0.0, 7.44, 16.240000000000002)
    assert lines[0].end == 7.44
    assert lines[-1].text == "Europe do and East Asia do as well. Professor Fish, that."
    assert (lines[-1].start, lines[-1].end) == (754.8, 759.0)
    assert all(a.start < b.start for a, b in zip(lines, lines[1:]))  # type: ignore[operator]
    m = t.media
    assert m.title == (
        "Putin calls for 'direct talks' with Ukraine as European leaders demand ceasefire | BBC News"
    )
    assert (m.id, m.url, m.channel, m.upload_date) == (
        "youtube:MGgDHevAc8A", WATCH, "BBC - World News", "2025-05-11"
    )
    assert (m.duration, m.view_count, m.average_rating) == (759.0, 341902, None)
    assert m.tags[:2] == ("bbc", "bbc news") and len(m.tags) == 11
    assert m.description.startswith('Russian President Vladimir Putin has invited Ukraine to take part in "direct talks"')
    assert "\nSubscribe here: http://bit.ly/1rbfUog\n" in m.description
    assert m.description.endswith("#Russia #Ukraine #BBCNews")
    assert str(t.model) == "whisper medium 20231117"
    assert t.generated == "2025-06-02"


def test_the_fixture_rerenders_as_valid_talkdown_markdown_and_reads_back_the_same() -> None:
    t = parse_markdown(FIXTURE.read_text(encoding="utf-8"))
    again = parse_markdown(render_markdown(t))
    assert [x.text for x in again.lines()] == [x.text for x in t.lines()]
    assert [x.start for x in again.lines()] == [math.floor(x.start) for x in t.lines()]  # type: ignore[arg-type]
    assert again.media == t.media


HOSTILE_TEXT = [
    "# hash first",
    "- dash first",
    "1. numbered",
    "> quote",
    "*stars* _under_ `tick` [a](b) <i>x</i>",
    "back\\slash \\* already escaped",
    "&amp; entity and a & b",
    "ends with [[00:00:01](http://x)]",
    "**Not a speaker:** text",
    "colon: and --- dashes",
    "unicode — 日本語 🎙️",
    "trailing hash #",
]


def test_our_markdown_reads_back_to_the_same_transcript_for_hostile_text() -> None:
    title = "# [x](javascript:alert(1)) *bold* #"
    m = media(
        title=title,
        channel="Chan: *nel* [1]",
        description="Line: one\n---\n# two\n  three",
        tags=("a: b", "it's", "#tag"),
        average_rating=4.5,
    )
    rows = [line(text, 3.0 * i + 0.7) for i, text in enumerate(HOSTILE_TEXT)]
    t = transcript(
        section(None, *rows[:4]),
        section("Chapter: *one* #", *[
            line(r.text, r.start, speaker="Speaker 1" if i < 3 else "Dr. [X]")  # type: ignore[arg-type]
            for i, r in enumerate(rows[4:])
        ]),
        media=m,
        speakers=("Speaker 1", "Dr. [X]"),
    )
    back = parse_markdown(render_markdown(t))
    assert [x.text for x in back.lines()] == HOSTILE_TEXT
    assert [x.start for x in back.lines()] == [math.floor(x.start) for x in t.lines()]  # type: ignore[arg-type]
    assert [x.speaker for x in back.lines()] == [x.speaker for x in t.lines()]
    assert [s.title for s in back.sections] == [None, "Chapter: *one* #"]
    assert [len(s.lines) for s in back.sections] == [4, len(HOSTILE_TEXT) - 4]
    for field in ("id", "title", "url", "channel", "upload_date", "duration", "description",
                  "tags", "view_count", "average_rating", "language"):  # fmt: skip
        assert getattr(back.media, field) == getattr(t.media, field), field
    assert back.speakers == t.speakers
    assert back.language == "en"
    assert back.generated == t.generated


def test_local_file_transcripts_read_back_with_plain_times_and_untimed_lines() -> None:
    m = Media(id="file:0123456789ab", title="Talk", path="/tmp/talk.mp4", duration=30.0)
    t = transcript(line("Hi.", 7.2), line("No time.", None), line("Bye.", 20.0), media=m)
    back = parse_markdown(render_markdown(t))
    assert back.media.id == "file:0123456789ab"
    assert back.media.url is None and back.media.channel is None
    assert [(x.start, x.end, x.text) for x in back.lines()] == [
        (7.0, 20.0, "Hi."), (None, None, "No time."), (20.0, 30.0, "Bye.")
    ]


def test_old_files_without_description_or_front_matter_still_read() -> None:
    text = (
        "# Just a title\n"
        "**My Channel:** [January 05, 2024](https://youtu.be/XYZ987)\n"
        "*  bare line without a time\n"
        "*  plain time [00:01:02]\n"
        "*  float link [[00:01:05](https://youtu.be/XYZ987?t=65.52000000000001s)]\n"
        "\n## A chapter\n\n"
        "*  **Speaker 2:** said this [00:02:00]\n"
        "*  and this [00:02:10]\n"
    )
    t = parse_markdown(text)
    assert (t.media.id, t.media.title, t.media.channel) == ("youtube:XYZ987", "Just a title", "My Channel")
    assert (t.media.upload_date, t.media.url) == ("2024-01-05", "https://youtu.be/XYZ987")
    lines = list(t.lines())
    assert [(x.text, x.start) for x in lines] == [
        ("bare line without a time", None),
        ("plain time", 62.0),
        ("float link", 65.52000000000001),
        ("said this", 120.0),
        ("and this", 130.0),
    ]
    assert [x.speaker for x in lines] == [None, None, None, "Speaker 2", "Speaker 2"]
    assert [s.title for s in t.sections] == [None, "A chapter"]
    assert t.sections[1].start == 120.0
    assert lines[1].end == 65.52000000000001 and lines[-1].end is None


def test_old_header_with_odd_yaml_is_read_by_the_tolerant_parser() -> None:
    text = (
        "---\n"
        "Date Generated: March 01, 2024\n"
        "Transcription Model: whisper small\n"
        "Extra Key: {unbalanced\n"
        "Video Keywords: ['it''s', 'a: b']\n"
        "Video Description: First: line\n"
        "---\n"
        "Video Views: not a key here\n"
        "#hashtag\n"
        "---\n"
        "\n# Title\n"
        "*  one [[00:00:01](https://www.youtube.com/watch?v=AAA&t=1.5s)]\n"
    )
    t = parse_markdown(text)
    assert t.media.description == "First: line\n---\nVideo Views: not a key here\n#hashtag"
    assert t.media.tags == ("it's", "a: b")
    assert t.media.view_count is None
    assert t.generated == "2024-03-01"
    assert t.model.name == "whisper small"
    assert t.media.id == "youtube:AAA" and t.media.url == "https://www.youtube.com/watch?v=AAA"
    assert [x.start for x in t.lines()] == [1.5]


def test_video_id_key_or_a_content_hash_names_media_without_a_youtube_url() -> None:
    with_key = parse_markdown("---\nVideo ID: clip\nVideo URL: https://example.com/c.mp4\n---\n# T\n*  x\n")
    assert with_key.media.id == "generic:clip"
    text = "# T\n*  x [00:00:01]\n"
    assert parse_markdown(text).media.id.startswith("file:")
    assert parse_markdown(text).media.id == parse_markdown(text).media.id
    assert parse_markdown(text).media.id != parse_markdown(text + "*  y\n").media.id


@pytest.mark.parametrize("text", ["", "just some notes\nno bullets\n", "---\nkey: v\n---\n"])
def test_files_that_are_not_transcripts_are_refused_plainly(text: str) -> None:
    with pytest.raises(ParseError, match="not a talkdown/whisper Markdown transcript"):
        parse_markdown(text)


# -- properties: whatever a user's old files hold, the parser answers or says why not ---------

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from talkdown.types import Transcript  # noqa: E402

_PIECES = st.sampled_from([
    "---\n", "# Title\n", "**BBC:** [May 11, 2025](https://www.youtube.com/watch?v=MGgDHevAc8A)\n",
    "*  text [[00:00:07](https://www.youtube.com/watch?v=MGgDHevAc8A&t=7.44s)]\n", "*  plain [00:01:02]\n",
    "## Chapter\n", "Upload Date: 2025-13-45\n", "Length: 759s\n", "Video Keywords: ['a', 'b'\n",
    "Video ID: x:y\n", "Speakers: [A, B]\n", "Video Views: -3\n", "Video Rating: nan\n", "Date Generated: 0\n",
    "Video Description: |\n  x\n", ": : :\n", "\t- [\n", "*  **Speaker 1:** hi [[00:00:00](u&t=1e309s)]\n",
])


def _parsed_or_refused(text: str) -> None:
    try:
        assert isinstance(parse_markdown(text), Transcript)
    except ParseError as e:
        assert str(e)  # talkdown's own sentence; anything else raised fails the test


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.text(), st.lists(st.one_of(_PIECES, st.text(max_size=12))).map("".join)))
def test_any_text_is_a_transcript_or_a_parse_error(text: str) -> None:
    _parsed_or_refused(text)


_SEED = FIXTURE.read_text(encoding="utf-8")


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.integers(0, len(_SEED)), st.integers(0, 40), st.one_of(_PIECES, st.text(max_size=8))),
                min_size=1, max_size=4))
def test_the_seed_file_damaged_anywhere_is_a_transcript_or_a_parse_error(edits: list[tuple[int, int, str]]) -> None:
    text = _SEED
    for at, cut, insert in edits:  # cut a few characters somewhere and put something else there
        text = text[:at] + insert + text[at + cut:]
    _parsed_or_refused(text)


_LINE_TEXT = st.text(st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), min_size=1, max_size=40).map(
    str.strip).filter(bool)


@settings(max_examples=150, deadline=None)
@given(st.lists(_LINE_TEXT, min_size=1, max_size=6), _LINE_TEXT)
def test_any_line_text_and_title_survive_our_markdown(texts: list[str], title: str) -> None:
    t = transcript(*[line(text, 2.0 * i) for i, text in enumerate(texts)], media=media(title=title))
    back = parse_markdown(render_markdown(t))
    assert [x.text for x in back.lines()] == [" ".join(x.split()) for x in texts]
    assert [x.start for x in back.lines()] == [2.0 * i for i in range(len(texts))]
    assert back.media.title == " ".join(title.split())
