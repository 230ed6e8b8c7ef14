"""YouTube's URLs, in one place: which hosts are YouTube's, and a video's id in any of its URL forms.

Deep links (``&t=7s``), the old files' ids (``youtube:<id>``) and the web page's
embedded player all ask the same two questions; one answer keeps them in step.
Pure string work on the standard library.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

__all__ = ["HOSTS", "is_youtube", "video_id"]

# youtu.be short links are YouTube's too; youtube-nocookie.com is its embed-only host.
HOSTS = frozenset({"youtube.com", "www.youtube.com", "m.youtube.com", "music.youtube.com", "youtu.be",
                   "youtube-nocookie.com", "www.youtube-nocookie.com"})
_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")  # 11 in practice; only URL-safe characters, for embedding
_PATHS = ("/shorts/", "/live/", "/embed/", "/v/")


def _host(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


def is_youtube(url: str | None) -> bool:
    """Whether ``url`` is on one of YouTube's hosts."""
    return bool(url) and _host(url) in HOSTS  # type: ignore[arg-type]


def video_id(url: str | None) -> str | None:
    """The video id of a YouTube watch, short, live, embed or youtu.be URL, else None."""
    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https"):
        return None
    host = (parts.hostname or "").lower()
    candidate: str | None = None
    if host == "youtu.be":
        candidate = parts.path.strip("/").split("/", 1)[0]
    elif host in HOSTS:
        candidate = next(iter(parse_qs(parts.query).get("v", [])), None)
        for prefix in _PATHS:
            if candidate is None and parts.path.startswith(prefix):
                candidate = parts.path[len(prefix):].split("/", 1)[0]
    return candidate if candidate and _ID.fullmatch(candidate) else None
