"""Full-text search over every archived line: "where was X said?", answered to the second.

In: a ``Catalog`` (or the path of ``talkdown.db``) and what the user typed; out: a list
of ``Hit`` (item, line start time, line text, a snippet with the match marked, the
engine's confidence), best first by FTS5's bm25, or only the lines the engine was unsure of. SQLite FTS5 needs no server (TubeArchivist needs Elasticsearch)
and answers in milliseconds over tens of thousands of transcripts. The user's words
are quoted token by token before they reach FTS5, so ordinary text with punctuation
(``don't``, ``U.S.``, ``30-day``, ``C++``) just works, while ``"phrases"``, ``prefix*``,
``AND``/``OR``/``NOT``, ``NEAR(...)`` and parentheses keep their FTS5 meaning; what is
still malformed becomes a ``QueryError`` with a plain sentence.
"""

from __future__ import annotations

import contextlib
import re
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from talkdown.errors import QueryError
from talkdown.store.catalog import DB_NAME, Catalog
from talkdown.store.files import LOCAL_CHANNEL
from talkdown.store.schema import TOKENIZE, UNSURE_BELOW_PCT
from talkdown.store.sqlerrors import sqlite_error
from talkdown.types import UNSURE_BELOW

# Control characters never appear in transcript text, so they mark a match unambiguously;
# the CLI turns them into bold, the web page into <mark>.
MARK_START = "\x02"
MARK_END = "\x03"
ELLIPSIS = "…"
SNIPPET_TOKENS = 24
# A query matching more lines than this ranks only the newest this many (see ``search``).
RANKED_CANDIDATES = 500
# FTS5's bm25 constants (k1, b), for ranking a one-phrase query without its IDF pass.
_K1, _B = 1.2, 0.75

_OPERATORS = {"AND", "OR", "NOT"}
_DATE = re.compile(r"\d{4}(-\d{2}(-\d{2})?)?")
# A quoted phrase (with "" as an escaped quote), a bracket or comma, or a run of anything else.
_TOKEN = re.compile(r'"(?:[^"]|"")*"\*?|"|[(),]|[^\s"(),]+')


@dataclass(frozen=True, slots=True)
class Hit:
    """One matching line.

    ``start`` is seconds from the start of the media (None for old transcripts without
    times); ``snippet`` is the line (or its matching part) with each match between
    the markers; ``rank`` is bm25, lower is better (for a query of one word, phrase or
    prefix, bm25 less its IDF factor, which is the same for every line and so ranks
    alike); ``confidence`` is the engine's belief in the line to a hundredth, rounded
    down (None for captions and lines archived before talkdown kept it) and ``unsure`` says it is below ``UNSURE_BELOW``.
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
    confidence: float | None = None

    @property
    def unsure(self) -> bool:
        return self.confidence is not None and self.confidence < UNSURE_BELOW


def search(
    catalog: Catalog | Path | str,
    query: str,
    *,
    channel: str | None = None,
    since: str | None = None,
    limit: int = 20,
    mark: tuple[str, str] = (MARK_START, MARK_END),
    unsure: bool = False,
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
        unsure: only lines the engine was unsure of (confidence below ``UNSURE_BELOW``);
            with an empty ``query`` every such line, newest upload first, in line order
            within an item (a list to check before quoting, not a ranking).

    Returns:
        Up to ``limit`` hits ranked by bm25. Trade-off for speed: when the query matches
        more than ``RANKED_CANDIDATES`` lines (a very common word or prefix), only the
        newest ``RANKED_CANDIDATES`` matching lines (highest row ids, i.e. most recently
        archived) are ranked and the best of those are returned, so p95 stays in
        milliseconds over ~1M lines instead of growing with the match count (135–400 ms
        for a word in 14–49 % of lines). Rarer queries are ranked exactly.

    Raises:
        QueryError: if the query is empty or malformed, or ``since`` is not a date.
        CatalogError: if there is no catalogue at the path given, or it is damaged.
    """
    match = None if unsure and not query.strip() else fts_query(query)
    if since is not None and not _DATE.fullmatch(since):
        raise QueryError(f"--since wants a date like 2024-01-31, not {since!r}")
    if limit < 1:
        raise QueryError(f"--limit must be 1 or more, not {limit}")
    if isinstance(catalog, Catalog):
        return _damaged(catalog, lambda: _run(catalog.db, query, match, _Filters(channel, since, unsure), limit, mark))
    with Catalog(_db_path(Path(catalog)), readonly=True) as opened:
        return _damaged(opened, lambda: _run(opened.db, query, match, _Filters(channel, since, unsure), limit, mark))


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


@dataclass(frozen=True, slots=True)
class _Filters:
    channel: str | None
    since: str | None
    unsure: bool

    def sql(self, line: str, video: str) -> tuple[str, list[object]]:
        """``AND ...`` conditions on the aliases ``line`` (lines) and ``video`` (videos)."""
        where, values = "", []
        if self.channel is not None:
            # Items without a channel are listed (and linked) under LOCAL_CHANNEL's name.
            local = f" OR {video}.channel IS NULL" if self.channel.casefold() == LOCAL_CHANNEL.casefold() else ""
            where += f" AND ({video}.channel = ? COLLATE NOCASE{local})"
            values.append(self.channel)
        if self.since is not None:
            where += f" AND {video}.upload_date >= ?"
            values.append(self.since)
        if self.unsure:  # a literal, so that the partial index lines_unsure can serve it
            where += f" AND {line}.confidence_pct < {UNSURE_BELOW_PCT}"
        return where, values

    @property
    def any(self) -> bool:
        return self.channel is not None or self.since is not None or self.unsure


def _run(  # ``query`` is what the user typed, for the sentence; ``match`` is its FTS5 form
    db: sqlite3.Connection, query: str, match: str | None, filters: _Filters, limit: int,
    mark: tuple[str, str],
) -> list[Hit]:
    confidence = _has_confidence(db)
    if filters.unsure and not confidence:
        return []  # archived before talkdown kept confidences: nothing is known to be unsure
    if match is None:
        return _unsure_lines(db, filters, limit)
    try:
        ranked = _rank_one_phrase(db, match, filters) if _one_phrase(match) else _rank_bm25(db, match, filters)
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
    return _hits(db, ranked[:limit], match, mark, confidence)


def _has_confidence(db: sqlite3.Connection) -> bool:
    """Whether the catalogue is at schema 2 (a read-only search never migrates an old one)."""
    return int(db.execute("PRAGMA user_version").fetchone()[0]) >= 2


def _one_phrase(match: str) -> bool:
    tokens = _TOKEN.findall(match)
    return len(tokens) == 1 and tokens[0].startswith('"')


def _candidates(match: str, filters: _Filters, columns: str, join: str = "") -> tuple[str, list[object]]:
    """The newest ``RANKED_CANDIDATES`` matching lines (FTS5 walks its doclist backwards by
    rowid and stops there): all of them, so ranked exactly, when the query is rarer."""
    joins = " JOIN lines fl ON fl.id = f.rowid JOIN videos fv ON fv.id = fl.video_id" if filters.any else ""
    where, values = filters.sql("fl", "fv")
    return (f"SELECT {columns} FROM lines_fts AS f{joins}{join} WHERE f.lines_fts MATCH ?{where} "
            "ORDER BY f.rowid DESC LIMIT ?", [match, *values, RANKED_CANDIDATES])


def _rank_bm25(db: sqlite3.Connection, match: str, filters: _Filters) -> list[tuple[int, float]]:
    """``(line id, bm25)`` best first, for queries of several phrases (bm25 weighs them by IDF)."""
    sql, values = _candidates(match, filters, "f.rowid AS id, f.rank AS rank")
    rows = db.execute(f"SELECT id, rank FROM ({sql}) ORDER BY rank, id DESC", values).fetchall()
    return [(r[0], r[1]) for r in rows]


def _rank_one_phrase(db: sqlite3.Connection, match: str, filters: _Filters) -> list[tuple[int, float]]:
    """``(line id, score)`` best first, for one word, phrase or prefix: bm25's order without its IDF pass.

    With one phrase bm25's IDF is a factor common to every line, yet FTS5 finds it by a
    pass over every matching line of the whole index (9 ms for "the" over 948k lines,
    10 for a five-word phrase, a second prefix merge for ``ukrain*``). The rest of bm25
    is computed here from the same figures: the phrase's count in the line (its
    highlights) and the line's length in tokens (FTS5's docsize record) against the
    average (its averages record); tests hold the order equal to FTS5's own bm25.
    """
    sql, values = _candidates(
        match, filters, f"f.rowid, highlight(lines_fts, 0, '{MARK_START}', '{MARK_END}'), d.sz",
        join=" JOIN lines_fts_docsize d ON d.id = f.rowid")
    rows = db.execute(sql, values).fetchall()
    if not rows:
        return []
    average = _average_length(db)
    scored = []
    for rowid, marked, size in rows:
        count = marked.count(MARK_START)
        length = _varint(size)
        score = -(count * (_K1 + 1)) / (count + _K1 * (1 - _B + _B * length / average))
        scored.append((score, -rowid))
    scored.sort()
    return [(-negative, score) for score, negative in scored]


def _average_length(db: sqlite3.Connection) -> float:
    """Tokens per line over the index: FTS5's averages record (row 1: lines, then tokens per column)."""
    row = db.execute("SELECT block FROM lines_fts_data WHERE id = 1").fetchone()
    lines, at = _varint_at(row[0], 0)
    tokens, _ = _varint_at(row[0], at)
    return tokens / lines if lines else 1.0


def _varint(blob: bytes) -> int:
    return _varint_at(blob, 0)[0]


def _varint_at(blob: bytes, at: int) -> tuple[int, int]:
    """SQLite's big-endian varint (7 bits a byte, high bit set on all but the last)."""
    value = 0
    for i in range(at, min(at + 9, len(blob))):
        byte = blob[i]
        if i == at + 8:
            return (value << 8) | byte, i + 1
        value = (value << 7) | (byte & 0x7F)
        if byte < 0x80:
            return value, i + 1
    return value, len(blob)


def _hits(
    db: sqlite3.Connection, ranked: list[tuple[int, float]], match: str, mark: tuple[str, str], confidence: bool,
) -> list[Hit]:
    """The ranked lines with their items, and a snippet for each of them only."""
    if not ranked:
        return []
    ids = [line_id for line_id, _ in ranked]
    rows = {r["id"]: r for r in db.execute(
        f"SELECT l.id, l.video_id, v.title, v.channel, v.upload_date, v.url, l.start, l.text, "
        f"{'l.confidence_pct / 100.0' if confidence else 'NULL'} AS confidence "
        f"FROM lines l JOIN videos v ON v.id = l.video_id WHERE l.id IN ({','.join('?' * len(ids))})", ids)}
    snippets = _snippets([(i, rows[i]["text"]) for i in ids if i in rows], match, mark)
    return [
        Hit(video_id=r["video_id"], title=r["title"], channel=r["channel"], upload_date=r["upload_date"],
            url=r["url"], start=r["start"], text=r["text"], snippet=snippets.get(i, r["text"]), rank=rank,
            confidence=r["confidence"])
        for i, rank in ranked if (r := rows.get(i)) is not None
    ]


def _snippets(lines: list[tuple[int, str]], match: str, mark: tuple[str, str]) -> dict[int, str]:
    """FTS5's snippet() of these few lines, from an index of just them in memory.

    snippet() on the archive's index would need a second cursor over it, which for a
    prefix query merges every matching word's doclist again; a snippet depends only
    on the line and the query, so twenty lines indexed alike give the same one.
    """
    with contextlib.closing(sqlite3.connect(":memory:")) as mem:
        mem.execute(f"CREATE VIRTUAL TABLE s USING fts5 (text, tokenize = '{TOKENIZE}')")
        mem.executemany("INSERT INTO s (rowid, text) VALUES (?, ?)", lines)
        rows = mem.execute(
            f"SELECT rowid, snippet(s, 0, ?, ?, '{ELLIPSIS}', {SNIPPET_TOKENS}) FROM s WHERE s MATCH ?",
            (*mark, match)).fetchall()
    return dict(rows)


def _unsure_lines(db: sqlite3.Connection, filters: _Filters, limit: int) -> list[Hit]:
    """Every unsure line (no words given), newest upload first, in line order within an item."""
    where, values = filters.sql("l", "v")
    rows = db.execute(
        "SELECT l.video_id, v.title, v.channel, v.upload_date, v.url, l.start, l.text, l.confidence_pct / 100.0 "
        f"FROM videos v CROSS JOIN lines l ON l.video_id = v.id WHERE 1{where} "
        # DESC puts undated items last; in videos_date's order, so only the lines shown are sorted
        "ORDER BY v.upload_date DESC, v.id DESC, l.idx LIMIT ?", [*values, limit]).fetchall()
    return [Hit(video_id=r[0], title=r[1], channel=r[2], upload_date=r[3], url=r[4], start=r[5], text=r[6],
                snippet=r[6], rank=0.0, confidence=r[7]) for r in rows]
