"""Labelled windows → speaker turns, and turns → ``Speaker N`` names (senko's rules)."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ..types import SpeakerTurn

Span = tuple[float, float]


def from_windows(spans: Sequence[Span], labels: np.ndarray) -> list[SpeakerTurn]:
    """One turn per run of a speaker; the speaker is the cluster's number as text.

    Where two overlapping windows disagree the boundary goes at their midpoint; runs of
    one speaker closer than 4 s merge; turns of 0.78 s or less are dropped, and one
    between two turns of the same speaker joins them.
    """
    rows: list[list] = []  # [speaker, start, end], mutable while runs grow
    for (start, end), label in zip(spans, labels):
        start, end, label = max(0.0, float(start)), float(end), int(label)
        if rows and rows[-1][0] == label and start <= rows[-1][2]:
            rows[-1][2] = end
            continue
        if rows and rows[-1][0] != label and start < rows[-1][2]:
            start = rows[-1][2] = (rows[-1][2] + start) / 2
        rows.append([label, start, end])
    merged: list[list] = []
    for row in rows:
        if merged and merged[-1][0] == row[0] and row[1] - merged[-1][2] <= 4:
            merged[-1][2] = row[2]
        else:
            merged.append(row)
    i = 0
    while i < len(merged):
        if merged[i][2] - merged[i][1] > 0.78:
            i += 1
            continue
        if 0 < i < len(merged) - 1 and merged[i - 1][0] == merged[i + 1][0]:
            merged[i - 1][2] = merged.pop(i + 1)[2]
        merged.pop(i)
    return [SpeakerTurn(start, end, str(label)) for label, start, end in merged]


def named(turns: Sequence[SpeakerTurn]) -> tuple[SpeakerTurn, ...]:
    """Sorts turns and names each backend label ``Speaker N`` in order of first appearance;
    empty turns go."""
    names: dict[str, str] = {}
    out = []
    for turn in sorted(turns, key=lambda t: (t.start, t.end)):
        if turn.end <= turn.start:
            continue
        name = names.setdefault(turn.speaker, f"Speaker {len(names) + 1}")
        out.append(SpeakerTurn(round(float(turn.start), 3), round(float(turn.end), 3), name))
    return tuple(out)
