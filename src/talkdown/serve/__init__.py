"""``talkdown serve``: read and search an archive in a local web page, beside the video.

In: an archive folder (``talkdown.db`` plus the per-channel files); out: a web server on
127.0.0.1 (unless told otherwise) showing channels, transcripts next to their player,
and full-text search. The web libraries (Starlette, Jinja2, uvicorn) are the optional
``web`` extra, so they are imported only when a page is served: importing this
package costs nothing and a missing extra becomes one clear sentence.
"""

from __future__ import annotations

import errno
import ipaddress
import socket
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from talkdown.errors import Error

if TYPE_CHECKING:
    from starlette.applications import Starlette

__all__ = ["LOOPBACK_HOSTS", "create_app", "run"]

INSTALL_HINT = "talkdown serve needs the web extra: pip install 'talkdown[web]'"
LOOPBACK_HOSTS = ("127.0.0.1", "localhost")


def create_app(root: Path, allowed_hosts: list[str] | None = None) -> Starlette:
    """Builds the web app over ``root`` (see ``talkdown.serve.app.create_app``).

    Raises:
        Error: if the ``web`` extra is not installed.
        CatalogError: if ``root`` holds no catalogue.
    """
    try:
        from talkdown.serve.app import create_app as build
    except ImportError as e:
        raise Error(f"{INSTALL_HINT} ({e.name} is missing)") from e
    return build(root, allowed_hosts)


def run(root: Path, host: str = "127.0.0.1", port: int = 8000, announce: Callable[[str], None] | None = None) -> None:
    """Serves the archive at ``root`` until interrupted (Ctrl-C).

    Args:
        root: the archive folder (``-o DIR``), holding ``talkdown.db``.
        host: the address to bind; loopback by default, so only this machine can see it.
            When it is loopback, requests must name it in their Host header too.
        port: the TCP port (default 8000; 0 picks a free one).
        announce: called with the page's URL once the app is built and the port is
            bound, just before serving (the CLI prints it).

    Raises:
        CatalogError: if ``root`` holds no catalogue.
        Error: if the ``web`` extra is missing or the port cannot be bound.
    """
    try:
        import uvicorn
    except ImportError as e:
        raise Error(f"{INSTALL_HINT} ({e.name} is missing)") from e
    app = create_app(Path(root), list(LOOPBACK_HOSTS) if _is_loopback(host) else None)
    sock = bind(host, port)
    if announce is not None:
        shown = f"[{host}]" if ":" in host else host
        announce(f"http://{shown}:{sock.getsockname()[1]}/")
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", server_header=False))
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()


def bind(host: str, port: int) -> socket.socket:
    """Opens the listening socket first, so a busy port is a clear talkdown ``Error``, not a log line.

    Raises:
        Error: if the address cannot be bound (in use, not this machine's, no permission).
    """
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
        family, kind, proto, _, address = infos[0]
        sock = socket.socket(family, kind, proto)
    except (OSError, IndexError) as e:
        raise Error(f"Cannot serve on {host}: the name does not resolve ({getattr(e, 'strerror', None) or e}); "
                    "pass --host with one of this machine's addresses, such as 127.0.0.1") from e
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
    except OSError as e:
        sock.close()
        raise Error(_bind_failed(host, port, e)) from e
    sock.set_inheritable(True)
    return sock


def _bind_failed(host: str, port: int, e: OSError) -> str:
    """The sentence for a failed bind: only a port in use is the port's fault."""
    if e.errno == errno.EADDRINUSE:
        return f"Cannot serve on {host}:{port}: the port is in use by another server; choose another with --port"
    if e.errno == errno.EADDRNOTAVAIL:
        return (f"Cannot serve on {host}: it is not an address of this machine; "
                "pass --host with one of its addresses, such as 127.0.0.1")
    if e.errno == errno.EACCES:
        return (f"Cannot serve on {host}:{port}: not allowed ({e.strerror}); "
                "ports below 1024 need root, so choose another with --port")
    return f"Cannot serve on {host}:{port} ({e.strerror or e}); check --host and --port"


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    # IPv6 is left out: Starlette's host check cannot parse "[::1]:8000".
    return address.version == 4 and address.is_loopback
