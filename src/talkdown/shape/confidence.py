"""How sure the engine was of each line: one number from 0 to 1, and a flag below a threshold.

Whisper says three things about its output: each word's probability, each segment's
mean token log-probability, and each segment's probability that there was no speech
at all. A line's confidence is the geometric mean of its words' probabilities (the
per-word likelihood, so long lines are not punished for length), scaled down by the
no-speech probability of the segments it lies in (words "heard" in noise). The
threshold (``types.UNSURE_BELOW``) was chosen on the corpus by ``bench/confidence.py``:
the share of all word errors the flagged lines hold against the share of lines flagged.
"""

from __future__ import annotations

import bisect
import dataclasses
import math
from typing import Sequence

from ..types import Line, Segment

__all__ = ["line_confidence", "rated"]

_FLOOR = 1e-4  # a word probability of 0 would make the mean -inf


_LONGEST = 60.0  # s: no segment is longer (Whisper's are at most 30 s)


def line_confidence(line: Line, segments: Sequence[Segment], starts: Sequence[float] | None = None) -> float | None:
    """The line's confidence, or None when it has no words to judge by.

    ``segments`` in order of start; ``starts`` their start times (for bisecting).
    """
    if not line.words:
        return None
    logs = [math.log(max(w.probability, _FLOOR)) for w in line.words]
    belief = math.exp(sum(logs) / len(logs))
    if line.start is not None and line.end is not None:
        starts = starts if starts is not None else [s.start for s in segments]
        lo = bisect.bisect_left(starts, line.start - _LONGEST)
        hi = bisect.bisect_left(starts, line.end)
        overlapping = [s for s in segments[lo:hi] if s.end > line.start]
        if overlapping:
            belief *= 1.0 - max(s.no_speech_prob for s in overlapping) * 0.5
    return round(belief, 3)


def rated(lines: Sequence[Line], segments: Sequence[Segment]) -> tuple[Line, ...]:
    """``lines`` with their confidence filled in."""
    ordered = sorted(segments, key=lambda s: s.start)
    starts = [s.start for s in ordered]
    return tuple(dataclasses.replace(line, confidence=line_confidence(line, ordered, starts)) for line in lines)
