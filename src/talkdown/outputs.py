"""A transcript written to a folder in several formats, apart from the pipeline so that
``talkdown render`` writes files without loading the decoders' libraries."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from .render import EXTENSIONS, render
from .store.files import transcript_stem, write_atomic
from .types import Transcript

__all__ = ["write_outputs"]


def write_outputs(transcript: Transcript, formats: Sequence[str], out_dir: Path,
                  flag_unsure: bool = False) -> tuple[Path, ...]:
    """Renders every format first, then writes each atomically, so a render error writes nothing."""
    stem = transcript_stem(transcript.media)
    texts = {fmt: render(transcript, fmt, flag_unsure=flag_unsure) for fmt in formats}
    paths = []
    for fmt, text in texts.items():
        path = out_dir / f"{stem}{EXTENSIONS[fmt]}"
        write_atomic(path, text)
        paths.append(path)
    return tuple(paths)
