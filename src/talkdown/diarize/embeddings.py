"""CAM++ speaker embeddings of short windows laid over the speech regions."""

from __future__ import annotations

import numpy as np

from .features import Fbank
from .options import Tuning

Span = tuple[float, float]


def windows(speech: list[Span], tuning: Tuning) -> list[Span]:
    """``embed_window`` windows every ``embed_step`` over each speech region (senko's rule)."""
    out = []
    for start, end in speech:
        t = start
        while t + tuning.embed_window < end:
            out.append((t, t + tuning.embed_window))
            t += tuning.embed_step
        if t < end:
            # the last window ends with the region, reaching back before it if it is short,
            # but not before the audio: a window starting there gets no frames
            out.append((max(0.0, min(end - tuning.embed_window, t)), end))
    return out


def embed(campp: object, fbank: Fbank, audio: np.ndarray, spans: list[Span], tuning: Tuning) -> np.ndarray:
    """One 192-d embedding per window, made in bounded batches so memory stays flat."""
    out = [np.zeros((0, 192), np.float32)]
    for i in range(0, len(spans), tuning.embed_batch):
        out.append(embed_features(campp, fbank(audio, spans[i : i + tuning.embed_batch]), tuning.campp_batch))
    return np.concatenate(out).astype(np.float32)


def embed_features(campp: object, features: list[np.ndarray], batch_size: int) -> np.ndarray:
    """CAM++ over fbank windows in small zero-padded batches."""
    out = []
    for i in range(0, len(features), batch_size):
        batch = features[i : i + batch_size]
        padded = np.zeros((len(batch), max(len(w) for w in batch), batch[0].shape[1]), np.float32)
        for row, w in zip(padded, batch):
            row[: len(w)] = w
        out.append(campp.run(None, {"features": padded})[0])
    return np.concatenate(out)
