"""Transcript -> SRT and WebVTT subtitles.

Takes a ``Transcript`` and returns cue files in the usual broadcast limits: at most
42 characters a line and 2 lines a cue. A long transcript line becomes several cues,
split at word boundaries into the fewest rows of even width (so no cue is a stray last
word) and timed by its words (lines read back without words are timed by spreading
their text evenly over the line's span). A Whisper word piece with no leading space
(``-substantial`` after `` self``) stays with the word before, as in the line's text.
Cues never overlap, so players show one at a time. SRT and WebVTT differ only in the
header, the decimal mark, numbering and how a speaker is shown (``Name: `` prefix vs
``<v Name>``), as in Whisper's own writers. Pure; no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

from talkdown.errors import Error
from talkdown.render.timecode import subtitle_time
from talkdown.types import Line, Transcript

MAX_CHARS = 42
MAX_LINES = 2
_CHARS_PER_SECOND = 15.0  # reading speed, for a last line with no end time


@dataclass(frozen=True, slots=True)
class Cue:
    """One subtitle: its time span, its text lines, and who speaks it."""

    start: float
    end: float
    lines: tuple[str, ...]
    speaker: str | None = None


@dataclass(frozen=True, slots=True)
class _Token:
    text: str
    start: float
    end: float


def _split_long(token: _Token) -> Iterator[_Token]:
    """Cuts a word longer than a subtitle line (a URL, say) into equal line-sized pieces."""
    size = -(-len(token.text) // -(-len(token.text) // MAX_CHARS))
    pieces = [token.text[i : i + size] for i in range(0, len(token.text), size)]
    span = (token.end - token.start) / len(pieces)
    for i, piece in enumerate(pieces):
        yield _Token(piece, token.start + i * span, token.start + (i + 1) * span)


def _tokens(line: Line, end: float) -> Iterator[_Token]:
    """The line's words with times; text without words gets times spread by characters.

    A word without a leading space continues the previous one, as ``Line.text`` joins them.
    """
    assert line.start is not None
    words = [w for w in line.words if w.text.strip()]
    raw: list[_Token] = []
    if words:
        for w in words:
            text = " ".join(w.text.split())
            if raw and not w.text[0].isspace():
                raw[-1] = _Token(raw[-1].text + text, raw[-1].start, max(raw[-1].end, w.end))
            else:
                raw.append(_Token(text, w.start, w.end))
    else:
        parts = line.text.split()
        total = sum(len(p) + 1 for p in parts) or 1
        span, offset = max(end - line.start, 0.0), 0
        for part in parts:
            t0 = line.start + span * offset / total
            offset += len(part) + 1
            raw.append(_Token(part, t0, line.start + span * offset / total))
    for token in raw:
        yield from _split_long(token) if len(token.text) > MAX_CHARS else (token,)


def _rows(tokens: list[_Token]) -> list[list[_Token]]:
    """Breaks between words into the fewest rows, then the evenest (least sum of squared
    widths), so a line's last cue is never a stray word; ties keep earlier rows full."""
    best: list[tuple[int, int, int]] = [(0, 0, 0)]  # (rows, squared widths, row start)
    for j in range(1, len(tokens) + 1):
        width, choice = -1, None
        for i in range(j - 1, -1, -1):
            width += len(tokens[i].text) + 1
            if width > MAX_CHARS and i < j - 1:
                break
            cost = (best[i][0] + 1, best[i][1] + width * width)
            if choice is None or cost < choice[:2]:
                choice = (*cost, i)
        assert choice is not None
        best.append(choice)
    rows, j = [], len(tokens)
    while j:
        i = best[j][2]
        rows.append(tokens[i:j])
        j = i
    return rows[::-1]


def _pack(tokens: list[_Token], speaker: str | None, prefix: str) -> Iterator[Cue]:
    """Groups a line's rows into cues of ``MAX_LINES`` rows, timed by their words."""
    if not tokens:
        return
    label = [_Token(prefix, tokens[0].start, tokens[0].start)] if prefix else []
    rows = _rows(label + tokens)
    for k in range(0, len(rows), MAX_LINES):
        group = rows[k : k + MAX_LINES]
        text = tuple(" ".join(t.text for t in row) for row in group)
        yield Cue(group[0][0].start, group[-1][-1].end, text, speaker)


def _untimed() -> Error:
    return Error(
        "This transcript has no timestamps, so it cannot be written as subtitles; "
        "write it as md, txt or json instead."
    )


def cues(t: Transcript, *, label_changes: bool = False) -> list[Cue]:
    """Splits a transcript into non-overlapping cues.

    Args:
        t: the transcript.
        label_changes: put a ``Name:`` prefix in the text at each change of speaker (SRT).

    Raises:
        Error: a line has no start time (old transcripts read back without times).
    """
    lines = list(t.lines())
    if any(line.start is None for line in lines):
        raise _untimed()
    out: list[Cue] = []
    speaker: str | None = None
    for i, line in enumerate(lines):
        assert line.start is not None
        following = lines[i + 1].start if i + 1 < len(lines) else None
        end = line.end if line.end is not None else following
        if end is None:
            end = line.start + len(line.text) / _CHARS_PER_SECOND
        tokens = list(_tokens(line, end))
        changed = label_changes and line.speaker is not None and line.speaker != speaker
        name = " ".join((line.speaker or "").split())[: MAX_CHARS - 1]
        prefix = f"{name}:" if changed and name else ""
        out.extend(_pack(tokens, line.speaker, prefix))
        speaker = line.speaker
    return _no_overlap(out)


def _no_overlap(items: list[Cue]) -> list[Cue]:
    """Starts never go back in time, and each cue ends by the time the next begins."""
    fixed: list[Cue] = []
    floor = 0.0
    for cue in items:
        start = max(cue.start, floor)
        fixed.append(Cue(start, max(cue.end, start), cue.lines, cue.speaker))
        floor = start
    for i in range(len(fixed) - 1):
        cue = fixed[i]
        fixed[i] = Cue(cue.start, min(cue.end, fixed[i + 1].start), cue.lines, cue.speaker)
    return fixed


def render_srt(t: Transcript) -> str:
    """Renders SubRip: numbered cues, ``HH:MM:SS,mmm`` times, ``Name:`` at speaker changes."""
    blocks = [
        f"{n}\n{subtitle_time(c.start)} --> {subtitle_time(c.end)}\n" + "\n".join(c.lines) + "\n"
        for n, c in enumerate(cues(t, label_changes=True), start=1)
    ]
    return "\n".join(blocks)


def _vtt_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def render_vtt(t: Transcript) -> str:
    """Renders WebVTT: ``WEBVTT`` header, ``.`` decimal, ``<v Name>`` voice spans."""
    out = ["WEBVTT\n"]
    for c in cues(t):
        text = "\n".join(_vtt_escape(row) for row in c.lines)
        if c.speaker:
            text = f"<v {_vtt_escape(' '.join(c.speaker.split()))}>{text}"
        times = f"{subtitle_time(c.start, '.')} --> {subtitle_time(c.end, '.')}"
        out.append(f"\n{times}\n{text}\n")
    return "".join(out)
