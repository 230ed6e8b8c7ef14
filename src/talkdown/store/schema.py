"""The catalogue's schema, as numbered migrations (``PRAGMA user_version``), and its tokenizer.

Append only: ``MIGRATIONS[n]`` takes a database at version n to n + 1, inside the
caller's transaction, so a half-applied migration never stays.
"""

from __future__ import annotations

import math
import sqlite3
from typing import Callable

from talkdown.types import UNSURE_BELOW

__all__ = ["MIGRATIONS", "PREFIX", "TOKENIZE", "percent"]

# Why 'porter unicode61 remove_diacritics 2': people search speech for ideas, not
# exact word forms, so the Porter stemmer lets "negotiate" find "negotiations" and
# "running" find "run"; unicode61 folds case for every script and, with
# remove_diacritics 2, lets "cafe" find "café" (Whisper spells names inconsistently).
# Highlights still show the original text. Stemming is English-only: other languages
# are matched word for word (Porter rarely changes non-English words much, and does
# so the same way at index and query time).
TOKENIZE = "porter unicode61 remove_diacritics 2"

# Prefix indexes for prefix* queries of 3 and of 6 characters (after stemming: "pres*" is
# "pre*"). Without one, FTS5 merges the doclists of every word with that prefix on each
# query (10 ms for "ukrain*" over 948k lines, twice with bm25); with one it reads one
# doclist. An index is used only for its exact length. Sizes measured by bench/search.py
# over 948k lines (index 46 MiB without): 2 chars +39 MiB, 3 +33, 4 +27, 5 +17, 6 +11;
# '3 6' (+44 MiB, +23 % of the whole file) keeps the catalogue within a quarter larger.
PREFIX = "3 6"

# Each line's confidence is kept in hundredths, rounded down, as an integer (lines.confidence_pct):
# 1 byte a line where a REAL takes 8 (7 MiB over 948k lines: with REALs the catalogue grew
# 27 % instead of 25); rounding down keeps "below UNSURE_BELOW" the same test before and after,
# and a hundredth is finer than any use made of it (flag a line to check before quoting).
UNSURE_BELOW_PCT = round(UNSURE_BELOW * 100)


def percent(confidence: float | None) -> int | None:
    """A line's confidence as stored: hundredths, rounded down (None stays None)."""
    return None if confidence is None else math.floor(confidence * 100)


def _script(db: sqlite3.Connection, sql: str) -> None:
    """Runs statements one by one: ``executescript`` would COMMIT the open transaction."""
    statement = ""
    for piece in sql.split(";"):
        statement += piece + ";"
        if sqlite3.complete_statement(statement):
            if statement.strip(" \n;"):
                db.execute(statement)
            statement = ""


def _migrate_1(db: sqlite3.Connection) -> None:
    _script(
        db,
        f"""
        CREATE TABLE videos (
            id TEXT PRIMARY KEY,
            title TEXT NOT NULL DEFAULT '',
            channel TEXT,
            upload_date TEXT,
            duration REAL,
            url TEXT,
            md_path TEXT,
            json_path TEXT,
            model TEXT,
            language TEXT,
            status TEXT NOT NULL CHECK (status IN ('done', 'failed')),
            error TEXT,
            attempts INTEGER NOT NULL DEFAULT 0,
            updated_at TEXT NOT NULL
        );
        CREATE INDEX videos_channel ON videos (channel, upload_date);
        CREATE INDEX videos_status ON videos (status);
        CREATE TABLE runs (
            id INTEGER PRIMARY KEY,
            started_at TEXT NOT NULL,
            ended_at TEXT,
            archived INTEGER NOT NULL DEFAULT 0,
            skipped INTEGER NOT NULL DEFAULT 0,
            failed INTEGER NOT NULL DEFAULT 0
        );
        CREATE TABLE lines (
            id INTEGER PRIMARY KEY,
            video_id TEXT NOT NULL,
            idx INTEGER NOT NULL,
            start REAL,
            text TEXT NOT NULL
        );
        CREATE INDEX lines_video ON lines (video_id);
        -- External content: the text is stored once (in lines), the index holds tokens only.
        CREATE VIRTUAL TABLE lines_fts USING fts5 (
            text, content = 'lines', content_rowid = 'id', tokenize = '{TOKENIZE}'
        );
        CREATE TRIGGER lines_ai AFTER INSERT ON lines BEGIN
            INSERT INTO lines_fts (rowid, text) VALUES (new.id, new.text);
        END;
        CREATE TRIGGER lines_ad AFTER DELETE ON lines BEGIN
            INSERT INTO lines_fts (lines_fts, rowid, text) VALUES ('delete', old.id, old.text);
        END;
        CREATE TRIGGER lines_au AFTER UPDATE ON lines BEGIN
            INSERT INTO lines_fts (lines_fts, rowid, text) VALUES ('delete', old.id, old.text);
            INSERT INTO lines_fts (rowid, text) VALUES (new.id, new.text);
        END;
        """
    )


def _migrate_2(db: sqlite3.Connection) -> None:
    """Each line's confidence (``milli``; NULL for old rows and captions), and prefix indexes.

    FTS5 cannot add a prefix index to a table, so the index is made again from the
    lines it indexes ('rebuild': about 15 s per million lines, once). The triggers name
    the table, not its options, and go on working. ``search --unsure`` without words
    walks items newest first (videos_date) and takes each one's unsure lines in order
    from a partial index of only those, stopping at its limit: 0.1 ms over 948k lines
    where sorting every unsure line took 80. Were UNSURE_BELOW changed, the query (which
    says the current threshold) would still be right, only slower.
    """
    _script(
        db,
        f"""
        ALTER TABLE lines ADD COLUMN confidence_pct INTEGER;
        CREATE INDEX lines_unsure ON lines (video_id, idx) WHERE confidence_pct < {UNSURE_BELOW_PCT};
        CREATE INDEX videos_date ON videos (upload_date, id);
        DROP TABLE lines_fts;
        CREATE VIRTUAL TABLE lines_fts USING fts5 (
            text, content = 'lines', content_rowid = 'id', tokenize = '{TOKENIZE}', prefix = '{PREFIX}'
        );
        INSERT INTO lines_fts (lines_fts) VALUES ('rebuild');
        """
    )


# Ordered: MIGRATIONS[n] takes a database at user_version n to n + 1. Append only.
MIGRATIONS: tuple[Callable[[sqlite3.Connection], None], ...] = (_migrate_1, _migrate_2)
