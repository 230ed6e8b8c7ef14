"""search() ranks and marks as FTS5 would: its own ranking of one-phrase queries and its
snippets from an in-memory index must equal FTS5's bm25 order and snippet() on the archive."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from factories import media, transcript
from talkdown.store import DB_NAME, Catalog, fts_query, search
from talkdown.store.search import ELLIPSIS, MARK_END, MARK_START, RANKED_CANDIDATES, SNIPPET_TOKENS
from talkdown.types import Line

WORDS = ("peace talks ceasefire president ukraine ukrainian ukraine's presidents pressing the of and a to in "
         "negotiations negotiate moscow kyiv root causes conflict said").split()


@pytest.fixture(scope="module")
def catalog(tmp_path_factory: pytest.TempPathFactory):
    rng = random.Random(3)
    root = tmp_path_factory.mktemp("rank")
    items = []
    for n in range(40):
        # lengths from 2 to 40 words, so bm25's length normalisation and snippet()'s window both matter
        lines = [Line(float(k), k + 1.0, " ".join(rng.choice(WORDS) for _ in range(rng.randint(2, 40))))
                 for k in range(12)]
        items.append((transcript(*lines, media=media(id=f"v{n:02d}", upload_date=f"2024-01-{n % 28 + 1:02d}")),
                      f"{n}.md", f"{n}.json"))
    with Catalog(root / DB_NAME) as cat:
        cat.record_done_many(items)
        yield cat


@pytest.mark.parametrize("query", ["peace", "ukrain*", "pres*", '"root causes"', '"the conflict"', "negot*",
                                   "peace talks", "ceasefire OR kyiv", "moscow NOT peace"])
def test_order_and_snippets_are_fts5s(catalog: Catalog, query: str) -> None:
    rows = catalog.db.execute(
        "SELECT l.text, bm25(lines_fts), snippet(lines_fts, 0, ?, ?, ?, ?) FROM lines_fts "
        "JOIN lines l ON l.id = lines_fts.rowid WHERE lines_fts MATCH ? ORDER BY bm25(lines_fts), lines_fts.rowid DESC",
        (MARK_START, MARK_END, ELLIPSIS, SNIPPET_TOKENS, fts_query(query))).fetchall()
    assert 5 < len(rows) <= RANKED_CANDIDATES  # all ranked exactly, and a real ranking
    hits = search(catalog, query, limit=len(rows))
    assert [h.text for h in hits] == [r[0] for r in rows]
    assert [h.snippet for h in hits] == [r[2] for r in rows]
    assert any(ELLIPSIS in h.snippet for h in hits) or query in ('"root causes"', "moscow NOT peace")
    # bm25 values of distinct scores keep their order (one-phrase queries leave out the common IDF factor)
    assert [h.rank for h in hits] == sorted(h.rank for h in hits)


def test_rank_ties_put_the_newest_line_first(tmp_path: Path) -> None:
    with Catalog(tmp_path / DB_NAME) as cat:
        cat.record_done_many([(transcript(Line(0.0, 1.0, "same words here"), media=media(id=f"t{n}")),
                               f"{n}.md", f"{n}.json") for n in range(3)])
        assert [h.video_id for h in search(cat, "words")] == ["t2", "t1", "t0"]
