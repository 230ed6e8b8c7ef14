"""The ``talkdown`` command: flags in, options to the pipeline, results and errors out.

click parses flags; rich draws progress bars on stderr only when stderr is a
terminal. Results (paths written, transcripts) go to stdout, everything else to
stderr, so pipes stay clean. Every ``talkdown.Error`` becomes one sentence and a
non-zero exit; any other exception is a bug and keeps its traceback.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.console import Console
from rich.progress import (BarColumn, DownloadColumn, Progress, TaskID, TextColumn,
                           TimeRemainingColumn)

from . import pipeline
from .errors import Error
from .render import FORMATS, render
from .transcribe import TranscribeOptions, available_models

_err = Console(stderr=True, highlight=False)


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
        columns = [TextColumn("{task.description}", style="bold"), BarColumn()]
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


def _fail(message: str) -> None:
    _err.print(f"[red]error:[/] {message}", markup=True, soft_wrap=True)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="talkdown")
def cli() -> None:
    """Turn spoken video and audio into readable, searchable Markdown transcripts.

    \b
    Examples:
      talkdown transcribe https://www.youtube.com/watch?v=MGgDHevAc8A -o transcripts/
      talkdown transcribe talk.mp3 -f md,srt,json -o out/
      talkdown models
    """


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
@click.option("--info-json", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Metadata yt-dlp wrote (--write-info-json) for a local file; found beside it by default.")
@click.option("--beam-size", type=click.IntRange(1, 10), default=5, show_default=True, help="Decoder beam width.")
@click.option("--batch-size", type=click.IntRange(0, 64), default=8, show_default=True,
              help="VAD chunks decoded together (0: sequential decoding).")
@click.option("--threads", type=click.IntRange(0, 256), default=0, help="CPU threads (0: automatic).")
def transcribe(sources: tuple[str, ...], out_dir: str, formats: tuple[str, ...], model: str, language: str,
               vad: bool, info_json: Path | None, beam_size: int, batch_size: int, threads: int) -> None:
    """Transcribe URLs and local files to Markdown (and SRT, VTT, JSON, TXT).

    SOURCE is a video or audio URL (YouTube or any site yt-dlp supports) or a local
    media file. Each becomes '<YYYY-MM-DD> <title> [<id>].md' in the output folder.

    \b
    Examples:
      talkdown transcribe https://www.youtube.com/watch?v=MGgDHevAc8A -o transcripts/
      talkdown transcribe lecture.mp4 podcast.mp3 -f md,srt,json -o out/
      talkdown transcribe talk.mp3 -o - | less
    """
    job = pipeline.Job(
        out_dir=None if out_dir == "-" else Path(out_dir),
        formats=formats,
        info_json=info_json,
        transcribe=TranscribeOptions(model=model, language=language, vad=vad, beam_size=beam_size,
                                     batch_size=batch_size, threads=threads),
    )
    written = failed = 0
    try:
        for outcome in pipeline.transcribe_sources(sources, job, _RichReporter()):
            if outcome.error:
                failed += 1
                _fail(f"{outcome.source}: {outcome.error}" if len(sources) > 1 else outcome.error)
                continue
            written += 1
            if job.out_dir is None and outcome.transcript is not None:
                click.echo(render(outcome.transcript, formats[0]), nl=False)
            for path in outcome.paths:
                click.echo(str(path))
    except Error as e:
        _fail(str(e))
        sys.exit(1)
    if len(sources) > 1:
        _err.print(f"{written} written, {failed} failed")
    if failed:
        sys.exit(1)


@cli.command()
def models() -> None:
    """List the models usable offline here; the first is what --model auto picks."""
    for i, m in enumerate(available_models()):
        marker = "*" if i == 0 else " "
        click.echo(f"{marker} {m.name:<24} {m.path}")
    click.echo("(* = default; other faster-whisper names download on first use where a network allows)", err=True)


def main() -> None:
    cli()
