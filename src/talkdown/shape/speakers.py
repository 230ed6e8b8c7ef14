"""Words plus speaker turns in, the same words labelled with a speaker out.

Diarization (``talkdown.diarize``) says who spoke when; recognition says what was
said when. Each word takes the speaker whose turns overlap it most, or the nearest
turn in time when none does (a word in a gap the diarizer left). Lines already break
where ``Word.speaker`` changes, so this runs before ``build_lines``. Pure; the turns
are any objects with ``start``, ``end`` and ``speaker``, so nothing is imported from
the diarize stage.
"""

from __future__ import annotations

import bisect
import dataclasses
from typing import Sequence

from ..types import SpeakerTurn, Word


def assign_speakers(words: Sequence[Word], turns: Sequence[SpeakerTurn]) -> tuple[Word, ...]:
    """Labels each word with the speaker who talks most during it.

    Args:
        words: recognised words, in any order.
        turns: speaker turns (may overlap); empty leaves every word as it was.

    Returns:
        New words (``dataclasses.replace``) with ``speaker`` set, in the input order.
    """
    if not turns:
        return tuple(words)
    ordered = sorted(turns, key=lambda t: t.start)
    starts = [t.start for t in ordered]
    # Turns are sorted by start; a word can only overlap turns starting before its end,
    # and on long inputs (thousands of turns) scanning all of them per word is too slow.
    longest = max(t.end - t.start for t in ordered)
    return tuple(dataclasses.replace(w, speaker=_speaker(w, ordered, starts, longest)) for w in words)


def _speaker(word: Word, turns: Sequence[SpeakerTurn], starts: list[float], longest: float) -> str:
    lo = bisect.bisect_left(starts, word.start - longest)
    hi = bisect.bisect_right(starts, word.end)
    talk: dict[str, float] = {}
    for turn in turns[lo:hi]:
        shared = min(turn.end, word.end) - max(turn.start, word.start)
        if shared > 0:
            talk[turn.speaker] = talk.get(turn.speaker, 0.0) + shared
    if talk:
        return max(talk, key=lambda s: talk[s])  # ties: the speaker met first
    mid = (word.start + word.end) / 2
    near = turns[max(0, hi - 1) : hi + 1] + turns[max(0, lo - 1) : lo + 1]
    candidates = list(near) or list(turns)
    return min(candidates, key=lambda t: max(t.start - mid, mid - t.end, 0.0)).speaker
