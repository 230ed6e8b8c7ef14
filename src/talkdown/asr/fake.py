"""An engine without a model, for tests about what happens around recognition.

It "hears" a word in every second whose loudness passes a threshold (``w1``, ``w2``…,
timed to that second) and "detects" the language its options give for the
recording's length, so tests of shaping, storing, archiving and threads run in
milliseconds and can tell items apart. Like every engine it keeps nothing per call.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..types import SAMPLE_RATE, ModelInfo, Segment, Word
from . import Hints, Progress, TranscribeOptions, Transcription

if TYPE_CHECKING:
    import numpy as np

__all__ = ["FakeEngine", "FakeOptions", "options_from_env"]


@dataclass(frozen=True, slots=True)
class FakeOptions:
    """``languages``: (seconds, code) pairs; a recording of about that length (±0.5 s) is in
    that language, any other in ``default_language``. ``delay``: seconds each call takes."""

    languages: tuple[tuple[float, str], ...] = ()
    default_language: str | None = "en"
    delay: float = 0.0
    threshold: float = 0.01  # RMS below which a second is silence


def options_from_env() -> FakeOptions:
    """FakeOptions from ``TALKDOWN_FAKE_LANGUAGES`` (``11=de,6=fr``) and ``TALKDOWN_FAKE_DELAY``
    (seconds): how tests that run the ``talkdown`` command shape the fake engine."""
    pairs = []
    for pair in filter(None, os.environ.get("TALKDOWN_FAKE_LANGUAGES", "").split(",")):
        seconds, _, code = pair.partition("=")
        pairs.append((float(seconds), code.strip()))
    return FakeOptions(languages=tuple(pairs), delay=float(os.environ.get("TALKDOWN_FAKE_DELAY") or 0))


class FakeEngine:
    multilingual = True

    def __init__(self, options: TranscribeOptions = TranscribeOptions()) -> None:
        self.options = options
        self.tuning: FakeOptions = options.tuning or FakeOptions()
        self.model = ModelInfo(name="fake", engine="fake", engine_version="1")

    def familiar(self, word: str) -> bool:
        return False

    def __call__(self, audio: np.ndarray, hints: Hints = Hints(), progress: Progress | None = None) -> Transcription:
        import numpy as np

        seconds = len(audio) / SAMPLE_RATE
        words = []
        for i in range(int(np.ceil(seconds))):
            piece = audio[i * SAMPLE_RATE:(i + 1) * SAMPLE_RATE]
            if piece.size and float(np.sqrt(np.mean(piece.astype(np.float64) ** 2))) >= self.tuning.threshold:
                words.append(Word(float(i), min(i + 0.8, seconds), f" w{len(words) + 1}"))
        time.sleep(self.tuning.delay)
        if progress:
            progress(seconds, seconds)
        segments = tuple(Segment(ws[0].start, ws[-1].end, "".join(w.text for w in ws).strip() + ".", tuple(ws))
                         for ws in (words[i:i + 5] for i in range(0, len(words), 5)))
        language = hints.language or self.options.language
        if language in (None, "auto"):
            heard = next((code for length, code in self.tuning.languages if abs(length - seconds) <= 0.5), None)
            language = (heard or self.tuning.default_language) if segments else None
        return Transcription(segments, language, self.model)
