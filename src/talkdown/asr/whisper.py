"""faster-whisper as an ``Engine``: the only home of faster-whisper's decoder.

faster-whisper runs the same Whisper weights as openai-whisper on CTranslate2, several
times faster on a CPU (int8). Long recordings go through ``spans``: speech packed into
30 s windows decoded in batches, then a second pass over what the packing lost. The
language is found per call and returned, never kept: one loaded model serves many
threads (CTranslate2 releases the GIL) and each call's result is its own.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from importlib import metadata
from typing import Any

import numpy as np

from ..errors import ModelError
from ..types import SAMPLE_RATE, ModelInfo, Segment, Word
from . import Hints, Progress, TranscribeOptions, Transcription, spans
from .models import resolve_model

__all__ = ["FasterWhisper", "WhisperOptions"]


@dataclass(frozen=True, slots=True)
class WhisperOptions:
    """faster-whisper's own options; defaults chosen by ``bench/longform.py`` on a 2-core CPU.

    ``batch_size`` > 0 uses faster-whisper's batched pipeline (VAD chunks decoded in
    parallel, each independently, so a loop in one cannot spread); 0 decodes sequentially.
    """

    beam_size: int = 5
    batch_size: int = 8
    device: str = "cpu"
    compute_type: str = "int8"
    second_pass: bool = True  # batched: decode again, on their own, regions of speech that got no words


class FasterWhisper:
    """One loaded Whisper model; call it on samples as many times as needed, from any thread."""

    def __init__(self, options: TranscribeOptions = TranscribeOptions()) -> None:
        from faster_whisper import BatchedInferencePipeline, WhisperModel

        self.options = options
        self.tuning: WhisperOptions = options.tuning or WhisperOptions()
        path, name = resolve_model(options.model)
        threads = options.threads or min(4, os.cpu_count() or 1)
        try:
            self._model = WhisperModel(str(path), device=self.tuning.device, compute_type=self.tuning.compute_type,
                                       cpu_threads=threads, num_workers=options.workers)
        except (RuntimeError, ValueError) as e:
            raise ModelError(f"Could not load the model in {path}: {e}.") from e
        self._batched = BatchedInferencePipeline(self._model) if self.tuning.batch_size > 0 else None
        self.model = ModelInfo(name=name, engine="faster-whisper", engine_version=metadata.version("faster-whisper"),
                               compute_type=self.tuning.compute_type)
        self.multilingual = bool(self._model.model.is_multilingual)

    def familiar(self, word: str) -> bool:
        """Whether the model's vocabulary holds ``word`` as one token (it knows it well)."""
        return len(self._model.hf_tokenizer.encode(" " + word, add_special_tokens=False).ids) == 1

    def __call__(self, audio: np.ndarray, hints: Hints = Hints(), progress: Progress | None = None) -> Transcription:
        """Transcribes 16 kHz mono samples.

        Raises:
            ModelError: the language is unknown or the model cannot do it.
        """
        o, t = self.options, self.tuning
        language = self._checked(hints.language or o.language)
        common: dict[str, Any] = dict(
            language=language, beam_size=t.beam_size, word_timestamps=True, vad_filter=o.vad,
            initial_prompt=o.initial_prompt, hotwords=", ".join(h for h in (o.hotwords, hints.hotwords) if h) or None,
        )
        total = len(audio) / SAMPLE_RATE
        if self._batched is not None and o.vad:
            found, info = self._packed(audio, common)
        else:
            if self._batched is not None:
                segments, info = self._batched.transcribe(audio, batch_size=t.batch_size, **common)
            else:
                segments, info = self._model.transcribe(audio, **common)
            found = []
            for s in segments:
                found.append(_segment(s))
                if progress:
                    progress(min(found[-1].end, total), total)
        if progress:
            progress(total, total)
        detected = info.language if info is not None else language
        extras = {"language_probability": info.language_probability} if info is not None else {}
        return Transcription(tuple(found), detected, self.model, extras)

    def _packed(self, audio: np.ndarray, common: dict[str, Any]) -> tuple[list[Segment], Any]:
        """The speech packed into 30 s windows, in batches, then (``second_pass``) what the
        packing got wrong decoded alone, in the language the first pass found."""
        regions = spans.speech_regions(audio)
        packed = spans.pack(audio, regions)
        found, info = self._clips(packed.audio, packed.windows, common)
        found = [spans.unpacked(s, packed.starts, regions) for s in found]
        if self.tuning.second_pass:
            again = {**common, "language": info.language if info is not None else common["language"]}

            def decode(clips: list[tuple[float, float]], cap: int) -> list[Segment]:
                redone, _ = self._clips(audio, clips, {**again, "max_new_tokens": cap}, sure_only=True)
                return redone

            found = spans.second_pass(audio, regions, found, decode)
        return found, info

    def _clips(self, audio: np.ndarray, clips: list[tuple[float, float]], common: dict[str, Any],
               sure_only: bool = False) -> tuple[list[Segment], Any]:
        """Decodes ``clips`` of ``audio`` in batches; no clips (no speech) is no segments and no info."""
        if not clips:
            return [], None
        timestamps = [{"start": start, "end": end} for start, end in clips]
        segments, info = self._batched.transcribe(  # type: ignore[union-attr]
            audio, batch_size=self.tuning.batch_size, clip_timestamps=timestamps, **{**common, "vad_filter": False})
        return [_segment(s) for s in segments if not sure_only or _trusted(s)], info

    def _checked(self, language: str | None) -> str | None:
        if language in (None, "", "auto"):
            return None if self.multilingual else "en"
        from faster_whisper.tokenizer import _LANGUAGE_CODES

        code = language.lower()
        if code not in _LANGUAGE_CODES:
            raise ModelError(f"Unknown language code {language!r}; use a code such as en, de, fr, or auto.")
        if not self.multilingual and code != "en":
            raise ModelError(f"Model {self.model.name} understands English only; for {code!r} pass a multilingual "
                             "model, e.g. --model small.")
        return code


def _trusted(segment: Any) -> bool:
    """Whisper's own signs that a segment is speech it is sure of (as in its transcribe())."""
    return segment.no_speech_prob < 0.6 and segment.avg_logprob > -1.0 and segment.compression_ratio < 2.4


def _segment(s: Any) -> Segment:
    words = tuple(Word(start=round(float(w.start), 3), end=round(float(w.end), 3), text=w.word,
                       probability=round(float(w.probability), 4)) for w in (s.words or ()))
    return Segment(start=round(float(s.start), 3), end=round(float(s.end), 3), text=s.text.strip(), words=words,
                   avg_logprob=float(s.avg_logprob), no_speech_prob=float(s.no_speech_prob),
                   compression_ratio=float(s.compression_ratio))
