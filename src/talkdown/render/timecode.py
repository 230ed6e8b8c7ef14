"""Seconds -> the time strings every format needs.

Takes float seconds from the start of the media and returns the clock shown beside a
Markdown line (``HH:MM:SS``), the subtitle cue time (``HH:MM:SS,mmm``) and the deep
link that opens the media at that second. Links use whole seconds (the old format
printed ``t=16.240000000000002s``, a float-printing bug) and the time parameter each
URL form understands: ``&t=7s`` on YouTube watch pages, ``?t=7s`` on youtu.be, and a
W3C media fragment ``#t=7`` elsewhere. Stdlib only; no I/O.
"""

from __future__ import annotations

import math
from urllib.parse import urlsplit, urlunsplit

from talkdown import youtube



def _whole(seconds: float) -> int:
    """Whole seconds, floored, never negative (a line said at 7.9 s is cited as 7 s)."""
    return max(0, math.floor(seconds)) if math.isfinite(seconds) else 0


def clock(seconds: float) -> str:
    """Formats a time as ``HH:MM:SS`` (whole seconds, floored).

    Args:
        seconds: time from the start of the media.

    Returns:
        e.g. ``"00:12:34"``; hours grow past two digits for media over 99 hours.
    """
    total = _whole(seconds)
    return f"{total // 3600:02d}:{total % 3600 // 60:02d}:{total % 60:02d}"


def subtitle_time(seconds: float, decimal: str = ",") -> str:
    """Formats a cue time as ``HH:MM:SS,mmm`` (SRT) or with ``decimal="."`` (WebVTT).

    Args:
        seconds: time from the start of the media; rounded to the millisecond.
        decimal: the mark between seconds and milliseconds.
    """
    ms = max(0, round(seconds * 1000)) if math.isfinite(seconds) else 0
    hours, ms = divmod(ms, 3_600_000)
    minutes, ms = divmod(ms, 60_000)
    secs, ms = divmod(ms, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{decimal}{ms:03d}"


def _with_query_t(query: str, value: str) -> str:
    """Replaces any ``t=`` parameter, keeping the others exactly as written."""
    kept = [p for p in query.split("&") if p and not p.startswith("t=")]
    return "&".join([*kept, f"t={value}"])


def deep_link(url: str | None, seconds: float) -> str | None:
    """Builds a link that opens ``url`` at ``seconds``.

    Args:
        url: the media's page; None for a local file.
        seconds: time from the start; floored to whole seconds.

    Returns:
        The link, or None when there is no URL or it is not http(s).
    """
    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        return None
    whole = _whole(seconds)
    host = parts.netloc.lower().rsplit("@", 1)[-1].split(":", 1)[0]
    if host in youtube.HOSTS:
        query = _with_query_t(parts.query, f"{whole}s")
        return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))
    return urlunsplit((parts.scheme, parts.netloc, parts.path, parts.query, f"t={whole}"))
