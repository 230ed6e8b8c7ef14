"""Transcripts that already exist (the seed's Markdown, ours, our JSON) into an archive.

Import is how users migrate thousands of old files, so it must never lose data: an
item the archive already holds is replaced only by a transcript at least as rich
(word timings, the model that made it, speakers), never by a poorer one, and each
file's fate is reported on its own; a bad file stops nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from .archiving import store_transcript
from .errors import Error
from .parse import parse_markdown
from .render import read_json
from .store import DB_NAME, Catalog, ensure_writable, lock
from .types import Transcript


@dataclass(frozen=True, slots=True)
class Imported:
    """One file's fate: 'imported', 'kept' (the archive's transcript is richer),
    'passed' (not a transcript: a yt-dlp .info.json, any other JSON) or 'failed'."""

    path: Path
    status: str
    message: str | None = None


def richness(transcript: Transcript) -> tuple[bool, bool, bool]:
    """What a transcript has that another may lack: word timings, its model, speakers."""
    return (
        any(True for _ in transcript.words()),
        bool(transcript.model.name),
        bool(transcript.speakers) or any(line.speaker for line in transcript.lines()),
    )


_WHAT = ("word timings", "the model that made it", "speakers")


def _poorer(new: Transcript, old: Transcript) -> str | None:
    """Why ``new`` would lose something ``old`` has, or None when it loses nothing."""
    lost = [what for what, n, o in zip(_WHAT, richness(new), richness(old)) if o and not n]
    return " and ".join(lost) if lost else None


def _is_transcript_json(path: Path, text: str) -> bool:
    """Whether a .json file is meant to be a transcript at all (ours have media and sections)."""
    if path.name.endswith(".info.json"):
        return False
    try:
        data = json.loads(text)
    except ValueError:
        return True  # broken JSON among transcripts: a failure to report, not a stranger
    return isinstance(data, dict) and ("media" in data or "sections" in data)


def _held(catalog: Catalog, root: Path, media_id: str) -> Transcript | None:
    """The transcript the archive holds for ``media_id``, or None (also when its JSON is unreadable)."""
    row = catalog.get(media_id)
    if row is None or row.status != "done" or not row.json_path:
        return None
    try:
        return read_json((root / row.json_path).read_text(encoding="utf-8"))
    except (Error, OSError, UnicodeDecodeError):
        return None


def _files(src: Path) -> Iterator[Path]:
    for path in sorted(p for p in src.rglob("*") if p.suffix in (".md", ".json") and p.is_file()):
        # Our own archive's JSON, beside its Markdown: the Markdown is imported with it.
        if path.suffix == ".json" and path.parent.name == ".json" and (path.parent.parent / path.stem).exists():
            continue
        yield path


def _one(catalog: Catalog, root: Path, path: Path) -> Imported:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        return Imported(path, "failed", "is not UTF-8 text")
    except OSError as e:
        return Imported(path, "failed", f"cannot be read ({e.strerror or e})")
    if path.suffix == ".json" and not _is_transcript_json(path, text):
        return Imported(path, "passed", "is not a transcript")
    try:
        transcript = read_json(text) if path.suffix == ".json" else parse_markdown(text)
    except Error as e:
        return Imported(path, "failed", str(e))
    held = _held(catalog, root, transcript.media.id)
    if held is not None and (lost := _poorer(transcript, held)):
        return Imported(path, "kept", f"the archive's transcript of {transcript.media.id} has {lost}, this file has not")
    try:
        store_transcript(catalog, root, transcript, markdown=text if path.suffix == ".md" else None)
    except Error as e:
        return Imported(path, "failed", str(e))
    return Imported(path, "imported")


def import_transcripts(src: Path, root: Path) -> Iterator[Imported]:
    """Indexes every transcript under ``src`` into the archive at ``root``, one result per file.

    Raises:
        Error: ``src`` is not a folder, or the archive is unwritable or held by another run.
    """
    if not src.is_dir():
        raise Error(f"{src} is not a folder of transcripts.")
    ensure_writable(root)
    with lock(root), Catalog(root / DB_NAME) as catalog:
        for path in _files(src):
            yield _one(catalog, root, path)
