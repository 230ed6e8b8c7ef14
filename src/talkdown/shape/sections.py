"""Lines and chapters in, sections (``## Chapter`` headings) out.

Chapters come from the video's metadata (yt-dlp ``chapters``) or, when it has none,
from a timestamp list in its description (``0:00 Intro``, ``(00:43) Diving deep…``,
``1:16:18 Looking ahead``), which is how most creators mark them. A list that does
not start near 0:00, is not in order, or runs past the video's end is not a chapter
list and is ignored.
"""

from __future__ import annotations

import re
from typing import Sequence

from ..types import Chapter, Line, Media, Section

_STAMP = r"[(\[]?(?P<stamp>(?:\d{1,2}:)?\d{1,2}:\d{2})[)\]]?"
_LEADING = re.compile(rf"^\W{{0,4}}?{_STAMP}\s*(?:[-–—:|.]\s*)?(?P<title>\S.*)$")
_TRAILING = re.compile(rf"^(?P<title>.*?\S)\s*(?:[-–—:|]\s*)?{_STAMP}$")


def _seconds(stamp: str) -> int:
    total = 0
    for part in stamp.split(":"):
        total = total * 60 + int(part)
    return total


def description_chapters(description: str, duration: float | None) -> tuple[Chapter, ...]:
    """Chapters from a timestamp list in a description; empty if it has no valid list."""
    found: list[tuple[int, str]] = []
    for raw in description.splitlines():
        line = raw.strip()
        m = _LEADING.match(line) or _TRAILING.match(line)
        if m:
            title = m.group("title").strip(" -–—:|")
            if title:
                found.append((_seconds(m.group("stamp")), title))
    if len(found) < 2 or found[0][0] > 5:
        return ()
    starts = [s for s, _ in found]
    if any(b <= a for a, b in zip(starts, starts[1:])):
        return ()
    if duration and starts[-1] >= duration:
        return ()
    ends: list[float | None] = [float(s) for s in starts[1:]] + [duration]
    return tuple(Chapter(title=t, start=float(s), end=e) for (s, t), e in zip(found, ends))


def chapters_for(media: Media) -> tuple[Chapter, ...]:
    """The media's own chapters if they fit its length, else those in its description."""
    own = media.chapters
    if own and not (media.duration and own[0].start >= media.duration):
        return own
    return description_chapters(media.description, media.duration)


def build_sections(lines: Sequence[Line], chapters: Sequence[Chapter]) -> tuple[Section, ...]:
    """Puts each line under the last chapter that starts at or before it."""
    if not chapters:
        return (Section(title=None, start=0.0, lines=tuple(lines)),)
    sections: list[Section] = []
    head = tuple(line for line in lines if line.start is not None and line.start < chapters[0].start)
    if head:
        sections.append(Section(title=None, start=0.0, lines=head))
    for i, chapter in enumerate(chapters):
        end = chapters[i + 1].start if i + 1 < len(chapters) else float("inf")
        inside = tuple(
            line for line in lines if line.start is not None and chapter.start <= line.start < end
        )
        sections.append(Section(title=chapter.title, start=chapter.start, lines=inside))
    return tuple(sections)
