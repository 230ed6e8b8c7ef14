"""Words in, transcript lines out: a line ends where a sentence ends.

Whisper's segments end wherever its 30 s window or the batched pipeline's VAD chunk
ended, often mid-sentence (the seed's transcripts show it). So lines are rebuilt from
word timings alone: split at sentence ends, at long pauses and at speaker changes;
split sentences longer than ``max_words`` at the best clause boundary; join very short
sentences with their neighbours. Pure functions over tuples.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Iterable, Sequence

from ..types import Line, Word

_ABBREVIATIONS = frozenset(
    "mr mrs ms dr prof st sr jr vs etc e.g i.e no mt ft approx dept est gen gov lt col sgt rev".split()
)
_SENTENCE_END = re.compile(r"[.!?…。！？]['\"”’)\]]*$")
_CLAUSE_END = re.compile(r"[,;:—–]['\"”’)\]]*$|\s[-–—]$")


@dataclass(frozen=True, slots=True)
class LineOptions:
    """Limits for a line, in words and seconds."""

    max_words: int = 40
    short_words: int = 6
    join_max_words: int = 24
    pause: float = 2.0  # a silence this long ends a sentence even without punctuation
    join_pause: float = 1.0  # never join sentences across a longer silence


def build_lines(words: Sequence[Word], breaks: Iterable[float] = (), options: LineOptions = LineOptions()) -> tuple[Line, ...]:
    """Groups words into lines that end at sentence ends.

    Args:
        words: recognised words in time order.
        breaks: times (e.g. chapter starts) that a line must not cross.
        options: length limits.
    """
    pieces: list[tuple[Word, ...]] = []
    for sentence in _sentences(monotonic(words), sorted(breaks), options.pause):
        pieces.extend(_split_long(sentence, options.max_words))
    return tuple(_line(p) for p in _join_short(pieces, sorted(breaks), options))


def monotonic(words: Sequence[Word]) -> list[Word]:
    """Words whose times never go backwards.

    The batched pipeline decodes VAD chunks independently, and a word at the edge of
    one chunk can be stamped after the first word of the next; a deep link must
    still never point earlier than the line before it.
    """
    out: list[Word] = []
    for word in words:
        if out and word.start < out[-1].start:
            start = out[-1].start
            word = replace(word, start=start, end=max(word.end, start))
        out.append(word)
    return out


def _ends_sentence(word: Word) -> bool:
    text = word.text.strip()
    if not _SENTENCE_END.search(text):
        return False
    bare = text.rstrip(".'\"”’)]").lower()
    if text.endswith(".") and (bare in _ABBREVIATIONS or re.fullmatch(r"(?:\w\.)*\w", bare)):
        return False  # "Mr.", "U.S.", an initial "J."
    return True


def _sentences(words: Sequence[Word], breaks: list[float], pause: float) -> Iterable[tuple[Word, ...]]:
    current: list[Word] = []
    for word in words:
        if current and _must_break(current[-1], word, breaks, pause):
            yield tuple(current)
            current = []
        current.append(word)
        if _ends_sentence(word):
            yield tuple(current)
            current = []
    if current:
        yield tuple(current)


def _must_break(prev: Word, word: Word, breaks: list[float], pause: float) -> bool:
    if word.start - prev.end >= pause or prev.speaker != word.speaker:
        return True
    return any(prev.start < b <= word.start for b in breaks)


def _split_long(words: tuple[Word, ...], max_words: int) -> list[tuple[Word, ...]]:
    if len(words) <= max_words:
        return [words]
    cut = _best_cut(words)
    return _split_long(words[:cut], max_words) + _split_long(words[cut:], max_words)


def _best_cut(words: tuple[Word, ...]) -> int:
    """Index to split before: a clause end or pause near the middle, never tiny pieces."""
    n = len(words)
    edge = max(3, n // 5)
    best, best_score = n // 2, float("-inf")
    for i in range(edge, n - edge + 1):
        prev, nxt = words[i - 1], words[i]
        score = min(nxt.start - prev.end, 1.0) * 2
        if _CLAUSE_END.search(prev.text.strip()):
            score += 2.0
        if nxt.text.strip().lower() in ("and", "but", "or", "so", "because", "which", "who", "that", "when", "while"):
            score += 0.5
        score -= abs(i - n / 2) / n * 2.5  # prefer balanced halves
        if score > best_score:
            best, best_score = i, score
    return best


def _join_short(pieces: list[tuple[Word, ...]], breaks: list[float], o: LineOptions) -> list[tuple[Word, ...]]:
    out: list[tuple[Word, ...]] = []
    for piece in pieces:
        if out and _joinable(out[-1], piece, breaks, o):
            out[-1] = out[-1] + piece
        else:
            out.append(piece)
    return out


def _joinable(a: tuple[Word, ...], b: tuple[Word, ...], breaks: list[float], o: LineOptions) -> bool:
    if min(len(a), len(b)) >= o.short_words or len(a) + len(b) > o.join_max_words:
        return False
    if not _ends_sentence(a[-1]):
        return False  # a piece of a split sentence or a pause-cut: keep the cut
    return not _must_break(a[-1], b[0], breaks, o.join_pause)


def _line(words: tuple[Word, ...]) -> Line:
    return Line(
        start=words[0].start,
        end=words[-1].end,
        text="".join(w.text for w in words).strip(),
        words=words,
        speaker=words[0].speaker,
    )
