"""Media metadata in, the names a decoder should expect out.

Whisper mishears rare names ("Henry Zefman", "Askershy") that the video's own title,
tags and description spell correctly. This module picks those names out: runs of
capitalised words that are not sentence furniture, URLs, hashtags or dates. Used for
the decoder prompt and for correcting near-miss spellings afterwards. Pure text work.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Callable

from .types import Media

_URL = re.compile(r"https?://\S+|www\.\S+|\S+@\S+|#\w+")
_CAPITALISED = re.compile(r"\b[A-Z][\w'’-]*[a-z][\w'’-]*(?:\s+(?:[A-Z][\w'’-]*[a-z][\w'’-]*|[A-Z]\.))*")
_COMMON = frozenset(
    """a an and are as at be but by for from has have he her his i in into is it its
    more new news of on or our out she so than that the their them then there these they this
    those to up was we were what when where which who why will with you your after before
    about over under again also just now here how all any each every not no yes do does did
    subscribe follow click watch visit join like share support stream listen read see get
    january february march april may june july august september october november december
    monday tuesday wednesday thursday friday saturday sunday today tonight yesterday
    mr mrs ms dr sir president prime minister chancellor secretary king queen prince
    chief editor correspondent spokesman spokeswoman professor general senator
    russian european british american ukrainian french german chinese""".split()
)


def names(media: Media, limit: int = 24) -> tuple[str, ...]:
    """Names and proper terms from the title, tags and description, most frequent first."""
    text = "\n".join([media.title, media.description, *media.tags])
    counts: Counter[str] = Counter()
    midway: set[str] = set(media.tags)  # seen capitalised where any word would not be
    for sentence in re.split(r"(?<=[.!?])\s+|\n+|[|•·–—:;\"“”()]", _URL.sub(" ", text)):
        for match in _CAPITALISED.finditer(sentence):
            name = _trim(match.group(0))
            if name:
                counts[name] += 1
                if re.search(r"\w", sentence[: match.start()]):  # not first word (emoji or bullets aside)
                    midway.add(name)
    # A lone capitalised word opening a sentence ("Learn", "Come") is no evidence of a name.
    kept = [n for n in counts if n in midway or " " in n]
    ranked = sorted(kept, key=lambda n: (-counts[n], -len(n.split())))
    return tuple(ranked[:limit])


def _trim(phrase: str) -> str | None:
    """Drops furniture words at either end ('The Kremlin' -> 'Kremlin'); None if nothing is left."""
    parts = [p.strip("'’") for p in phrase.split()]
    while parts and parts[0].lower().rstrip(".") in _COMMON:
        parts.pop(0)
    while parts and parts[-1].lower().rstrip(".") in _COMMON:
        parts.pop()
    if not parts or (len(parts) == 1 and len(parts[0]) < 3):
        return None
    return " ".join(parts)


def hotwords(media: Media, familiar: Callable[[str], bool] = lambda word: False, limit: int = 24) -> str | None:
    """Names to pass as faster-whisper ``hotwords``, or None when the metadata names nobody.

    Single words the model already knows well (``familiar``: one token of its
    vocabulary, like "Russia" or "Moscow") are left out; names of several words and
    rare words stay. Chosen by measurement on espeak-ng speech of the fixture
    (bench/names.py): all names as hotwords raised name recall 69 -> 90 % but WER
    0.132 -> 0.152; without the familiar single words, recall 93 % and WER 0.112,
    with a control passage unchanged. An ``initial_prompt`` of title and description
    or a "Glossary:" prompt cost more words (NOTES.md: the decoder skipped speech).

    The list ends with a full stop: the decoder copies the prompt's style, and after a
    list with none it left sentences unended (on 4 minutes of halting speech, 19 of 43
    lines; with the stop, 2 of 48, and WER 0.262 -> 0.237).
    """
    kept = [n for n in names(media, limit) if " " in n or not familiar(n)]
    return ", ".join(kept) + "." if kept else None
