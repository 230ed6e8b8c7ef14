"""The archive's layout on disk and crash-safe writes into it.

In: a ``Media`` (for names) and already-rendered text; out: paths under the archive
root and files that are either wholly old or wholly new. Names follow
``ROOT/<channel>/<YYYY-MM-DD> <title> [<id>].md`` with the JSON source of truth in
``ROOT/<channel>/.json/<id>.json``; every component goes through ``safe_name`` so a
title like ``../../etc/passwd`` or ``CON`` stays a plain file inside the root on every
OS. Writes go to a ``.tmp-talkdown-*`` file in the same folder, are fsynced, then
``os.replace``d over the target (atomic on POSIX and Windows), the same recipe as
``atomicwrites``/``python-atomicwrites`` without the dependency. Standard library only.
"""

from __future__ import annotations

import errno
import os
import re
import tempfile
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from talkdown.errors import OutputError
from talkdown.types import Media

TEMP_PREFIX = ".tmp-talkdown-"
LOCAL_CHANNEL = "Local files"
UNTITLED = "untitled"
_ZWJ = "\u200d"

_FORBIDDEN = re.compile(r'[/\\:*?"<>|\x00-\x1f\x7f-\x9f]')
_SPACES = re.compile(r"\s+")
_RESERVED = {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"}
_RESERVED |= {f"{p}{n}" for p in ("COM", "LPT") for n in "123456789¹²³"}


@dataclass(frozen=True, slots=True)
class ArchivePaths:
    """Where one item's files live: its Markdown, its JSON, and their channel folder."""

    markdown: Path
    json: Path
    folder: Path


def safe_name(text: str, max_bytes: int = 150) -> str:
    """Makes one file or folder name component that is valid on every OS.

    Args:
        text: any string (a title, a channel, an id).
        max_bytes: the most UTF-8 bytes the result may take (default 150, well under
            the 255-byte limit of common file systems, leaving room for suffixes).

    Returns:
        An NFC-normalised name without path separators, reserved characters, control
        characters, leading/trailing dots or spaces, nor a Windows device name;
        ``"untitled"`` when nothing usable is left.
    """
    name = unicodedata.normalize("NFC", text)
    name = _FORBIDDEN.sub(" ", name)
    name = _SPACES.sub(" ", name)
    name = _truncate_utf8(_strip_ends(name), max_bytes)
    name = _strip_ends(name)
    if not name or set(name) <= {"."}:
        return UNTITLED
    base, dot, extension = name.partition(".")
    if base.rstrip(" ").upper() in _RESERVED:
        # "CON.txt" is a device too, so the mark goes on the base, not the end.
        name = _truncate_utf8(base.rstrip(" ") + "_" + dot + extension, max_bytes)
    return name


def _strip_ends(name: str) -> str:
    return name.strip(" .\t")


def _truncate_utf8(text: str, max_bytes: int) -> str:
    """Cuts ``text`` to ``max_bytes`` of UTF-8 without splitting a character or an emoji."""
    data = text.encode("utf-8")
    if len(data) <= max_bytes:
        return text
    cut = data[: max(max_bytes, 0)].decode("utf-8", "ignore")
    rest = text[len(cut) :]
    # Back off to the start of the cluster: a ZWJ sequence, a skin tone, a keycap or
    # an accent belongs to the character before it, and a flag is a pair.
    while cut and rest and (_extends(rest[0]) or cut[-1] == _ZWJ or _splits_flag(cut, rest)):
        rest = cut[-1] + rest
        cut = cut[:-1]
    return cut


def _extends(char: str) -> bool:
    code = ord(char)
    return (
        unicodedata.category(char) in ("Mn", "Me")
        or char == _ZWJ
        or 0xFE00 <= code <= 0xFE0F
        or 0x1F3FB <= code <= 0x1F3FF
        or 0xE0020 <= code <= 0xE007F
    )


def _is_regional(char: str) -> bool:
    return 0x1F1E6 <= ord(char) <= 0x1F1FF


def _splits_flag(cut: str, rest: str) -> bool:
    if not (_is_regional(cut[-1]) and _is_regional(rest[0])):
        return False
    trailing = len(cut) - len(cut.rstrip("".join(chr(c) for c in range(0x1F1E6, 0x1F200))))
    return trailing % 2 == 1


def transcript_stem(media: Media, max_bytes: int = 150) -> str:
    """Names an item's files: ``"<YYYY-MM-DD> <title> [<video_id>]"``, safe for any OS.

    Args:
        media: the item; ``upload_date`` is left out when unknown.
        max_bytes: the most UTF-8 bytes of the whole stem; the title is shortened
            first so the ``[id]`` part always stays whole.

    Returns:
        The file name without extension.
    """
    tail = f" [{safe_name(media.video_id, 80)}]"
    head = f"{media.upload_date} " if media.upload_date else ""
    room = max_bytes - len(head.encode("utf-8")) - len(tail.encode("utf-8"))
    title = safe_name(media.title or UNTITLED, max(room, 8))
    return safe_name(head + title, max_bytes) + tail


def archive_paths(root: Path, media: Media) -> ArchivePaths:
    """Lays out one item under the archive root.

    Args:
        root: the archive folder (``-o DIR``).
        media: the item; a missing channel goes under ``"Local files"``.

    Returns:
        ``root/<channel>/<stem>.md``, ``root/<channel>/.json/<id>.json`` and the folder.

    Raises:
        OutputError: if the layout would leave the root (a bug in ``safe_name``).
    """
    folder = root / safe_name(media.channel or LOCAL_CHANNEL)
    paths = ArchivePaths(
        markdown=folder / f"{transcript_stem(media)}.md",
        json=folder / ".json" / f"{safe_name(media.id, 200)}.json",
        folder=folder,
    )
    base = root.resolve()
    for path in (paths.markdown, paths.json):
        if not path.resolve().is_relative_to(base):
            raise OutputError(f"Refusing to write {path}: it lies outside the archive {root}")
    return paths


def _file_mode() -> int:
    """What ``open()`` would give a new file here: 0666 less the process's umask."""
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


_FILE_MODE = _file_mode()


def write_atomic(path: Path, text: str) -> None:
    """Writes ``text`` (UTF-8) to ``path`` so a crash leaves the old file or the new, never half.

    Args:
        path: the target; its folder is created if needed.
        text: the whole content.

    Raises:
        OutputError: if the folder cannot be created or written.
    """
    folder = path.parent
    tmp: str | None = None
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=".part", dir=folder)
        if hasattr(os, "fchmod"):
            os.fchmod(fd, _FILE_MODE)  # mkstemp's 0600 would hide transcripts from everyone else
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
        tmp = None
        _fsync_dir(folder)
    except OSError as e:
        raise OutputError(_cannot_write(folder, e)) from e
    finally:
        if tmp is not None:
            _remove_quietly(Path(tmp))


def _fsync_dir(folder: Path) -> None:
    """Makes the rename durable; Windows cannot open a folder, and needs not."""
    if os.name != "posix":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _remove_quietly(path: Path) -> None:
    try:
        path.unlink()
    except OSError:
        pass


def _cannot_write(folder: Path, error: OSError) -> str:
    reason = _REASONS.get(error.errno or 0, error.strerror or str(error))
    return f"Cannot write to {folder}: {reason}; choose another folder with -o"


_REASONS = {
    getattr(errno, name, -1): text
    for name, text in (
        ("EACCES", "permission denied"),
        ("EPERM", "permission denied"),
        ("EROFS", "the disk is read-only"),
        ("ENOSPC", "the disk is full"),
        ("EDQUOT", "the disk quota is used up"),
        ("EFBIG", "the file is larger than this system allows (a file size limit)"),
        ("ENOTDIR", "part of that path is a file, not a folder"),
        ("EEXIST", "a file of that name is in the way"),
        ("ENAMETOOLONG", "the name is too long"),
    )
}


def clean_temp(folder: Path) -> int:
    """Removes temp files left by an interrupted ``write_atomic`` in ``folder``.

    Call it only while holding the archive lock: then no other writer is mid-write.

    Args:
        folder: the folder to sweep (not recursive); missing is fine.

    Returns:
        How many stale files were removed.
    """
    try:
        stale = [p for p in folder.iterdir() if p.name.startswith(TEMP_PREFIX) and p.is_file()]
    except OSError:
        return 0
    for path in stale:
        _remove_quietly(path)
    return len(stale)


def ensure_writable(folder: Path) -> None:
    """Creates ``folder`` if needed and checks a file can be written in it.

    Raises:
        OutputError: with one sentence saying why not and what to do.
    """
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=TEMP_PREFIX, dir=folder)
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        raise OutputError(_cannot_write(folder, e)) from e
