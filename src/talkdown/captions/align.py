"""Captions' words with the ASR's word times: human text, word-level times.

The two word sequences are matched with difflib (the standard library's longest
matching blocks, as ``diff`` does), on words folded to lower case without
punctuation. Matched words take the ASR word's times; caption words the ASR missed
or heard differently share the ASR span they replace, or the gap where they fall.
Where the two differ on a name or a number, the place is kept as a ``Disagreement``:
the likeliest error in either, and the one that matters when quoting.
"""

from __future__ import annotations

import difflib
import re
from typing import Sequence

from ..types import Disagreement, Word

__all__ = ["align"]

_FOLD = re.compile(r"[^\w']+")
_NUMBER_WORDS = frozenset(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen twenty thirty forty fifty sixty seventy eighty ninety hundred thousand "
    "million billion trillion percent".split())


def align(captions: Sequence[Word], heard: Sequence[Word]) -> tuple[tuple[Word, ...], tuple[Disagreement, ...]]:
    """The captions' words re-timed by the ASR's, and where they disagree on names or numbers.

    Args:
        captions: the caption track's words (times from the cues: coarse).
        heard: the ASR's words, in time order.
    """
    a = [_fold(w.text) for w in captions]
    b = [_fold(w.text) for w in heard]
    if not heard:
        return tuple(captions), ()
    out: list[Word] = []
    disagreements: list[Disagreement] = []
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            out.extend(_timed(c, h.start, h.end, h.probability) for c, h in zip(captions[i1:i2], heard[j1:j2]))
            continue
        if j2 > j1:  # the ASR heard something here: its span
            start, end = heard[j1].start, heard[j2 - 1].end
        else:  # the ASR heard nothing: the gap between its neighbours
            start = heard[j1 - 1].end if j1 > 0 else min(captions[i1].start, heard[0].start)
            end = heard[j1].start if j1 < len(heard) else max(captions[i2 - 1].end, start)
        out.extend(_spread(captions[i1:i2], start, max(end, start)))
        said, got = _text(captions[i1:i2]), _text(heard[j1:j2])
        if _names_or_numbers(captions[i1:i2], i1 == 0 or _ends(captions[i1 - 1])) != _names_or_numbers(
                heard[j1:j2], j1 == 0 or _ends(heard[j1 - 1])):
            disagreements.append(Disagreement(start=round(start, 3), end=round(max(end, start), 3),
                                              captions=said, asr=got))
    return tuple(out), tuple(disagreements)


def _fold(text: str) -> str:
    return _FOLD.sub("", text.lower())


def _text(words: Sequence[Word]) -> str:
    return "".join(w.text for w in words).strip()


def _ends(word: Word) -> bool:
    return word.text.rstrip().endswith((".", "!", "?"))


def _names_or_numbers(words: Sequence[Word], first_starts_sentence: bool) -> tuple[str, ...]:
    """The names (capitalised not at a sentence start) and numbers among ``words``, folded."""
    found = []
    starts = first_starts_sentence
    for w in words:
        t = w.text.strip()
        bare = _fold(t)
        if any(ch.isdigit() for ch in t) or bare in _NUMBER_WORDS:
            found.append(bare)
        elif t[:1].isupper() and not starts and bare not in ("i", "i'm", "i've", "i'll", "i'd"):
            found.append(bare)
        starts = _ends(w)
    return tuple(found)


def _timed(word: Word, start: float, end: float, probability: float = 1.0) -> Word:
    return Word(start=start, end=end, text=word.text if word.text.startswith(" ") else " " + word.text,
                probability=probability, speaker=word.speaker)


def _spread(words: Sequence[Word], start: float, end: float) -> list[Word]:
    """``words`` laid over ``start``–``end`` in proportion to their length."""
    sizes = [len(w.text.strip()) + 1 for w in words]
    total, done, out = sum(sizes) or 1, 0, []
    for w, size in zip(words, sizes):
        a = start + (end - start) * done / total
        done += size
        out.append(_timed(w, round(a, 3), round(start + (end - start) * done / total, 3)))
    return out
