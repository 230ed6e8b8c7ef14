"""Markdown transcripts -> Transcript, for ``talkdown import``.

Reads the whisper-era layout users already have thousands of files in, and
talkdown's own Markdown, back into a ``Transcript``: front matter, title, channel
line, ``##`` chapters, ``**Speaker:**`` labels and one ``Line`` per bullet with its
start time. Old files' front matter is often not valid YAML (an unquoted multi-line
description), so when ``yaml.safe_load`` fails a tolerant reader that knows the keys
takes over. Pure; no I/O.
"""

from __future__ import annotations

import ast
import hashlib
import re
from datetime import datetime
from typing import Any

import yaml

from talkdown import youtube
from talkdown.errors import ParseError
from talkdown.render.markdown import UNSURE_MARK
from talkdown.types import Line, Media, ModelInfo, Section, Transcript

KEYS = (
    "Date Generated", "Transcription Model", "Length", "Video Keywords", "Video Views",
    "Video Rating", "Video Description", "Video URL", "Video ID", "Channel",
    "Upload Date", "Language", "Speakers",
)  # fmt: skip
_KEY_LINE = re.compile(r"^(" + "|".join(map(re.escape, KEYS)) + r"):(?: (.*))?$")
_ANY_KEY = re.compile(r"^[A-Za-z][\w -]*:(?: |$)")
_UNESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")
_BULLET = re.compile(r"^[*+-]\s+(.*)$")
_LINKED = re.compile(r"\s*\[\[(\d+:\d{1,2}:\d{1,2}(?:\.\d+)?)\]\((\S*)\)\]\s*$")
_PLAIN = re.compile(r"\s*\[(\d+:\d{1,2}:\d{1,2}(?:\.\d+)?)\]\s*$")
_T_PARAM = re.compile(r"(?:[?&#])t=(\d+(?:\.\d+)?)s?(?:&|$)")
_LABEL = re.compile(r"^\*\*((?:[^*\\]|\\.)+?):\*\*(?:\s+(.*))?$")
_LINK = re.compile(r"^\[([^\]]*)\]\((\S*)\)$")


def _unescape(text: str) -> str:
    return _UNESCAPE.sub(r"\1", text).strip()


def _heading(text: str) -> str:
    """A heading's text: closing ``#``s dropped (CommonMark), escapes undone."""
    if not text.endswith("\\#"):
        text = re.sub(r"\s+#+$", "", text)
    return _unescape(text)


def _split(text: str) -> tuple[str | None, list[str]]:
    """Front matter text (or None) and the body's lines.

    The closing ``---`` is the first that the title or a bullet follows, so a
    description line of ``---`` in an old, unquoted header does not end it early.
    """
    lines = text.lstrip("\ufeff").splitlines()
    if not lines or lines[0].strip() != "---":
        return None, lines
    closers = [i for i, row in enumerate(lines) if i and row.strip() == "---"]
    for i in closers:
        rest = next((row for row in lines[i + 1 :] if row.strip()), "")
        if not rest or rest.startswith(("#", "*", "-")):
            return "\n".join(lines[1:i]), lines[i + 1 :]
    if closers:
        return "\n".join(lines[1 : closers[0]]), lines[closers[0] + 1 :]
    return None, lines


def _tolerant(header: str) -> dict[str, Any]:
    """Reads ``Key: value`` lines; any other line continues the field before it.

    Inside the description (free text) only a known key that comes later in the
    canonical order starts a field, so "Subscribe here: …" stays in the description.
    """
    raw: dict[str, list[str]] = {}
    current: list[str] | None = None
    rank = -1
    for row in header.splitlines():
        known = _KEY_LINE.match(row)
        in_text = current is not None and current is raw.get("Video Description")
        if known and known.group(1) not in raw and KEYS.index(known.group(1)) > rank:
            current = raw[known.group(1)] = [known.group(2) or ""]
            rank = KEYS.index(known.group(1))
        elif not known and not in_text and _ANY_KEY.match(row):
            current = []  # an extra key we do not know: read past it
        elif current is not None:
            current.append(row)
    fields: dict[str, Any] = {}
    for key, rows in raw.items():
        text = "\n".join(rows).strip()
        if key == "Video Description":
            fields[key] = text
            continue
        try:
            fields[key] = yaml.safe_load(text)
        except (yaml.YAMLError, ValueError):  # ValueError: a date like 2025-13-45
            try:
                fields[key] = ast.literal_eval(text)
            except (ValueError, SyntaxError):
                fields[key] = text
    return fields


def _front(header: str | None) -> dict[str, Any]:
    if header is None:
        return {}
    try:
        data = yaml.safe_load(header)
    except (yaml.YAMLError, ValueError):  # ValueError: YAML reads 2025-13-45 as an impossible date
        data = None
    return data if isinstance(data, dict) else _tolerant(header)


def _text(value: Any) -> str | None:
    """A scalar as text; YAML's null and the old files' literal ``None`` mean absent."""
    if value is None or value == "None" or value == "":
        return None
    return str(value)


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    match = re.match(r"^\s*(\d+(?:\.\d+)?)\s*s?\s*$", str(value or ""))
    return float(match.group(1)) if match else None


def _iso(value: Any) -> str | None:
    """``May 11, 2025`` / ``2025-05-11`` / a YAML date -> ``2025-05-11``."""
    if value is None:
        return None
    if hasattr(value, "isoformat"):
        return str(value.isoformat())[:10]
    for fmt in ("%B %d, %Y", "%Y-%m-%d", "%Y%m%d"):
        try:
            return datetime.strptime(str(value).strip(), fmt).date().isoformat()
        except ValueError:
            pass
    return None


def _seconds(clock: str, url: str | None) -> float:
    """A line's start: the link's ``t=`` (precise in old files), else its ``HH:MM:SS``."""
    match = _T_PARAM.search(url or "")
    if match:
        return float(match.group(1))
    h, m, s = clock.split(":")
    return int(h) * 3600 + int(m) * 60 + float(s)


def _bullet(body: str) -> tuple[str, float | None, str | None]:
    """Text, start and deep link of one bullet's body."""
    if match := _LINKED.search(body):
        return body[: match.start()], _seconds(match.group(1), match.group(2)), match.group(2)
    if match := _PLAIN.search(body):
        return body[: match.start()], _seconds(match.group(1), None), None
    return body, None, None


def _strip_t(link: str) -> str:
    """A line's deep link without its time: the media's URL, for files with no header link."""
    link = re.sub(r"#t=[\d.]+$", "", link)
    link = re.sub(r"([?&])t=[\d.]+s?(&|$)", lambda m: m.group(1) if m.group(2) else "", link)
    return link.rstrip("?&")


def parse_markdown(text: str) -> Transcript:
    """Reads a Markdown transcript (the whisper-era layout or talkdown's) back.

    Args:
        text: the whole file.

    Returns:
        The transcript; lines have starts but no words, ends are the next line's start.

    Raises:
        ParseError: the text has neither a ``# title`` nor any bullets.
    """
    header, body = _split(text)
    fields = _front(header)
    title: str | None = None
    byline: tuple[str, str] | None = None
    sections: list[tuple[str | None, list[tuple[str, float | None, str | None]]]] = [(None, [])]
    link_url: str | None = None
    speaker: str | None = None
    for row in body:
        row = row.rstrip()
        if title is None and row.startswith("# "):
            title = _heading(row[2:])
        elif row.startswith("## "):
            sections.append((_heading(row[3:]), []))
        elif match := _BULLET.match(row):
            content, start, link = _bullet(match.group(1))
            if content.endswith(UNSURE_MARK) and not content.endswith("\\" + UNSURE_MARK.strip()):
                content = content[: -len(UNSURE_MARK)]  # --flag-unsure's mark, not words anyone said
            link_url = link_url or link
            if label := _LABEL.match(content):
                speaker, content = _unescape(label.group(1)), label.group(2) or ""
            sections[-1][1].append((_unescape(content), start, speaker))
        elif byline is None and (label := _LABEL.match(row)) and not any(s[1] for s in sections):
            byline = (_unescape(label.group(1)), (label.group(2) or "").strip())
    if title is None and not any(s[1] for s in sections):
        raise ParseError(
            "This file is not a talkdown/whisper Markdown transcript: "
            "it has no '# title' line and no '*  text [HH:MM:SS]' bullets."
        )
    return _assemble(text, fields, title, byline, sections, link_url)


def _assemble(
    text: str,
    fields: dict[str, Any],
    title: str | None,
    byline: tuple[str, str] | None,
    raw_sections: list[tuple[str | None, list[tuple[str, float | None, str | None]]]],
    link_url: str | None,
) -> Transcript:
    """Builds the Transcript from what ``parse_markdown`` found."""
    when, page = None, None
    if byline and (link := _LINK.match(byline[1])):
        when, page = _iso(link.group(1)), link.group(2) or None
    elif byline:
        when = _iso(byline[1])
    url = _text(fields.get("Video URL")) or page or (_strip_t(link_url) if link_url else None)
    duration = _number(fields.get("Length"))
    video_id = _text(fields.get("Video ID"))
    if yt := youtube.video_id(url):
        media_id = f"youtube:{yt}"
    elif video_id and ":" in video_id:
        media_id = video_id
    elif video_id:
        media_id = f"{'generic' if url else 'file'}:{video_id}"
    else:
        media_id = "file:" + hashlib.sha256(text.encode()).hexdigest()[:12]
    channel = _text(fields["Channel"]) if "Channel" in fields else (byline[0] if byline else None)
    tags = fields.get("Video Keywords")
    language = _text(fields.get("Language"))
    views = _number(fields.get("Video Views"))
    media = Media(
        id=media_id,
        title=title or _text(fields.get("Title")) or "",
        url=url,
        channel=channel,
        upload_date=_iso(fields.get("Upload Date")) or when,
        duration=duration,
        description=str(fields.get("Video Description") or ""),
        tags=tuple(str(tag) for tag in tags) if isinstance(tags, (list, tuple)) else (),
        view_count=int(views) if views is not None else None,
        average_rating=_number(fields.get("Video Rating")),
        language=language,
    )
    flat = [start for _, rows in raw_sections for _, start, _ in rows]
    sections: list[Section] = []
    index = 0
    for title_, rows in raw_sections:
        lines = []
        for content, start, speaker in rows:
            index += 1
            later = next((s for s in flat[index:] if s is not None), duration)
            end = later if start is not None else None
            lines.append(Line(start=start, end=end, text=content, speaker=speaker))
        if title_ is None and not lines:
            continue
        first = next((line.start for line in lines if line.start is not None), None)
        sections.append(Section(title=title_, start=first or 0.0, lines=tuple(lines)))
    speakers = fields.get("Speakers")
    return Transcript(
        media=media,
        sections=tuple(sections),
        model=ModelInfo(name=_text(fields.get("Transcription Model")) or ""),
        language=language,
        generated=_iso(fields.get("Date Generated")) or "",
        speakers=tuple(map(str, speakers)) if isinstance(speakers, (list, tuple)) else (),
    )
