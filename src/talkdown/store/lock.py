"""One archive, one run: an exclusive, non-blocking lock on ``ROOT/.talkdown.lock``.

In: the archive folder; out: a context manager that holds the archive or raises
``CatalogError`` naming the pid that does. ``fcntl.flock`` (``msvcrt.locking`` on
Windows) is released by the OS when the holder dies, even by SIGKILL, so a crashed run
never leaves the archive locked; a pid file alone could not promise that.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from talkdown.errors import CatalogError

LOCK_NAME = ".talkdown.lock"


@contextlib.contextmanager
def lock(root: Path) -> Iterator[None]:
    """Holds the archive exclusively for one run; the OS frees it if the process dies.

    Args:
        root: the archive folder; ``root/.talkdown.lock`` is created (and keeps the pid).

    Raises:
        CatalogError: if another run holds the archive.
    """
    root.mkdir(parents=True, exist_ok=True)
    path = root / LOCK_NAME
    try:
        handle = open(path, "a+", encoding="utf-8")
    except OSError as e:
        raise CatalogError(f"Cannot lock the archive {root}: {e.strerror}; choose another folder with -o") from e
    try:
        if not _try_lock(handle):
            raise CatalogError(
                f"Another talkdown run is using {root} (pid {_holder(handle)}); wait for it to finish"
            )
        try:
            handle.seek(0)
            handle.truncate()
            handle.write(f"{os.getpid()}\n")
            handle.flush()
        except OSError as e:  # the pid is for people; the lock itself is held
            raise CatalogError(f"Cannot write in the archive {root}: {e.strerror or e}; free some space "
                               "or choose another folder with -o") from e
        yield
    finally:
        with contextlib.suppress(OSError):  # a flush that failed above fails again; the descriptor still closes
            handle.close()  # closing the descriptor releases the lock


def _holder(handle: IO[str]) -> str:
    handle.seek(0)
    return handle.read().strip() or "unknown"


def _try_lock(handle: IO[str]) -> bool:
    try:
        import fcntl
    except ImportError:  # Windows
        import msvcrt

        try:
            handle.seek(0)
            msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)  # type: ignore[attr-defined]
        except OSError:
            return False
        return True
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True
