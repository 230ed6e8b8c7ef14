"""What users read in each output format: the Markdown layout they already have,
valid front matter for any metadata, literal text, and subtitles players accept."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from factories import line, media, section, transcript, words
from talkdown.errors import Error, ParseError
from talkdown.render import EXTENSIONS, FORMATS, read_json, render, render_markdown
from talkdown.render.subtitles import render_srt, render_vtt
from talkdown.render.text import render_text
from talkdown.render.timecode import clock, deep_link, subtitle_time
from talkdown.types import Chapter, Line, Media, ModelInfo, SpeakerTurn, Word

SHARED = Path(__file__).resolve().parents[2] / "shared"
FIXTURE = SHARED / "fixtures" / "bbc-putin-direct-talks.md"
WATCH = "https://www.youtube.com/watch?v=MGgDHevAc8A"
BULLET = re.compile(r"^\*  (.*) \[\[(\d\d:\d\d:\d\d)\]\((.*)&t=([\d.]+)s\)\]$")

HOSTILE = [
    "key: value",
    "---",
    "# not a comment",
    "'single' and \"double\" quotes",
    "* leading star",
    "| pipe",
    "> folded",
    "line one\nline two: with colon\n---\n# hash",
    "  leading spaces\nand more",
    "trailing newline\n",
    "tab\there",
    "unicode — Ünïcödé 日本語 and emoji 🎙️",
    "&anchor *alias !tag %directive @at `tick",
    "null",
    "123",
    "yes",
    "[flow, list]",
    "{a: b}",
    "",
    "ends with colon:",
    "\u2028 line separator and \x85 next line",
]


def front(markdown: str) -> dict:
    assert markdown.startswith("---\n")
    return yaml.safe_load(markdown.split("\n---\n", 1)[0].removeprefix("---\n"))


def html(markdown: str) -> str:
    return MarkdownIt("commonmark").render(markdown)


# -- timecode ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [(0, "00:00:00"), (7.99, "00:00:07"), (63.76, "00:01:03"), (3600 * 27 + 61, "27:01:01")],
)
def test_clock_floors_to_whole_seconds(seconds: float, expected: str) -> None:
    assert clock(seconds) == expected


def test_subtitle_time_has_milliseconds_and_either_decimal_mark() -> None:
    assert subtitle_time(3723.4567) == "01:02:03,457"
    assert subtitle_time(16.240000000000002, ".") == "00:00:16.240"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (WATCH, WATCH + "&t=16s"),
        (WATCH + "&t=99s", WATCH + "&t=16s"),
        ("https://www.youtube.com/watch?t=3&v=X&list=L", "https://www.youtube.com/watch?v=X&list=L&t=16s"),
        ("https://youtu.be/MGgDHevAc8A", "https://youtu.be/MGgDHevAc8A?t=16s"),
        ("https://youtu.be/MGgDHevAc8A?si=abc", "https://youtu.be/MGgDHevAc8A?si=abc&t=16s"),
        ("https://example.com/ep1.mp3", "https://example.com/ep1.mp3#t=16"),
        ("https://example.com/ep1.mp3#t=5", "https://example.com/ep1.mp3#t=16"),
        ("https://vimeo.com/123?x=1", "https://vimeo.com/123?x=1#t=16"),
        (None, None),
        ("/home/me/talk.mp4", None),
    ],
)
def test_deep_link_uses_whole_seconds_and_the_urls_own_time_parameter(
    url: str | None, expected: str | None
) -> None:
    assert deep_link(url, 16.240000000000002) == expected


# -- markdown: the fixture's layout ---------------------------------------------------


def _fixture_description(lines: list[str]) -> str:
    start = next(i for i, row in enumerate(lines) if row.startswith("Video Description: "))
    end = lines.index("---", 1)
    rows = [lines[start].removeprefix("Video Description: "), *lines[start + 1 : end]]
    return "\n".join(rows)


def _fixture_transcript():
    rows = FIXTURE.read_text(encoding="utf-8").splitlines()
    bullets = [m for row in rows if (m := BULLET.match(row))]
    starts = [float(m.group(4)) for m in bullets]
    lines = [
        Line(start, end, m.group(1))
        for m, start, end in zip(bullets, starts, [*starts[1:], 759.0])
    ]
    fixture_media = Media(
        id="youtube:MGgDHevAc8A",
        title="Putin calls for 'direct talks' with Ukraine as European leaders demand ceasefire | BBC News",
        url=WATCH,
        channel="BBC - World News",
        upload_date="2025-05-11",
        duration=759.0,
        description=_fixture_description(rows),
        tags=("bbc", "bbc news", "news", "world news", "breaking news", "us news", "world",
              "america", "usa", "usa news", "india news"),  # fmt: skip
        view_count=341902,
    )
    t = transcript(
        *lines,
        media=fixture_media,
        model=ModelInfo("whisper medium 20231117"),
        language="en",
        generated="2025-06-02",
    )
    return rows, t


def test_markdown_matches_the_fixture_line_for_line_except_the_design_fixes() -> None:
    rows, t = _fixture_transcript()
    out = render_markdown(t).splitlines()
    # The old keys, same order, same text, up to the description.
    assert out[:7] == rows[:7]
    # The description is now a YAML literal block holding exactly the old text.
    assert out[7] == "Video Description: |-"
    meta = front(render_markdown(t))
    assert meta["Video Description"] == _fixture_description(rows)
    assert list(meta) == [
        "Date Generated", "Transcription Model", "Length", "Video Keywords", "Video Views",
        "Video Rating", "Video Description", "Video URL", "Video ID", "Channel",
        "Upload Date", "Language",
    ]  # fmt: skip
    assert meta["Video URL"] == WATCH
    assert meta["Video ID"] == "MGgDHevAc8A"
    assert meta["Channel"] == "BBC - World News"
    assert meta["Upload Date"] == "2025-05-11"
    assert meta["Language"] == "en"
    # Everything after the front matter is the fixture's, with whole-second links.
    body_old = rows[rows.index("---", 1) + 1 :]
    body_new = out[out.index("---", 1) + 1 :]
    fixed = [re.sub(r"&t=(\d+)(?:\.\d+)?s\)", r"&t=\1s)", row) for row in body_old]
    assert body_new == fixed
    assert len(body_new) > 100
    assert "*  Let's hear from more of what Mr Putin had to say. " in body_new[6]
    assert body_new[5].endswith(f"[[00:00:16]({WATCH}&t=16s)]")


def test_markdown_ends_with_one_newline() -> None:
    out = render_markdown(transcript(line("Hello there.")))
    assert out.endswith("]\n") and not out.endswith("\n\n")


@pytest.mark.parametrize("value", HOSTILE)
def test_front_matter_is_valid_yaml_for_any_metadata(value: str) -> None:
    m = media(
        title=value or "t",
        description=value,
        channel=value or None,
        tags=(value, "it's", 'say "hi"', "a, b", "]"),
        url="https://example.com/a?b=c#d",
    )
    meta = front(render_markdown(transcript(line("x"), media=m, speakers=(value or "s", "B"))))
    assert meta["Video Description"] == (value or "")
    assert meta["Video Keywords"] == [value, "it's", 'say "hi"', "a, b", "]"]
    assert meta["Channel"] == (value or None)
    assert meta["Video URL"] == "https://example.com/a?b=c#d"
    assert meta["Speakers"] == [value or "s", "B"]


def test_front_matter_writes_none_and_numbers_as_the_old_files_did() -> None:
    m = media(view_count=None, average_rating=None, duration=None, description="")
    out = render_markdown(transcript(line("one", 0.0), line("two", 70.2), media=m))
    assert "Video Views: None\n" in out and "Video Rating: None\n" in out
    assert "Video Description: ''\n" in out
    assert "Length: 71s\n" in out  # no duration: the last line ends at 70.6 s
    rated = render_markdown(transcript(line("x"), media=media(average_rating=4.5)))
    assert "Video Rating: 4.5\n" in rated


def test_hostile_title_shows_literally_and_makes_no_link_or_emphasis() -> None:
    title = "# [x](javascript:alert(1)) *bold*"
    out = render_markdown(transcript(line("hi"), media=media(title=title)))
    assert "\n# \\# \\[x\\](javascript:alert(1)) \\*bold\\*\n" in out
    page = html(out.split("\n---\n", 1)[1])
    assert "<h1># [x](javascript:alert(1)) *bold*</h1>" in page
    assert "javascript:alert(1)\"" not in page


@pytest.mark.parametrize(
    "text",
    [
        "# hash at start",
        "- dash at start",
        "+ plus",
        "> quote",
        "1. numbered",
        "12) numbered",
        "*stars* and _under_ and `code` and [link](http://x) and <b>html</b>",
        "back\\slash and &amp; entity",
        "ends with hash #",
    ],
)
def test_line_text_never_becomes_markup(text: str) -> None:
    out = render_markdown(transcript(line(text, 5.0)))
    bullet = out.splitlines()[-1]
    page = html(bullet)
    assert page.startswith("<ul>\n<li>")
    assert text in page.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    for tag in ("<h1>", "<ol>", "<blockquote>", "<em>", "<strong>", "<code>", "<b>"):
        assert tag not in page
    assert page.count("<a ") == 1  # only the timestamp link


def test_bullets_link_with_whole_seconds_for_each_url_form() -> None:
    t = transcript(line("Hi.", 7.9), media=media(url="https://youtu.be/abc"))
    assert "*  Hi. [[00:00:07](https://youtu.be/abc?t=7s)]\n" in render_markdown(t)
    t = transcript(line("Hi.", 7.9), media=media(url="https://example.com/ep.mp3"))
    assert "*  Hi. [[00:00:07](https://example.com/ep.mp3#t=7)]\n" in render_markdown(t)


def test_local_files_get_plain_times_and_a_local_file_byline() -> None:
    m = Media(id="file:0123456789ab", title="Talk", path="/tmp/talk.mp4", upload_date="2025-05-11")
    out = render_markdown(transcript(line("Hi.", 7.2), line("Untimed.", None), media=m))
    assert "\n# Talk\n**Local file:** May 11, 2025\n*  Hi. [00:00:07]\n*  Untimed.\n" in out


def test_byline_without_upload_date_still_links_the_page() -> None:
    out = render_markdown(transcript(line("Hi."), media=media(upload_date=None)))
    assert f"\n**Some Channel:** [Watch]({media().url})\n" in out


def test_chapters_become_headings_and_speaker_changes_are_labelled() -> None:
    t = transcript(
        section("Intro", line("Hello.", 0.0, speaker="Speaker 1"), line("Again.", 2.0, speaker="Speaker 1")),
        section("Q&A *live*", line("Question?", 10.0, speaker="Speaker 1"), line("Answer.", 12.0, speaker="Speaker 2")),
    )
    body = render_markdown(t).split("\n---\n", 1)[1]
    assert "\n## Intro\n\n*  **Speaker 1:** Hello. [[" in body
    assert "\n*  Again. [[" in body
    assert "\n## Q&A \\*live\\*\n\n*  **Speaker 1:** Question? [[" in body
    assert "\n*  **Speaker 2:** Answer. [[" in body
    assert "<strong>Speaker 2:</strong> Answer." in html(body)


# -- subtitles ------------------------------------------------------------------------

LONG = (
    "So it looks like he's trying to pass the ball into Ukraine's court after a meeting "
    "of Ukrainian allies in Kiev earlier today, who said that Russia must agree to a full "
    "and unconditional ceasefire on Monday, https://example.com/a-very-long-url-that-cannot-fit-on-one-line."
)


def _cues(srt: str) -> list[tuple[float, float, list[str]]]:
    out = []
    for block in srt.strip().split("\n\n"):
        rows = block.split("\n")
        a, b = rows[1].split(" --> ")
        out.append((_secs(a), _secs(b), rows[2:]))
    return out


def _secs(stamp: str) -> float:
    h, m, s = stamp.replace(",", ".").split(":")
    return int(h) * 3600 + int(m) * 60 + float(s)


@pytest.mark.parametrize("with_words", [True, False])
def test_srt_cues_respect_length_limits_and_never_overlap(with_words: bool) -> None:
    t = transcript(
        line(LONG, 1.0, 0.3, with_words=with_words),
        line("Short one.", 20.0, with_words=with_words),
        line(LONG, 20.5, 0.3, speaker="Speaker 1", with_words=with_words),
    )
    srt = render_srt(t)
    cues = _cues(srt)
    assert len(cues) > 6
    assert [block.split("\n")[0] for block in srt.strip().split("\n\n")] == [
        str(n) for n in range(1, len(cues) + 1)
    ]
    for (start, end, rows), following in zip(cues, [*cues[1:], None]):
        assert 1 <= len(rows) <= 2
        assert all(0 < len(row) <= 42 for row in rows)
        assert start <= end
        if following:
            assert end <= following[0]
    text = " ".join(" ".join(rows) for _, _, rows in cues)
    assert "Speaker 1: So it looks like" in text
    said = f"{LONG} Short one. Speaker 1: {LONG}"
    assert "".join(text.split()) == "".join(said.split())  # every word, in order, once
    assert cues[0][0] == 1.0
    assert cues[-1][1] == pytest.approx(20.5 + 0.3 * len(LONG.split()), abs=0.002)


def test_srt_splits_at_word_boundaries_using_word_times() -> None:
    t = transcript(line(" ".join(["word"] * 30), 10.0, 1.0))
    cues = _cues(render_srt(t))
    assert [(c[0], c[1]) for c in cues][:2] == [(10.0, 26.0), (26.0, 40.0)]
    assert cues[0][2] == [" ".join(["word"] * 8)] * 2


def _vtt_cues(vtt: str) -> list[tuple[float, float, list[str]]]:
    return _cues("\n\n".join(f"0\n{block}" for block in vtt.strip().split("\n\n")[1:]))


def _pieces(start: float, *texts: str) -> Line:
    """A line of Whisper word texts as given (a piece without a leading space glues on)."""
    ws = tuple(Word(start + i * 0.4, start + (i + 1) * 0.4, text) for i, text in enumerate(texts))
    return Line(start, ws[-1].end, "".join(texts).strip(), ws)


@pytest.mark.parametrize("filler", range(24))
def test_subtitles_keep_whisper_word_pieces_with_the_word_before(filler: int) -> None:
    # Some filler length puts a row or cue break between " self" and "-substantial".
    said = (*[" word"] * filler, " Feed", " thy", " self", "-substantial", " fuel,")
    t = transcript(_pieces(1.0, *said))
    for found in (_cues(render_srt(t)), _vtt_cues(render_vtt(t))):
        rows = [row for _, _, cue_rows in found for row in cue_rows]
        assert " ".join(rows) == " ".join(["word"] * filler + ["Feed thy self-substantial fuel,"])
        cue = next(c for c in found if any("self-substantial" in row for row in c[2]))
        assert cue[0] <= 1.0 + 0.4 * (filler + 2) and cue[1] >= 1.0 + 0.4 * (filler + 4)


def test_a_lines_first_word_without_a_space_does_not_join_the_line_before() -> None:
    t = transcript(line("Before.", 0.0), _pieces(2.0, "Feed", " thy", " self", "-substantial"))
    assert [c[2] for c in _cues(render_srt(t))] == [["Before."], ["Feed thy self-substantial"]]


def test_a_glued_piece_ends_its_cue_when_said() -> None:
    t = transcript(_pieces(3.0, " self", "-substantial"))
    assert _cues(render_srt(t)) == [(3.0, 3.8, ["self-substantial"])]


SONNET = "Pity the world, or else this glutton be, to eat the world's dew, by the grave and thee."
OPENING = (
    "1. From fairest creatures we desire increase, that thereby beauty's rose might never die."
)


@pytest.mark.parametrize(
    "text", [SONNET, OPENING, " ".join(["word"] * 17), " ".join(["word"] * 18)]
)
def test_long_lines_are_balanced_instead_of_leaving_a_stray_last_cue(text: str) -> None:
    # Filling rows greedily left "thee.", "never die.", "word" or "word word" as a cue.
    t = transcript(line(text, 2.0))
    for found in (_cues(render_srt(t)), _vtt_cues(render_vtt(t))):
        assert len(found) == 2  # still the fewest cues
        assert all(len(" ".join(rows).split()) >= 3 for _, _, rows in found)
        assert all(0 < len(row) <= 42 for _, _, rows in found for row in rows)
        assert " ".join(" ".join(rows) for _, _, rows in found) == " ".join(text.split())


@pytest.mark.parametrize("n", range(4, 41))
def test_no_cue_is_a_lone_word_when_the_line_has_four_or_more(n: int) -> None:
    text = " ".join((SONNET.split() * 3)[:n])
    found = _cues(render_srt(transcript(line(text))))
    assert all(len(" ".join(rows).split()) >= 2 for _, _, rows in found)


def test_two_row_cues_are_split_evenly() -> None:
    rows = _cues(render_srt(transcript(line(SONNET[:60].strip(), 0.0))))[0][2]
    assert len(rows) == 2 and abs(len(rows[0]) - len(rows[1])) <= 8


def test_vtt_has_header_dot_decimals_voice_tags_and_escapes() -> None:
    t = transcript(line("Tom & Jerry <3 > all", 1.5, speaker="Speaker <1>"))
    vtt = render_vtt(t)
    assert vtt.startswith("WEBVTT\n\n00:00:01.500 --> ")
    assert "<v Speaker &lt;1&gt;>Tom &amp; Jerry &lt;3 &gt; all\n" in vtt


def test_subtitles_refuse_transcripts_without_times() -> None:
    t = transcript(line("No time here.", None))
    for fmt in ("srt", "vtt"):
        with pytest.raises(Error, match="no timestamps"):
            render(t, fmt)


# -- text, json, registry -------------------------------------------------------------


def test_text_is_one_line_per_line_with_speaker_changes() -> None:
    t = transcript(
        line("Hi  there.", 0, speaker="A"), line("More.", 1, speaker="A"), line("Bye.", 2, speaker="B")
    )
    assert render_text(t) == "A: Hi there.\nMore.\nB: Bye.\n"


def test_json_round_trips_and_every_format_renders_the_same_from_it() -> None:
    t = transcript(
        section(None, line("Hello world. Bye.", 0.5, speaker="Speaker 1")),
        section("Part 2 — ünïcode 🎙️", line("Second [part] *here*.", 5.0, speaker="Speaker 2")),
        media=media(tags=("a", "b"), average_rating=4.5, description="multi\nline: yes"),
        speakers=("Speaker 1", "Speaker 2"),
        prompt="A talk",
    )
    back = read_json(render(t, "json"))
    assert back == t
    for fmt in FORMATS:
        assert render(back, fmt) == render(t, fmt)
    assert "🎙️" in render(t, "json")  # not ASCII-escaped


@pytest.mark.parametrize("bad", ["not json", "[1, 2]", '{"media": {}}', '{"schema": 1}'])
def test_read_json_rejects_other_text_with_a_plain_message(bad: str) -> None:
    with pytest.raises(ParseError, match="JSON"):
        read_json(bad)


@pytest.mark.parametrize(("change", "sentence"), [
    (lambda d: d["sections"][0]["lines"][0].update(start="abc"),
     'sections[0].lines[0].start should be a number, not "abc"'),
    (lambda d: d["sections"][0]["lines"][0].update(words="hi"),
     'sections[0].lines[0].words should be a list, not "hi"'),
    (lambda d: d.update(media=[1]), "media should be an object, not [1]"),
    (lambda d: d["media"].update(view_count=1.5), "media.view_count should be a whole number, not 1.5"),
    (lambda d: d["model"].pop("name"), "model.name is missing"),
])
def test_a_wrong_field_is_named_with_the_file(change: Any, sentence: str) -> None:
    data = json.loads(render(transcript(line("Hello world.")), "json"))
    change(data)
    with pytest.raises(ParseError) as e:
        read_json(json.dumps(data), "talk.json")
    assert str(e.value) == (f"talk.json is not a talkdown transcript: {sentence}; "
                            "was it edited by hand, or written by another tool or a newer talkdown?")


def _rich() -> dict[str, Any]:
    """A valid transcript's JSON with every kind of field filled in."""
    t = transcript(
        section(None, line("Hello world. Bye.", 0.5, speaker="Speaker 1")),
        section("Part 2", line("Second part.", 5.0, speaker="Speaker 2"), line("Untimed.", None)),
        media=media(tags=("a",), view_count=3, average_rating=4.5, chapters=(Chapter("Part 2", 5.0, 9.0),)),
        speakers=("Speaker 1", "Speaker 2"), turns=(SpeakerTurn(0.5, 4.0, "Speaker 1"),), prompt="A talk",
    )
    return json.loads(render(t, "json"))


def _paths(value: Any, at: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    inner = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    return [at] * bool(at) + [p for key, v in inner for p in _paths(v, (*at, key))]


RICH = _rich()
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6,
)


@settings(max_examples=400, deadline=None)
@given(changes=st.lists(st.tuples(st.sampled_from(_paths(RICH)), JSON_VALUES), min_size=1, max_size=3))
def test_any_field_replaced_is_a_transcript_or_one_sentence(changes: list[tuple[tuple[Any, ...], Any]]) -> None:
    """A hand-edited JSON file: read_json then every format gives text or talkdown's ``Error``, nothing else."""
    try:
        t = read_json(json.dumps(edited(RICH, changes)), "edited.json")
    except Error as e:
        assert str(e).startswith("edited.json ") and "\n" not in str(e)
        return
    for fmt in FORMATS:
        try:
            assert isinstance(render(t, fmt), str)
        except Error as e:
            assert str(e) and "\n" not in str(e)


def edited(data: dict[str, Any], changes: list[tuple[tuple[Any, ...], Any]]) -> dict[str, Any]:
    """A copy of ``data`` with the value at each path replaced (paths an earlier change removed are passed over)."""
    data = copy.deepcopy(data)
    for path, value in changes:
        parent: Any = data
        for key in path[:-1]:
            parent = parent[key] if isinstance(parent, (dict, list)) and _has(parent, key) else None
        if isinstance(parent, (dict, list)) and _has(parent, path[-1]):
            parent[path[-1]] = value
    return data


def _has(container: Any, key: Any) -> bool:
    return key in container if isinstance(container, dict) else isinstance(key, int) and key < len(container)


def test_registry_knows_each_format_and_rejects_others() -> None:
    assert FORMATS == ("md", "srt", "vtt", "json", "txt", "rttm")
    assert EXTENSIONS["md"] == ".md"
    with pytest.raises(Error, match="Unknown format 'docx'"):
        render(transcript(line("x")), "docx")


def test_factories_words_keep_whisper_spacing_and_times() -> None:
    ws = words("Hello world. Bye.", start=1.0, step=0.5)
    assert [w.text for w in ws] == [" Hello", " world.", " Bye."]
    assert (ws[0].start, ws[-1].end) == (1.0, 2.5)
