"""Speaker turns (or a transcript's labelled words) in, RTTM text out.

RTTM (NIST Rich Transcription Time Marked) is what diarization tools exchange and
what pyannote.metrics, dscore and md-eval score: one line per turn,
``SPEAKER <file-id> 1 <start> <duration> <NA> <NA> <speaker> <NA> <NA>``. Speaker
names cannot hold spaces there, so ``Speaker 1`` is written ``Speaker_1``. Pure; no I/O.
"""

from __future__ import annotations

import re
import dataclasses
from typing import Iterable

from ..types import SpeakerTurn, Transcript

_JOIN_GAP = 0.5  # s; words of one speaker closer than this form one turn


def rttm_from_turns(file_id: str, turns: Iterable[SpeakerTurn]) -> str:
    """Renders speaker turns as RTTM lines, in time order.

    Args:
        file_id: the recording's name in the second field (spaces become ``_``).
        turns: objects with ``start``, ``end`` (seconds) and ``speaker``.
    """
    uri = _token(file_id) or "audio"
    rows = sorted(turns, key=lambda t: (t.start, t.end))
    return "".join(
        f"SPEAKER {uri} 1 {t.start:.3f} {t.end - t.start:.3f} <NA> <NA> {_token(t.speaker)} <NA> <NA>\n"
        for t in rows
        if t.end > t.start
    )


def render_rttm(t: Transcript) -> str:
    """Renders a transcript's speakers as RTTM, from its words' times and labels.

    Words cover recognised speech only, so this under-counts speech next to the
    diarizer's own turns (kept in ``Transcript.turns`` when present, which are used
    instead). Words of one speaker less than 0.5 s apart make one turn.
    """
    uri = t.media.video_id
    if t.turns:
        return rttm_from_turns(uri, t.turns)
    turns: list[SpeakerTurn] = []
    for w in t.words():
        if w.speaker is None:
            continue
        last = turns[-1] if turns else None
        if last and last.speaker == w.speaker and w.start - last.end < _JOIN_GAP:
            turns[-1] = dataclasses.replace(last, end=max(last.end, w.end))
        else:
            turns.append(SpeakerTurn(w.start, w.end, w.speaker))
    return rttm_from_turns(uri, turns)


def _token(text: str) -> str:
    return re.sub(r"\s+", "_", text.strip())
