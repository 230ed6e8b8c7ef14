"""What the web pages show, worked out without the web framework: pure functions.

In: a ``Transcript`` (or a search ``Hit``'s snippet) and the archive root; out: small
frozen view objects the Jinja2 templates loop over (lines with their anchors, the
table of contents, which player to embed) and strings that are safe to put in a page.
Kept apart from ``app.py`` so the rules that matter for safety (which URLs may become
links, how a snippet's highlight is turned into ``<mark>`` without letting the text
inject HTML, which local file may be served) are plain functions with plain tests.
Standard library and MarkupSafe (Jinja2's escaper) only; no I/O except ``local_media``,
which only checks that a file exists.
"""

from __future__ import annotations

import math
import mimetypes
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlsplit

from markupsafe import Markup, escape

from talkdown.render.timecode import clock, deep_link
from talkdown.store.search import MARK_END, MARK_START, Hit
from talkdown.types import Media, Transcript
from talkdown.youtube import video_id

# C0/C1 controls other than tab and newline: never useful in a page, and the search
# markers are among them, so stray ones in a line cannot open or close a <mark>.
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


@dataclass(frozen=True, slots=True)
class PageLine:
    """One transcript line as the page shows it; ``anchor`` None for a line without a time."""

    text: str
    start: float | None
    second: int | None
    anchor: str | None
    clock: str | None
    speaker: str | None  # set only where the speaker changes
    heading: str | None  # the chapter title that starts here, if any
    heading_anchor: str | None
    words: str | None = None  # ``data-w``: word starts as centisecond steps (see ``word_steps``)
    unsure: bool = False  # the engine was unsure: check before quoting
    confidence: float | None = None
    voice: int | None = None  # which speaker colour the label takes (0-5), set with ``speaker``


@dataclass(frozen=True, slots=True)
class TocEntry:
    """One chapter in the table of contents."""

    title: str
    second: int
    clock: str
    anchor: str


@dataclass(frozen=True, slots=True)
class Player:
    """Which player the transcript page embeds.

    ``kind`` is ``"youtube"`` (``source`` is the video id), ``"audio"``/``"video"``
    (``source`` is a same-site ``/media/...`` path or an http(s) URL), or ``"none"``.
    """

    kind: str
    source: str = ""
    fallback: str = ""  # a YouTube item's archived audio (``/media/...``), played when YouTube cannot load


def whole(seconds: float | None) -> int | None:
    """Whole seconds, floored and never negative; None stays None."""
    if seconds is None or not math.isfinite(seconds):
        return None
    return max(0, math.floor(seconds))


def safe_href(url: str | None) -> str | None:
    """The URL when it may become a link (http or https with a host), else None."""
    if not url:
        return None
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return url.strip()


def path_quote(text: str) -> str:
    """Quotes an id or channel name as one URL path part (``/`` too, so nothing is a new segment)."""
    return quote(text, safe=":")


def youtube_id(url: str | None) -> str | None:
    """The video id of a YouTube URL the page may embed (only a safe http(s) href), else None."""
    href = safe_href(url)
    return video_id(href) if href is not None else None


def local_media(root: Path, media: Media) -> Path | None:
    """The local audio/video file recorded in the item's own JSON (``media.path``), if it may be served.

    The rule: only that one recorded file, never a path taken from a URL; relative
    paths are read against the archive root; it must be an existing regular file
    whose name says audio or video (so a tampered JSON cannot turn the server into a
    reader of ``~/.ssh/id_rsa``).
    """
    if not media.path:
        return None
    path = Path(media.path).expanduser()
    if not path.is_absolute():
        path = root / path
    try:
        path = path.resolve(strict=True)
    except (OSError, RuntimeError):
        return None
    if not path.is_file() or not media_type(path).startswith(("audio/", "video/")):
        return None
    return path


def media_type(path: Path) -> str:
    """The file's MIME type from its name (``application/octet-stream`` when unknown)."""
    guessed, _ = mimetypes.guess_type(path.name, strict=False)
    if guessed is None and path.suffix.lower() in (".opus", ".m4a", ".mka"):
        guessed = {".opus": "audio/ogg", ".m4a": "audio/mp4", ".mka": "audio/x-matroska"}[path.suffix.lower()]
    return guessed or "application/octet-stream"


def choose_player(media: Media, local: Path | None) -> Player:
    """YouTube sources get the IFrame player; then a local file; then the source URL itself (podcast enclosures)."""
    if video := youtube_id(media.url):
        return Player("youtube", video, f"/media/{path_quote(media.id)}" if local is not None else "")
    if local is not None:
        kind = "video" if media_type(local).startswith("video/") else "audio"
        return Player(kind, f"/media/{path_quote(media.id)}")
    if href := safe_href(media.url):
        kind = "video" if media_type(Path(urlsplit(href).path)).startswith("video/") else "audio"
        return Player(kind, href)
    return Player("none")


WordTimes = tuple[tuple[float, str], ...]  # (start, text) of each word of one line
VOICES = 6  # speaker colours in the stylesheet (.voice-0 … .voice-5)
_LINK_SENTINEL = 987654321


def page_lines(
    transcript: Transcript, words: tuple[WordTimes, ...] | None = None
) -> tuple[list[PageLine], list[TocEntry]]:
    """Every line with a unique ``t-<second>`` anchor, speaker changes and chapter headings, and the TOC.

    Args:
        transcript: the item.
        words: each line's word times in line order, when the caller read them apart
            from the ``Transcript`` (``app._load`` does, for speed); None takes ``line.words``.
    """
    lines: list[PageLine] = []
    toc: list[TocEntry] = []
    seen: dict[int, int] = {}
    voices: dict[str, int] = {name: i % VOICES for i, name in enumerate(transcript.speakers)}
    speaker: str | None = None
    n = 0
    for number, section in enumerate(transcript.sections):
        heading = clean(section.title) if section.title else None
        for i, line in enumerate(section.lines):
            second = whole(line.start)
            anchor = None
            if second is not None:
                count = seen.get(second, 0)
                seen[second] = count + 1
                anchor = f"t-{second}" if count == 0 else f"t-{second}-{count + 1}"
            changed = line.speaker if line.speaker and line.speaker != speaker else None
            speaker = line.speaker or speaker
            if changed is not None and changed not in voices:
                voices[changed] = len(voices) % VOICES
            title = heading if i == 0 else None
            if title and second is not None and anchor is not None:
                toc.append(TocEntry(title, second, clock(second), anchor))
            text = clean(line.text)
            timed = words[n] if words is not None and n < len(words) else tuple((w.start, w.text) for w in line.words)
            n += 1
            lines.append(PageLine(
                text=text, start=line.start, second=second, anchor=anchor,
                clock=clock(second) if second is not None else None, speaker=clean(changed) if changed else None,
                heading=title, heading_anchor=f"c-{number}" if title else None,
                words=word_steps(text, line.start, timed) if anchor else None,
                unsure=line.unsure, confidence=line.confidence,
                voice=voices[changed] if changed is not None else None,
            ))
    return lines, toc


def word_steps(text: str, start: float | None, words: WordTimes) -> str | None:
    """Each whitespace-separated word of ``text`` as the centiseconds since the previous word began.

    The first step counts from the line's start. Steps rather than times keep a
    3-hour page small (two or three digits a word, no markup per word); the page's
    script adds them up and finds the word under a click from the text itself, so
    the steps must match ``text.split()`` one for one. When the engine's words split
    the text differently (punctuation, captions), each text word takes the time of
    the engine word its first letter falls in; when the letters differ, None (the
    line is timed as a whole).
    """
    if start is None or not words:
        return None
    tokens = text.split()
    said = [w.strip() for _, w in words]
    if len(said) == len(tokens) and said == tokens:
        times = [t for t, _ in words]
    elif "".join(said) == "".join(tokens):
        owner: list[float] = []
        for (t, _), w in zip(words, said):
            owner += [t] * len(w)
        times, at = [], 0
        for token in tokens:
            times.append(owner[at])
            at += len(token)
    else:
        return None
    steps, previous = [], round(start * 100)
    for t in times:
        now = max(previous, round(t * 100))
        steps.append(str(now - previous))
        previous = now
    return " ".join(steps)


def quote_link(media: Media) -> str | None:
    """The public deep link to second ``{s}`` of the media, as the Markdown writes it; None for a local file.

    Built by ``render.timecode.deep_link`` itself (on a sentinel second) so the page's
    "Copy quote" cites exactly what the Markdown cites.
    """
    link = deep_link(safe_href(media.url), _LINK_SENTINEL)
    return link.replace(str(_LINK_SENTINEL), "{s}") if link and str(_LINK_SENTINEL) in link else None


@dataclass(frozen=True, slots=True)
class HitGroup:
    """The hits of one item on the search page: the title once, then its lines."""

    video_id: str
    title: str
    channel: str | None
    upload_date: str | None
    hits: tuple[Hit, ...]


def group_hits(hits: list[Hit], order: str = "rank") -> list[HitGroup]:
    """Search hits grouped by item.

    ``order="rank"``: items by their best hit, lines best first (as ``search`` ranked
    them). ``order="time"``: items newest upload first, lines in the order they are said.
    """
    groups: dict[str, list[Hit]] = {}
    for hit in hits:
        groups.setdefault(hit.video_id, []).append(hit)
    made = [HitGroup(v, hs[0].title, hs[0].channel, hs[0].upload_date, tuple(hs)) for v, hs in groups.items()]
    if order != "time":
        return made
    made.sort(key=lambda g: g.upload_date or "", reverse=True)
    return [HitGroup(g.video_id, g.title, g.channel, g.upload_date,
                     tuple(sorted(g.hits, key=lambda h: (h.start is None, h.start or 0.0)))) for g in made]


def current_index(lines: list[PageLine], seconds: float | None) -> int | None:
    """The line being said at ``seconds``: the last one starting at or before it (a tie on the second goes to the first)."""
    if seconds is None:
        return None
    target = whole(seconds)
    best = None
    for i, line in enumerate(lines):
        if line.second is None:
            continue
        if line.second > (target or 0):
            break
        if best is None or line.second != lines[best].second:
            best = i
    return best


def parse_time(value: str | None) -> float | None:
    """``?t=`` as seconds: ``90``, ``90.5``, ``90s``, ``1m30s``, ``1h2m3s`` or ``01:02:03``; None when unusable."""
    if not value:
        return None
    value = value.strip().lower()
    match = re.fullmatch(r"(?:(\d+)h)?(?:(\d+)m)?(?:(\d+(?:\.\d+)?)s?)?", value)
    if match and any(match.groups()):
        h, m, s = match.groups()
        return int(h or 0) * 3600 + int(m or 0) * 60 + float(s or 0)
    if match := re.fullmatch(r"(?:(\d+):)?(\d+):(\d+(?:\.\d+)?)", value):
        h, m, s = match.groups()
        return int(h or 0) * 3600 + int(m) * 60 + float(s)
    return None


def clean(text: str) -> str:
    """Drops control characters (they have no business in a page); escaping is the template's job."""
    return _CONTROLS.sub("", text)


def highlight(snippet: str, mark: tuple[str, str] = (MARK_START, MARK_END)) -> Markup:
    """Escapes a search snippet, then turns the match markers into balanced ``<mark>`` elements.

    Escaping comes first, so whatever the line says (``<script>``, ``"><img …>``)
    stays text; only the markers, which escaping leaves alone, become tags.
    """
    start, end = mark
    out: list[str] = []
    is_open = False
    for piece in re.split(f"({re.escape(start)}|{re.escape(end)})", snippet):
        if piece == start:
            if not is_open:
                out.append("<mark>")
                is_open = True
        elif piece == end:
            if is_open:
                out.append("</mark>")
                is_open = False
        else:
            out.append(str(escape(clean(piece))))
    if is_open:
        out.append("</mark>")
    return Markup("".join(out))
