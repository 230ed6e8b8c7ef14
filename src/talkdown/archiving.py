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
import functools
from collections import deque
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Sequence

from . import asr, info, pipeline
from .errors import Error
from .render import read_json, render
from .store import DB_NAME, Catalog, Video, archive_paths, ensure_writable, lock, write_atomic
from .diarize import validate
from .executors import Executor, open_executor
from .types import Media, Transcript

MEDIA_SUFFIXES = frozenset(".mp3 .m4a .aac .opus .ogg .oga .flac .wav .webm .mp4 .mkv .mov .avi .wma".split())
BACKOFF_HOURS = 6.0  # a failed item is tried again after this long (doubling per attempt) or with --retry-failed


@dataclass(frozen=True, slots=True)
class ArchiveJob:
    root: Path
    limit: int | None = None
    since: str | None = None  # ISO date: only items uploaded on or after it
    jobs: int = 1  # items transcribed at once
    retry_failed: bool = False
    executor: str = "local"  # where they are transcribed (executors.EXECUTORS)
    address: str | None = None  # the cluster, for executors that have one (ray: auto, HOST:PORT)
    item: pipeline.ItemJob = pipeline.ItemJob()
    flag_unsure: bool = False  # the Markdown marks unsure lines with " (?)"


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


def store_transcript(catalog: Catalog, root: Path, transcript: Transcript, markdown: str | None = None,
                     flag_unsure: bool = False) -> Path:
    """Writes JSON, then Markdown, then the catalogue row: the crash-safe order.

    When the item was archived before under other names (its title or channel changed),
    the old files go once the new row is in: one item, one pair of files.
    """
    paths = archive_paths(root, transcript.media)
    previous = catalog.get(transcript.media.id)
    write_atomic(paths.json, render(transcript, "json"))
    write_atomic(paths.markdown, markdown if markdown is not None else render(transcript, "md", flag_unsure=flag_unsure))
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


def _work(engine: asr.Engine, media: Media, item: pipeline.ItemJob, audio: Path | None,
          reporter: pipeline.Reporter) -> tuple[str, Path | None]:
    """A worker's part of one item, on its own engine: the transcript as its JSON (what
    crosses to the driver from any executor), and the audio the driver may now drop.

    A worker that fetched the audio itself (``audio`` None) drops its own download.
    From captions alone (``item.source`` captions) there is no audio at all.
    """
    if not item.needs_engine:
        return render(pipeline.run_item(media, None, item, reporter), "json"), None
    fetched = audio is None
    if fetched:
        media, audio = pipeline.prepare(media, item, reporter)
    transcript = pipeline.run_item(media, engine, item, reporter, audio=audio)
    if fetched and not media.path:
        audio.unlink(missing_ok=True)
    return render(transcript, "json"), None if fetched else audio


def _run(items: Sequence[Media], job: ArchiveJob, executor: Executor,
         reporter: pipeline.Reporter) -> Iterator[tuple[Media, Future]]:
    """Yields (media, finished future of (Transcript, audio path)) in completion order.

    Where workers share this machine's disk, downloads run in two threads of their own
    ahead of transcription (a window of ``2 × jobs + 1`` items), so a worker never waits
    on the network; other workers fetch their items themselves.
    """
    queue = iter(items)
    window = 2 * job.jobs + 1
    fetching: dict[Future, Media] = {}
    ready: deque[tuple[Media, Path | None]] = deque()
    working: dict[Future, Media] = {}
    downloads = ThreadPoolExecutor(2, thread_name_prefix="download")

    def top_up() -> None:
        while len(fetching) + len(ready) + len(working) < window and (media := next(queue, None)) is not None:
            if executor.fetches or not job.item.needs_engine:  # captions need no audio
                ready.append((media, None))
            else:
                fetching[downloads.submit(pipeline.prepare, media, job.item)] = media

    finished = False
    try:
        top_up()
        while fetching or ready or working:
            while ready and len(working) < job.jobs:
                media, audio = ready.popleft()
                # Progress crosses only to workers in this process (a terminal's bar stays here).
                shown = reporter if not executor.fetches else pipeline.SilentReporter()
                working[executor.submit(_work, media, job.item, audio, shown)] = media
            done, _ = wait([*fetching, *working], return_when=FIRST_COMPLETED)
            for future in done:
                if future in fetching:
                    media = fetching.pop(future)
                    if future.exception() is not None:
                        yield media, future  # the download failed: that is this item's result
                    else:
                        ready.append(future.result())
                else:
                    yield working.pop(future), future
            top_up()
        finished = True
    finally:
        # At Ctrl-C or an error, a transcription still running is not waited for: only
        # this thread stores results, so nothing of it is written.
        downloads.shutdown(wait=finished, cancel_futures=not finished)
        executor.shutdown(wait=finished, cancel=not finished)


def archive(sources: Sequence[str], job: ArchiveJob, reporter: pipeline.Reporter = pipeline.SilentReporter(),
            on_listed: Callable[[Listing], None] | None = None) -> Iterator[ItemResult]:
    """Brings the archive at ``job.root`` up to date with ``sources``.

    Yields one ``ItemResult`` per item as it finishes (skipped ones first).

    Raises:
        Error: the archive folder is unwritable or another run holds it.
    """
    ensure_writable(job.root)
    if job.item.diarize is not None:
        validate(job.item.diarize)
    with lock(job.root), Catalog(job.root / DB_NAME) as catalog:
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
                # Local threads share one model (CTranslate2 serves ``jobs`` calls at once);
                # other executors' workers each load their own.
                shared = job.executor == "local"
                options = (job.item.transcribe if job.jobs == 1 else
                           dataclasses.replace(job.item.transcribe, threads=1, workers=job.jobs if shared else 1))
                setup = functools.partial(asr.load, options) if job.item.needs_engine else _no_engine
                executor = open_executor(job.executor, job.jobs, setup, job.address)
                for media, future in _run(listing.todo, job, executor, reporter):
                    result = _finish(catalog, job, media, future)
                    counts[result.status] += 1
                    yield result
        finally:
            catalog.end_run(run_id, **counts)


def _no_engine() -> None:
    """A worker's setup when words come from captions: no model to load."""
    return None


def _finish(catalog: Catalog, job: ArchiveJob, media: Media, future: Future) -> ItemResult:
    try:
        text, audio = future.result()
        transcript = read_json(text)
        path = store_transcript(catalog, job.root, transcript, flag_unsure=job.flag_unsure)
    except Error as e:
        catalog.record_failure(media.id, str(e), title=media.title, url=media.url,
                               channel=media.channel, upload_date=media.upload_date)
        return ItemResult(media, "failed", str(e))
    if audio is not None and not media.path and audio.is_relative_to(job.item.cache_dir):
        audio.unlink(missing_ok=True)  # archived: the transcript is what we keep
    return ItemResult(transcript.media, "archived", path=path)
