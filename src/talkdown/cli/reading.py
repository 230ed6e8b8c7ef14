"""The commands that read what was made: ``search``, ``render``, ``serve``, ``models``."""

from __future__ import annotations

import json
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape

from ..asr.models import available_models
from ..errors import Error
from ..parse import parse_markdown
from ..outputs import write_outputs
from ..render import FORMATS, read_json, render
from ..render.markdown import UNSURE_MARK
from ..render.timecode import clock, deep_link
from ..store import DB_NAME, Catalog, search as search_catalog
from ..store.search import MARK_END, MARK_START
from . import cli
from .console import err
from .options import ARCHIVE, date_option, formats


@cli.command()
@click.argument("query", default="")
@ARCHIVE
@click.option("--channel", help="Only this channel (case-insensitive).")
@click.option("--since", callback=date_option, help="Only videos uploaded on or after this date.")
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True)
@click.option("--unsure", is_flag=True,
              help="Only lines the recognizer was unsure of; with no QUERY, all of them, newest videos first.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per hit, for scripts.")
def search(query: str, root: Path, channel: str | None, since: str | None, limit: int, unsure: bool,
           as_json: bool) -> None:
    """Search every line of the archive; each hit links to the second it was said.

    Words must all appear; "quoted phrases", prefix* and OR/NOT/NEAR work as in SQLite FTS5.
    Lines the recognizer was unsure of end with ' (?)'; --unsure lists only those (in
    line order within a video when no QUERY is given), to check before quoting.

    \b
    Examples:
      talkdown search 'direct talks' -o news/
      talkdown search '"coalition of the willing"' --channel 'BBC News' --since 2025-01-01
      talkdown search --unsure --channel 'BBC News' -o news/
    """
    hits = search_catalog(root, query, channel=channel, since=since, limit=limit, unsure=unsure)
    out = Console(highlight=False, soft_wrap=True)
    for hit in hits:
        link = deep_link(hit.url, hit.start or 0) if hit.start is not None else None
        if as_json:
            click.echo(json.dumps({"id": hit.video_id, "title": hit.title, "channel": hit.channel,
                                   "date": hit.upload_date, "start": hit.start, "text": hit.text,
                                   "link": link or hit.url, "confidence": hit.confidence, "unsure": hit.unsure},
                                  ensure_ascii=False))
            continue
        when = clock(hit.start) if hit.start is not None else "--:--:--"
        snippet = escape(hit.snippet).replace(MARK_START, "[bold yellow]").replace(MARK_END, "[/]")
        flag = f"[dim]{escape(UNSURE_MARK)} {hit.confidence:.2f}[/]" if hit.unsure else ""
        out.print(f"[bold]{escape(hit.title)}[/] · {escape(hit.channel or '')} · {hit.upload_date or ''}")
        out.print(f"  [{when}] {snippet}{flag}")
        out.print(f"  {escape(link or hit.url or '')}\n")
    if not hits:
        err.print("No unsure lines." if unsure and not query.strip() else "No matches.")


@cli.command(name="render")
@click.argument("item", metavar="ID|FILE")
@click.option("-f", "--format", "formats", default="md", show_default=True, callback=formats,
              help=f"Comma-separated formats: {','.join(FORMATS)}.")
@click.option("-o", "--output", "out_dir", default=".", show_default=True, metavar="DIR",
              help="Folder to write to ('-' prints one format to stdout).")
@click.option("--archive", "root", default=".", show_default=True, envvar="TALKDOWN_ARCHIVE",
              type=click.Path(file_okay=False, path_type=Path), help="Archive to look the ID up in.")
@click.option("--flag-unsure", is_flag=True, help="Mark the Markdown lines the recognizer was unsure of with ' (?)'.")
def render_(item: str, formats: tuple[str, ...], out_dir: str, root: Path, flag_unsure: bool) -> None:
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
        click.echo(render(transcript, formats[0], flag_unsure=flag_unsure), nl=False)
        return
    for path in write_outputs(transcript, formats, Path(out_dir), flag_unsure):
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
@ARCHIVE
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
    from ..serve import run  # the web libraries are imported (and checked) inside run

    run(root, host=host, port=port,
        announce=lambda url: err.print(f"Serving {root} at {url} (Ctrl-C to stop)", soft_wrap=True))


@cli.command()
def models() -> None:
    """List the models usable offline here; the first is what --model auto picks."""
    from ..asr.placement import WhisperOptions, place  # CTranslate2 is asked which devices it sees

    for i, m in enumerate(available_models()):
        marker = "*" if i == 0 else " "
        click.echo(f"{marker} {m.name:<24} {m.path}")
    click.echo("(* = default; other faster-whisper names download on first use where a network allows)", err=True)
    p = place(WhisperOptions())
    click.echo(f"--device auto: {p.device}, {p.compute_type}, batches of {p.batch_size}, "
               f"{p.decoders} decoder(s) of {p.threads} thread(s) ({p.why})", err=True)
