"""Silero VAD for diarization, without torch.

silero-vad's package imports torch on import (0.8 s and 300 MB on every run, issue #6),
though its sequence model needs only ONNX Runtime. Its model file is run here directly,
and its speech-timestamp rules are restated for the settings diarization uses (no
maximum speech length), giving the same regions, sample for sample (tests compare them).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import numpy as np

from .types import SAMPLE_RATE

_FRAME = 512  # samples per probability at 16 kHz
_CONTEXT = 64  # samples of the previous frame each frame is heard with
_BLOCK = 512  # frames per ONNX call (16 s), as silero-vad's own default
_MODEL = "data/silero_vad_16k_sequence.onnx"  # silero-vad 6.2.3 and later


def model_path() -> Path | None:
    """The sequence model inside the installed silero-vad, found without importing it."""
    spec = importlib.util.find_spec("silero_vad")
    if spec is None or spec.origin is None:
        return None
    path = Path(spec.origin).parent / _MODEL
    return path if path.exists() else None


def probabilities(session: Any, audio: np.ndarray) -> np.ndarray:
    """Speech probability of each 32 ms frame, the LSTM state carried across calls; built a
    block at a time, so 3 hours cost no more than 16 s beyond the samples themselves."""
    frames = -(-len(audio) // _FRAME)
    h = np.zeros((1, 1, 128), np.float32)
    c = np.zeros((1, 1, 128), np.float32)
    before = np.zeros(_CONTEXT, np.float32)
    out = [np.zeros(0, np.float32)]
    for first in range(0, frames, _BLOCK):
        count = min(_BLOCK, frames - first)
        frame = np.zeros((count, _FRAME), np.float32)
        samples = audio[first * _FRAME : (first + count) * _FRAME]
        frame.reshape(-1)[: len(samples)] = samples
        context = np.concatenate([before[None, :], frame[:-1, -_CONTEXT:]])
        before = frame[-1, -_CONTEXT:].copy()
        block = np.concatenate([context, frame], axis=1)
        probs, h, c = session.run(["speech_probs", "hn", "cn"], {"input": block, "h": h, "c": c})
        out.append(probs.reshape(-1))
    return np.concatenate(out)


def speech(probs: np.ndarray, length: int, threshold: float = 0.5, min_speech_ms: int = 250,
           min_silence_ms: int = 100, pad_ms: int = 30) -> list[tuple[int, int]]:
    """Speech regions in samples: silero-vad's ``get_speech_timestamps_from_probs`` with no
    maximum speech length. Speech starts at ``threshold`` and ends after ``min_silence_ms``
    below ``threshold - 0.15``; regions are padded by ``pad_ms`` each side, meeting halfway."""
    # Compared as silero-vad does under NumPy 2: in float32, the probabilities' type.
    negative = float(np.float32(max(threshold - 0.15, 0.01)))
    threshold = float(np.float32(threshold))
    min_speech = SAMPLE_RATE * min_speech_ms / 1000
    min_silence = SAMPLE_RATE * min_silence_ms / 1000
    pad = SAMPLE_RATE * pad_ms / 1000
    found: list[list[int]] = []
    start: int | None = None
    quiet_since = 0
    for i, p in enumerate(probs.tolist()):
        now = _FRAME * i
        if p >= threshold:
            quiet_since = 0
            if start is None:
                start = now
                continue
        if start is not None and p < negative:
            quiet_since = quiet_since or now
            if now - quiet_since >= min_silence:
                if quiet_since - start > min_speech:
                    found.append([start, quiet_since])
                start, quiet_since = None, 0
    if start is not None and length - start > min_speech:
        found.append([start, length])
    for i, region in enumerate(found):
        if i == 0:
            region[0] = int(max(0, region[0] - pad))
        if i == len(found) - 1:
            region[1] = int(min(length, region[1] + pad))
            continue
        after = found[i + 1]
        gap = after[0] - region[1]
        if gap < 2 * pad:
            region[1] += int(gap // 2)
            after[0] = int(max(0, after[0] - gap // 2))
        else:
            region[1] = int(min(length, region[1] + pad))
            after[0] = int(max(0, after[0] - pad))
    return [(a, b) for a, b in found]
