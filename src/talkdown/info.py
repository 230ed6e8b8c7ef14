"""What yt-dlp knows about one video, as a ``Media``: its info dicts and the
``.info.json`` files it writes beside downloads.

Pure dictionary reading, apart from yt-dlp itself: a local file with its ``.info.json``
is transcribed without importing yt-dlp (``fetch`` is its only home).
"""

from __future__ import annotations

import json
import re
import urllib.parse
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .errors import FetchError
from .types import Chapter, Media

_URL_SCHEMES = frozenset({"http", "https", "ftp", "ftps"})


def is_url(source: str) -> bool:
    """Tells a URL (http, https, ftp) from a local path.

    Args:
        source: what the user typed.

    Returns:
        True when ``source`` has a network scheme and a host.
    """
    parts = urllib.parse.urlparse(source.strip())
    return parts.scheme.lower() in _URL_SCHEMES and bool(parts.netloc)


def media_from_info(info: dict[str, Any]) -> Media:
    """Builds a ``Media`` from a yt-dlp info dict (as ``sanitize_info`` leaves it).

    Args:
        info: one video's info dict, full or as a flat playlist entry.

    Returns:
        The frozen ``Media``; its id is ``"<extractor>:<id>"``, e.g. ``youtube:rg7Fvvl3taU``.
    """
    extractor = (
        info.get("extractor_key") or info.get("ie_key") or info.get("extractor") or "generic"
    )
    url = info.get("webpage_url") or info.get("original_url") or info.get("url")
    return Media(
        id=f"{str(extractor).lower()}:{info['id']}",
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
