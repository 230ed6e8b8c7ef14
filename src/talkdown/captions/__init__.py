"""Caption tracks as another source of words, behind the same seam as the ASR engines.

A track (``types.Captions``: from the site through ``fetch.captions``, or a file beside
a local recording) becomes an ``asr.Transcription`` like any engine's, so lines,
deep links, chapters, search and every format come out the same way. With
``--source auto`` the track's words are laid on the ASR's word times instead
(``aligned``). Reads files only in ``beside``.
"""

from __future__ import annotations

from pathlib import Path

from ..asr import Transcription
from ..errors import CaptionsError
from ..types import Captions, Disagreement, ModelInfo, Segment
from .align import align
from .formats import Cue, parse

__all__ = ["FORMATS", "Cue", "aligned", "beside", "parse", "transcription"]

FORMATS = ("json3", "vtt", "srv3")  # in order of preference: json3 has word times, srv3 too


def transcription(track: Captions) -> Transcription:
    """The track as an engine's result: one segment per cue, no confidence (people wrote it).

    Raises:
        CaptionsError: the track is not of its format, or is empty.
    """
    cues = parse(track.text, track.format, track.origin)
    segments = tuple(Segment(start=c.start, end=c.end, text=c.text, words=c.words) for c in cues)
    return Transcription(segments, track.language, ModelInfo(name=track.label), {"source": "captions"})


def aligned(track: Captions, heard: Transcription) -> tuple[Transcription, tuple[Disagreement, ...]]:
    """The track's words with ``heard``'s word times, and where the two disagree on names or numbers.

    Raises:
        CaptionsError: the track is not of its format, or is empty.
    """
    cues = parse(track.text, track.format, track.origin)
    words, disagreements = align([w for c in cues for w in c.words], [w for s in heard.segments for w in s.words])
    if not words:
        return heard, ()
    segment = Segment(start=words[0].start, end=words[-1].end, text="".join(w.text for w in words).strip(),
                      words=words)
    model = ModelInfo(name=f"{track.label}, word times from {heard.model}")
    return Transcription((segment,), heard.language or track.language, model,
                         {**heard.info, "source": "captions+asr"}), disagreements


def beside(media_path: Path, language: str) -> Captions | None:
    """The caption file ``yt-dlp --write-subs`` leaves beside ``NAME.ext`` (``NAME.en.vtt``…),
    in ``language``; None when there is none.

    Raises:
        CaptionsError: the file is there but cannot be read as text.
    """
    for fmt in FORMATS:
        path = media_path.with_name(f"{media_path.stem}.{language}.{fmt}")
        if path.is_file():
            try:
                text = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as e:
                raise CaptionsError(f"Could not read the captions file {path}: {e}.") from e
            return Captions(text=text, format=fmt, language=language, kind="file", origin=str(path))
    return None


def available_beside(media_path: Path) -> list[str]:
    """The languages of the caption files beside ``media_path``, for a message."""
    head, found = media_path.stem + ".", set()
    try:
        names = [p.name for p in media_path.parent.iterdir()]
    except OSError:
        return []
    for name in names:
        for fmt in FORMATS:
            if name.startswith(head) and name.endswith("." + fmt) and len(name) > len(head) + len(fmt) + 1:
                found.add(name[len(head): -len(fmt) - 1])
    return sorted(found)
