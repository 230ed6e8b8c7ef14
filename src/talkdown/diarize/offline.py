"""The default backend, offline on any CPU: speech regions → windows → fbank → CAM++
embeddings → clustering → turns → second voices over overlaps.

Every native part dispatches on the CPU it finds (ONNX Runtime's MLAS, numpy, SciPy's
OpenBLAS) or uses no extension beyond SSE2 (kaldi-native-fbank's wheel): issue #12.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from ..types import SpeakerTurn
from . import embeddings, overlap, speech, turns
from .clustering import cluster
from .features import Fbank
from .models import Models, loaded
from .options import DiarizeOptions


Span = tuple[float, float]


@dataclass(frozen=True)
class Heard:
    """What one block of a recording gives the clustering, on the recording's clock: its
    speech regions, windows with their CAM++ embeddings (768 bytes a window) and where
    two voices speak at once (None: not looked for). A 5-minute block's samples are
    19 MB; this, kilobytes."""

    regions: tuple[Span, ...]
    spans: tuple[Span, ...]
    embeddings: np.ndarray  # one 192-d row per span
    overlaps: tuple[Span, ...] | None


class Offline:
    """Holds only loaded models and the fbank options, so archive threads may share it."""

    def __init__(self, models: Models | None = None) -> None:
        self.models = models or loaded()
        self.fbank = Fbank()

    def turns(self, audio: np.ndarray, options: DiarizeOptions, heard: Heard | None = None) -> list[SpeakerTurn]:
        """The turns of a whole recording held at once; ``heard``: ``audio`` already heard
        without overlaps (``Listener`` hears a first block before it knows it is the only one)."""
        tuning, models = options.tuning, self.models
        heard = heard or self.hear(audio, 0.0, options, overlaps=False)
        if not heard.spans:
            return []
        if (len(heard.spans) < tuning.min_clustered and models.segmentation is not None
                and options.speakers is None and options.max_speakers != 1):
            local = overlap.local_speakers(models.segmentation, audio, tuning)
            if local is not None:
                return local
        # Overlaps only once there is more than one speaker: a pass of segmentation-3.0
        # wasted on one voice.
        return self.joined([heard], options, lambda: self._two_voices(audio, options, heard.regions))

    def hear(self, audio: np.ndarray, offset: float, options: DiarizeOptions, overlaps: bool = True) -> Heard:
        """One block's evidence; two-voice stretches are looked for when ``overlaps`` and
        ``options.overlap`` ask (or come free with ``vad="segmentation"``)."""
        tuning, models = options.tuning, self.models
        found: list[Span] | None = None
        if tuning.vad == "segmentation" and models.segmentation is not None:
            # One pass of segmentation-3.0 for both speech and overlap saves Silero's time
            # (about 1/5 of the total) but scored 6 DER points worse here (issue #6).
            regions, found = speech.segment(models.segmentation, audio, tuning)
        else:
            regions = speech.silero_speech(models.vad, audio)
        spans = embeddings.windows(regions, tuning)
        vectors = embeddings.embed(models.campp, self.fbank, audio, spans, tuning)
        if found is None and overlaps:
            found = self._two_voices(audio, options, regions)
        return Heard(_moved(regions, offset), _moved(spans, offset), vectors,
                     None if found is None else _moved(found, offset))

    def overlapped(self, heard: Heard, audio: np.ndarray, options: DiarizeOptions) -> Heard:
        """``heard`` (of ``audio``, at offset 0) with its two-voice stretches looked for, as
        ``hear`` with ``overlaps`` would have given it."""
        if heard.overlaps is not None:
            return heard
        return dataclasses.replace(heard, overlaps=tuple(self._two_voices(audio, options, heard.regions)))

    def joined(self, heard: Sequence[Heard], options: DiarizeOptions,
               overlaps: Callable[[], list[Span]] | None = None) -> list[SpeakerTurn]:
        """Turns from every block's windows clustered together, so a speaker keeps one label
        across blocks; ``overlaps`` finds the two-voice stretches that ``heard`` did not look for."""
        spans = [s for h in heard for s in h.spans]
        if not spans:
            return []
        labels, centroids = cluster(np.concatenate([h.embeddings for h in heard]), options)
        found = turns.from_windows(spans, labels)
        if options.overlap and self.models.segmentation is not None and len(centroids) > 1:
            looked = all(h.overlaps is not None for h in heard)
            two = [s for h in heard for s in h.overlaps or ()] if looked else (overlaps() if overlaps else [])
            found = found + overlap.second_speakers(found, two)
        return found

    def _two_voices(self, audio: np.ndarray, options: DiarizeOptions, regions: Sequence[Span]) -> list[Span]:
        if not (options.overlap and self.models.segmentation is not None and regions):
            return []
        return speech.segment(self.models.segmentation, audio, options.tuning, list(regions))[1]


def _moved(spans: Sequence[Span], offset: float) -> tuple[Span, ...]:
    return tuple((a + offset, b + offset) for a, b in spans)
