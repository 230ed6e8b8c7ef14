"""Full-text search over every archived line: "where was X said?", answered to the second.

In: a ``Catalog`` (or the path of ``talkdown.db``) and what the user typed; out: a list
of ``Hit`` (item, line start time, line text, a snippet with the match marked), best
first by FTS5's bm25. SQLite FTS5 needs no server (TubeArchivist needs Elasticsearch)
and answers in milliseconds over tens of thousands of transcripts. The user's words
are quoted token by token before they reach FTS5, so ordinary text with punctuation
(``don't``, ``U.S.``, ``30-day``, ``C++``) just works, while ``"phrases"``, ``prefix*``,
``AND``/``OR``/``NOT``, ``NEAR(...)`` and parentheses keep their FTS5 meaning; what is
still malformed becomes a ``QueryError`` with a plain sentence.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from talkdown.errors import QueryError
from talkdown.store.catalog import DB_NAME, Catalog
from talkdown.store.files import LOCAL_CHANNEL
from talkdown.store.sqlerrors import sqlite_error

# Control characters never appear in transcript text, so they mark a match unambiguously;
# the CLI turns them into bold, the web page into <mark>.
MARK_START = "\x02"
MARK_END = "\x03"
ELLIPSIS = "…"
SNIPPET_TOKENS = 24
# A query matching more lines than this ranks only the newest this many (see ``search``).
RANKED_CANDIDATES = 2000

_OPERATORS = {"AND", "OR", "NOT"}
_DATE = re.compile(r"\d{4}(-\d{2}(-\d{2})?)?")
# A quoted phrase (with "" as an escaped quote), a bracket or comma, or a run of anything else.
_TOKEN = re.compile(r'"(?:[^"]|"")*"\*?|"|[(),]|[^\s"(),]+')


@dataclass(frozen=True, slots=True)
class Hit:
    """One matching line.

    ``start`` is seconds from the start of the media (None for old transcripts without
    times); ``snippet`` is the line (or its matching part) with each match between
    the markers; ``rank`` is bm25, lower is better.
    """

    video_id: str
    title: str
    channel: str | None
    upload_date: str | None
    url: str | None
    start: float | None
    text: str
    snippet: str
    rank: float


def search(
    catalog: Catalog | Path | str,
    query: str,
    *,
    channel: str | None = None,
    since: str | None = None,
    limit: int = 20,
    mark: tuple[str, str] = (MARK_START, MARK_END),
) -> list[Hit]:
    """Finds the lines that match ``query``, best first.

    Args:
        catalog: an open ``Catalog``, an archive folder, or the path of its database.
        query: words (all must match), ``"quoted phrases"``, ``prefix*``, or FTS5
            syntax (``OR``, ``NOT``, ``NEAR(a b, 5)``, parentheses).
        channel: only this channel (exact name, any case).
        since: only items uploaded on or after this date (``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD``).
        limit: at most this many hits (default 20).
        mark: the strings put before and after each match in ``Hit.snippet``.

    Returns:
        Up to ``limit`` hits ranked by bm25. Trade-off for speed: when the query matches
        more than ``RANKED_CANDIDATES`` lines (a very common word or prefix), bm25 is
        computed only for the newest ``RANKED_CANDIDATES`` matching lines (highest row
        ids, i.e. most recently archived) and the best of those are returned, so p95
        stays in milliseconds over ~1M lines instead of growing with the match count
        (135–400 ms for a word in 14–49 % of lines). Rarer queries are ranked exactly.

    Raises:
        QueryError: if the query is empty or malformed, or ``since`` is not a date.
        CatalogError: if there is no catalogue at the path given, or it is damaged.
    """
    match = fts_query(query)
    if since is not None and not _DATE.fullmatch(since):
        raise QueryError(f"--since wants a date like 2024-01-31, not {since!r}")
    if limit < 1:
        raise QueryError(f"--limit must be 1 or more, not {limit}")
    if isinstance(catalog, Catalog):
        return _damaged(catalog, lambda: _run(catalog.db, query, match, channel, since, limit, mark))
    with Catalog(_db_path(Path(catalog)), readonly=True) as opened:
        return _damaged(opened, lambda: _run(opened.db, query, match, channel, since, limit, mark))


def _damaged(catalog: Catalog, run: Callable[[], list[Hit]]) -> list[Hit]:
    """``run()``, with a damaged database as talkdown's sentence rather than SQLite's traceback."""
    try:
        return run()
    except sqlite3.Error as e:
        raise sqlite_error(catalog.path, e) from e


def _db_path(path: Path) -> Path:
    return path / DB_NAME if path.is_dir() else path


def fts_query(query: str) -> str:
    """Turns what a user typed into an FTS5 MATCH expression.

    Each plain word becomes a quoted string (so its punctuation is only a token
    separator, as at indexing time); quoted phrases, a trailing ``*``, uppercase
    ``AND``/``OR``/``NOT``, ``NEAR``, parentheses and commas pass through.

    Raises:
        QueryError: if nothing searchable is left or a quote is not closed.
    """
    if not query or not query.strip():
        raise QueryError("Nothing to search for: give one or more words")
    parts: list[str] = []
    tokens = _TOKEN.findall(query)
    near = "NEAR" in tokens
    for i, token in enumerate(tokens):
        following = tokens[i + 1] if i + 1 < len(tokens) else ""
        part = _translate(token, following, parts[-1] if parts else "", near)
        if part:
            parts.append(part)
    if not any(p.startswith('"') for p in parts):
        raise QueryError(f"Nothing to search for in {query!r}: give one or more words")
    return " ".join(parts)


def _translate(token: str, following: str, previous: str, near: bool) -> str:
    if token == '"':
        raise QueryError('A quote is not closed: put a " at the end of the phrase')
    if token.startswith('"'):
        return token if _has_word(token) else ""
    if token in _OPERATORS or token in ("(", ")"):
        return token
    if token == ",":  # only NEAR(a b, 10) has a use for a comma; elsewhere it is prose
        return token if near else ""
    if token == "NEAR" and following == "(":
        return token
    if previous == "," and token.isdigit():  # NEAR(a b, 10)
        return token
    prefix = token.endswith("*")
    word = token.rstrip("*")
    if not _has_word(word):
        return ""  # lone punctuation: the tokenizer would drop it anyway
    return '"' + word.replace('"', '""') + '"' + ("*" if prefix else "")


def _has_word(text: str) -> bool:
    return any(c.isalnum() for c in text)


def _run(  # ``query`` is what the user typed, for the sentence; ``match`` is its FTS5 form
    db: sqlite3.Connection, query: str, match: str, channel: str | None, since: str | None, limit: int,
    mark: tuple[str, str],
) -> list[Hit]:
    try:
        # Counting up to one past the cap walks the doclist in rowid order without bm25: microseconds.
        many = db.execute(
            "SELECT count(*) FROM (SELECT 1 FROM lines_fts WHERE lines_fts MATCH ? LIMIT ?)",
            (match, RANKED_CANDIDATES + 1),
        ).fetchone()[0] > RANKED_CANDIDATES
        sql, params = _sql(match, channel, since, limit, mark, bounded=many)
        rows = db.execute(sql, params).fetchall()
    except sqlite3.OperationalError as e:
        if "expected integer" in str(e):
            raise QueryError(
                f"Cannot understand the search {query!r}: NEAR wants a number of words after its comma, "
                "as in NEAR(putin talks, 10); put words in double quotes to search for them as typed"
            ) from e
        if any(part in str(e) for part in ("fts5", "syntax error", "unknown special query", "unterminated string")):
            raise QueryError(
                f"Cannot understand the search {query!r} ({e}); put words in double quotes to search for them as typed"
            ) from e
        raise
    return [Hit(**dict(row)) for row in rows]


def _sql(
    match: str, channel: str | None, since: str | None, limit: int, mark: tuple[str, str], bounded: bool = False
) -> tuple[str, list[object]]:
    # FTS5 sorts by rank itself (no temp b-tree), so the snippet in the inner query is
    # built only for the LIMIT rows returned; the outer joins then touch those few rows.
    # Bounded: bm25 only for the newest RANKED_CANDIDATES matching lines (FTS5 walks its
    # doclist backwards by rowid and stops there), the best `limit` of those get a
    # snippet from a second instance of the index, looked up by rowid.
    joins, filters, values = "", "", []
    if channel is not None or since is not None:
        joins = " JOIN lines fl ON fl.id = lines_fts.rowid JOIN videos fv ON fv.id = fl.video_id"
    if channel is not None:
        # Items without a channel are listed (and linked) under LOCAL_CHANNEL's name.
        local = " OR fv.channel IS NULL" if channel.casefold() == LOCAL_CHANNEL.casefold() else ""
        filters += f" AND (fv.channel = ? COLLATE NOCASE{local})"
        values.append(channel)
    if since is not None:
        filters += " AND fv.upload_date >= ?"
        values.append(since)
    if bounded:
        sql = f"""
            WITH c AS MATERIALIZED (
                SELECT id, rank FROM
                    (SELECT f.rowid AS id, f.rank AS rank
                     FROM lines_fts AS f{joins.replace("lines_fts.rowid", "f.rowid")}
                     WHERE f.lines_fts MATCH ?{filters} ORDER BY f.rowid DESC LIMIT ?)
                ORDER BY rank LIMIT ?)
            SELECT l.video_id, v.title, v.channel, v.upload_date, v.url, l.start, l.text, m.snippet, m.rank
            FROM (SELECT c.id AS id, c.rank AS rank,
                         snippet(lines_fts, 0, ?, ?, '{ELLIPSIS}', {SNIPPET_TOKENS}) AS snippet
                  FROM lines_fts CROSS JOIN c ON c.id = lines_fts.rowid
                  WHERE lines_fts MATCH ? AND lines_fts.rowid >= (SELECT min(id) FROM c)
                        AND lines_fts.rowid <= (SELECT max(id) FROM c)) AS m
            CROSS JOIN lines l ON l.id = m.id JOIN videos v ON v.id = l.video_id
            ORDER BY m.rank
        """
        return sql, [match, *values, RANKED_CANDIDATES, limit, *mark, match]
    sql = f"""
        SELECT l.video_id, v.title, v.channel, v.upload_date, v.url, l.start, l.text, m.snippet, m.rank
        FROM (SELECT lines_fts.rowid AS id, lines_fts.rank AS rank,
                     snippet(lines_fts, 0, ?, ?, '{ELLIPSIS}', {SNIPPET_TOKENS}) AS snippet
              FROM lines_fts{joins}
              WHERE lines_fts MATCH ?{filters} ORDER BY lines_fts.rank LIMIT ?) AS m
        CROSS JOIN lines l ON l.id = m.id JOIN videos v ON v.id = l.video_id
        ORDER BY m.rank
    """
    return sql, [*mark, match, *values, limit]
