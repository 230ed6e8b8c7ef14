"""faster-whisper as an ``Engine``: the only home of faster-whisper's decoder.

faster-whisper runs the same Whisper weights as openai-whisper on CTranslate2, several
times faster on a CPU (int8). Long recordings go through ``spans``: speech packed into
30 s windows decoded in batches, then a second pass over what the packing lost. The
language is found per call and returned, never kept: one loaded model serves many
threads (CTranslate2 releases the GIL) and each call's result is its own.

Where it runs is decided once, by ``placement.place``: a CUDA GPU when CTranslate2 reports one
(float16, larger batches), else the CPU in int8, where one call's windows are shared
out to several single-threaded decoders (two on two cores ran 1.25–1.3× faster than
one decoder of two threads, bench/longform.py) unless calls already run side by side.
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from importlib import metadata
from typing import Any

import numpy as np

from .. import heap
from ..errors import ModelError
from ..types import SAMPLE_RATE, ModelInfo, Segment, Word
from . import Hints, Progress, TranscribeOptions, Transcription, spans
from .models import resolve_model
from .placement import Placement, WhisperOptions, cuda_devices, place

__all__ = ["FasterWhisper", "Placement", "WhisperOptions", "cuda_devices", "place"]


class FasterWhisper:
    """One loaded Whisper model; call it on samples as many times as needed, from any thread."""

    def __init__(self, options: TranscribeOptions = TranscribeOptions()) -> None:
        from faster_whisper import WhisperModel

        self.options = options
        self.tuning: WhisperOptions = options.tuning or WhisperOptions()
        self.placement = p = place(self.tuning, options)
        path, name = resolve_model(options.model)
        heap.hold_arenas()
        try:
            self._model = WhisperModel(str(path), device=p.device, compute_type=p.compute_type,
                                       cpu_threads=p.threads, num_workers=p.workers)
        except (RuntimeError, ValueError) as e:
            raise ModelError(f"Could not load the model in {path} on {p.device} ({p.compute_type}): {e}.") from e
        self.model = ModelInfo(name=name, engine="faster-whisper", engine_version=metadata.version("faster-whisper"),
                               compute_type=p.compute_type)
        self.multilingual = bool(self._model.model.is_multilingual)

    def familiar(self, word: str) -> bool:
        """Whether the model's vocabulary holds ``word`` as one token (it knows it well)."""
        return len(self._model.hf_tokenizer.encode(" " + word, add_special_tokens=False).ids) == 1

    def __call__(self, audio: np.ndarray, hints: Hints = Hints(), progress: Progress | None = None) -> Transcription:
        """Transcribes 16 kHz mono samples.

        Raises:
            ModelError: the language is unknown or the model cannot do it.
        """
        from faster_whisper import BatchedInferencePipeline

        o, t, p = self.options, self.tuning, self.placement
        language = self._checked(hints.language or o.language)
        common: dict[str, Any] = dict(
            language=language, beam_size=t.beam_size, word_timestamps=True, vad_filter=o.vad,
            initial_prompt=o.initial_prompt, hotwords=", ".join(h for h in (o.hotwords, hints.hotwords) if h) or None,
        )
        total = len(audio) / SAMPLE_RATE
        if p.batch_size > 0 and o.vad:
            found, info = self._packed(audio, common)
        else:
            if p.batch_size > 0:
                segments, info = BatchedInferencePipeline(self._model).transcribe(audio, batch_size=p.batch_size,
                                                                                  **common)
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
        found = [spans.unpacked(s, packed.starts, packed.regions) for s in found]
        if self.tuning.second_pass:
            again = {**common, "language": info.language if info is not None else common["language"]}

            def decode(clips: list[tuple[float, float]], cap: int) -> list[Segment]:
                redone, _ = self._clips(audio, clips, {**again, "max_new_tokens": cap}, sure_only=True)
                return redone

            found = spans.second_pass(audio, regions, found, decode)
        return found, info

    def _clips(self, audio: np.ndarray, clips: list[tuple[float, float]], common: dict[str, Any],
               sure_only: bool = False) -> tuple[list[Segment], Any]:
        """Decodes ``clips`` of ``audio`` in batches, shared out to the placement's decoders;
        no clips (no speech) is no segments and no info.

        Batches are decoded independently (the same words in any grouping, bench/longform.py),
        then joined in order; where no language is given, the first batch alone finds it first.
        """
        if not clips:
            return [], None
        p = self.placement
        if p.decoders == 1:
            batches = [clips]
        else:  # at least two batches per decoder, so one long batch does not leave the others idle
            size = min(p.batch_size, max(1, math.ceil(len(clips) / (2 * p.decoders))))
            batches = [clips[i: i + size] for i in range(0, len(clips), size)]
        kwargs = {**common, "vad_filter": False}

        def decode(i: int, language: str | None) -> tuple[list[Segment], Any]:
            from faster_whisper import BatchedInferencePipeline

            # One pipeline per batch: it keeps the time of the last word heard between batches.
            pipeline = BatchedInferencePipeline(self._model)
            pipeline.last_speech_timestamp = batches[i - 1][-1][1] if i else 0.0
            segments, info = pipeline.transcribe(
                audio, batch_size=min(p.batch_size, len(batches[i])),
                clip_timestamps=[{"start": start, "end": end} for start, end in batches[i]],
                **{**kwargs, "language": language})
            return [_segment(s) for s in segments if not sure_only or _trusted(s)], info

        language, done = kwargs["language"], []
        if language is None or len(batches) == 1:
            done.append(decode(0, language))
            language = language or done[0][1].language
        if len(batches) > len(done):
            with ThreadPoolExecutor(min(p.decoders, len(batches) - len(done)), thread_name_prefix="decoder") as pool:
                done += pool.map(lambda i: decode(i, language), range(len(done), len(batches)))
        return [s for segments, _ in done for s in segments], done[0][1]

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
