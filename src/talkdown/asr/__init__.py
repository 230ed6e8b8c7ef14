"""Speech recognition behind one seam: samples and hints in, a frozen ``Transcription`` out.

An ``Engine`` is loaded once (``load``) and called on any number of recordings, from
any number of threads: it keeps nothing of a call (as faster-whisper's ``transcribe``
returns ``(segments, info)``), so the language of one item can never leak into the
next. Engines are found by name in a small registry (as ``llm`` registers its models):
``faster-whisper`` (the default, ``asr.whisper``) and ``fake`` (``asr.fake``, for tests
about shaping and storing). Options every engine has live in ``TranscribeOptions``;
an engine's own live in its own frozen class, passed as ``TranscribeOptions.tuning``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Mapping, Protocol

from ..errors import ModelError
from ..types import ModelInfo, Segment

if TYPE_CHECKING:  # numpy loads with an engine, not with the options every command builds
    import numpy as np

__all__ = ["DEFAULT_ENGINE", "Engine", "EngineSpec", "Hints", "Progress", "TranscribeOptions", "Transcription",
           "engines", "load", "register"]

DEFAULT_ENGINE = "faster-whisper"
Progress = Callable[[float, float], None]  # (seconds done, seconds in all)


@dataclass(frozen=True, slots=True)
class TranscribeOptions:
    """What every engine understands; ``tuning`` holds the engine's own options
    (``asr.whisper.WhisperOptions`` for faster-whisper; None: its defaults)."""

    engine: str = DEFAULT_ENGINE
    model: str = "auto"
    language: str | None = None  # None or "auto": detected per recording
    initial_prompt: str | None = None
    hotwords: str | None = None
    prime: bool = True  # the pipeline passes names from each item's metadata as hotwords
    vad: bool = True
    threads: int = 0  # CPU threads for one engine (0: up to 4)
    workers: int = 1  # calls that may run at once on one loaded engine (archive --jobs)
    tuning: Any = None


@dataclass(frozen=True, slots=True)
class Hints:
    """What one call knows of its recording besides the samples."""

    language: str | None = None  # a code, or None to detect
    hotwords: str | None = None  # names to favour (from the item's metadata), besides the options' own


@dataclass(frozen=True, slots=True)
class Transcription:
    """One call's result: the segments, the language they are in, the model that made them,
    and what else the engine reports (``language_probability``…)."""

    segments: tuple[Segment, ...]
    language: str | None
    model: ModelInfo
    info: Mapping[str, Any] = field(default_factory=dict)


class Engine(Protocol):
    """A loaded model. Calls share nothing: each returns its own ``Transcription``."""

    model: ModelInfo
    multilingual: bool

    def familiar(self, word: str) -> bool:
        """Whether the model knows ``word`` well (one token): such names need no priming."""
        ...

    def __call__(self, audio: np.ndarray, hints: Hints = Hints(), progress: Progress | None = None) -> Transcription:
        """Transcribes 16 kHz mono float32 samples.

        Raises:
            ModelError: the language is unknown or the model cannot do it.
        """
        ...


@dataclass(frozen=True, slots=True)
class EngineSpec:
    """A registered engine: how to load it, its own options class, one line about it."""

    name: str
    load: Callable[[TranscribeOptions], Engine]
    tuning: type | None = None
    about: str = ""


_REGISTRY: dict[str, EngineSpec] = {}


def register(spec: EngineSpec) -> None:
    """Adds (or replaces) an engine under ``spec.name``."""
    _REGISTRY[spec.name] = spec


def engines() -> list[EngineSpec]:
    """The registered engines, the default first."""
    return sorted(_REGISTRY.values(), key=lambda s: (s.name != DEFAULT_ENGINE, s.name))


def load(options: TranscribeOptions = TranscribeOptions()) -> Engine:
    """Loads the engine ``options.engine`` names, with its model.

    Raises:
        ModelError: no such engine, its options are of another engine, or its model cannot be had.
    """
    spec = _REGISTRY.get(options.engine)
    if spec is None:
        raise ModelError(f"Unknown engine {options.engine!r}; talkdown has {', '.join(s.name for s in engines())}.")
    if options.tuning is not None and spec.tuning is not None and not isinstance(options.tuning, spec.tuning):
        raise ModelError(f"The engine {spec.name} takes {spec.tuning.__name__} options, "
                         f"not {type(options.tuning).__name__}.")
    return spec.load(options)


def _load_whisper(options: TranscribeOptions) -> Engine:
    from .whisper import FasterWhisper  # faster-whisper takes 0.4 s to import: only when used

    return FasterWhisper(options)


def _load_fake(options: TranscribeOptions) -> Engine:
    from .fake import FakeEngine

    return FakeEngine(options)


def _builtin() -> None:
    from .fake import FakeOptions
    from .placement import WhisperOptions

    register(EngineSpec(DEFAULT_ENGINE, _load_whisper, WhisperOptions,
                        "Whisper on CTranslate2 (int8 on CPU), Silero VAD, word timings"))
    register(EngineSpec("fake", _load_fake, FakeOptions,
                        "for tests: one word a second of sound, a language by length; no model"))


_builtin()
