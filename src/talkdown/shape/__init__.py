"""ASR segments and media in, a ``Transcript`` out: lines at sentence ends, under chapters.

Pure functions: nothing here reads files or runs a model.
"""

from __future__ import annotations

import datetime as dt
from typing import Iterable

import dataclasses
from typing import Mapping

from ..types import Disagreement, Media, ModelInfo, Segment, SpeakerTurn, Transcript
from .confidence import rated as with_confidence
from .lines import LineOptions, build_lines
from .sections import build_sections, chapters_for, description_chapters
from .speakers import assign_speakers

__all__ = ["LineOptions", "assign_speakers", "build_lines", "build_sections", "chapters_for",
           "description_chapters", "rename_speakers", "shape"]


def rename_speakers(turns: tuple[SpeakerTurn, ...], names: Mapping[str, str]) -> tuple[SpeakerTurn, ...]:
    """Applies a user's ``Speaker 1=Anchor`` map to the diarizer's labels."""
    return tuple(dataclasses.replace(t, speaker=names.get(t.speaker, t.speaker)) for t in turns)


def shape(
    media: Media,
    segments: Iterable[Segment],
    model: ModelInfo,
    *,
    language: str | None = None,
    prompt: str | None = None,
    generated: str | None = None,
    options: LineOptions = LineOptions(),
    turns: tuple[SpeakerTurn, ...] = (),
    disagreements: tuple[Disagreement, ...] = (),
    rated: bool = True,
) -> Transcript:
    """Builds the transcript of ``media`` from the engine's segments (and speaker turns, if any).

    ``rated``: each line gets a confidence from the engine's probabilities (False for
    words people wrote: captions).
    """
    segments = list(segments)
    words = [w for s in segments for w in s.words]
    if turns:
        words = list(assign_speakers(words, turns))
    chapters = chapters_for(media)
    lines = build_lines(words, breaks=[c.start for c in chapters[1:]], options=options)
    if rated:
        lines = with_confidence(lines, segments)
    return Transcript(
        media=media,
        sections=build_sections(lines, chapters),
        model=model,
        language=language,
        generated=generated or dt.date.today().isoformat(),
        prompt=prompt,
        speakers=tuple(dict.fromkeys(t.speaker for t in sorted(turns, key=lambda t: t.start))),
        turns=turns,
        disagreements=disagreements,
    )
