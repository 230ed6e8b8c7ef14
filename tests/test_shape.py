"""Lines end at sentence ends and sit under the right chapter: pure functions on small inputs."""

from __future__ import annotations

import pytest

import corpus
from factories import media, words
from talkdown.info import load_info_json
from talkdown.render import render
from talkdown.shape import LineOptions, build_lines, description_chapters, shape
from talkdown.types import Chapter, ModelInfo, Segment, Word

MODEL = ModelInfo("tiny.en", "faster-whisper", "1.2.1", "int8")


def texts(ws: tuple[Word, ...], **kw: object) -> list[str]:
    return [line.text for line in build_lines(ws, **kw)]


def test_lines_end_at_sentence_ends_not_at_segment_ends() -> None:
    ws = words("So it is possible that this kind of pressure is working. Is he dragging his feet yet again? We don't know.")
    assert texts(ws) == ["So it is possible that this kind of pressure is working.",
                         "Is he dragging his feet yet again? We don't know."]


def test_abbreviations_and_initials_do_not_end_a_sentence() -> None:
    ws = words("Mr. Putin met Dr. Smith in the U.S. on Monday and they talked for a while. Then J. Doe spoke at length today.")
    assert texts(ws) == ["Mr. Putin met Dr. Smith in the U.S. on Monday and they talked for a while.",
                         "Then J. Doe spoke at length today."]


def test_a_long_sentence_splits_at_a_clause() -> None:
    first = "who said that Russia must agree to a full and unconditional ceasefire on Monday, the 12th of May,"
    second = "or more sanctions would be imposed on Russia by the leaders who met in Kyiv earlier today with many allies."
    lines = texts(words(f"{first} {second}"), options=LineOptions(max_words=25))
    assert all(len(t.split()) <= 25 for t in lines)
    assert lines[0].endswith(",")


def test_a_long_pause_ends_a_line_without_punctuation() -> None:
    ws = words("and then we stopped") + words("after the break we went on.", start=10.0)
    assert texts(ws) == ["and then we stopped", "after the break we went on."]


def test_a_line_never_crosses_a_chapter_start() -> None:
    ws = words("One two three four five six seven eight nine ten eleven twelve.")
    lines = build_lines(ws, breaks=[2.0])
    assert [line.start for line in lines] == [0.0, 2.0]


def test_speaker_change_starts_a_new_line() -> None:
    ws = words("Hello there how", speaker="Speaker 1") + words("are you doing?", start=1.2, speaker="Speaker 2")
    assert [(line.speaker, line.text) for line in build_lines(ws)] == [("Speaker 1", "Hello there how"),
                                                                       ("Speaker 2", "are you doing?")]


def test_times_never_go_backwards_at_chunk_edges() -> None:
    ws = (Word(105.0, 106.16, " liner?"), Word(106.16, 106.16, " Align."), Word(105.65, 108.2, " Montreal."))
    starts = [line.start for line in build_lines(ws)]
    assert starts == sorted(starts)


@pytest.mark.parametrize("description, expected", [
    ("Timestamps\n00:00 - Introduction\n01:01 - How we're approaching this\n02:01 - What we are working on",
     [(0, "Introduction"), (61, "How we're approaching this"), (121, "What we are working on")]),
    ("(00:00) Intro\n(00:43) Diving deep into the topic\n(1:16:18) Looking ahead",
     [(0, "Intro"), (43, "Diving deep into the topic"), (4578, "Looking ahead")]),
    ("0:00 Intro\n5:30 Middle part\nOutro - 10:02", [(0, "Intro"), (330, "Middle part"), (602, "Outro")]),
])
def test_chapters_from_a_description(description: str, expected: list[tuple[int, str]]) -> None:
    chapters = description_chapters(description, duration=5000.0)
    assert [(int(c.start), c.title) for c in chapters] == expected


@pytest.mark.parametrize("description", [
    "0:00 Intro\n12:00 Past the end",          # runs past a 10-minute video
    "0:00 Intro\n5:00 B\n3:00 C",              # out of order
    "2:00 Starts late\n5:00 B",                # does not start near 0:00
    "Recorded at 10:30 in Paris",              # one time is not a list
])
def test_a_list_that_does_not_fit_is_ignored(description: str) -> None:
    assert description_chapters(description, duration=600.0) == ()


def _speech_every(seconds: float, until: float) -> list[Segment]:
    segs, t = [], 0.0
    while t < until:
        ws = words("Here is one more short sentence.", start=t, step=0.3)
        segs.append(Segment(t, ws[-1].end, "", ws))
        t += seconds
    return segs


@pytest.mark.parametrize("info", ["vido/o1JgW_4MTWI.info.json", "vido/rg7Fvvl3taU.info.json"])
def test_info_json_chapters_become_headings_at_the_right_lines(info: str) -> None:
    m = load_info_json(corpus.FIXTURES / "youtube" / info)
    t = shape(m, _speech_every(7.0, m.duration or 0), MODEL)
    titled = [s for s in t.sections if s.title]
    assert [s.title for s in titled] == [c.title for c in m.chapters]
    for section, chapter in zip(titled, m.chapters):
        assert all(chapter.start <= line.start < (chapter.end or 1e9) for line in section.lines)
    md = render(t, "md")
    for chapter in m.chapters:
        assert f"\n## {chapter.title}\n" in md.replace("\\.", ".").replace("\\_", "_")


def test_description_chapters_used_when_the_video_has_none() -> None:
    m = media(duration=100.0, description="0:00 Welcome\n0:30 The news\n1:00 Weather", chapters=())
    t = shape(m, _speech_every(5.0, 100.0), MODEL)
    assert [(s.title, s.lines[0].start) for s in t.sections] == [("Welcome", 0.0), ("The news", 30.0), ("Weather", 60.0)]


def test_chapters_past_the_end_are_ignored() -> None:
    m = media(duration=20.0, chapters=(Chapter("Late", 50.0, 80.0),), description="")
    t = shape(m, _speech_every(5.0, 20.0), MODEL)
    assert [s.title for s in t.sections] == [None]
