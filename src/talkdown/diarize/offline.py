"""The default backend, offline on any CPU: speech regions → windows → fbank → CAM++
embeddings → clustering → turns → second voices over overlaps.

Every native part dispatches on the CPU it finds (ONNX Runtime's MLAS, numpy, SciPy's
OpenBLAS) or uses no extension beyond SSE2 (kaldi-native-fbank's wheel): issue #12.
"""

from __future__ import annotations

import numpy as np

from ..types import SpeakerTurn
from . import embeddings, overlap, speech, turns
from .clustering import cluster
from .features import Fbank
from .models import Models, loaded
from .options import DiarizeOptions


class Offline:
    """Holds only loaded models and the fbank options, so archive threads may share it."""

    def __init__(self, models: Models | None = None) -> None:
        self.models = models or loaded()
        self.fbank = Fbank()

    def turns(self, audio: np.ndarray, options: DiarizeOptions) -> list[SpeakerTurn]:
        tuning, models = options.tuning, self.models
        overlaps: list[tuple[float, float]] = []
        if tuning.vad == "segmentation" and models.segmentation is not None:
            # One pass of segmentation-3.0 for both speech and overlap saves Silero's time
            # (about 1/5 of the total) but scored 6 DER points worse here (issue #6).
            regions, overlaps = speech.segment(models.segmentation, audio, tuning)
        else:
            regions = speech.silero_speech(models.vad, audio)
        if not regions:
            return []
        spans = embeddings.windows(regions, tuning)
        if (len(spans) < tuning.min_clustered and models.segmentation is not None and options.speakers is None
                and options.max_speakers != 1):
            local = overlap.local_speakers(models.segmentation, audio, tuning)
            if local is not None:
                return local
        labels, centroids = cluster(embeddings.embed(models.campp, self.fbank, audio, spans, tuning), options)
        found = turns.from_windows(spans, labels)
        if options.overlap and models.segmentation is not None and len(centroids) > 1:
            if tuning.vad != "segmentation":
                overlaps = speech.segment(models.segmentation, audio, tuning, regions)[1]
            found = found + overlap.second_speakers(found, overlaps)
        return found
