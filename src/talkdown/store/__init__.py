"""Storage: the archive's files (layout, atomic writes), its catalogue (SQLite) and search (FTS5).

In: already-rendered text and finished ``Transcript`` objects; out: files on disk, a
catalogue that knows what is done, and ranked search hits. Storage never renders.
"""

from talkdown.store.catalog import DB_NAME, Catalog, Reconciled, Video
from talkdown.store.files import (
    ArchivePaths,
    archive_paths,
    clean_temp,
    ensure_writable,
    safe_name,
    transcript_stem,
    write_atomic,
)
from talkdown.store.lock import lock
from talkdown.store.search import Hit, fts_query, search

__all__ = [
    "DB_NAME",
    "ArchivePaths",
    "Catalog",
    "Hit",
    "Reconciled",
    "Video",
    "archive_paths",
    "clean_temp",
    "ensure_writable",
    "fts_query",
    "lock",
    "safe_name",
    "search",
    "transcript_stem",
    "write_atomic",
]
