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
