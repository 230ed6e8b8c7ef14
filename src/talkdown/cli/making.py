"""The commands that make transcripts: ``transcribe``, ``archive``, ``import``."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ..asr import TranscribeOptions, engines
from ..executors import EXECUTORS
from ..render import FORMATS, render
from . import cli
from .console import RichReporter, err, fail, interrupted
from .options import ARCHIVE, date_option, diarize_options, formats, source_options, speaker_options


@cli.command()
@click.argument("sources", nargs=-1, required=True, metavar="SOURCE...")
@click.option("-o", "--output", "out_dir", default=".", show_default=True, metavar="DIR",
              help="Folder for the transcripts ('-' prints one transcript to stdout).")
@click.option("-f", "--format", "formats", default="md", show_default=True, callback=formats,
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
@click.option("--batch-size", type=click.IntRange(0, 64), default=None,
              help="VAD chunks decoded together (0: sequential decoding). [default: 16 on a GPU; on a CPU 4 windows shared among the decoders, so memory stays under 1 GiB]")
@click.option("--threads", type=click.IntRange(0, 256), default=0, help="CPU threads (0: automatic).")
@source_options
@speaker_options
def transcribe(sources: tuple[str, ...], out_dir: str, formats: tuple[str, ...], model: str, language: str,
               vad: bool, prompt: bool, info_json: Path | None, engine: str, beam_size: int, batch_size: int | None,
               threads: int, source: str, caption_kind: str, device: str, flag_unsure: bool, **speakers) -> None:
    """Transcribe URLs and local files to Markdown (and SRT, VTT, JSON, TXT).

    SOURCE is a video or audio URL (YouTube or any site yt-dlp supports) or a local
    media file. Each becomes '<YYYY-MM-DD> <title> [<id>].md' in the output folder.

    \b
    Examples:
      talkdown transcribe https://www.youtube.com/watch?v=MGgDHevAc8A -o transcripts/
      talkdown transcribe lecture.mp4 podcast.mp3 -f md,srt,json -o out/
      talkdown transcribe talk.mp3 -o - | less
      talkdown transcribe https://www.youtube.com/watch?v=MGgDHevAc8A --source captions
    """
    if any(not s.strip() for s in sources):
        raise click.UsageError("A SOURCE is empty; give a URL or a media file's path.")
    diarize = diarize_options(speakers)
    if "rttm" in formats and diarize is None:
        raise click.UsageError("-f rttm writes speaker turns, which only --diarize finds; add --diarize.")
    from .. import pipeline  # the engine's libraries load for the commands that transcribe, not for --help

    names = speakers.get("speaker_names") or ()
    options = TranscribeOptions(engine=engine, model=model, language=language, vad=vad, threads=threads,
                                prime=prompt, tuning=_tuning(engine, beam_size=beam_size, batch_size=batch_size,
                                                             device=device))
    item = pipeline.ItemJob(transcribe=options, diarize=diarize, speaker_names=names, source=source,
                            auto_captions=caption_kind == "auto")
    job = pipeline.Job(out_dir=None if out_dir == "-" else Path(out_dir), formats=formats, info_json=info_json,
                       item=item, flag_unsure=flag_unsure)
    written = failed = 0
    outcomes = pipeline.transcribe_sources(sources, job, RichReporter())
    try:
        for outcome in outcomes:
            if outcome.error:
                failed += 1
                fail(f"{outcome.source}: {outcome.error}" if len(sources) > 1 else outcome.error)
                continue
            written += 1
            if job.out_dir is None and outcome.transcript is not None:
                click.echo(render(outcome.transcript, formats[0], flag_unsure=flag_unsure), nl=False)
            for path in outcome.paths:
                click.echo(str(path))
    except KeyboardInterrupt:
        outcomes.close()
        interrupted(f"{written} of {len(sources)} written; run the same command again for the rest")
    if len(sources) > 1:
        err.print(f"{written} written, {failed} failed")
    if failed:
        sys.exit(1)


@cli.command()
@click.argument("sources", nargs=-1, required=True, metavar="URL|FEED|FILE...")
@ARCHIVE
@click.option("--limit", type=click.IntRange(1), help="Only the N newest items of each source.")
@click.option("--since", callback=date_option, help="Only items uploaded on or after this date (YYYY-MM-DD).")
@click.option("--jobs", type=click.IntRange(1, 16), default=1, show_default=True,
              help="Items transcribed at once (each on one CPU thread when > 1).")
@click.option("--retry-failed", is_flag=True, help="Try failed items again now, without waiting for the back-off.")
@click.option("--model", default="auto", show_default=True, envvar="TALKDOWN_MODEL", help="As for transcribe.")
@click.option("--engine", type=click.Choice([e.name for e in engines()]), default="faster-whisper",
              show_default=True, envvar="TALKDOWN_ENGINE", help="As for transcribe.")
@click.option("--executor", type=click.Choice(sorted(EXECUTORS)), default="local", show_default=True,
              help="Where items are transcribed: local (threads here, one model shared) or ray "
                   "(a Ray cluster, --jobs workers with a model each).")
@click.option("--ray-address", metavar="auto|HOST:PORT", envvar="RAY_ADDRESS",
              help="The Ray cluster to use with --executor ray (default: start one on this machine).")
@click.option("--language", default="auto", show_default=True, help="Spoken language code or auto.")
@click.option("--prompt/--no-prompt", default=True, show_default=True,
              help="Prime the decoder with names from each item's metadata.")
@source_options
@speaker_options
def archive(sources: tuple[str, ...], root: Path, limit: int | None, since: str | None, jobs: int,
            retry_failed: bool, model: str, engine: str, executor: str, ray_address: str | None, language: str,
            prompt: bool, source: str, caption_kind: str, device: str, flag_unsure: bool, **speakers) -> None:
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
    from .. import archiving, pipeline

    names = speakers.get("speaker_names") or ()
    item = pipeline.ItemJob(transcribe=TranscribeOptions(engine=engine, model=model, language=language, prime=prompt,
                                                         tuning=_tuning(engine, device=device)),
                            diarize=diarize_options(speakers), speaker_names=names, source=source,
                            auto_captions=caption_kind == "auto")
    job = archiving.ArchiveJob(root=root, limit=limit, since=since, jobs=jobs, retry_failed=retry_failed,
                               executor=executor, address=ray_address, item=item, flag_unsure=flag_unsure)
    counts = {"archived": 0, "skipped": 0, "waiting": 0, "failed": 0}
    failures: list[str] = []
    total = [0]

    def listed(listing: archiving.Listing) -> None:
        total[0] = len(listing.todo) + len(listing.errors)
        waiting = f", {len(listing.waiting)} failed before and wait for their retry" if listing.waiting else ""
        err.print(f"{len(listing.todo)} to transcribe, {len(listing.skipped)} already archived{waiting}")

    results = archiving.archive(sources, job, RichReporter() if jobs == 1 else pipeline.SilentReporter(), listed)
    try:
        for result in results:
            counts[result.status] += 1
            step = f"[{counts['archived'] + counts['failed']}/{total[0]}]"
            if result.status == "archived":
                err.print(f"{step} archived {result.media.title}")
                click.echo(str(result.path))
            elif result.status in ("failed", "waiting"):
                failures.append(f"{_named(result.media)}: {result.error}")
                if result.status == "failed":
                    fail(f"{step} {result.media.title}: {result.error}")
    except KeyboardInterrupt:
        results.close()
        interrupted(f"{counts['archived']} archived in this run; run the same command again to go on")
    waiting = (f", {counts['waiting']} waiting to be retried (after the back-off, or now with --retry-failed)"
               if counts["waiting"] else "")
    if failures:
        err.print("Not archived:")
        for line in failures:
            err.print(f"  {line}", soft_wrap=True)
    err.print(f"{counts['archived']} archived, {counts['skipped']} skipped, {counts['failed']} failed{waiting}")
    if failures:
        sys.exit(1)


def _named(media) -> str:  # type: ignore[no-untyped-def]
    """How the summary names an item: its title, and where it is from when that says more."""
    where = media.path or media.url
    return f"{media.title} ({where})" if where and where != media.title else media.title


@cli.command(name="import")
@click.argument("src", type=click.Path(exists=True, file_okay=False, path_type=Path))
@ARCHIVE
def import_(src: Path, root: Path) -> None:
    """Index transcripts that already exist (the pytube/whisper format, or talkdown's) without re-transcribing.

    \b
    Example:
      talkdown import old-transcripts/ -o archive/
    """
    from .. import importing

    counts = {"imported": 0, "kept": 0, "passed": 0, "failed": 0}
    for result in importing.import_transcripts(src, root):
        counts[result.status] += 1
        if result.status == "failed":
            fail(f"{result.path}: {result.message}")
        elif result.status == "kept":
            err.print(f"kept: {result.path}: {result.message}", soft_wrap=True)
    kept = f", {counts['kept']} kept as archived (richer than the file)" if counts["kept"] else ""
    passed = f", {counts['passed']} passed over (JSON that is not a transcript)" if counts["passed"] else ""
    err.print(f"{counts['imported']} imported{kept}{passed}, {counts['failed']} failed")
    if counts["failed"]:
        sys.exit(1)


def _tuning(engine: str, **whisper: int | str | None) -> object:
    """The engine's own options from its flags: faster-whisper's beam and batch, the fake
    engine's from its environment variables (tests shape it so through the command)."""
    if engine == "faster-whisper":
        from ..asr.placement import WhisperOptions

        return WhisperOptions(**whisper)  # type: ignore[arg-type]
    if engine == "fake":
        from ..asr import fake

        return fake.options_from_env()
    return None
