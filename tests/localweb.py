"""A real HTTP server on 127.0.0.1 for tests: serves bytes from a dict, with Range support.

yt-dlp's generic extractor reads direct media links and RSS feeds from it, so the
remote paths run for real without the internet.
"""

from __future__ import annotations

import contextlib
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Server:
    base: str
    files: dict[str, bytes]
    requests: list[str] = field(default_factory=list)


class _Handler(BaseHTTPRequestHandler):
    server: ThreadingHTTPServer

    def do_GET(self) -> None:
        state: Server = self.server.state  # type: ignore[attr-defined]
        state.requests.append(self.path)
        body = state.files.get(self.path.split("?")[0])
        if body is None:
            self.send_error(404, "File not found")
            return
        start, end = 0, len(body) - 1
        if match := re.fullmatch(r"bytes=(\d*)-(\d*)", self.headers.get("Range", "")):
            start = int(match[1] or 0)
            end = min(int(match[2]), end) if match[2] else end
            if start >= len(body):  # as real servers do: yt-dlp resumes a complete .part with such a range
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(body)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{end}/{len(body)}")
        else:
            self.send_response(200)
        self.send_header("Content-Type", _content_type(self.path))
        self.send_header("Content-Length", str(end - start + 1))
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Last-Modified", "Mon, 02 Jan 2023 10:00:00 GMT")
        self.end_headers()
        # yt-dlp reads only the head of a file while it sniffs what it is.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.wfile.write(body[start : end + 1])

    def log_message(self, format: str, *args: object) -> None:
        pass


def _content_type(path: str) -> str:
    types = {
        ".mp3": "audio/mpeg",
        ".flac": "audio/flac",
        ".xml": "application/rss+xml",
        ".html": "text/html",
    }
    return next((t for ext, t in types.items() if path.endswith(ext)), "application/octet-stream")




@contextlib.contextmanager
def serve(files: dict[str, bytes]) -> Iterator[Server]:
    """Serves ``files`` (path -> bytes; the dict may change while it runs) until the block ends."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    state = Server(f"http://127.0.0.1:{httpd.server_address[1]}", files)
    httpd.state = state  # type: ignore[attr-defined]
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


def podcast_feed(base: str, names: list[str], title: str = "Corpus Cast") -> bytes:
    """An RSS feed whose item i (from 1) is "Episode i: NAME", guid ep-i, dated 10+i Jan 2023,
    with its enclosure at BASE/media/NAME."""
    days = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    items = "".join(
        f"<item><title>Episode {i}: {name}</title><guid>ep-{i}</guid>"
        f"<pubDate>{days[i % 7]}, {10 + i:02d} Jan 2023 10:00:00 +0000</pubDate>"
        f'<enclosure url="{base}/media/{name}" type="audio/mpeg" length="1"/></item>'
        for i, name in enumerate(names, 1)
    )
    return (f'<?xml version="1.0"?><rss version="2.0"><channel><title>{title}</title>'
            f"<link>{base}/</link>{items}</channel></rss>").encode()
