"""Sources in, transcripts on disk out: the one place that knows the order of an item's steps.

resolve (fetch / decode.probe) → download (fetch) → decode → transcribe (asr) → diarize →
shape → render → write (store). ``transcribe`` and ``archive`` both run an item through
``run_item``; stages never call each other, this module composes them and reports
progress through a small ``Reporter`` so that the CLI alone decides how progress looks
(a rich bar on a terminal, nothing in a pipe).
"""

from __future__ import annotations

import dataclasses
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Protocol, Sequence

from . import asr, captions, decode, diarize, info, prime, streaming
from .asr import Engine, Hints, TranscribeOptions
from .cache import cache_dir
from .errors import CaptionsError, DecodeError, Error, FetchError, NoCaptionsError, OutputError
from .outputs import write_outputs
from .shape import rename_speakers, shape
from .store.files import ensure_writable
from .types import Captions, Media, Transcript

SOURCES = ("asr", "captions", "auto")  # where an item's words come from (--source)


class Reporter(Protocol):
    """Where progress goes; every method may be a no-op."""

    def task(self, description: str, total: float | None, unit: str) -> None: ...

    def update(self, done: float, total: float | None = None) -> None: ...

    def done(self) -> None: ...


class SilentReporter:
    def task(self, description: str, total: float | None, unit: str) -> None:
        pass

    def update(self, done: float, total: float | None = None) -> None:
        pass

    def done(self) -> None:
        pass


@dataclass(frozen=True, slots=True)
class ItemJob:
    """What one item's steps need, the same in ``transcribe`` and in ``archive``."""

    transcribe: TranscribeOptions = TranscribeOptions()
    diarize: diarize.DiarizeOptions | None = None  # None: no speaker labels
    speaker_names: tuple[tuple[str, str], ...] = ()  # ("Speaker 1", "Anchor"), …
    cache_dir: Path = dataclasses.field(default_factory=cache_dir)  # downloaded audio, kept between runs
    source: str = "asr"  # asr: speech recognition; captions: the item's captions only; auto: both, aligned
    auto_captions: bool = False  # the site's automatic captions may stand in for missing manual ones

    @property
    def needs_engine(self) -> bool:
        return self.source != "captions"


@dataclass(frozen=True, slots=True)
class Job:
    """Everything ``transcribe`` needs besides the sources."""

    out_dir: Path | None  # None: print the single transcript to stdout
    formats: tuple[str, ...] = ("md",)
    info_json: Path | None = None
    item: ItemJob = ItemJob()
    flag_unsure: bool = False  # the Markdown marks unsure lines with " (?)"


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of one source: the files written, or the error that stopped it."""

    source: str
    transcript: Transcript | None = None
    paths: tuple[Path, ...] = ()
    error: str | None = None


def load_media(source: str, info_json: Path | None = None) -> tuple[Media, Path | None]:
    """Media for a source, and the local file when it is one (None for a URL).

    Raises:
        Error: the URL cannot be resolved or the file is not usable media.
    """
    if info.is_url(source):
        from . import fetch  # yt-dlp: 65 ms to import, never needed for a local file

        return fetch.resolve(source), None
    path = Path(info.local_path(source)).expanduser()
    media = decode.probe(path)
    sidecar = info_json or info.find_info_json(path)
    if sidecar is not None:
        # yt-dlp's metadata wins (title, channel, YouTube deep links); the file keeps the audio.
        media = dataclasses.replace(info.load_info_json(sidecar), path=media.path)
    return media, path


def transcribe_media(media: Media, audio_path: Path, engine: Engine, reporter: Reporter = SilentReporter(),
                     item: ItemJob = ItemJob(), track: Captions | None = None) -> Transcript:
    """Decodes, transcribes (and, with ``item.diarize``, diarizes) and shapes one item;
    with a caption ``track`` (``--source auto``), its words on the ASR's times."""
    options = item.transcribe
    names = prime.hotwords(media, engine.familiar) if options.prime else None
    reporter.task(f"Transcribing {media.title}", media.duration, "s")
    found = listener = None
    if item.diarize is not None and item.diarize.backend != "pyannote":
        listener = diarize.Listener(item.diarize)
    if item.diarize is None or listener is not None:  # a block at a time: memory flat in length
        heard, total = streaming.transcribe_in_blocks(engine, audio_path, Hints(hotwords=names),
                                                      progress=reporter.update,
                                                      beside=listener.hear if listener else None)
    else:  # pyannote's pipeline takes the whole file
        audio = decode.decode(audio_path)
        total = len(audio) / decode.SAMPLE_RATE
        # Speakers are found beside the transcription: diarization's one thread uses the core
        # time CTranslate2 leaves idle (it keeps 2 cores about 70 % busy, issue #6).
        found = streaming.Beside(diarize.diarize, audio, item.diarize)
        heard = engine(audio, Hints(hotwords=names), progress=lambda done, _total: reporter.update(done))
        del audio
    reporter.done()
    media = decode.settle_duration(media, total, audio_path)  # warns when the file is truncated
    disagreements: tuple = ()
    if track is not None:
        heard, disagreements = captions.aligned(track, heard)
    turns: tuple = ()
    if found is not None or listener is not None:
        reporter.task(f"Finding speakers in {media.title}", None, "s")
        turns = rename_speakers(found.result() if found else listener.turns(), dict(item.speaker_names))
        reporter.done()
    return shape(media, list(heard.segments), heard.model, language=heard.language,
                 prompt=_prompt(options.initial_prompt, names), turns=turns, disagreements=disagreements,
                 rated=track is None)


def prepare(media: Media, item: ItemJob, reporter: Reporter = SilentReporter()) -> tuple[Media, Path]:
    """The item's audio: its own file, or the download (resolving a listing's bare entry first).

    Raises:
        Error: the URL cannot be resolved or downloaded, or what it serves is not audio.
    """
    if media.path:
        return media, Path(media.path)
    media = _resolved(media)
    return media, download(media, item.cache_dir, reporter)


def _resolved(media: Media) -> Media:
    """A listing's bare entry (a URL, no title) as the site describes it."""
    if media.url and not media.title and not media.path:
        from . import fetch as fetching

        return fetching.resolve(media.url)
    return media


def run_item(media: Media, engine: Engine | None, item: ItemJob, reporter: Reporter = SilentReporter(),
             audio: Path | None = None) -> Transcript:
    """One item's steps after listing: its captions (``item.source``), ``prepare`` (unless
    ``audio`` is already here), then decode, transcribe, diarize and shape. What a worker
    of any executor runs; ``engine`` may be None only for ``source="captions"``."""
    track = None
    if item.source != "asr":
        media = _resolved(media)
        track = find_captions(media, item, reporter, required=item.source == "captions")
        if item.source == "captions":
            assert track is not None
            heard = captions.transcription(track)
            return shape(media, list(heard.segments), heard.model, language=heard.language, rated=False)
    if engine is None:
        raise ValueError("run_item needs an engine unless the source is captions")
    if audio is None:
        media, audio = prepare(media, item, reporter)
    return transcribe_media(media, audio, engine, reporter, item, track)


def find_captions(media: Media, item: ItemJob, reporter: Reporter = SilentReporter(),
                  required: bool = True) -> Captions | None:
    """The item's caption track in the wanted language: the file beside a local recording,
    else the site's (manual, or automatic with ``item.auto_captions``).

    Not ``required`` (``--source auto``), no track is None, and a track that cannot be
    fetched or read is None with a warning on stderr, so the item goes on by ASR alone
    (checked here, before the ASR's minutes are spent).

    Raises:
        NoCaptionsError: ``required`` and there is no such track (one sentence saying what there is).
        CaptionsError: ``required`` and the track cannot be read.
        FetchError: ``required`` and the track cannot be fetched.
    """
    wanted = item.transcribe.language
    language = wanted if wanted not in (None, "", "auto") else (media.language or "en")
    try:
        track = _track(media, item, language, reporter)
        if not required:
            captions.parse(track.text, track.format, track.origin)
        return track
    except (CaptionsError, FetchError) as e:
        if required:
            raise
        if not isinstance(e, NoCaptionsError):
            print(f"warning: {e} Transcribing {media.title} by speech recognition alone.", file=sys.stderr,
                  flush=True)
        return None


def _track(media: Media, item: ItemJob, language: str, reporter: Reporter) -> Captions:
    if media.path:
        path = Path(media.path)
        track = captions.beside(path, language)
        if track is None:
            there = captions.available_beside(path)
            also = f" (there are {', '.join(there)}: pick one with --language)" if there else ""
            raise NoCaptionsError(f"No {language} captions beside {path.name}: talkdown looks for "
                                  f"{path.stem}.{language}.json3, .vtt or .srv3{also}.")
        return track
    from . import fetch

    reporter.task(f"Fetching captions of {media.title}", None, "B")
    try:
        return fetch.captions(media, language, allow_auto=item.auto_captions)
    finally:
        reporter.done()


def _prompt(initial_prompt: str | None, hotwords: str | None) -> str | None:
    """What primed the decoder, as the transcript records it."""
    parts = [f"initial prompt: {initial_prompt}" if initial_prompt else "", f"hotwords: {hotwords}" if hotwords else ""]
    return "; ".join(p for p in parts if p) or None


def download(media: Media, cache_dir: Path, reporter: Reporter) -> Path:
    """The audio of ``media``, from the cache when what it holds decodes, else downloaded.

    A file that does not decode is never kept: a cached one is fetched again, a fresh
    one is removed, so a server that sent an error page once does not fail every run.

    Raises:
        Error: the download failed, or what the URL serves is not audio.
    """
    from . import fetch

    folder = cache_dir / "audio"
    if (cached := fetch.cached_audio(media, folder)) is not None:
        try:
            decode.check(cached)
            return cached
        except DecodeError:
            cached.unlink(missing_ok=True)
    reporter.task(f"Downloading {media.title}", None, "B")
    path = fetch.download_audio(media, folder, progress=lambda got, total: reporter.update(got, total))
    reporter.done()
    try:
        decode.check(path)
    except DecodeError as e:
        path.unlink(missing_ok=True)
        raise DecodeError(f"What {media.url} serves is not audio or video talkdown can read; "
                          "check the address (it was not kept, so the next run fetches it again).") from e
    return path


def transcribe_sources(sources: Sequence[str], job: Job, reporter: Reporter = SilentReporter()) -> Iterator[Outcome]:
    """Transcribes each source in turn; a failing source is reported and the rest go on.

    Raises:
        Error: before any source is tried, when the model or output folder is unusable.
    """
    if job.out_dir is not None:
        ensure_writable(job.out_dir)
    elif len(sources) != 1 or len(job.formats) != 1:
        raise OutputError("Writing to standard output takes one source and one format; pass -o DIR for more.")
    if job.item.diarize is not None:
        diarize.validate(job.item.diarize)
    engine = asr.load(job.item.transcribe) if job.item.needs_engine else None
    for source in sources:
        try:
            media, path = load_media(source, job.info_json)
            transcript = run_item(media, engine, job.item, reporter, audio=path)
            paths = write_outputs(transcript, job.formats, job.out_dir, job.flag_unsure) if job.out_dir else ()
            yield Outcome(source, transcript, paths)
        except Error as e:
            reporter.done()
            yield Outcome(source, error=str(e))
