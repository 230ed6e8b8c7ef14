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
from .render import read_json, render
from .store import Catalog, Video, archive_paths, ensure_writable, lock, write_atomic
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
    """One item's fate: 'archived', 'skipped' (done before), 'waiting' (failed before, not
    yet due again) or 'failed' (with the message)."""

    media: Media
    status: str
    error: str | None = None
    path: Path | None = None


@dataclass(frozen=True, slots=True)
class Unlisted:
    """An entry that could not even be listed: a source, a line of a URL list, a file of a folder."""

    name: str
    message: str


@dataclass(frozen=True, slots=True)
class Listing:
    """What the sources hold: the items to do, those done, those waiting for their retry
    (with the last error), and the entries that could not be listed."""

    todo: tuple[Media, ...]
    skipped: tuple[Media, ...]
    waiting: tuple[tuple[Media, str], ...]
    errors: tuple[Unlisted, ...]


def _list_source(source: str, in_list: bool = False) -> Iterator[Media | Unlisted]:
    """Every entry of one source; an entry that fails is an ``Unlisted``, and the rest go on."""
    try:
        if info.is_url(source):
            from . import fetch  # lazily: a folder of local files needs no yt-dlp

            yield from fetch.entries(source)
            return
        path = Path(info.local_path(source)).expanduser()
        if path.is_dir():
            for file in sorted(p for p in path.rglob("*") if p.suffix.lower() in MEDIA_SUFFIXES and p.is_file()):
                try:
                    yield pipeline.load_media(str(file))[0]
                except Error as e:
                    yield Unlisted(str(file), str(e))
        elif path.suffix.lower() == ".txt" and path.is_file() and not in_list:
            for line in _list_lines(path):
                yield from _list_source(line if info.is_url(line) else str(path.parent / line), in_list=True)
        else:
            yield pipeline.load_media(str(path))[0]
    except Error as e:
        yield Unlisted(source, str(e))


def _list_lines(path: Path) -> list[str]:
    """A URL list: one URL (or path, relative to the list) a line; blank lines and ``#`` comments are passed over."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as e:
        reason = e.strerror if isinstance(e, OSError) and e.strerror else "it is not UTF-8 text"
        raise Error(f"Cannot read the URL list {path}: {reason}.") from e
    return [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def _newest(items: Sequence[Media], job: ArchiveJob) -> list[Media]:
    """``--since``, then newest first, then ``--limit``: the N newest of what is recent enough.
    Items without a date keep the source's order, after the dated ones."""
    kept = [m for m in items if not job.since or (m.upload_date or "") >= job.since]
    kept.sort(key=lambda m: m.upload_date or "", reverse=True)
    return kept[: job.limit] if job.limit is not None else kept


def _row(catalog: Catalog, media: Media) -> Video | None:
    """The catalogue's row for ``media``, also under the id an older talkdown gave it.

    Before ids carried a hash of what they name, a direct link was ``generic:<file stem>``
    and a feed item ``generic:<guid>``. Such a row is this item's only when it is the same
    thing: the same URL, or (for a feed item) the same feed. Otherwise it is another file
    that happened to share the name, and this item is new.
    """
    if (row := catalog.get(media.id)) is not None or (old := info.legacy_id(media.id)) is None:
        return row
    row = catalog.get(old)
    if row is None:
        return None
    key = info.canonical_url(media.url or "")
    if row.url and media.url and info.canonical_url(row.url) == key:
        return row
    from_feed = not media.id.endswith(info.generic_id("", key))
    return row if from_feed and row.channel is not None and row.channel == media.channel else None


def _due(row: Video | None, retry_failed: bool, now: dt.datetime) -> bool:
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
    """Lists every entry of every source, newest first, and splits what is due from what is done.

    ``--limit`` and ``--since`` apply to each source, so the whole source is listed first.
    """
    found: dict[str, Media] = {}
    errors: list[Unlisted] = []
    for source in sources:
        medias = []
        for entry in _list_source(source):
            if isinstance(entry, Unlisted):
                errors.append(entry)
            else:
                medias.append(entry)
        for media in _newest(medias, job):
            found.setdefault(media.id, media)
    items = sorted(found.values(), key=lambda m: m.upload_date or "", reverse=True)
    now = dt.datetime.now(dt.timezone.utc)
    todo, skipped, waiting = [], [], []
    for media in items:
        row = _row(catalog, media)
        if row is not None and row.id != media.id and row.status == "failed":
            catalog.forget(row.id)  # an old-style failed row holds no files: retried under the new id
            row = None
        if _due(row, job.retry_failed, now):
            todo.append(media)
        elif row is not None and row.status == "done":
            skipped.append(media)
        else:
            waiting.append((media, (row.error if row else None) or "failed before"))
    return Listing(tuple(todo), tuple(skipped), tuple(waiting), tuple(errors))


def store_transcript(catalog: Catalog, root: Path, transcript: Transcript, markdown: str | None = None) -> Path:
    """Writes JSON, then Markdown, then the catalogue row: the crash-safe order.

    When the item was archived before under other names (its title or channel changed),
    the old files go once the new row is in: one item, one pair of files.
    """
    paths = archive_paths(root, transcript.media)
    previous = catalog.get(transcript.media.id)
    write_atomic(paths.json, render(transcript, "json"))
    write_atomic(paths.markdown, markdown if markdown is not None else render(transcript, "md"))
    catalog.record_done(transcript, paths.markdown, paths.json)
    if previous is not None and previous.status == "done":
        for old in {previous.md_path, previous.json_path} - {None}:
            if (root / old).resolve() not in (paths.markdown.resolve(), paths.json.resolve()):
                (root / old).unlink(missing_ok=True)
    return paths.markdown


def _recover(catalog: Catalog, root: Path) -> None:
    """Mends what a killed run left: rows without files go, files without rows come back."""
    for json_path in catalog.reconcile(read_json).unrendered:
        store_transcript(catalog, root, read_json(json_path.read_text(encoding="utf-8")))


def _prepare(media: Media, cache_dir: Path) -> tuple[Media, Path]:
    if media.path:
        return media, Path(media.path)
    if media.url and not media.title:
        from . import fetch

        media = fetch.resolve(media.url)
    return media, pipeline.download(media, cache_dir, pipeline.SilentReporter())


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
            for media, message in listing.waiting:
                yield ItemResult(media, "waiting", message)
            for entry in listing.errors:
                yield ItemResult(Media(id=entry.name, title=entry.name), "failed", entry.message)
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
