"""Transcript -> Markdown, in the layout users already have thousands of files in.

Takes a ``Transcript`` and returns the whisper-era layout (YAML front matter,
``# Title``, a ``**Channel:** [Month DD, YYYY](url)`` line, one ``*  text [[HH:MM:SS](link)]``
bullet per line) with that layout's faults fixed: the front matter is valid YAML for
any title, tag or description (PyYAML writes the scalars, because hand-quoting YAML
is where the old files broke), links use whole seconds, chapters become ``##``
headings, speaker changes are labelled, and text that would turn into markup or HTML
is backslash-escaped. ``talkdown.parse`` reads this output back. Pure; no I/O.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import yaml

from talkdown.render.timecode import clock, deep_link
from talkdown.types import Line, Transcript

# Characters that are markup anywhere in a line; backslash makes them literal in
# CommonMark (and Obsidian), and talkdown.parse removes the backslash again.
_INLINE = re.compile(r"([\\`*_\[\]<>])")
_ENTITY = re.compile(r"&(?=#?\w+;)")  # "&amp;" would render as "&"
_LEADING = re.compile(r"^([#+\-=>|~]|\d+(?=[.)]))")  # block markup at a line's start


def escape(text: str) -> str:
    """Makes ``text`` show literally in Markdown (one line: runs of whitespace become one space)."""
    text = " ".join(text.split())
    text = _ENTITY.sub("\\&", _INLINE.sub(r"\\\1", text))
    match = _LEADING.match(text)
    if match and match.group(1).isdigit():
        end = match.end()
        return f"{text[:end]}\\{text[end:]}"  # "1." -> "1\." so no ordered list starts
    return _LEADING.sub(r"\\\1", text)


def _heading(text: str) -> str:
    """Escapes a heading's text, including a trailing ``#`` (CommonMark drops closing hashes)."""
    text = escape(text)
    return text[:-1] + "\\#" if text.endswith("#") and not text.endswith("\\#") else text


def _long_date(iso: str | None) -> str | None:
    """``2025-05-11`` -> ``May 11, 2025`` (None or unparseable -> None)."""
    try:
        return date.fromisoformat(iso).strftime("%B %d, %Y") if iso else None
    except ValueError:
        return None


def _url(url: str) -> str:
    """Keeps a link destination in one piece inside ``(...)``."""
    return url.replace(" ", "%20").replace("(", "%28").replace(")", "%29")


def _scalar(value: Any) -> str:
    """One YAML flow scalar, quoted only where YAML needs it."""
    dumped = yaml.safe_dump(value, default_flow_style=True, allow_unicode=True, width=1 << 30)
    return dumped.removesuffix("\n").removesuffix("\n...").strip()


def _tag(tag: str) -> str:
    """A single-quoted list item, as the old files wrote them, unless it needs escapes."""
    if tag.isprintable():
        return "'" + tag.replace("'", "''") + "'"
    return yaml.safe_dump(tag, default_style='"', allow_unicode=True, width=1 << 30).strip()


def _keywords(tags: tuple[str, ...]) -> str:
    text = "[" + ", ".join(_tag(tag) for tag in tags) + "]"
    return text if yaml.safe_load(text) == list(tags) else _scalar(list(tags))


def _block(text: str) -> str:
    """A multi-line value as a ``|-`` literal block, else a quoted scalar if that cannot hold it."""
    if "\n" not in text:
        return _scalar(text)
    indicator = "2" if text[:1] in (" ", "\n") else ""
    chomp = "+" if text.endswith("\n") else "-"
    body = "\n".join(f"  {line}" if line else "" for line in text.split("\n"))
    if chomp == "+":
        body = body.removesuffix("\n")
    block = f"|{indicator}{chomp}\n{body}"
    try:
        if yaml.safe_load(f"k: {block}\n") == {"k": text}:
            return block
    except yaml.YAMLError:
        pass
    return _scalar(text)


def _length(t: Transcript) -> int:
    if t.media.duration is not None:
        return round(t.media.duration)
    ends = [x for line in t.lines() for x in (line.end, line.start) if x is not None]
    return round(max(ends)) if ends else 0


def front_matter(t: Transcript) -> str:
    """The YAML header: the old keys in their old order, then the keys talkdown adds."""
    media = t.media
    fields: list[tuple[str, str]] = [
        ("Date Generated", _long_date(t.generated) or _scalar(t.generated)),
        ("Transcription Model", _scalar(str(t.model))),
        ("Length", f"{_length(t)}s"),
        ("Video Keywords", _keywords(media.tags)),
        ("Video Views", "None" if media.view_count is None else str(int(media.view_count))),
        ("Video Rating", "None" if media.average_rating is None else _scalar(media.average_rating)),
        ("Video Description", _block(media.description) if media.description else "''"),
        ("Video URL", _scalar(media.url)),
        ("Video ID", _scalar(media.video_id)),
        ("Channel", _scalar(media.channel)),
        ("Upload Date", _scalar(media.upload_date)),
        ("Language", _scalar(t.language or media.language)),
    ]
    if t.speakers:
        fields.append(("Speakers", _scalar(list(t.speakers))))
    return "---\n" + "".join(f"{key}: {value}\n" for key, value in fields) + "---\n"


def _byline(t: Transcript) -> str:
    """``**Channel:** [May 11, 2025](url)``, degrading cleanly when parts are unknown."""
    media = t.media
    label = media.channel or ("Local file" if media.path or not media.url else "Unknown channel")
    when = _long_date(media.upload_date)
    if media.url:
        return f"**{escape(label)}:** [{when or 'Watch'}]({_url(media.url)})"
    return f"**{escape(label)}:**" + (f" {when}" if when else "")


UNSURE_MARK = " (?)"  # before the time link of a line to check before quoting (--flag-unsure)


def _bullet(line: Line, url: str | None, label: bool, flag_unsure: bool = False) -> str:
    text = escape(line.text)
    if text.endswith("(?)"):
        text = text[:-3] + "\\(?)"  # said so: not the mark, which talkdown.parse removes
    if label and line.speaker:
        text = f"**{escape(line.speaker)}:** {text}"
    if flag_unsure and line.unsure:
        text += UNSURE_MARK
    if line.start is None:
        return f"*  {text}"
    link = deep_link(url, line.start)
    stamp = f"[[{clock(line.start)}]({_url(link)})]" if link else f"[{clock(line.start)}]"
    return f"*  {text} {stamp}"


def render_markdown(t: Transcript, flag_unsure: bool = False) -> str:
    """Renders a transcript as Markdown.

    Args:
        t: the transcript.
        flag_unsure: end each unsure line's text with `` (?)`` (before its time link).

    Returns:
        The document, ending with a newline.
    """
    out = [front_matter(t), f"\n# {_heading(t.media.title)}\n", _byline(t) + "\n"]
    speaker: str | None = None
    for section in t.sections:
        first = True
        if section.title:
            out.append(f"\n## {_heading(section.title)}\n\n")
        for line in section.lines:
            # Label each change of speaker, and again at each chapter so it reads alone.
            changed = line.speaker is not None and (line.speaker != speaker or first)
            out.append(_bullet(line, t.media.url, changed, flag_unsure) + "\n")
            speaker, first = line.speaker, False
    return "".join(out)
