"""talkdown from Python: spoken media in, timed Markdown (and its data) out.

    import talkdown
    t = talkdown.transcribe("https://www.youtube.com/watch?v=MGgDHevAc8A")
    print(t.text)  # or, as Markdown, SRT, VTT…: talkdown.render.render(t, "srt")
    talkdown.archive(["https://feeds.example.org/podcast.xml"], "podcasts/", limit=5)

Everything a user can get wrong raises ``talkdown.Error`` (one sentence). The heavy
parts (yt-dlp, faster-whisper) load on first use, so ``import talkdown`` stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable

from .asr import TranscribeOptions
from .diarize import DiarizeOptions
from .errors import CatalogError, DecodeError, Error, FetchError, ModelError, OutputError, ParseError, QueryError
from .types import Chapter, Line, Media, ModelInfo, Section, Segment, SpeakerTurn, Transcript, Word

__all__ = [
    "CatalogError", "Chapter", "DecodeError", "DiarizeOptions", "Error", "FetchError", "Line", "Media", "ModelError",
    "ModelInfo", "OutputError", "ParseError", "QueryError", "Section", "Segment", "SpeakerTurn", "TranscribeOptions",
    "Transcript", "Word", "__version__", "archive", "parse_markdown", "read_json", "search", "transcribe",
]


def __getattr__(name: str) -> str:
    """``__version__``, read from the installed package when asked (importlib.metadata
    costs 0.08 s of every command's start-up otherwise)."""
    if name != "__version__":
        raise AttributeError(f"module 'talkdown' has no attribute {name!r}")
    from importlib import metadata

    try:
        return metadata.version("talkdown")
    except metadata.PackageNotFoundError:  # run from a source tree
        return "0+unknown"


def transcribe(source: str, *, model: str = "auto", language: str | None = None, engine: str = "faster-whisper",
               diarize: DiarizeOptions | bool = False, prime: bool = True, info_json: str | Path | None = None,
               tuning: Any = None) -> Transcript:
    """Transcribes one URL (any site yt-dlp reads) or local media file.

    Args:
        source: the URL or path.
        model: ``auto`` (the best model already here; never downloads), a model name or folder.
        language: a code (``en``, ``de``…), or None to detect it.
        engine: a registered engine (``talkdown.asr.engines()``).
        diarize: True (or ``DiarizeOptions``) to label speakers.
        prime: pass names from the item's metadata to the decoder.
        info_json: yt-dlp's ``.info.json`` for a local file (found beside it by default).
        tuning: the engine's own options (``talkdown.asr.whisper.WhisperOptions``).

    Raises:
        Error: the source, model or options are unusable.
    """
    from . import pipeline

    options = TranscribeOptions(engine=engine, model=model, language=language, prime=prime, tuning=tuning)
    item = pipeline.ItemJob(transcribe=options, diarize=_diarize(diarize))
    job = pipeline.Job(out_dir=None, info_json=Path(info_json) if info_json else None, item=item)
    (outcome,) = pipeline.transcribe_sources([source], job)
    if outcome.error is not None or outcome.transcript is None:
        raise Error(outcome.error or f"{source} gave no transcript.")
    return outcome.transcript


def archive(sources: Iterable[str], root: str | Path, *, limit: int | None = None, since: str | None = None,
            jobs: int = 1, retry_failed: bool = False, model: str = "auto", language: str | None = None,
            engine: str = "faster-whisper", executor: str = "local", diarize: DiarizeOptions | bool = False,
            prime: bool = True) -> list:
    """Brings the archive at ``root`` up to date with channels, playlists, feeds, URL lists or folders.

    Returns:
        One ``talkdown.archiving.ItemResult`` per item (status ``archived``, ``skipped``,
        ``waiting`` or ``failed`` with its ``error``).

    Raises:
        Error: the archive is unwritable or held by another run, or the model is unusable.
    """
    from . import archiving, pipeline

    options = TranscribeOptions(engine=engine, model=model, language=language, prime=prime)
    job = archiving.ArchiveJob(root=Path(root), limit=limit, since=since, jobs=jobs, retry_failed=retry_failed,
                               executor=executor, item=pipeline.ItemJob(transcribe=options, diarize=_diarize(diarize)))
    return list(archiving.archive(list(sources), job))


def read_json(text: str) -> Transcript:
    """A transcript from talkdown's JSON (the archive's source of truth)."""
    from .render import read_json as reading

    return reading(text)


def parse_markdown(text: str) -> Transcript:
    """A transcript from Markdown, talkdown's or the old pytube + whisper pipeline's."""
    from .parse import parse_markdown as parsing

    return parsing(text)


def search(root: str | Path, query: str, *, limit: int = 20) -> list:
    """Lines of the archive at ``root`` that match ``query`` (``talkdown.store.Hit`` objects)."""
    from .store import search as searching

    return searching(Path(root), query, limit=limit)


def _diarize(value: DiarizeOptions | bool) -> DiarizeOptions | None:
    if isinstance(value, DiarizeOptions):
        return value
    return DiarizeOptions() if value else None
