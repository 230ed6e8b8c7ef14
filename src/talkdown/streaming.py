"""A long recording transcribed a block at a time, so memory holds a block, not the file.

``decode.blocks`` cuts the audio in the quietest moment near every ``BLOCK_SECONDS``;
each block goes to the engine as a call of its own (the language the first block was
heard in is kept for the rest), and its segments are moved to the block's place in the
recording. A 3-hour file decoded whole is 691 MB of samples before the engine holds
its windows; in blocks it is the same few hundred MB at any length. A recording
shorter than a block is one call on the same samples as before.
"""

from __future__ import annotations

import dataclasses
import threading
from pathlib import Path
from typing import Any, Callable

from . import decode
from .asr import Engine, Hints, Transcription
from .types import SAMPLE_RATE, Segment, Word


def transcribe_in_blocks(engine: Engine, path: Path, hints: Hints = Hints(),
                         progress: Callable[[float], None] | None = None,
                         seconds: float = decode.BLOCK_SECONDS,
                         beside: Callable[[float, Any], None] | None = None) -> tuple[Transcription, float]:
    """The whole recording's transcription and its decoded length in seconds.

    ``progress`` is told the seconds done so far, across blocks. ``beside`` (offset,
    samples) is given every block too, in order, in a thread of its own while the engine
    decodes it and the next (diarization's one thread uses the core time CTranslate2
    leaves idle); all of them are done when this returns.

    Raises:
        DecodeError: the file cannot be decoded.
        ModelError: as the engine.
    """
    parts: list[Transcription] = []
    length = 0.0
    heard: list[Beside] = []  # the last two blocks' hearing, each after the one before
    for offset, samples in decode.blocks(path, seconds=seconds):
        report = (lambda done, _total, at=offset: progress(at + done)) if progress else None
        if beside:
            if len(heard) == 2:  # two blocks behind: wait, so samples cannot pile up
                heard.pop(0).result()
            heard.append(Beside(_after, heard[-1] if heard else None, beside, offset, samples))
        part = engine(samples, hints, progress=report)
        if hints.language is None and part.language:
            hints = dataclasses.replace(hints, language=part.language)
        parts.append(_moved(part, offset))
        length = offset + len(samples) / SAMPLE_RATE
        del samples
    for call in heard:
        call.result()
    first = parts[0]
    segments = tuple(s for p in parts for s in p.segments)
    return dataclasses.replace(first, segments=segments), length


class Beside:
    """A call run in a daemon thread, so that an error or Ctrl-C in the transcription
    does not wait for it to finish (a pool's thread would hold the exit)."""

    def __init__(self, call: Callable[..., Any], *args: Any) -> None:
        self._out: tuple[Any, BaseException | None] = (None, None)
        self._thread = threading.Thread(target=self._run, args=(call, args), name="talkdown-beside", daemon=True)
        self._thread.start()

    def _run(self, call: Callable[..., Any], args: tuple[Any, ...]) -> None:
        try:
            self._out = (call(*args), None)
        except BaseException as e:  # handed to whoever asks for the result
            self._out = (None, e)

    def result(self) -> Any:
        self._thread.join()
        value, error = self._out
        if error is not None:
            raise error
        return value


def _after(before: Beside | None, call: Callable[..., Any], *args: Any) -> Any:
    """``call`` once the call before it is done: blocks are heard in order, and one block's
    hearing may run on beside the next block's transcription (its core is not left idle
    at every block's end, as when each block waited for its own)."""
    if before is not None:
        before.result()
    return call(*args)


def _moved(part: Transcription, offset: float) -> Transcription:
    if not offset:
        return part
    return dataclasses.replace(part, segments=tuple(_segment(s, offset) for s in part.segments))


def _segment(s: Segment, offset: float) -> Segment:
    return dataclasses.replace(s, start=round(s.start + offset, 3), end=round(s.end + offset, 3),
                               words=tuple(_word(w, offset) for w in s.words))


def _word(w: Word, offset: float) -> Word:
    return dataclasses.replace(w, start=round(w.start + offset, 3), end=round(w.end + offset, 3))
