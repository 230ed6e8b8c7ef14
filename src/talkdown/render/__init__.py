"""Transcript -> text in each output format.

A dict registry (Whisper's ``get_writer`` pattern) maps a format name to a pure
``Transcript -> str`` function, so the CLI, the archive and the web page all render
the same way and a new format is one entry. Nothing here does I/O.
"""

from __future__ import annotations

from typing import Callable

from talkdown.errors import Error
from talkdown.render.jsonfmt import read_json, render_json
from talkdown.render.markdown import render_markdown
from talkdown.render.subtitles import render_srt, render_vtt
from talkdown.render.rttm import render_rttm
from talkdown.render.text import render_text
from talkdown.types import Transcript

RENDERERS: dict[str, Callable[[Transcript], str]] = {
    "md": render_markdown,
    "srt": render_srt,
    "vtt": render_vtt,
    "json": render_json,
    "txt": render_text,
    "rttm": render_rttm,
}
FORMATS: tuple[str, ...] = tuple(RENDERERS)
EXTENSIONS: dict[str, str] = {fmt: f".{fmt}" for fmt in FORMATS}

__all__ = [
    "EXTENSIONS",
    "FORMATS",
    "RENDERERS",
    "read_json",
    "render",
    "render_json",
    "render_rttm",
    "render_markdown",
    "render_srt",
    "render_text",
    "render_vtt",
]


def render(t: Transcript, fmt: str, *, flag_unsure: bool = False) -> str:
    """Renders ``t`` in format ``fmt``.

    Args:
        t: the transcript.
        fmt: one of ``FORMATS`` (md, srt, vtt, json, txt).
        flag_unsure: Markdown marks the lines the engine was unsure of with `` (?)``.

    Raises:
        Error: ``fmt`` is not a known format, or (srt/vtt) the transcript has no times.
    """
    try:
        renderer = RENDERERS[fmt]
    except KeyError:
        raise Error(f"Unknown format {fmt!r}; choose from {', '.join(FORMATS)}.") from None
    if fmt == "md" and flag_unsure:
        return render_markdown(t, flag_unsure=True)
    return renderer(t)
