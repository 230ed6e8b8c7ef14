"""glibc's malloc held to two arenas in a process that decodes, so its peak stays flat in length.

CTranslate2 allocates about 150 MB of buffers per window in flight and frees them
again, from its workers' threads and ours. glibc gives every new thread an arena of
its own, up to 8 per core, and memory freed into one arena is not reused by the
others: over a 3-hour recording the decoders' transients spread over more arenas and
the peak crept up. Two arenas: 3 hours of dense speech peaked at 830 MiB (1,005
without), in 675 s (686), the same words (bench/memory.py, issue 16). Only glibc has
the knob; elsewhere, or where the user set ``MALLOC_ARENA_MAX``, this does nothing.
"""

from __future__ import annotations

import ctypes
import os

ARENAS = 2
_M_ARENA_MAX = -8  # glibc's malloc.h


def hold_arenas(arenas: int = ARENAS) -> bool:
    """Caps this process's malloc arenas from now on (called as the engine loads, before
    CTranslate2 starts its threads); whether the C library took it."""
    if "MALLOC_ARENA_MAX" in os.environ:
        return False
    try:
        libc = ctypes.CDLL(None)
        libc.gnu_get_libc_version  # glibc only: musl and macOS have no arenas to cap
    except (OSError, AttributeError):
        return False
    return bool(libc.mallopt(_M_ARENA_MAX, arenas))
