"""From a URL to a ``Media`` and an audio file: the only home of yt-dlp.

In: a URL (a video page on any of the ~1,800 sites yt-dlp knows, a direct media
link, a channel, playlist or podcast RSS feed). Out: frozen ``Media`` records
(``resolve``, ``entries``, through ``info.media_from_info``) and an audio file in a
cache folder (``download_audio``).
yt-dlp is used because it already reads every site we care about, including
feeds through its generic extractor, and can fetch the audio-only stream without
ffmpeg; its info dict becomes a ``Media`` here and goes no further, and its
errors become one-sentence ``FetchError`` messages.
"""

from __future__ import annotations

import hashlib
import re
import urllib.parse
from collections import OrderedDict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import yt_dlp
from yt_dlp.extractor import gen_extractor_classes
from yt_dlp.networking.exceptions import HTTPError, TransportError
from yt_dlp.utils import (
    DownloadError,
    GeoRestrictedError,
    UnsupportedError,
    YoutubeDLError,
    unsmuggle_url,
)

from .errors import FetchError, NoCaptionsError
from .info import feed_identity, media_from_info
from .types import Captions, Media

__all__ = ["cached_audio", "captions", "download_audio", "entries", "resolve"]

Progress = Callable[[int, int | None], None]

_PARTIAL_SUFFIXES = frozenset({".part", ".ytdl", ".temp", ".tmp"})
_INFO_CACHE_SIZE = 64
# Info dicts (or flat feed entries) of the media seen last, keyed by Media.id, so
# that download_audio need not ask the site again.
_infos: OrderedDict[str, dict[str, Any]] = OrderedDict()


def resolve(url: str, *, cookies_from_browser: str | None = None) -> Media:
    """Asks yt-dlp what a URL is, without downloading it.

    Args:
        url: a video page or a direct media link.
        cookies_from_browser: a browser to borrow cookies from (``firefox``, ``chrome``…),
            for private, members-only or age-restricted videos.

    Returns:
        The ``Media`` for that one video.

    Raises:
        FetchError: the URL is unsupported, unreachable, missing, private, removed…,
            or is a playlist or feed (use ``entries`` for those).
    """
    info = _extract(url, _options(cookies_from_browser, extract_flat="in_playlist"))
    if info.get("_type") in ("playlist", "multi_video"):
        raise FetchError(
            f"{url} is a playlist or feed, not one video; use talkdown archive for it."
        )
    media = media_from_info(info)
    _remember(media.id, info)
    return media


def entries(
    url: str, limit: int | None = None, *, cookies_from_browser: str | None = None
) -> Iterator[Media]:
    """Lists the videos of a channel, playlist or podcast feed without downloading them.

    Entries are as complete as a flat listing allows (id, title, url, and where the
    site gives them, date, duration); channel is the playlist's or feed's title. A
    single video's URL yields that one video.

    Args:
        url: a channel, playlist, feed or video URL.
        limit: stop after this many entries (None for all).
        cookies_from_browser: as for ``resolve``.

    Yields:
        One ``Media`` per entry, in the site's order (newest first for most channels).

    Raises:
        FetchError: the URL cannot be listed.
    """
    options = _options(cookies_from_browser, extract_flat="in_playlist", noplaylist=False)
    if limit is not None:
        options["playlistend"] = limit
    yield from _entries(url, options, limit)


def download_audio(
    media: Media,
    cache_dir: Path,
    progress: Progress | None = None,
    *,
    cookies_from_browser: str | None = None,
) -> Path:
    """Downloads the best audio-only stream of ``media`` into ``cache_dir``.

    The file is named after ``media.id`` (``youtube_rg7Fvvl3taU.m4a``) and is only
    visible once complete (yt-dlp writes ``NAME.part`` and renames it), so a
    finished file found there is returned at once, without any network.

    Args:
        media: what ``resolve``, ``entries`` or ``load_info_json`` returned.
        cache_dir: the download folder; created if missing.
        progress: called as ``progress(downloaded_bytes, total_bytes_or_None)``.
        cookies_from_browser: as for ``resolve``.

    Returns:
        The downloaded file.

    Raises:
        FetchError: the media has no URL, or cannot be downloaded.
    """
    cache_dir = Path(cache_dir)
    stem = _safe_stem(media.id)
    if found := _finished_download(cache_dir, stem):
        return found
    if not media.url:
        raise FetchError(f"{media.title} has no URL to download it from.")
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise FetchError(
            f"Could not create the download folder {cache_dir}: {e.strerror or e}."
        ) from e
    options = _options(
        cookies_from_browser,
        format="bestaudio/best",
        # A run killed mid-download leaves NAME.part. Resuming it asks for the bytes after
        # its end, and when the .part is already whole, servers answer 416, which yt-dlp
        # reports as a failure: start over instead.
        continuedl=False,
        paths={"home": str(cache_dir)},
        outtmpl={"default": f"{stem}.%(ext)s"},
        progress_hooks=[_progress_hook(progress)] if progress else [],
    )
    try:
        with yt_dlp.YoutubeDL(options) as ydl:
            info = _download(ydl, media.url, _infos.get(media.id))
    except YoutubeDLError as e:
        raise _fetch_error(e, media.url) from e
    for download in (info or {}).get("requested_downloads") or ():
        if download.get("filepath") and Path(download["filepath"]).is_file():
            return Path(download["filepath"])
    if found := _finished_download(cache_dir, stem):
        return found
    raise FetchError(f"yt-dlp finished without leaving an audio file for {media.url}.")


_CAPTION_FORMATS = ("json3", "vtt", "srv3")  # what talkdown.captions reads, best first


def captions(media: Media, language: str, allow_auto: bool = False, *,
             cookies_from_browser: str | None = None) -> Captions:
    """Fetches ``media``'s caption track in ``language``: the manual one, else (``allow_auto``)
    the site's automatic one; json3 where offered, else WebVTT or srv3.

    Raises:
        NoCaptionsError: no track in that language (the message lists what there is).
        FetchError: the page or the track cannot be fetched (an expired link: 403/404).
    """
    if not media.url:
        raise NoCaptionsError(f"{media.title} has no URL to fetch captions from.")
    held = _infos.get(media.id)
    info = held if held is not None and ("subtitles" in held or "automatic_captions" in held) else None
    if info is None:
        info = _extract(media.url, _options(cookies_from_browser))
        _remember(media.id, info)
    track = _pick_track(info, language, allow_auto, media)
    site = "YouTube" if info.get("extractor_key") == "Youtube" else str(info.get("extractor_key") or "site")
    fmt, url, kind = track
    try:
        with yt_dlp.YoutubeDL(_options(cookies_from_browser)) as ydl:
            raw = ydl.urlopen(url).read()
    except (YoutubeDLError, HTTPError, TransportError) as e:
        if isinstance(e, HTTPError) and e.status in (403, 404, 410):
            raise FetchError(f"The {language} captions of {media.title} could not be fetched (HTTP {e.status}); "
                             "caption links expire after a few hours: run again for fresh ones.") from e
        raise _fetch_error(e, url) from e
    text = raw.decode("utf-8", "replace")
    return Captions(text=text, format=fmt or _sniffed(text), language=language, kind=kind, origin=url,
                    site=site if site != "Generic" else "the page's")


def _pick_track(info: dict[str, Any], language: str, allow_auto: bool, media: Media) -> tuple[str, str, str]:
    """(format, url, kind) of the best track in ``language``; json3 > vtt > srv3."""
    kinds = [("manual", info.get("subtitles") or {})]
    if allow_auto:
        kinds.append(("auto", info.get("automatic_captions") or {}))
    for kind, tracks in kinds:
        key = _language_key(tracks, language)
        if key is None:
            continue
        offered = [t for t in tracks[key] if isinstance(t, dict) and t.get("url")]
        by_ext = {str(t.get("ext") or "").lower(): t for t in offered}
        for fmt in _CAPTION_FORMATS:
            if fmt in by_ext:
                return fmt, by_ext[fmt]["url"], kind
        if offered and not any(t.get("ext") for t in offered):  # an HTML5 <track>: no ext, sniffed later
            url = offered[0]["url"]
            ext = url.split("?")[0].rsplit(".", 1)[-1].lower()
            return (ext if ext in _CAPTION_FORMATS else ""), url, kind
        raise NoCaptionsError(f"The {language} captions of {media.title} are offered only as "
                            f"{', '.join(sorted(by_ext)) or 'nothing'}, which talkdown does not read.")
    manual = sorted(k for k in (info.get("subtitles") or {}) if k != "live_chat")
    auto = _language_key(info.get("automatic_captions") or {}, language)
    if auto is not None and not allow_auto:
        raise NoCaptionsError(f"{media.title} has no {language} captions written by people, only automatic ones; "
                            "pass --captions auto to use those, or --source asr.")
    other = f"; it has {', '.join(manual)}" if manual else ""
    raise NoCaptionsError(f"{media.title} has no {language} captions{other}; pick one with --language, or use "
                        "--source auto to fall back to speech recognition.")


def _language_key(tracks: dict[str, Any], language: str) -> str | None:
    """``en`` finds ``en``, else ``en-orig``/``en-US``/``en-GB``…; ``en-GB`` finds itself, else ``en``."""
    if language in tracks:
        return language
    base = language.split("-")[0]
    for key in sorted(tracks, key=lambda k: (not k.endswith("-orig"), k)):
        if key.split("-")[0] == base:
            return key
    return None


def _sniffed(text: str) -> str:
    head = text.lstrip("\ufeff \r\n\t")[:20]
    return "vtt" if head.startswith("WEBVTT") else "json3" if head.startswith("{") else "srv3" if head.startswith("<") else "?"


def cached_audio(media: Media, cache_dir: Path) -> Path | None:
    """The finished download of ``media`` in ``cache_dir``, if one is there."""
    return _finished_download(Path(cache_dir), _safe_stem(media.id))


# --- yt-dlp options and calls -------------------------------------------------


class _QuietLogger:
    """Swallows yt-dlp's chatter; keeps errors, which also reach us as exceptions."""

    def __init__(self) -> None:
        self.errors: list[str] = []

    def debug(self, message: str) -> None:
        pass

    def info(self, message: str) -> None:
        pass

    def warning(self, message: str) -> None:
        pass

    def error(self, message: str) -> None:
        self.errors.append(message)


def _options(cookies_from_browser: str | None, **extra: Any) -> dict[str, Any]:
    options: dict[str, Any] = {
        "quiet": True,
        "no_warnings": True,
        "noprogress": True,
        "color": "no_color",
        "logger": _QuietLogger(),
        "socket_timeout": 20,
        "retries": 2,
        "fragment_retries": 2,
        "extractor_retries": 1,
        "noplaylist": True,
    }
    if cookies_from_browser:
        options["cookiesfrombrowser"] = (cookies_from_browser,)
    options.update(extra)
    return options


def _extract(url: str, options: dict[str, Any]) -> dict[str, Any]:
    try:
        with yt_dlp.YoutubeDL(options) as ydl:
            info = ydl.extract_info(url, download=False)
            return ydl.sanitize_info(info)
    except YoutubeDLError as e:
        raise _fetch_error(e, url) from e


def _download(ydl: yt_dlp.YoutubeDL, url: str, cached: dict[str, Any] | None) -> dict[str, Any]:
    """Downloads from the info we hold (as ``--load-info-json`` does), else extracts afresh."""
    if cached is not None:
        try:
            return ydl.process_ie_result(dict(cached), download=True)
        except DownloadError:
            if cached.get("_type", "video") != "video":
                raise  # a feed entry: there is nothing fresher to ask for
            # The held stream URLs may have expired (YouTube's last about six hours).
    return ydl.extract_info(url, download=True)


def _entries(url: str, options: dict[str, Any], limit: int | None) -> Iterator[Media]:
    info = _extract(url, options)
    if info.get("_type") not in ("playlist", "multi_video"):
        media = media_from_info(info)
        _remember(media.id, info)
        yield media
        return
    count = 0
    for entry in info.get("entries") or ():
        if limit is not None and count >= limit:
            return
        if not entry:
            continue  # yt-dlp leaves None for entries it could not list
        if _is_nested_playlist(entry):
            left = None if limit is None else limit - count
            for media in _entries(entry["url"], options, left):
                count += 1
                yield media
            continue
        media = _media_from_entry(entry, info)
        _remember(media.id, entry)
        count += 1
        yield media


def _is_nested_playlist(entry: dict[str, Any]) -> bool:
    # A channel's home page lists its tabs (Videos, Shorts, Live) as playlists.
    return entry.get("_type") == "url" and str(entry.get("ie_key") or "").endswith(
        ("Tab", "Playlist")
    )


def _media_from_entry(entry: dict[str, Any], playlist: dict[str, Any]) -> Media:
    """A flat entry, filled with what the playlist or feed knows, as a Media."""
    raw_url = entry.get("url") or entry.get("webpage_url") or ""
    url, smuggled = unsmuggle_url(raw_url, {})
    extractor, video_id = entry.get("ie_key") or entry.get("extractor_key"), entry.get("id")
    if not (extractor and video_id):  # feed items carry neither
        guessed = _guess_id(url, smuggled)
        extractor, video_id = extractor or guessed[0], video_id or guessed[1]
    guid, feed = smuggled.get("force_videoid"), playlist.get("webpage_url") or playlist.get("original_url")
    identity = feed_identity(feed, str(guid)) if guid and feed else None
    full = {
        **entry,
        "id": video_id,
        "extractor_key": extractor,
        "webpage_url": entry.get("webpage_url") or url,
        "channel": entry.get("channel")
        or entry.get("uploader")
        or playlist.get("channel")
        or playlist.get("uploader")
        or playlist.get("title"),
        "channel_id": entry.get("channel_id") or playlist.get("channel_id"),
        "channel_url": entry.get("channel_url")
        or playlist.get("channel_url")
        or playlist.get("webpage_url"),
    }
    return media_from_info(full, identity)


def _guess_id(url: str, smuggled: dict[str, Any]) -> tuple[str, str]:
    """The extractor and id yt-dlp would give ``url``, picked as YoutubeDL picks (generic last)."""
    for extractor in gen_extractor_classes():
        if extractor.suitable(url) and extractor.working() and extractor.ie_key() != "Generic":
            if video_id := extractor.get_temp_id(url):
                return extractor.ie_key(), str(video_id)
            break
    # As yt-dlp's generic extractor names a feed item: its guid, else the file name.
    name = urllib.parse.unquote(urllib.parse.urlparse(url).path.rstrip("/").rsplit("/", 1)[-1])
    return "Generic", str(smuggled.get("force_videoid") or name.rsplit(".", 1)[0] or url)


def _remember(media_id: str, info: dict[str, Any]) -> None:
    _infos[media_id] = info
    _infos.move_to_end(media_id)
    while len(_infos) > _INFO_CACHE_SIZE:
        _infos.popitem(last=False)


def _progress_hook(progress: Progress) -> Callable[[dict[str, Any]], None]:
    def hook(status: dict[str, Any]) -> None:
        if status.get("status") in ("downloading", "finished"):
            total = status.get("total_bytes") or status.get("total_bytes_estimate")
            progress(int(status.get("downloaded_bytes") or 0), int(total) if total else None)

    return hook


# --- files ----------------------------------------------------------------------


def _safe_stem(media_id: str) -> str:
    """``youtube:rg7Fvvl3taU`` -> ``youtube_rg7Fvvl3taU``; odd ids get a hash to stay unique."""
    stem = media_id.replace(":", "_", 1)
    safe = re.sub(r"[^A-Za-z0-9_-]+", "_", stem)[:80]
    if safe != stem:
        safe += "_" + hashlib.sha1(media_id.encode()).hexdigest()[:10]
    return safe


def _finished_download(cache_dir: Path, stem: str) -> Path | None:
    if not cache_dir.is_dir():
        return None
    for path in sorted(cache_dir.iterdir()):
        if path.stem == stem and path.suffix not in _PARTIAL_SUFFIXES and path.is_file():
            return path
    return None


# --- errors ---------------------------------------------------------------------

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_PREFIX = re.compile(r"^(?:ERROR:\s*)?(?:\[[^\]]+\]\s*(?:[^\s:]+:\s+)?)?")
_TAIL = re.compile(
    r" \(caused by |; please report this issue|\. Use --cookies|\s*Confirm you are on"
)
_NETWORK = re.compile(
    r"connection refused|name or service not known|nodename nor servname|failed to resolve|"
    r"name resolution|getaddrinfo failed|timed out|network is unreachable|no route to host|"
    r"connection reset"
)
_COOKIES = "pass --cookies-from-browser"
_GEO = ("is geo-blocked in your country", "try from elsewhere or through a proxy")
# (pattern in yt-dlp's message, what the video is, what to do): the first match wins.
_REASONS: tuple[tuple[str, str, str], ...] = (
    ("private video", "is private", f"{_COOKIES} if your account has been given access"),
    (
        "members[- ]only|join this channel|channel's members",
        "is members-only",
        f"{_COOKIES} with a browser signed in as a member",
    ),
    (
        "confirm your age|age[- ]restricted|inappropriate for some users",
        "is age-restricted",
        f"{_COOKIES} with a browser signed in to an adult account",
    ),
    ("not a bot", "needs a signed-in session (a bot check)", f"{_COOKIES} or try again later"),
    ("available in your country|geo[- ]?restrict|from your location", *_GEO),
    ("live event will begin|premieres in", "has not started yet", "try again once it has aired"),
    ("requires payment|purchase", "must be paid for", f"{_COOKIES} with an account that paid"),
    (
        "removed|no longer available|terminated|unavailable|copyright grounds",
        "has been removed or is unavailable",
        "check the address, or look for another copy",
    ),
    ("sign in|log ?in|registered users", "needs a signed-in account", _COOKIES),
)


def _fetch_error(error: BaseException, url: str) -> FetchError:
    """Turns a yt-dlp error into one plain sentence saying what failed and what to do."""
    cause = error.exc_info[1] if getattr(error, "exc_info", None) else error  # type: ignore[attr-defined]
    message = _ANSI.sub("", str(error)).strip()
    lowered = message.lower()
    if isinstance(cause, UnsupportedError) or "unsupported url" in lowered:
        return FetchError(f"{url} is not a page yt-dlp knows how to read; check the address.")
    if isinstance(cause, HTTPError):
        return FetchError(_http_sentence(url, cause.status))
    if status := re.search(r"HTTP Error (\d{3})", message):
        return FetchError(_http_sentence(url, int(status[1])))
    if isinstance(cause, GeoRestrictedError):
        return FetchError(f"The video at {url} {_GEO[0]}; {_GEO[1]}.")
    if isinstance(cause, TransportError) or _NETWORK.search(lowered):
        reason = _network_reason(lowered)
        return FetchError(
            f"Could not reach {_host(url)}: {reason}; check the address or your connection."
        )
    for pattern, problem, advice in _REASONS:
        if re.search(pattern, lowered):
            return FetchError(f"The video at {url} {problem}; {advice}.")
    text = _TAIL.split(_PREFIX.sub("", message, count=1))[0].strip().rstrip(".")
    return FetchError(f"{text[:1].upper()}{text[1:]}." if text else f"yt-dlp could not read {url}.")


def _http_sentence(url: str, status: int) -> str:
    if status in (404, 410):
        return f"{url} was not found (HTTP {status}); check the address."
    if status in (401, 403):
        return f"{url} refused access (HTTP {status}); it may need signing in ({_COOKIES})."
    if status == 429:
        return f"{url} is rate-limiting requests (HTTP 429); wait a while and try again."
    if status >= 500:
        return f"The server for {url} failed (HTTP {status}); try again later."
    return f"{url} could not be fetched (HTTP {status})."


def _network_reason(lowered: str) -> str:
    if "refused" in lowered:
        return "the connection was refused"
    if "timed out" in lowered:
        return "the connection timed out"
    if re.search(r"resolve|name or service|nodename|getaddrinfo|name resolution", lowered):
        return "the name does not resolve"
    return "the network failed"


def _host(url: str) -> str:
    parts = urllib.parse.urlparse(url)
    return f"{parts.hostname}:{parts.port}" if parts.port else parts.hostname or url
