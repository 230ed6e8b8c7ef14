"""What SQLite says of the catalogue, as one sentence a user can act on.

SQLite's own messages ("database disk image is malformed", "disk I/O error") name no
file and suggest nothing; a damaged, full, read-only or busy catalogue each has its
cause and its remedy here, for every command and for ``serve``.
"""

from __future__ import annotations

import functools
import sqlite3
from pathlib import Path
from typing import Any, Callable, TypeVar

from talkdown.errors import CatalogError

__all__ = ["guarded", "sqlite_error"]

_Call = TypeVar("_Call", bound=Callable[..., Any])


def sqlite_error(path: Path, error: sqlite3.Error) -> CatalogError:
    """One sentence for what SQLite says of the catalogue: damaged, full, read-only, busy…"""
    text = str(error)
    code = getattr(error, "sqlite_errorname", "")
    if code.startswith("SQLITE_FULL") or "disk is full" in text:
        return CatalogError(f"The disk holding {path} is full; free some space and run again "
                            "(what is archived so far is kept)")
    if code.startswith("SQLITE_READONLY") or "readonly" in text:
        return CatalogError(f"{path} cannot be written (it or its folder is read-only); "
                            "archive into a folder you can write, or read it with search, render or serve")
    if code.startswith("SQLITE_BUSY") or "locked" in text:
        return CatalogError(f"The catalogue {path} is busy ({text}); wait for the other run to finish")
    if code.startswith("SQLITE_NOTADB") or "not a database" in text:
        return CatalogError(f"{path} is not a talkdown catalogue ({text}); move it aside or choose another folder")
    if code.startswith("SQLITE_CORRUPT") or "malformed" in text or "vtable constructor failed" in text:
        return CatalogError(f"The catalogue {path} is damaged ({text}); the transcripts are safe in their "
                            f"files: move {path.name} aside and run talkdown archive or import to rebuild it")
    if code.startswith("SQLITE_IOERR") or "disk I/O error" in text:
        return CatalogError(f"Cannot write or read the catalogue {path} ({text}); the disk may be full or "
                            "failing: free some space and run again (what is archived so far is kept)")
    if code.startswith("SQLITE_CANTOPEN") or isinstance(error, sqlite3.OperationalError):
        return CatalogError(f"Cannot use the catalogue {path} ({text}); check the disk and its permissions")
    return CatalogError(f"The catalogue {path} cannot be read ({text}); is it a talkdown catalogue?")


def guarded(method: _Call) -> _Call:
    """Turns SQLite's exceptions in a ``Catalog`` method into ``sqlite_error``'s sentence."""

    @functools.wraps(method)
    def call(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except sqlite3.Error as e:
            raise sqlite_error(self.path, e) from e

    return call  # type: ignore[return-value]
