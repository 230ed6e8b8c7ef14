"""What yt-dlp knows about one video, as a ``Media``: its info dicts and the
``.info.json`` files it writes beside downloads.

Pure dictionary reading, apart from yt-dlp itself: a local file with its ``.info.json``
is transcribed without importing yt-dlp (``fetch`` is its only home).
"""

from __future__ import annotations

import hashlib
import json
import re
import urllib.parse
import urllib.request
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .errors import FetchError
from .types import Chapter, Media

_URL_SCHEMES = frozenset({"http", "https", "ftp", "ftps"})
_DEFAULT_PORTS = {"http": 80, "https": 443, "ftp": 21, "ftps": 990}
_KEY_HASH = re.compile(r"-[0-9a-f]{10}$")


def is_url(source: str) -> bool:
    """Tells a URL (http, https, ftp) from a local path.

    Args:
        source: what the user typed.

    Returns:
        True when ``source`` has a network scheme and a host.
    """
    parts = urllib.parse.urlparse(source.strip())
    return parts.scheme.lower() in _URL_SCHEMES and bool(parts.netloc)


def local_path(source: str) -> str:
    """``file:///home/me/talk.mp3`` → ``/home/me/talk.mp3``; anything else as it is."""
    parts = urllib.parse.urlparse(source.strip())
    if parts.scheme.lower() == "file" and parts.netloc in ("", "localhost"):
        return urllib.request.url2pathname(parts.path)
    return source


def media_from_info(info: dict[str, Any], identity: str | None = None) -> Media:
    """Builds a ``Media`` from a yt-dlp info dict (as ``sanitize_info`` leaves it).

    Args:
        info: one video's info dict, full or as a flat playlist entry.
        identity: for the generic extractor, what names the item uniquely (a feed
            item's ``feed_identity``); default: its canonical URL.

    Returns:
        The frozen ``Media``; its id is ``"<extractor>:<id>"``, e.g. ``youtube:rg7Fvvl3taU``,
        or for direct links and feed items ``generic:<name>-<hash of identity>``.
    """
    extractor = str(
        info.get("extractor_key") or info.get("ie_key") or info.get("extractor") or "generic"
    ).lower()
    url = info.get("webpage_url") or info.get("original_url") or info.get("url")
    video_id = str(info["id"])
    if extractor == "generic":
        video_id = generic_id(video_id, identity or canonical_url(str(url or "")))
    return Media(
        id=f"{extractor}:{video_id}",
        title=str(info.get("title") or info.get("fulltitle") or info["id"]),
        url=url,
        channel=info.get("channel") or info.get("uploader") or _fallback_channel(info, url),
        channel_id=info.get("channel_id") or info.get("uploader_id"),
        channel_url=info.get("channel_url") or info.get("uploader_url"),
        upload_date=_iso_date(info),
        duration=float(info["duration"]) if info.get("duration") is not None else None,
        description=info.get("description") or "",
        tags=tuple(str(tag) for tag in info.get("tags") or ()),
        view_count=int(info["view_count"]) if info.get("view_count") is not None else None,
        average_rating=_float_or_none(info.get("average_rating")),
        chapters=tuple(
            _chapter(c) for c in info.get("chapters") or () if c.get("start_time") is not None
        ),
        language=info.get("language"),
    )


def canonical_url(url: str) -> str:
    """What a URL names, without what merely reaches it: host (lower case, no default
    port) and path; scheme, query, fragment and percent-escapes are left out, so a
    signed or tracked link to the same file keeps one identity.
    """
    parts = urllib.parse.urlparse(url.strip())
    host = (parts.hostname or "").lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    if port is not None and port != _DEFAULT_PORTS.get(parts.scheme.lower()):
        host += f":{port}"
    return host + (urllib.parse.unquote(parts.path) or "/")


def feed_identity(feed_url: str, guid: str) -> str:
    """A feed item's identity: its feed and its guid (guids are unique within one feed only)."""
    return f"{canonical_url(feed_url)}#{guid}"


def generic_id(name: str, identity: str) -> str:
    """``episode`` named by ``host/a/episode.mp3`` → ``episode-3f9a2c1d0e``.

    yt-dlp names a direct link by its file stem and a feed item by its guid, which two
    different files share all the time (``episode.mp3`` on two paths, ``ep-1`` in two
    feeds); the id keys the download cache and the catalogue, so it carries a hash of
    what the name is of. The readable name stays in front, for file names.
    """
    return f"{name}-{hashlib.sha1(identity.encode()).hexdigest()[:10]}"


def legacy_id(media_id: str) -> str | None:
    """The id talkdown gave a generic item before ids carried their identity's hash
    (``generic:episode``), for finding what older archives hold; None for other ids."""
    if media_id.startswith("generic:") and _KEY_HASH.search(media_id):
        return _KEY_HASH.sub("", media_id)
    return None


def load_info_json(path: Path) -> Media:
    """Reads the ``.info.json`` that ``yt-dlp --write-info-json`` writes.

    Args:
        path: the ``.info.json`` file.

    Returns:
        The ``Media`` it describes.

    Raises:
        FetchError: the file cannot be read, is not JSON, or is not one video's info.
    """
    try:
        info = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as e:
        raise FetchError(f"Could not read {path}: {e.strerror or e}.") from e
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise FetchError(
            f"{path} is not a JSON file; pass the .info.json that yt-dlp wrote."
        ) from e
    if (
        not isinstance(info, dict)
        or not info.get("id")
        or not (info.get("extractor_key") or info.get("extractor"))
    ):
        raise FetchError(f"{path} is not a yt-dlp info file (it has no id and extractor).")
    if info.get("_type") in ("playlist", "multi_video"):
        raise FetchError(f"{path} describes a playlist, not one video.")
    return media_from_info(info)


def find_info_json(media_path: Path) -> Path | None:
    """Finds the ``NAME.info.json`` yt-dlp writes beside ``NAME.ext``.

    Args:
        media_path: a downloaded media file.

    Returns:
        The info file's path, or None when there is none.
    """
    candidate = Path(media_path).with_suffix(".info.json")
    return candidate if candidate.is_file() else None


def _iso_date(info: dict[str, Any]) -> str | None:
    for key in ("upload_date", "release_date"):
        value = str(info.get(key) or "")
        if re.fullmatch(r"\d{8}", value):
            return f"{value[:4]}-{value[4:6]}-{value[6:]}"
    for key in ("timestamp", "release_timestamp"):
        if isinstance(info.get(key), (int, float)):
            return datetime.fromtimestamp(info[key], timezone.utc).date().isoformat()
    return None


def _fallback_channel(info: dict[str, Any], url: str | None) -> str | None:
    """For feeds and direct links: the playlist's title, else the web host."""
    if info.get("playlist_title") or info.get("playlist"):
        return str(info.get("playlist_title") or info.get("playlist"))
    return urllib.parse.urlparse(url or "").hostname


def _chapter(chapter: dict[str, Any]) -> Chapter:
    end = chapter.get("end_time")
    return Chapter(
        title=str(chapter.get("title") or ""),
        start=float(chapter["start_time"]),
        end=float(end) if end is not None else None,
    )


def _float_or_none(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) else None
