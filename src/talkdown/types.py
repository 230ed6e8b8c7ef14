"""The nouns that pass between talkdown's stages.

Every stage takes and returns these small frozen dataclasses, never loose dicts, so
that what crosses a stage boundary is named and typed. Times are seconds from the
start of the media (float). ``Transcript.to_dict``/``from_dict`` are the JSON source
of truth: every other format can be re-rendered from them without re-transcribing.
Imports nothing of talkdown's.
"""

from __future__ import annotations

import dataclasses
import functools
import json
from dataclasses import dataclass
from typing import Any, Callable, Iterator

SCHEMA_VERSION = 1
SAMPLE_RATE = 16_000  # Hz: every stage hears audio as 16 kHz mono float32 (Whisper's, CAM++'s, Silero's rate)
UNSURE_BELOW = 0.6  # below this a line is flagged as one to check before quoting (bench/confidence.py: 11 % of words, 39 % of errors)


@dataclass(frozen=True, slots=True)
class Chapter:
    """A titled stretch of the media, from its metadata or its description."""

    title: str
    start: float
    end: float | None = None


@dataclass(frozen=True, slots=True)
class Media:
    """What is known about a source before any audio is heard.

    ``id`` is the archive key, prefixed by where it came from (``youtube:MGgDHevAc8A``,
    ``generic:clip``, ``file:<sha256[:12]>``); ``url`` is the page deep links point at
    (None for a local file, whose lines then carry plain times).
    """

    id: str
    title: str
    url: str | None = None
    channel: str | None = None
    channel_id: str | None = None
    channel_url: str | None = None
    upload_date: str | None = None  # ISO YYYY-MM-DD
    duration: float | None = None
    description: str = ""
    tags: tuple[str, ...] = ()
    view_count: int | None = None
    average_rating: float | None = None
    chapters: tuple[Chapter, ...] = ()
    language: str | None = None
    path: str | None = None  # the local file, when the source is one

    @property
    def video_id(self) -> str:
        """The id without its source prefix, as the site knows it."""
        return self.id.split(":", 1)[-1]


@dataclass(frozen=True, slots=True)
class Word:
    """One recognised word; ``text`` keeps Whisper's leading space so words join as said."""

    start: float
    end: float
    text: str
    probability: float = 1.0
    speaker: str | None = None


@dataclass(frozen=True, slots=True)
class Segment:
    """One decoded stretch as the ASR engine returns it, without decoder internals."""

    start: float
    end: float
    text: str
    words: tuple[Word, ...] = ()
    avg_logprob: float = 0.0
    no_speech_prob: float = 0.0
    compression_ratio: float = 1.0


@dataclass(frozen=True, slots=True)
class SpeakerTurn:
    """One stretch of one speaker's voice, as diarization found it; turns may overlap."""

    start: float
    end: float
    speaker: str


@dataclass(frozen=True, slots=True)
class Line:
    """One line of the transcript (a Markdown bullet): a sentence, part of one, or a few.

    ``start`` is None only for lines read back from old transcripts that had no times.
    ``confidence`` (0–1) is the engine's belief in the line's words; None where no
    engine said (captions, old transcripts). Below ``UNSURE_BELOW`` the line is unsure.
    """

    start: float | None
    end: float | None
    text: str
    words: tuple[Word, ...] = ()
    speaker: str | None = None
    confidence: float | None = None

    @property
    def unsure(self) -> bool:
        return self.confidence is not None and self.confidence < UNSURE_BELOW


@dataclass(frozen=True, slots=True)
class Section:
    """A run of lines under one heading (a chapter); ``title`` None for the untitled one."""

    title: str | None
    start: float
    lines: tuple[Line, ...] = ()


@dataclass(frozen=True, slots=True)
class Captions:
    """One caption track as its site or file holds it: raw text in a known format.

    ``kind`` is ``manual`` (written by people), ``auto`` (the site's own ASR) or ``file``
    (beside a local file, as ``yt-dlp --write-subs`` leaves it); ``origin`` is the URL or
    path it came from, for messages.
    """

    text: str
    format: str  # json3, vtt or srv3
    language: str
    kind: str
    origin: str
    site: str = "YouTube"

    @property
    def label(self) -> str:
        """What the transcript's ``Transcription Model`` says of these words."""
        if self.kind == "file":
            return f"captions file {self.origin.replace(chr(92), '/').rsplit('/', 1)[-1]}"
        return f"{self.site} captions ({self.kind}, {self.language})"


@dataclass(frozen=True, slots=True)
class Disagreement:
    """A place where the captions and the ASR heard a different name or number (``--source auto``)."""

    start: float
    end: float
    captions: str
    asr: str


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """Which engine and weights made a transcript, for its ``Transcription Model`` field."""

    name: str
    engine: str = ""
    engine_version: str = ""
    compute_type: str = ""

    def __str__(self) -> str:
        head = " ".join(p for p in (self.engine, self.engine_version, self.name) if p)
        return f"{head} ({self.compute_type})" if self.compute_type else head


@dataclass(frozen=True, slots=True)
class Transcript:
    """A finished transcript: the media, the lines in sections, and how they were made."""

    media: Media
    sections: tuple[Section, ...]
    model: ModelInfo
    language: str | None = None
    generated: str = ""  # ISO date (YYYY-MM-DD) the transcript was made
    prompt: str | None = None  # what primed the decoder, if anything
    speakers: tuple[str, ...] = ()
    turns: tuple[SpeakerTurn, ...] = ()  # the diarizer's own turns, for RTTM
    disagreements: tuple[Disagreement, ...] = ()  # captions against ASR, names and numbers only

    def lines(self) -> Iterator[Line]:
        for section in self.sections:
            yield from section.lines

    def words(self) -> Iterator[Word]:
        for line in self.lines():
            yield from line.words

    @property
    def text(self) -> str:
        return " ".join(line.text for line in self.lines())

    def to_dict(self) -> dict[str, Any]:
        return {"schema": SCHEMA_VERSION, **dataclasses.asdict(self)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Transcript:
        """Rebuilds a transcript from ``to_dict`` output (e.g. parsed JSON), checking every field's type.

        Keys it does not know are ignored; a null where a default exists takes the default.

        Raises:
            ValueError: a field is missing or of the wrong type; the message names it
                (``sections[0].lines[2].start should be a number, not 'abc'``).
        """
        try:
            return _build(cls, data)
        except _Bad as e:
            raise ValueError(str(e)) from None


# -- reading back: each field's annotation, as written above, says what JSON it accepts.
# Paths are built only on failure (a 3-hour talk has 30,000 words to check).

_MISSING = object()


class _Bad(ValueError):
    """A wrong or missing field; ``path`` grows innermost first as it passes up."""

    def __init__(self, what: str | None, value: Any = _MISSING) -> None:
        super().__init__(what)
        self.what, self.value, self.path = what, value, []

    def __str__(self) -> str:
        at = "".join(p if p.startswith("[") else "." + p for p in reversed(self.path)).lstrip(".") or "the transcript"
        return f"{at} is missing" if self.what is None else f"{at} should be {self.what}, not {_shown(self.value)}"


def _str(value: Any) -> str:
    if type(value) is str:
        return value
    raise _Bad("a string", value)


def _int(value: Any) -> int:
    if type(value) is int:
        return value
    raise _Bad("a whole number", value)


def _float(value: Any) -> float:
    if type(value) is float and value - value == 0:  # not inf or nan
        return value
    if type(value) is int and -1e300 < value < 1e300:
        return float(value)
    raise _Bad("a number", value)


def _tuple_of(item: Callable[[Any], Any]) -> Callable[[Any], tuple[Any, ...]]:
    def convert(value: Any) -> tuple[Any, ...]:
        if type(value) is not list:
            raise _Bad("a list", value)
        out = []
        for i, v in enumerate(value):
            try:
                out.append(item(v))
            except _Bad as e:
                e.path.append(f"[{i}]")
                raise
        return tuple(out)

    return convert


def _converter(kind: str) -> Callable[[Any], Any]:
    if kind.startswith("tuple["):
        return _tuple_of(_converter(kind.removeprefix("tuple[").removesuffix(", ...]")))
    scalar = {"str": _str, "int": _int, "float": _float}.get(kind)
    return scalar or functools.partial(_build, globals()[kind])


@functools.cache
def _plan(cls: type) -> tuple[tuple[str, Callable[[Any], Any], bool, bool], ...]:
    """(name, converter, null allowed, required) for each field of ``cls``."""
    return tuple(
        (f.name, _converter(f.type.removesuffix(" | None")), f.type.endswith(" | None"),
         f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING)
        for f in dataclasses.fields(cls)
    )


def _build(cls: type, data: Any) -> Any:
    if type(data) is not dict:
        raise _Bad("an object", data)
    values = {}
    for name, convert, nullable, required in _plan(cls):
        value = data.get(name, _MISSING)
        if value is None and nullable:
            values[name] = None
        elif value is _MISSING or value is None:  # a null where a default exists takes the default
            if required:
                e = _Bad(None)
                e.path.append(name)
                raise e
        else:
            try:
                values[name] = convert(value)
            except _Bad as e:
                e.path.append(name)
                raise
    return cls(**values)


def _shown(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 40 else text[:39] + "…"
