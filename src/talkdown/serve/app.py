"""The local web page: an archive folder in, a Starlette ASGI app out.

``create_app(root)`` serves, read-only, the archive that ``talkdown archive``/``import``
wrote: channels with counts, a channel's items newest first, a transcript beside its
player (``/v/<id>``), full-text search (``/search``) and the item's own local audio
(``/media/<id>``, with HTTP range requests so seeking works). Starlette because it is
small, async, has range-aware ``FileResponse`` and ``StaticFiles`` built in, and is
what FastAPI and Datasette-style tools build on, without an ORM or forms layer we
would not use; Jinja2 because its autoescaping makes every title, description,
channel and line inert text by default. The catalogue is opened read-only per
request (cheap, and never holds a connection across threads); the only files read
are those the catalogue row or the item's JSON name, checked to lie inside the root.
"""

from __future__ import annotations

import functools
import json
import sqlite3
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import jinja2
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from talkdown.errors import CatalogError, Error, QueryError
from talkdown.render.jsonfmt import read_json, transcript_from
from talkdown.render.timecode import clock
from talkdown.serve import pages
from talkdown.store import DB_NAME, Catalog, search
from talkdown.store.sqlerrors import sqlite_error
from talkdown.store.files import LOCAL_CHANNEL
from talkdown.types import Transcript

HERE = Path(__file__).parent
SEARCH_LIMIT = 50
# Defence in depth behind autoescaping: no inline script at all, and the YouTube
# player is the only thing from elsewhere (media may be a podcast's enclosure URL).
CSP = (
    "default-src 'self'; script-src 'self' https://www.youtube.com https://s.ytimg.com; "
    "frame-src https://www.youtube.com https://www.youtube-nocookie.com; img-src 'self' data: https://i.ytimg.com; "
    "media-src 'self' http: https:; style-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
HEADERS = {"content-security-policy": CSP, "x-content-type-options": "nosniff"}

ASGIApp = Callable[[dict[str, Any], Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]], Awaitable[None]]


def create_app(root: Path, allowed_hosts: Sequence[str] | None = None) -> Starlette:
    """Builds the web app over one archive folder.

    Args:
        root: the archive folder (holding ``talkdown.db``).
        allowed_hosts: Host header values to accept (e.g. ``["127.0.0.1", "localhost"]``
            when bound to loopback, which defeats DNS rebinding); None accepts any.

    Returns:
        The Starlette app; it never writes to the archive.

    Raises:
        CatalogError: if ``root`` holds no readable catalogue.
    """
    root = Path(root).resolve()
    Catalog(root / DB_NAME, readonly=True).close()  # fail now, with talkdown's sentence, not per request
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True, trim_blocks=True, lstrip_blocks=True
    )
    env.filters["q"] = pages.path_quote
    env.filters["clock"] = lambda s: clock(s) if s is not None else ""
    site = _Site(root, env)
    routes = [
        Route("/", site.index),
        Route("/channel/{name:path}", site.channel),
        Route("/v/{media_id:path}", site.video),
        Route("/media/{media_id:path}", site.media),
        Route("/search", site.search),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]
    middleware = [Middleware(TrustedHostMiddleware, allowed_hosts=list(allowed_hosts))] if allowed_hosts else []
    handlers = {HTTPException: site.error, Error: site.failed, sqlite3.Error: site.failed}
    app = Starlette(routes=routes, middleware=middleware, exception_handlers=handlers)
    app.add_middleware(_SecurityHeaders)
    return app


class _SecurityHeaders:
    """Adds the CSP and nosniff headers to every response (a plain ASGI wrapper: no buffering of files)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                names = {k.lower() for k, _ in message.get("headers", [])}
                extra = [(k.encode(), v.encode()) for k, v in HEADERS.items() if k.encode() not in names]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, send_with_headers)


class _Site:
    """The route handlers, sharing the archive root and the template environment."""

    def __init__(self, root: Path, env: jinja2.Environment) -> None:
        self.root = root
        self.env = env

    def page(self, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        return HTMLResponse(self.env.get_template(template).render(**context), status_code=status)

    def catalog(self) -> Catalog:
        try:
            return Catalog(self.root / DB_NAME, readonly=True)
        except CatalogError as e:
            raise HTTPException(503, str(e)) from e

    async def error(self, request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        titles = {400: "Cannot do that", 404: "Not found", 500: "Cannot show this page", 503: "Archive unavailable"}
        title = titles.get(exc.status_code, "Error")
        return self.page("error.html", exc.status_code, title=title, message=exc.detail)

    async def failed(self, request: Request, exc: Exception) -> Response:
        """Any talkdown ``Error`` or SQLite error while answering: its sentence on an error page."""
        if isinstance(exc, sqlite3.Error):
            exc = sqlite_error(self.root / DB_NAME, exc)
        status = 400 if isinstance(exc, QueryError) else 503 if isinstance(exc, CatalogError) else 500
        return await self.error(request, HTTPException(status, str(exc)))

    def index(self, request: Request) -> Response:
        with self.catalog() as catalog:
            channels = [(name or LOCAL_CHANNEL, count) for name, count in catalog.channels()]
        return self.page("index.html", channels=channels, total=sum(c for _, c in channels))

    def channel(self, request: Request) -> Response:
        name = request.path_params["name"]
        with self.catalog() as catalog:
            videos = [v for v in catalog.videos(name) if v.status == "done"]
            if name == LOCAL_CHANNEL:
                videos += [v for v in catalog.videos() if v.channel is None and v.status == "done"]
        if not videos:
            raise HTTPException(404, f"No channel called {name!r} in this archive.")
        return self.page("channel.html", name=name, videos=videos)

    def video(self, request: Request) -> Response:
        media_id = request.path_params["media_id"]
        transcript, words = self._read(media_id)
        lines, toc = pages.page_lines(transcript, words)
        at = pages.parse_time(request.query_params.get("t"))
        media = transcript.media
        return self.page(
            "video.html",
            t=transcript,
            media=media,
            lines=lines,
            toc=toc,
            current=pages.current_index(lines, at),
            at=pages.whole(at),
            player=pages.choose_player(media, pages.local_media(self.root, media)),
            source=pages.safe_href(media.url),
            quote_link=pages.quote_link(media),
            unsure=sum(1 for line in lines if line.unsure),
            channel=media.channel or LOCAL_CHANNEL,
            length=clock(media.duration) if media.duration else None,
            clean=pages.clean,
        )

    def media(self, request: Request) -> Response:
        media_id = request.path_params["media_id"]
        local = pages.local_media(self.root, self._transcript(media_id).media)
        if local is None:
            raise HTTPException(404, "This item has no local audio file in the archive.")
        return FileResponse(local, media_type=pages.media_type(local))

    def search(self, request: Request) -> Response:
        params = request.query_params
        query, channel, since = params.get("q", "").strip(), params.get("channel", ""), params.get("since", "").strip()
        order = "time" if params.get("order") == "time" else "rank"
        hits, message, status = [], None, 200
        with self.catalog() as catalog:
            channels = [name or LOCAL_CHANNEL for name, _ in catalog.channels()]
            if query:
                try:
                    hits = search(catalog, query, channel=channel or None, since=since or None, limit=SEARCH_LIMIT)
                except QueryError as e:
                    message, status = str(e), 400
        groups = [
            {"group": g, "hits": [{"hit": h, "snippet": pages.highlight(h.snippet), "second": pages.whole(h.start)}
                                  for h in g.hits]}
            for g in pages.group_hits(hits, order)
        ]
        return self.page("search.html", status, query=query, channel=channel, since=since, channels=channels, limit=SEARCH_LIMIT,
                         groups=groups, found=len(hits), order=order, message=message, search_page=True)

    def _transcript(self, media_id: str) -> Transcript:
        return self._read(media_id)[0]

    def _read(self, media_id: str) -> tuple[Transcript, tuple[pages.WordTimes, ...]]:
        with self.catalog() as catalog:
            video = catalog.get(media_id)
        if video is None or video.status != "done" or not video.json_path:
            raise HTTPException(404, f"Nothing with the id {media_id!r} in this archive.")
        path = (self.root / video.json_path).resolve()
        if not path.is_relative_to(self.root) or not path.is_file():
            raise HTTPException(404, f"The transcript file for {media_id!r} is missing from the archive.")
        try:
            stat = path.stat()
            return _load(str(path), video.json_path, stat.st_mtime_ns, stat.st_size)
        except (OSError, UnicodeError) as e:
            reason = getattr(e, "strerror", None) or e
            raise HTTPException(500, f"The transcript file {video.json_path} cannot be read ({reason})") from e


@functools.lru_cache(maxsize=16)
def _load(path: str, name: str, mtime_ns: int, size: int) -> tuple[Transcript, tuple[pages.WordTimes, ...]]:
    """Reads one JSON transcript for a page, with each line's word times apart; keyed on mtime and size.

    The page needs only each word's start and text, and building 30,000 ``Word``
    objects for a 3-hour talk took 150 ms of a 200 ms budget, so the words are taken
    from the JSON as plain (start, text) pairs and dropped before ``Transcript.from_dict``.
    """
    text = Path(path).read_text(encoding="utf-8")
    try:
        data = json.loads(text)
    except ValueError:
        return read_json(text, name), ()  # its sentence
    words: list[pages.WordTimes] = []
    sections = data.get("sections") if isinstance(data, dict) else None
    for section in sections if isinstance(sections, list) else ():
        lines = section.get("lines") if isinstance(section, dict) else None
        for line in lines if isinstance(lines, list) else ():
            if isinstance(line, dict):
                words.append(_word_times(line.get("words")))
                line["words"] = None  # a null takes the default: no words
    transcript = transcript_from(data, name)
    return transcript, tuple(words) if len(words) == sum(len(s.lines) for s in transcript.sections) else ()


def _word_times(words: Any) -> pages.WordTimes:
    """(start, text) of each well-formed word in one line's JSON; a line with any malformed word gets none."""
    if not isinstance(words, list):
        return ()
    out = []
    for w in words:
        if not isinstance(w, dict) or not isinstance(w.get("text"), str) or not isinstance(w.get("start"), (int, float)):
            return ()
        out.append((float(w["start"]), w["text"]))
    return tuple(out)
