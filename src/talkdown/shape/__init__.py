"""ASR segments and media in, a ``Transcript`` out: lines at sentence ends, under chapters.

Pure functions: nothing here reads files or runs a model.
"""

from __future__ import annotations

import datetime as dt
from typing import Iterable

from ..types import Media, ModelInfo, Segment, Transcript
from .lines import LineOptions, build_lines
from .sections import build_sections, chapters_for, description_chapters

__all__ = ["LineOptions", "build_lines", "build_sections", "chapters_for", "description_chapters", "shape"]


def shape(
    media: Media,
    segments: Iterable[Segment],
    model: ModelInfo,
    *,
    language: str | None = None,
    prompt: str | None = None,
    generated: str | None = None,
    options: LineOptions = LineOptions(),
) -> Transcript:
    """Builds the transcript of ``media`` from the engine's segments."""
    words = [w for s in segments for w in s.words]
    chapters = chapters_for(media)
    lines = build_lines(words, breaks=[c.start for c in chapters[1:]], options=options)
    return Transcript(
        media=media,
        sections=build_sections(lines, chapters),
        model=model,
        language=language,
        generated=generated or dt.date.today().isoformat(),
        prompt=prompt,
    )
