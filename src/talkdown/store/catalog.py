"""The archive's catalogue: which items are done or failed, where their files are, and every line.

In: finished ``Transcript`` objects plus the paths their files were written to, and
failures with their messages; out: answers to "is this item done?", the list of
failures to retry, per-channel counts, and an FTS5 index of every line with its start
time for ``search``. It is one SQLite file (``ROOT/talkdown.db``), so ``datasette`` can
open it too. We use the standard ``sqlite3`` module rather than sqlite-utils because
crash safety hinges on explicit ``BEGIN IMMEDIATE``/``COMMIT`` around "video row + all
its lines", on an external-content FTS5 table kept in step by triggers, and on plain
``PRAGMA user_version`` migrations; sqlite-utils would wrap each of those without
adding anything. WAL mode lets ``search`` and ``serve`` read while an archive run
writes; ``lock(root)`` keeps a second run out of the same archive. The line index is an
external-content FTS5 table (text stored once, in ``lines``) tokenized
``porter unicode61 remove_diacritics 2``: stems, folds case and accents (see ``TOKENIZE``),
with prefix indexes (``PREFIX``); each line keeps its engine confidence for ``search --unsure``.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, fields
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from talkdown.errors import CatalogError
from talkdown.store.files import archive_paths, clean_temp
from talkdown.store.schema import MIGRATIONS, TOKENIZE, percent
from talkdown.store.sqlerrors import guarded as _guarded, sqlite_error
from talkdown.store.lock import LOCK_NAME, lock
from talkdown.types import Transcript

__all__ = ["DB_NAME", "LOCK_NAME", "MIGRATIONS", "TOKENIZE", "Catalog", "Reconciled", "Video", "lock"]

DB_NAME = "talkdown.db"
BUSY_TIMEOUT_MS = 10_000

@dataclass(frozen=True, slots=True)
class Video:
    """One catalogue row; paths are relative to the archive root (POSIX separators)."""

    id: str
    title: str
    channel: str | None
    upload_date: str | None
    duration: float | None
    url: str | None
    md_path: str | None
    json_path: str | None
    model: str | None
    language: str | None
    status: str
    error: str | None
    attempts: int
    updated_at: str


@dataclass(frozen=True, slots=True)
class Reconciled:
    """What ``Catalog.reconcile`` changed, by media id.

    ``dropped``: rows removed because a file was missing (the item will be redone);
    ``restored``: rows re-recorded from JSON + Markdown found without a row;
    ``unrendered``: JSON files found without their Markdown (re-render them, no need to transcribe);
    ``unreadable``: JSON files the loader could not read (paths).
    """

    dropped: tuple[str, ...] = ()
    restored: tuple[str, ...] = ()
    unrendered: tuple[Path, ...] = ()
    unreadable: tuple[str, ...] = ()


_VIDEO_COLUMNS = ", ".join(f.name for f in fields(Video))


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class Catalog:
    """The archive's SQLite catalogue.

    Args:
        path: the database file (usually ``ROOT/talkdown.db``).
        readonly: open without writing (for ``search`` and ``serve``); the file must exist.
        root: the archive folder that stored paths are relative to (default: ``path``'s folder).

    Raises:
        CatalogError: if the database cannot be opened, is not a catalogue, or is newer
            than this version of talkdown.
    """

    def __init__(self, path: Path, readonly: bool = False, root: Path | None = None) -> None:
        self.path = Path(path)
        self.root = Path(root) if root is not None else self.path.parent
        self.readonly = readonly
        self.db = self._connect()
        try:
            if not readonly:
                self._migrate()
            elif self._version() == 0:
                raise CatalogError(f"{self.path} holds no archive yet; run talkdown archive first")
        except BaseException:
            self.db.close()
            raise

    # -- connection and schema -------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        if self.readonly and not self.path.is_file():
            raise CatalogError(f"No archive catalogue at {self.path}; run talkdown archive first")
        try:
            if self.readonly:
                db = self._connect_readonly()
            else:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            if not self.readonly:
                db.execute("PRAGMA journal_mode = WAL")
                db.execute("PRAGMA synchronous = NORMAL")  # WAL + NORMAL: durable except the last commit on power loss
        except OSError as e:
            raise CatalogError(f"Cannot open the catalogue {self.path}: {e.strerror or e}; check the path and its permissions") from e
        except sqlite3.Error as e:
            raise sqlite_error(self.path, e) from e
        db.row_factory = sqlite3.Row
        return db

    def _connect_readonly(self) -> sqlite3.Connection:
        """Reads without writing anything, also in a folder this user cannot write.

        A WAL database is read through its ``-shm`` file, which a reader must be able to
        create; where the folder is read-only no one can be writing it, so SQLite is told
        the file is immutable and reads it as it stands.
        """
        uri = self.path.resolve().as_uri()
        db = sqlite3.connect(uri + "?mode=ro", uri=True, isolation_level=None, check_same_thread=False)
        if os.access(self.path.parent, os.W_OK):
            return db
        try:
            db.execute("PRAGMA user_version").fetchone()
            return db
        except sqlite3.Error:
            db.close()
            return sqlite3.connect(uri + "?immutable=1", uri=True, isolation_level=None, check_same_thread=False)

    def _version(self) -> int:
        try:
            version = self.db.execute("PRAGMA user_version").fetchone()[0]
            self.db.execute("SELECT count(*) FROM sqlite_schema").fetchone()
            return int(version)
        except sqlite3.Error as e:
            raise sqlite_error(self.path, e) from e

    def _migrate(self) -> None:
        version = self._version()
        if version > len(MIGRATIONS):
            raise CatalogError(
                f"{self.path} was written by a newer talkdown (schema {version}); upgrade talkdown to use it"
            )
        for number in range(version, len(MIGRATIONS)):
            with self._transaction():
                MIGRATIONS[number](self.db)
                self.db.execute(f"PRAGMA user_version = {number + 1}")

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; IMMEDIATE so a busy database waits at BEGIN, not mid-way."""
        if self.readonly:
            raise CatalogError(f"The catalogue {self.path} was opened read-only")
        try:
            self.db.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as e:
            raise sqlite_error(self.path, e) from e
        try:
            yield self.db
            self.db.execute("COMMIT")
        except BaseException as e:
            with contextlib.suppress(sqlite3.Error):  # a failed COMMIT may have ended it already
                self.db.execute("ROLLBACK")
            if isinstance(e, sqlite3.Error):
                raise sqlite_error(self.path, e) from e
            raise

    def close(self) -> None:
        """Closes the connection; the catalogue can no longer be used."""
        self.db.close()

    def __enter__(self) -> Catalog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- reading ---------------------------------------------------------------------

    def has(self, media_id: str) -> bool:
        """Whether ``media_id`` is archived (status ``done``); failed ones do not count."""
        return self.status(media_id) == "done"

    @_guarded
    def status(self, media_id: str) -> str | None:
        """``"done"``, ``"failed"`` or None when the catalogue has never seen ``media_id``."""
        row = self.db.execute("SELECT status FROM videos WHERE id = ?", (media_id,)).fetchone()
        return row[0] if row else None

    @_guarded
    def get(self, media_id: str) -> Video | None:
        """The row for ``media_id``, or None."""
        row = self.db.execute(f"SELECT {_VIDEO_COLUMNS} FROM videos WHERE id = ?", (media_id,)).fetchone()
        return Video(**dict(row)) if row else None

    @_guarded
    def done_ids(self) -> set[str]:
        """Every archived id, for skipping a whole feed's entries in one query."""
        return {r[0] for r in self.db.execute("SELECT id FROM videos WHERE status = 'done'")}

    @_guarded
    def failed_ids(self) -> list[str]:
        """Ids whose last attempt failed, oldest failure first."""
        rows = self.db.execute("SELECT id FROM videos WHERE status = 'failed' ORDER BY updated_at, id")
        return [r[0] for r in rows]

    @_guarded
    def videos(self, channel: str | None = None) -> list[Video]:
        """All rows (or one channel's), newest upload first."""
        sql = f"SELECT {_VIDEO_COLUMNS} FROM videos"
        params: tuple[Any, ...] = ()
        if channel is not None:
            sql, params = sql + " WHERE channel = ?", (channel,)
        sql += " ORDER BY upload_date IS NULL, upload_date DESC, title"
        return [Video(**dict(r)) for r in self.db.execute(sql, params)]

    @_guarded
    def channels(self) -> list[tuple[str | None, int]]:
        """``(channel, number of archived items)``, by channel name."""
        rows = self.db.execute(
            "SELECT channel, count(*) FROM videos WHERE status = 'done' GROUP BY channel ORDER BY channel"
        )
        return [(r[0], r[1]) for r in rows]

    # -- writing ---------------------------------------------------------------------

    def record_done(self, transcript: Transcript, md_path: Path | str, json_path: Path | str) -> None:
        """Records a finished item and indexes its lines, in one transaction.

        Call it after both files are written, so no row ever points at a missing file.
        Recording the same id again replaces its row and lines (re-import is idempotent).

        Args:
            transcript: the finished transcript.
            md_path: its Markdown file, absolute or relative to the archive root.
            json_path: its JSON file, absolute or relative to the archive root.
        """
        self.record_done_many([(transcript, md_path, json_path)])

    @_guarded
    def record_done_many(self, items: Iterable[tuple[Transcript, Path | str, Path | str]]) -> int:
        """``record_done`` for many items in a single transaction (``import``, rebuilding).

        Returns:
            How many items were recorded.
        """
        count = 0
        with self._transaction() as db:
            for transcript, md_path, json_path in items:
                self._write_done(db, transcript, self._relative(md_path), self._relative(json_path))
                count += 1
        return count

    def _write_done(self, db: sqlite3.Connection, transcript: Transcript, md: str, json: str) -> None:
        media = transcript.media
        db.execute(
            """
            INSERT INTO videos (id, title, channel, upload_date, duration, url, md_path, json_path,
                                model, language, status, error, attempts, updated_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'done', NULL, 0, ?)
            ON CONFLICT (id) DO UPDATE SET
                title = excluded.title, channel = excluded.channel, upload_date = excluded.upload_date,
                duration = excluded.duration, url = excluded.url, md_path = excluded.md_path,
                json_path = excluded.json_path, model = excluded.model, language = excluded.language,
                status = 'done', error = NULL, updated_at = excluded.updated_at
            """,
            (media.id, media.title, media.channel, media.upload_date, media.duration, media.url,
             md, json, str(transcript.model), transcript.language or media.language, _now()),
        )
        db.execute("DELETE FROM lines WHERE video_id = ?", (media.id,))
        db.executemany(
            "INSERT INTO lines (video_id, idx, start, text, confidence_pct) VALUES (?, ?, ?, ?, ?)",
            ((media.id, i, line.start, line.text, percent(line.confidence)) for i, line in enumerate(transcript.lines())),
        )

    def _relative(self, path: Path | str) -> str:
        path = Path(path)
        with contextlib.suppress(ValueError):
            # absolute, or relative to the working folder like the root itself
            path = path.resolve().relative_to(self.root.resolve())
        return path.as_posix()

    @_guarded
    def record_failure(self, media_id: str, message: str, *, title: str = "", url: str | None = None,
                       channel: str | None = None, upload_date: str | None = None) -> None:
        """Records a failed attempt (the count goes up) so it is reported and retried.

        A failure never overwrites a ``done`` row: that item's files are still good.

        Args:
            media_id: the item's id.
            message: the error's one-sentence message.
            title, url, channel, upload_date: what is known, for the report.
        """
        with self._transaction() as db:
            db.execute(
                """
                INSERT INTO videos (id, title, channel, upload_date, url, status, error, attempts, updated_at)
                VALUES (?, ?, ?, ?, ?, 'failed', ?, 1, ?)
                ON CONFLICT (id) DO UPDATE SET
                    title = CASE WHEN excluded.title != '' THEN excluded.title ELSE title END,
                    channel = coalesce(excluded.channel, channel),
                    upload_date = coalesce(excluded.upload_date, upload_date),
                    url = coalesce(excluded.url, url),
                    error = excluded.error, attempts = attempts + 1, updated_at = excluded.updated_at
                WHERE status = 'failed'
                """,
                (media_id, title, channel, upload_date, url, message, _now()),
            )

    @_guarded
    def forget(self, media_id: str) -> None:
        """Removes an item's row and lines (its files are left alone)."""
        with self._transaction() as db:
            self._delete(db, media_id)

    @staticmethod
    def _delete(db: sqlite3.Connection, media_id: str) -> None:
        db.execute("DELETE FROM lines WHERE video_id = ?", (media_id,))
        db.execute("DELETE FROM videos WHERE id = ?", (media_id,))

    @_guarded
    def start_run(self) -> int:
        """Opens a row for this archive run and returns its id."""
        with self._transaction() as db:
            return int(db.execute("INSERT INTO runs (started_at) VALUES (?)", (_now(),)).lastrowid or 0)

    @_guarded
    def end_run(self, run_id: int, *, archived: int, skipped: int, failed: int) -> None:
        """Closes a run with its summary counts."""
        with self._transaction() as db:
            db.execute(
                "UPDATE runs SET ended_at = ?, archived = ?, skipped = ?, failed = ? WHERE id = ?",
                (_now(), archived, skipped, failed, run_id),
            )

    @_guarded
    def optimize(self) -> None:
        """Merges the full-text index into one segment: faster queries after a big import."""
        with self._transaction() as db:
            db.execute("INSERT INTO lines_fts (lines_fts) VALUES ('optimize')")

    # -- crash recovery ----------------------------------------------------------------

    @_guarded
    def reconcile(self, loader: Callable[[str], Transcript]) -> Reconciled:
        """Makes files and catalogue agree after a crash; call it holding ``lock(root)``.

        A ``done`` row whose Markdown or JSON file is missing is dropped (so the item is
        redone); a JSON file with no ``done`` row is recorded again when its Markdown is
        there too, else reported as ``unrendered``. Stale temp files are removed.

        Args:
            loader: reads a ``Transcript`` from JSON text (``render`` owns the format).

        Returns:
            What changed, by id.
        """
        dropped = self._drop_missing()
        restored: list[tuple[Transcript, Path, Path]] = []
        unrendered: list[Path] = []
        unreadable: list[str] = []
        done = self.done_ids()
        # A JSON file a done row already names is accounted for: only orphans are read,
        # so a run over an archive of thousands does not parse every transcript first.
        known = {r[0] for r in self.db.execute("SELECT json_path FROM videos WHERE status = 'done'")}
        for json_path in self._json_files():
            if self._relative(json_path) in known:
                continue
            try:
                transcript = loader(json_path.read_text(encoding="utf-8"))
            except (OSError, ValueError, KeyError, TypeError) as e:  # a broken file, not a bug here
                unreadable.append(f"{json_path}: {e}")
                continue
            media_id = transcript.media.id
            if media_id in done:
                continue
            md_path = archive_paths(self.root, transcript.media).markdown
            if md_path.is_file():
                restored.append((transcript, md_path, json_path))
            else:
                unrendered.append(json_path)
        if restored:
            self.record_done_many(restored)
        return Reconciled(
            dropped=tuple(dropped),
            restored=tuple(t.media.id for t, _, _ in restored),
            unrendered=tuple(unrendered),
            unreadable=tuple(unreadable),
        )

    def _drop_missing(self) -> list[str]:
        rows = self.db.execute("SELECT id, md_path, json_path FROM videos WHERE status = 'done'").fetchall()
        missing = [
            r["id"] for r in rows
            if not (r["md_path"] and (self.root / r["md_path"]).is_file()
                    and r["json_path"] and (self.root / r["json_path"]).is_file())
        ]
        if missing:
            with self._transaction() as db:
                for media_id in missing:
                    self._delete(db, media_id)
        return missing

    def _json_files(self) -> Iterator[Path]:
        if not self.root.is_dir():
            return
        for folder in sorted(p for p in self.root.iterdir() if p.is_dir()):
            clean_temp(folder)
            clean_temp(folder / ".json")
            yield from sorted((folder / ".json").glob("*.json"))
