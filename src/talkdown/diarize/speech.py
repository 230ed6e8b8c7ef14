"""Where someone speaks (Silero) and where two people do (segmentation-3.0's frames)."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from .. import silero
from ..types import SAMPLE_RATE
from .models import Segmentation
from .options import Tuning

Span = tuple[float, float]


def silero_speech(vad: object, audio: np.ndarray) -> list[Span]:
    """Where Silero hears speech, with senko's settings (threshold 0.55)."""
    found = silero.speech(silero.probabilities(vad, audio), len(audio), threshold=0.55)
    return [(a / SAMPLE_RATE, b / SAMPLE_RATE) for a, b in found]


def segment(model: Segmentation, audio: np.ndarray, tuning: Tuning,
            heard: Sequence[Span] | None = None) -> tuple[list[Span], list[Span]]:
    """Stretches where segmentation-3.0 hears one or more voices, and two or more;
    windows where the VAD ``heard`` no speech are skipped."""
    window = int(model.window * SAMPLE_RATE)
    step = int(tuning.segment_step * SAMPLE_RATE)
    starts = list(range(0, max(1, len(audio) - window + 1), step))
    if len(audio) > window and (len(audio) - window) % step:
        starts.append(len(audio) - window)
    if heard is not None:
        spans = [(int(a * SAMPLE_RATE), int(b * SAMPLE_RATE)) for a, b in heard]
        starts = [s for s in starts if any(a < s + window and b > s for a, b in spans)]
    frame = model.frame
    n_frames = int(len(audio) / SAMPLE_RATE / frame[2]) + 1
    agg = np.zeros((n_frames + 1024, 2), np.float32)  # bounded: 2 floats per 17 ms frame
    weight = np.zeros((n_frames + 1024, 1), np.float32)
    for i in range(0, len(starts), tuning.segment_batch):
        batch = starts[i : i + tuning.segment_batch]
        chunk = np.stack([padded(audio[s : s + window], window) for s in batch])
        logits = model.session.run(None, {"audio": chunk[:, None, :]})[0]
        active = model.mapping[logits.argmax(-1)].sum(-1)  # speakers active per frame
        scores = np.stack([active >= 1, active >= 2], -1).astype(np.float32)
        _accumulate(agg, weight, scores, batch, frame)
    agg = agg[:n_frames] / np.maximum(weight[:n_frames], 1e-12)
    speech = regions(_bridge(agg[:, 0] > 0.5, tuning.speech_gap / frame[2]), frame, tuning.speech_min)
    return speech, regions(agg[:, 1] > 0.5, frame, tuning.overlap_min)


def padded(chunk: np.ndarray, size: int) -> np.ndarray:
    return chunk if len(chunk) == size else np.pad(chunk, (0, size - len(chunk)))


def regions(mask: np.ndarray, frame: tuple[float, float, float], min_duration: float) -> list[Span]:
    """Runs of True frames as (start, end) seconds at frame centres, the short ones dropped."""
    start0, duration, step = frame
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    on, off = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    centre = start0 + duration / 2
    spans = [(centre + a * step, centre + b * step) for a, b in zip(on, off)]
    return [(a, b) for a, b in spans if b - a >= min_duration]


def _accumulate(out: np.ndarray, weight: np.ndarray, scores: np.ndarray, starts: list[int],
                frame: tuple[float, float, float]) -> None:
    """Adds windows' frame scores, Hamming-weighted (as pyannote's Inference), in place."""
    _, _, step = frame
    n_frames = scores.shape[1]
    hamming = np.hamming(n_frames)[:, None].astype(np.float32)
    for chunk, start in zip(scores, starts):
        first = round(start / SAMPLE_RATE / step)
        n = max(0, min(n_frames, len(out) - first))
        out[first : first + n] += chunk[:n] * hamming[:n]
        weight[first : first + n] += hamming[:n]


def _bridge(mask: np.ndarray, max_gap: float) -> np.ndarray:
    """Fills runs of False shorter than ``max_gap`` frames between two True frames."""
    mask = mask.copy()
    edges = np.diff(np.concatenate([[0], (~mask).astype(np.int8), [0]]))
    for a, b in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)):
        if a > 0 and b < len(mask) and b - a < max_gap:
            mask[a:b] = True
    return mask
