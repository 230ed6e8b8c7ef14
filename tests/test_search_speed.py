"""search() ranks only the newest candidates when a query matches very many lines."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from talkdown.store import Catalog, search
from talkdown.types import Line, Media, ModelInfo, Section, Transcript

search_module = sys.modules["talkdown.store.search"]


def _transcript(i: int, texts: list[str]) -> Transcript:
    media = Media(id=f"v{i:03d}", title=f"Talk {i}", channel="A" if i % 2 else "B", upload_date=f"2020-01-{i + 1:02d}")
    lines = tuple(Line(start=float(k), end=k + 1.0, text=t) for k, t in enumerate(texts))
    return Transcript(media=media, sections=(Section(title=None, start=0.0, lines=lines),), model=ModelInfo("tiny.en"))


def test_common_query_ranks_only_the_newest_candidates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with Catalog(tmp_path / "talkdown.db") as cat:
        cat.record_done_many([(_transcript(i, ["peace talks today", "peace peace peace", "nothing here"]),
                               f"{i}.md", f"{i}.json") for i in range(10)])
        exact = search(cat, "peace", limit=3)
        assert exact[0].text == "peace peace peace"
        monkeypatch.setattr(search_module, "RANKED_CANDIDATES", 4)  # 20 matching lines > 4
        hits = search(cat, "peace", limit=3)
        # only the 4 newest matching lines (v009, v008) were ranked; best first, snippets marked
        assert {h.video_id for h in hits} <= {"v009", "v008"}
        assert hits[0].text == "peace peace peace" and "\x02peace\x03" in hits[0].snippet
        assert [h.rank for h in hits] == sorted(h.rank for h in hits)
        assert all(h.channel == "B" for h in search(cat, "peace", channel="B"))
        assert {h.video_id for h in search(cat, "peace", since="2020-01-09")} == {"v008", "v009"}
        assert search(cat, "pea*", limit=2)[0].text == "peace peace peace"
        assert search(cat, "nothing", limit=50) and len(search(cat, "peace", limit=50)) == 4
