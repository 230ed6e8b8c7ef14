"""Tiny builders for the shared types, so tests read as the behaviour they check."""

from __future__ import annotations

from talkdown.types import Line, Media, ModelInfo, Section, Segment, Transcript, Word


def words(
    text: str, start: float = 0.0, step: float = 0.4, speaker: str | None = None
) -> tuple[Word, ...]:
    """One ``Word`` per whitespace-separated token, ``step`` seconds each, back to back.

    Texts keep Whisper's leading space (``" world."``) so they join as said.
    """
    return tuple(
        Word(start + i * step, start + (i + 1) * step, f" {token}", 0.9, speaker)
        for i, token in enumerate(text.split())
    )


def segment(start: float, end: float, texts: list[str], ratio: float = 1.2) -> Segment:
    """An engine's ``Segment`` of ``texts`` spread evenly from ``start`` to ``end``, each word
    four fifths of its share (a gap after it), with gzip compression ratio ``ratio``."""
    step = (end - start) / len(texts)
    ws = tuple(Word(start=round(start + i * step, 3), end=round(start + (i + 0.8) * step, 3), text=f" {t}",
                    probability=0.9) for i, t in enumerate(texts))
    return Segment(start=start, end=end, text=" ".join(texts), words=ws, compression_ratio=ratio)


def line(
    text: str,
    start: float | None = 0.0,
    step: float = 0.4,
    speaker: str | None = None,
    with_words: bool = True,
) -> Line:
    """A ``Line`` of ``text`` from ``start``; its words are timed by ``words`` unless asked not to."""
    if start is None:
        return Line(None, None, text, speaker=speaker)
    ws = words(text, start, step, speaker) if with_words else ()
    end = ws[-1].end if ws else start + step * max(1, len(text.split()))
    return Line(start, end, text, ws, speaker)


def media(**overrides: object) -> Media:
    """A YouTube ``Media`` with plausible fields; override any of them."""
    fields: dict[str, object] = {
        "id": "youtube:abc123XYZ_-",
        "title": "A talk",
        "url": "https://www.youtube.com/watch?v=abc123XYZ_-",
        "channel": "Some Channel",
        "upload_date": "2025-05-11",
        "duration": 60.0,
        "description": "About the talk.",
        "tags": ("talk",),
        "view_count": 10,
        "language": "en",
    }
    fields.update(overrides)
    return Media(**fields)  # type: ignore[arg-type]


_default_media = media


def transcript(
    *items: Line | Section,
    media: Media | None = None,
    model: ModelInfo | None = None,
    **overrides: object,
) -> Transcript:
    """A ``Transcript`` of the given lines (one untitled section) and/or sections, in order."""
    sections: list[Section] = []
    loose: list[Line] = []
    for item in items:
        if isinstance(item, Line):
            loose.append(item)
            continue
        if loose:
            sections.append(Section(None, loose[0].start or 0.0, tuple(loose)))
            loose = []
        sections.append(item)
    if loose:
        sections.append(Section(None, loose[0].start or 0.0, tuple(loose)))
    fields: dict[str, object] = {
        "media": media if media is not None else _default_media(),
        "sections": tuple(sections),
        "model": model or ModelInfo("small.en", "faster-whisper", "1.2.0", "int8"),
        "language": "en",
        "generated": "2025-06-02",
    }
    fields.update(overrides)
    return Transcript(**fields)  # type: ignore[arg-type]


def section(title: str | None, *lines: Line) -> Section:
    """A ``Section`` titled ``title`` holding ``lines``."""
    return Section(title, (lines[0].start or 0.0) if lines else 0.0, lines)
