"""Second voices: where segmentation-3.0 hears two people at once, and speakers told apart
inside one window when there is too little speech to cluster."""

from __future__ import annotations

import numpy as np

from ..types import SAMPLE_RATE, SpeakerTurn
from .models import Segmentation
from .options import Tuning
from .speech import padded, regions

Span = tuple[float, float]


def second_speakers(turns: list[SpeakerTurn], overlaps: list[Span]) -> list[SpeakerTurn]:
    """A second voice over each overlap: the nearest turn in time by another speaker.

    CAM++ labels one speaker per 1.5 s window, so in overlapped speech the other voice
    is missing; the speaker who talks just before or after is by far the likeliest
    (about 5 DER points on meetings, issue #6).
    """
    extra = []
    for start, end in overlaps:
        here = [t for t in turns if t.start < end and t.end > start]
        if not here:
            continue
        main = max(here, key=lambda t: min(t.end, end) - max(t.start, start)).speaker
        others = [t for t in turns if t.speaker != main]
        if not others:
            continue
        nearest = min(others, key=lambda t: max(t.start - end, start - t.end, 0.0))
        extra.append(SpeakerTurn(start, end, nearest.speaker))
    return extra


def local_speakers(model: Segmentation, audio: np.ndarray, tuning: Tuning) -> list[SpeakerTurn] | None:
    """Speakers straight from segmentation-3.0 for input that fits one 10 s window.

    Too short to cluster, but the model tells up to three voices apart within its
    window, including two at once (the mixed-down stereo fixture, issue #6). None when
    the input is longer than a window or no voice is long enough.
    """
    window = int(model.window * SAMPLE_RATE)
    if len(audio) > window:
        return None
    logits = model.session.run(None, {"audio": padded(audio, window)[None, None, :]})[0]
    active = model.mapping[logits[0].argmax(-1)]  # frames x local speakers
    step = model.frame[2]
    voices = active[: int(len(audio) / SAMPLE_RATE / step)] > 0.5
    kept: list[int] = []
    for k in np.argsort(-voices.sum(0)):
        if voices[:, k].sum() * step < tuning.local_min_total:
            continue
        # Whispered or creaky speech can light up two slots for one voice: a slot that
        # shares most of its time with a louder one is that same voice (issue #6).
        if any((voices[:, k] & voices[:, j]).sum() > 0.8 * (voices[:, k] | voices[:, j]).sum() for j in kept):
            continue
        kept.append(int(k))
    turns = [SpeakerTurn(a, b, str(k)) for k in kept for a, b in regions(voices[:, k], model.frame, tuning.local_min)]
    return turns or None  # no voice long enough here: let clustering give the speech one label
