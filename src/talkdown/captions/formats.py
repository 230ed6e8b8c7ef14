"""Caption files in, timed cues out: YouTube's json3 and srv3, and WebVTT.

Written by hand because each is small and none of the libraries for them knows all
three plus YouTube's word timings (json3 ``tOffsetMs``, srv3 ``<s t>``, WebVTT
``<00:00:01.234>`` tags), which give automatic captions word-level times. Rolling
captions (each cue repeats the line before it, as YouTube's automatic WebVTT does)
are collapsed here, so every word appears once. Pure functions over strings.
"""

from __future__ import annotations

import html
import json
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass

from ..errors import CaptionsError
from ..types import Word

__all__ = ["Cue", "parse"]


@dataclass(frozen=True, slots=True)
class Cue:
    """One caption cue: a time span and its words, in order (word times inside the span)."""

    start: float
    end: float
    words: tuple[Word, ...]

    @property
    def text(self) -> str:
        return "".join(w.text for w in self.words).strip()


def parse(text: str, fmt: str, origin: str = "the captions") -> tuple[Cue, ...]:
    """The cues of a caption file, in time order, each word once.

    Raises:
        CaptionsError: the text is not of that format, or holds no cue with words.
    """
    readers = {"json3": _json3, "vtt": _vtt, "srv3": _srv3}
    if fmt not in readers:
        raise CaptionsError(f"{origin} is in {fmt!r}, which talkdown does not read; it reads json3, vtt and srv3.")
    cues = readers[fmt](text, origin)
    cues = [c for c in cues if c.words and c.end >= c.start]
    if not cues:
        raise CaptionsError(f"{origin} holds no captions (an empty track).")
    _check_order(cues, origin)
    return tuple(_without_overlap(cues))


# -- json3 (YouTube's own): events with segs; automatic tracks give each word an offset.

def _json3(text: str, origin: str) -> list[Cue]:
    try:
        data = json.loads(text)
        events = data["events"]
        if not isinstance(events, list):
            raise TypeError
    except (ValueError, KeyError, TypeError):
        raise CaptionsError(f"{origin} is not a json3 caption track (YouTube's JSON with \"events\").") from None
    cues = []
    for event in events:
        if not isinstance(event, dict) or not isinstance(event.get("segs"), list):
            continue
        start = _ms(event.get("tStartMs"))
        end = start + _ms(event.get("dDurationMs"))
        pieces = [(start + _ms(s.get("tOffsetMs")), s.get("utf8", "")) for s in event["segs"] if isinstance(s, dict)]
        cues.append(Cue(start, max(end, start), _timed(pieces, end)))
    return cues


def _ms(value: object) -> float:
    return value / 1000 if isinstance(value, (int, float)) and not isinstance(value, bool) else 0.0


# -- srv3 (YouTube's XML): <p t= d=> with <s t=> word spans in automatic tracks.

def _srv3(text: str, origin: str) -> list[Cue]:
    try:
        root = ET.fromstring(text)
    except ET.ParseError:
        raise CaptionsError(f"{origin} is not an srv3 caption track (YouTube's XML timed text).") from None
    if root.tag != "timedtext":
        raise CaptionsError(f"{origin} is not an srv3 caption track (YouTube's XML timed text).")
    cues = []
    for p in root.iter("p"):
        start = _ms(_number(p.get("t")))
        end = start + _ms(_number(p.get("d")))
        pieces = [(start, p.text or "")]
        for s in p:
            offset = _ms(_number(s.get("t")))
            pieces.append((start + offset, s.text or "") if s.tag == "s" else (pieces[-1][0], "\n"))
            if s.tail:
                pieces.append((pieces[-1][0], s.tail))
        cues.append(Cue(start, max(end, start), _timed(pieces, end)))
    return cues


def _number(value: str | None) -> int:
    return int(value) if value and value.isdigit() else 0


# -- WebVTT: blocks of a timing line and payload lines; tags stripped, timestamps kept.

_TIMING = re.compile(r"^\s*((?:\d+:)?\d{1,2}:\d{2}[.,]\d{3})\s+-->\s+((?:\d+:)?\d{1,2}:\d{2}[.,]\d{3})")
_TIMESTAMP_TAG = re.compile(r"<((?:\d+:)?\d{1,2}:\d{2}\.\d{3})>")
_TAG = re.compile(r"</?[^>]*>")


def _vtt(text: str, origin: str) -> list[Cue]:
    text = text.lstrip("\ufeff")
    if not text.startswith("WEBVTT"):
        raise CaptionsError(f"{origin} is not a WebVTT file (it must begin with WEBVTT).")
    raw: list[tuple[float, float, list[str]]] = []
    for block in re.split(r"\r?\n\s*\r?\n", text.replace("\r\n", "\n")):
        lines = block.split("\n")
        at = next((i for i, line in enumerate(lines) if _TIMING.match(line)), None)
        if at is None or lines[0].startswith(("NOTE", "STYLE", "REGION")):
            continue
        m = _TIMING.match(lines[at])
        assert m is not None
        raw.append((_clock(m.group(1)), _clock(m.group(2)), [line for line in lines[at + 1:] if line.strip()]))
    cues = []
    for start, end, payload in _unrolled(raw):
        pieces: list[tuple[float, str]] = []
        for line in payload:
            at = start
            for i, part in enumerate(_TIMESTAMP_TAG.split(line)):
                if i % 2:
                    at = _clock(part)
                else:
                    pieces.append((at, html.unescape(_TAG.sub("", part))))
            pieces.append((at, "\n"))
        cues.append(Cue(start, max(end, start), _timed(pieces, end)))
    return cues


def _clock(text: str) -> float:
    parts = [float(p) for p in text.replace(",", ".").split(":")]
    seconds = 0.0
    for p in parts:
        seconds = seconds * 60 + p
    return seconds


def _plain(line: str) -> str:
    return " ".join(html.unescape(_TAG.sub("", _TIMESTAMP_TAG.sub("", line))).split())


def _unrolled(raw: list[tuple[float, float, list[str]]]) -> list[tuple[float, float, list[str]]]:
    """Drops the lines a rolling cue repeats from the cue before it (YouTube's automatic
    WebVTT shows each line twice: once as it is spoken, once above the next)."""
    out = []
    previous: list[str] = []
    for start, end, payload in raw:
        plain = [_plain(line) for line in payload]
        keep = 0
        while keep < len(plain) and plain[keep] in previous and plain[keep]:
            keep += 1
        fresh = payload[keep:]
        previous = plain
        if fresh:
            out.append((start, end, fresh))
    return out


# -- common: timed pieces of text into words, times spread over each piece by length.

def _timed(pieces: list[tuple[float, str]], end: float) -> tuple[Word, ...]:
    """Words from (start time, text) pieces; a piece of several words shares its span
    (until the next piece, or ``end``) among them by their length."""
    words: list[Word] = []
    spans = [(t, _SOUND_LABEL.sub(" ", text.replace("\n", " "))) for t, text in pieces]
    spans = [(t, text) for t, text in spans if text.strip()]  # a line break owns no time
    for i, (t0, text) in enumerate(spans):
        t1 = max(t0, spans[i + 1][0] if i + 1 < len(spans) else end)
        tokens = text.split()
        if not tokens:
            continue
        sizes = [len(tok) + 1 for tok in tokens]
        total, done = sum(sizes), 0
        for tok, size in zip(tokens, sizes):
            a = t0 + (t1 - t0) * done / total
            done += size
            b = t0 + (t1 - t0) * done / total
            words.append(Word(start=round(a, 3), end=round(b, 3), text=" " + tok))
    return tuple(w for w in words if not _is_sound_label(w.text))


_SOUND_LABEL = re.compile(r"\[[^\]]*\]")


def _is_sound_label(text: str) -> bool:
    """``[Music]``, ``[Applause]``: not words anyone said."""
    t = text.strip()
    return t.startswith("[") and t.endswith("]")


OVERLAP_TOLERANCE = 1.0  # seconds; captions shown a little past the next cue's start are usual


def _check_order(cues: list[Cue], origin: str) -> None:
    """A track whose cues go back in time, or whose words interleave with the cue before,
    would give deep links that go backwards and lines in the wrong order: refused, naming the cue.

    Display times may overlap (YouTube's json3 shows a line until the one after next
    appears); what must not is the words: a cue's first word may not start more than
    ``OVERLAP_TOLERANCE`` before the last word of the cue before it.
    """
    for before, cue in zip(cues, cues[1:]):
        if cue.start < before.start:
            raise CaptionsError(f"{origin} has cues out of order: the cue at {_hms(cue.start)} comes after "
                                f"the one at {_hms(before.start)}.")
        if cue.words[0].start < before.words[-1].start - OVERLAP_TOLERANCE:
            raise CaptionsError(f"{origin} has overlapping cues: the cue at {_hms(cue.start)} starts "
                                f"before the words of the one at {_hms(before.start)} end.")


def _hms(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}"


def _without_overlap(cues: list[Cue]) -> list[Cue]:
    """Words never start before the previous word: an overlapping cue is cut to follow
    the one before it (deep links must not go backwards)."""
    out: list[Cue] = []
    last = 0.0
    for cue in cues:
        words = []
        for w in cue.words:
            start = max(w.start, last)
            end = max(w.end, start)
            words.append(Word(start=start, end=end, text=w.text) if (start, end) != (w.start, w.end) else w)
            last = start
        out.append(Cue(max(cue.start, words[0].start if words else cue.start), max(cue.end, last), tuple(words)))
    return out
