"""Channels, playlists, feeds, URL lists and folders in; an archive kept up to date out.

Builds on ``pipeline`` (one item's stages) and ``store`` (files, catalogue). The order
of writes makes a crash at any moment harmless: the JSON (the source of truth), then
the Markdown, each atomically, then the catalogue row and its lines in one
transaction; ``Catalog.reconcile`` at the next start mends whatever a kill left
between those steps. Downloads run in their own threads ahead of transcription, and
``jobs`` transcription threads share one model (CTranslate2 releases the GIL), while
this thread alone writes files and the catalogue.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import deque
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Sequence

from . import cache, info, pipeline
from .errors import Error
from .parse import parse_markdown
from .render import read_json, render
from .store import Catalog, archive_paths, ensure_writable, lock, write_atomic
from .diarize import DiarizeOptions, validate
from .transcribe import TranscribeOptions, Transcriber
from .types import Media, Transcript

MEDIA_SUFFIXES = frozenset(".mp3 .m4a .aac .opus .ogg .oga .flac .wav .webm .mp4 .mkv .mov .avi .wma".split())
BACKOFF_HOURS = 6.0  # a failed item is tried again after this long (doubling per attempt) or with --retry-failed


@dataclass(frozen=True, slots=True)
class ArchiveJob:
    root: Path
    limit: int | None = None
    since: str | None = None  # ISO date: only items uploaded on or after it
    jobs: int = 1
    retry_failed: bool = False
    transcribe: TranscribeOptions = TranscribeOptions()
    diarize: DiarizeOptions | None = None
    speaker_names: tuple[tuple[str, str], ...] = ()
    cache_dir: Path = dataclasses.field(default_factory=cache.cache_dir)


@dataclass(frozen=True, slots=True)
class ItemResult:
    """One item's fate: 'archived', 'skipped' or 'failed' (with the message)."""

    media: Media
    status: str
    error: str | None = None
    path: Path | None = None


@dataclass(frozen=True, slots=True)
class Listing:
    """What the sources hold: the items to do, those already done, and sources that failed."""

    todo: tuple[Media, ...]
    skipped: tuple[Media, ...]
    errors: tuple[tuple[str, str], ...]


def _list_source(source: str, limit: int | None) -> Iterator[Media]:
    if info.is_url(source):
        from . import fetch  # lazily: a folder of local files needs no yt-dlp

        yield from fetch.entries(source, limit)
        return
    path = Path(source).expanduser()
    if path.is_dir():
        for file in sorted(p for p in path.rglob("*") if p.suffix.lower() in MEDIA_SUFFIXES):
            yield pipeline.load_media(str(file))[0]
    elif path.suffix.lower() == ".txt" and path.is_file():
        from . import fetch

        for url in path.read_text(encoding="utf-8").split():
            if not url.startswith("#"):
                yield from fetch.entries(url, limit)
    else:
        yield pipeline.load_media(source)[0]


def _due(catalog: Catalog, media: Media, retry_failed: bool, now: dt.datetime) -> bool:
    row = catalog.get(media.id)
    if row is None:
        return True
    if row.status == "done":
        return False
    if retry_failed:
        return True
    last = dt.datetime.fromisoformat(row.updated_at)
    if last.tzinfo is None:
        last = last.replace(tzinfo=dt.timezone.utc)
    return now - last >= dt.timedelta(hours=BACKOFF_HOURS * 2 ** max(row.attempts - 1, 0))


def list_items(sources: Sequence[str], catalog: Catalog, job: ArchiveJob) -> Listing:
    """Enumerates every source, newest first, and splits what is due from what is done."""
    found: dict[str, Media] = {}
    errors = []
    for source in sources:
        try:
            for media in _list_source(source, job.limit):
                found.setdefault(media.id, media)
        except Error as e:
            errors.append((source, str(e)))
    items = [m for m in found.values() if not job.since or (m.upload_date or "") >= job.since]
    items.sort(key=lambda m: m.upload_date or "", reverse=True)
    if job.limit is not None:
        items = items[: job.limit]
    now = dt.datetime.now(dt.timezone.utc)
    todo = tuple(m for m in items if _due(catalog, m, job.retry_failed, now))
    skipped = tuple(m for m in items if m not in todo)
    return Listing(todo, skipped, tuple(errors))


def store_transcript(catalog: Catalog, root: Path, transcript: Transcript, markdown: str | None = None) -> Path:
    """Writes JSON, then Markdown, then the catalogue row: the crash-safe order."""
    paths = archive_paths(root, transcript.media)
    write_atomic(paths.json, render(transcript, "json"))
    write_atomic(paths.markdown, markdown if markdown is not None else render(transcript, "md"))
    catalog.record_done(transcript, paths.markdown, paths.json)
    return paths.markdown


def _recover(catalog: Catalog, root: Path) -> None:
    """Mends what a killed run left: rows without files go, files without rows come back."""
    for json_path in catalog.reconcile(read_json).unrendered:
        store_transcript(catalog, root, read_json(json_path.read_text(encoding="utf-8")))


def _prepare(media: Media, cache_dir: Path) -> tuple[Media, Path]:
    if media.path:
        return media, Path(media.path)
    from . import fetch

    if media.url and not media.title:
        media = fetch.resolve(media.url)
    return media, fetch.download_audio(media, cache_dir / "audio")


def _complete(media: Media, fetched: Future, transcriber: Transcriber, reporter: pipeline.Reporter,
              job: ArchiveJob) -> tuple[Transcript, Path]:
    media_full, audio = fetched.result()
    transcript = pipeline.transcribe_media(media_full, audio, transcriber, reporter, job.diarize, job.speaker_names)
    return transcript, audio


def _run(items: Sequence[Media], job: ArchiveJob, transcriber: Transcriber,
         reporter: pipeline.Reporter) -> Iterator[tuple[Media, Future]]:
    """Yields (media, finished future of (Transcript, audio path)) in completion order."""
    queue = iter(items)
    window = 2 * job.jobs + 1
    fetching: deque[tuple[Media, Future]] = deque()
    working: dict[Future, Media] = {}
    downloads = ThreadPoolExecutor(2, thread_name_prefix="download")
    workers = ThreadPoolExecutor(job.jobs, thread_name_prefix="transcribe")

    def top_up() -> None:
        while len(fetching) + len(working) < window:
            media = next(queue, None)
            if media is None:
                return
            fetching.append((media, downloads.submit(_prepare, media, job.cache_dir)))

    finished = False
    try:
        top_up()
        while fetching or working:
            while fetching and len(working) < job.jobs:
                media, fetched = fetching.popleft()
                working[workers.submit(_complete, media, fetched, transcriber, reporter, job)] = media
            done, _ = wait(working, return_when=FIRST_COMPLETED)
            for future in done:
                yield working.pop(future), future
            top_up()
        finished = True
    finally:
        # At Ctrl-C or an error, a transcription still running is not waited for: only
        # this thread stores results, so nothing of it is written.
        for pool in (downloads, workers):
            pool.shutdown(wait=finished, cancel_futures=not finished)


def archive(sources: Sequence[str], job: ArchiveJob, reporter: pipeline.Reporter = pipeline.SilentReporter(),
            on_listed: Callable[[Listing], None] | None = None) -> Iterator[ItemResult]:
    """Brings the archive at ``job.root`` up to date with ``sources``.

    Yields one ``ItemResult`` per item as it finishes (skipped ones first).

    Raises:
        Error: the archive folder is unwritable or another run holds it.
    """
    ensure_writable(job.root)
    if job.diarize is not None:
        validate(job.diarize)
    with lock(job.root), Catalog(job.root / "talkdown.db") as catalog:
        _recover(catalog, job.root)
        listing = list_items(sources, catalog, job)
        if on_listed:
            on_listed(listing)
        run_id = catalog.start_run()
        counts = {"archived": 0, "skipped": len(listing.skipped), "failed": len(listing.errors)}
        try:
            for media in listing.skipped:
                yield ItemResult(media, "skipped")
            for source, message in listing.errors:
                yield ItemResult(Media(id=source, title=source), "failed", message)
            if listing.todo:
                transcriber = Transcriber(job.transcribe if job.jobs == 1 else
                                          dataclasses.replace(job.transcribe, threads=1, workers=job.jobs))
                for media, future in _run(listing.todo, job, transcriber, reporter):
                    result = _finish(catalog, job, media, future)
                    counts[result.status] += 1
                    yield result
        finally:
            catalog.end_run(run_id, **counts)


def _finish(catalog: Catalog, job: ArchiveJob, media: Media, future: Future) -> ItemResult:
    try:
        transcript, audio = future.result()
        path = store_transcript(catalog, job.root, transcript)
    except Error as e:
        catalog.record_failure(media.id, str(e), title=media.title, url=media.url,
                               channel=media.channel, upload_date=media.upload_date)
        return ItemResult(media, "failed", str(e))
    if not media.path and audio.is_relative_to(job.cache_dir):
        audio.unlink(missing_ok=True)  # archived: the transcript is what we keep
    return ItemResult(transcript.media, "archived", path=path)


def import_transcripts(src: Path, root: Path) -> Iterator[tuple[Path, str | None]]:
    """Indexes transcripts that already exist (the seed's Markdown, ours, our JSON).

    Yields (file, None) for each imported file and (file, message) for each skipped one.
    """
    if not src.is_dir():
        raise Error(f"{src} is not a folder of transcripts.")
    ensure_writable(root)
    with lock(root), Catalog(root / "talkdown.db") as catalog:
        for path in sorted(p for p in src.rglob("*") if p.suffix in (".md", ".json") and p.is_file()):
            if path.suffix == ".json" and path.parent.name == ".json" and (path.parent.parent / path.stem).exists():
                continue
            try:
                text = path.read_text(encoding="utf-8")
                transcript = read_json(text) if path.suffix == ".json" else parse_markdown(text)
                store_transcript(catalog, root, transcript, markdown=text if path.suffix == ".md" else None)
                yield path, None
            except (Error, UnicodeDecodeError, OSError) as e:
                yield path, str(e) if isinstance(e, Error) else f"cannot be read ({e})"
