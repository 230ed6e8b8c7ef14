"""Where talkdown keeps what it can make again: downloaded audio, converted models."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """$TALKDOWN_CACHE, else talkdown's folder in the XDG cache."""
    if env := os.environ.get("TALKDOWN_CACHE"):
        return Path(env)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "talkdown"
