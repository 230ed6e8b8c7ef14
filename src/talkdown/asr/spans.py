"""Where speech is, and how decoded stretches are put together: the engine-neutral span logic.

Every engine decodes at most 30 s at a time, so long recordings are cut at speech:
Silero VAD finds the regions (``speech_regions``), they are packed into windows with
each region's own time kept (``pack``/``unpacked``), and a second pass decodes alone
what the packing lost (``second_pass``: stretches without words, words piled at one
instant, a decoder's loop, speech Silero hears only when asked again; twice, as a clip
alone can stop early too). None of this knows which engine
decodes: it takes a ``Decode`` callable and returns ``Segment`` objects. Silero comes
from faster-whisper's bundled ONNX model (``faster_whisper.vad``), the copy every
install has.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, replace
from typing import Callable

import numpy as np

from ..types import SAMPLE_RATE, Segment, Word

__all__ = [
    "Decode", "Packed", "grown", "led_in", "windows", "listen", "in_time_order", "join_regions", "looped", "pack", "piled",
    "second_pass",
    "speech_regions", "unheard_speech", "unpacked", "within", "without", "without_words", "wordless",
]

Span = tuple[float, float]
# Decodes clips (recording time, s) of ``audio`` with at most ``cap`` new tokens each and
# returns the segments the engine is sure of, in recording time.
Decode = Callable[[list[Span], int], list[Segment]]


@dataclass(frozen=True, slots=True)
class Packed:
    """Speech regions laid end to end: the samples, the ≤30 s windows to decode them in,
    and where each region starts in the packed audio (for ``unpacked``)."""

    audio: np.ndarray
    windows: list[Span]
    starts: list[float]
    regions: list[Span]  # the stretch of the recording each packed piece is (a region, with its lead-in)


def pack(audio: np.ndarray, regions: list[Span]) -> Packed:
    """As faster-whisper packs speech into windows, but with each region's own time kept.

    Its ``vad.collect_chunks`` drops the timing of the region that opens each new window,
    so words after a pause came back misplaced or not at all; here every region keeps its
    offset, and ``unpacked`` maps times back region by region (``Packed.regions``). Pauses
    under 2 s are dropped; longer ones keep 2 s (``led_in``) and may open a window (``windows``).
    """
    pauses = [0.0] + [b[0] - a[1] for a, b in zip(regions, regions[1:])]
    regions = led_in(regions)
    chunks, starts, offset = [], [], 0.0
    for start, end in regions:
        chunks.append(audio[int(start * SAMPLE_RATE): int(end * SAMPLE_RATE)])
        starts.append(offset)
        offset += len(chunks[-1]) / SAMPLE_RATE
    if not chunks:
        return Packed(np.zeros(0, dtype=np.float32), [], [], [])
    # Spans from the samples actually cut: rounded region times could overrun the packed
    # audio, which faster-whisper refuses (an assertion on a negative duration).
    spans = [(p, p + len(chunk) / SAMPLE_RATE) for p, chunk in zip(starts, chunks)]
    return Packed(np.concatenate(chunks), windows(spans, pauses), starts, regions)


def led_in(regions: list[Span]) -> list[Span]:
    """The regions, each after a pause of ``_BREAK_PAUSE`` s or more opened up to ``_LEAD_IN`` s
    earlier: packed with no pause at all, halting speech right after a sonnet lost its first
    words ("This one") and its punctuation; with 2 s of its pause it read as its clips alone."""
    out: list[Span] = []
    for i, (start, end) in enumerate(regions):
        if i and start - regions[i - 1][1] >= _BREAK_PAUSE:
            start = max(regions[i - 1][1], start - _LEAD_IN)
        out.append((start, end))
    return out


def windows(spans: list[Span], pauses: list[float], max_length: float = 30.0) -> list[Span]:
    """Packed spans laid into windows of at most ``max_length`` s, a new one opened at a pause
    of ``_BREAK_PAUSE`` s or more once the window holds ``_BREAK_FILL`` s.

    Filled to 30 s regardless, a window glued speech across a long pause (one talk's end, the
    next speaker's start) into one utterance for the decoder; cut there (with ``led_in``), the
    5-minute join of halting speech read 0.318 → 0.298 WER and joins of several speakers
    0.123 → 0.108 (bench/accuracy.py --only joins).
    """
    out: list[Span] = []
    for (start, end), pause in zip(spans, pauses):
        if out and end - out[-1][0] <= max_length and not (
                pause >= _BREAK_PAUSE and out[-1][1] - out[-1][0] >= _BREAK_FILL):
            out[-1] = (out[-1][0], end)
        else:
            out.append((start, end))
    return out


_BREAK_PAUSE = 2.0  # s of silence in the recording; 1.5 and 3.0 measured worse on halting speech
_BREAK_FILL = 10.0  # s of speech; at 0 (a window per pause) halting speech lost 5 WER points
_LEAD_IN = 2.0  # s; 0.5 and 1.0 measured worse on halting speech after a reading


def second_pass(audio: np.ndarray, regions: list[Span], found: list[Segment], decode: Decode) -> list[Segment]:
    """Speech decoded again, alone: stretches of 2 s or more that came back without words,
    regions where words were piled at one instant (dropped: the alignment found no sound
    for them) or where the decoder looped (``looped``), and speech Silero hears only when
    asked again after a pause. Packed with the rest, these shifted every later window and
    cost 2 WER points on halting speech.

    A clip decoded alone can stop early too (one speaker's sentence read, the sonnet after
    it dropped: heldout2, issue 16), so what is still wordless is asked for once more, in
    clips not tried before; a clip that gave nothing is not tried again.
    """
    tried: set[Span] = set()
    missed = unheard_speech(audio, regions)
    for _ in range(_ROUNDS):
        found, clips = _redone(audio, regions, found, decode, missed, tried)
        if not clips:
            break
        tried.update(clips)
        missed = []
    return in_time_order(found)


def _redone(audio: np.ndarray, regions: list[Span], found: list[Segment], decode: Decode, missed: list[Span],
            tried: set[Span]) -> tuple[list[Segment], list[Span]]:
    """One round of ``second_pass``: the segments with the doubtful clips decoded again
    where that gave more words, and the clips decoded."""
    total = len(audio) / SAMPLE_RATE
    pile = piled([w for s in found for w in s.words])
    found = without_words(found, pile)
    words = sorted((w for s in found for w in s.words), key=lambda w: w.start)
    loops = looped(found)
    looping = {id(w) for s in loops for w in s.words}
    silent = [r for r in regions if overlaps(r, wordless(join_regions(regions, join_gap=0.3), words))]
    doubtful = [grown(c, regions, _GROWN_MAX) for c in join_regions(silent, join_gap=0.3)]
    doubtful += [r for r in regions if within(pile, *r) or overlaps(r, [(s.words[0].start, s.words[-1].end)
                                                                       for s in loops])]
    clips = [c for c in join_regions(doubtful + missed) if c not in tried]
    if not clips:
        return found, []
    # One call for all. A clip can be laughter or noise, where the decoder can loop to its
    # token limit: cap it (224 at most: with the prompt, Whisper allows 448).
    longest = max(end - start for start, end in clips)
    redone = decode(clips, min(int(8 * longest) + 16, 224))
    for i, (start, end) in enumerate(clips):
        again = [s for s in redone if start <= (s.start + s.end) / 2 <= end]
        # Old words out to the neighbouring regions or clips: those in the pauses beside
        # the clip came from inside it, misplaced (JFK after music, issue #3). Words,
        # not segments: a packed window's segment can run on to a region beyond it.
        lo = max([b for a, b in regions if b <= start] + [clips[i - 1][1] if i else 0.0])
        hi = min([a for a, b in regions if a >= end] + [clips[i + 1][0] if i + 1 < len(clips) else total])
        # Where the clip alone gives no word for 2 s or more, the first pass's words inside
        # it stand, ``_SPARED_EDGE`` s clear of the clip's own (no second copy of a word
        # beside it): alone, a clip can stop early (JFK read, the sonnet after him dropped).
        # Words in the pauses beside it go, as ever; so do a loop's, which are not words heard.
        heard = sorted((w for s in again for w in s.words), key=lambda w: w.start)
        heard = without_ids(heard, piled(heard))  # no sound under them: not heard (round 2 drops them)
        spared = [(a + _SPARED_EDGE * (a > start), b - _SPARED_EDGE * (b < end))
                  for a, b in wordless([(start, end)], heard)]

        def stays(w: Word) -> bool:
            return id(w) not in looping and any(a <= w.start and w.end <= b for a, b in spared)

        if len(heard) > len([w for w in within(words, lo, hi) if id(w) not in looping and not stays(w)]):
            found = without(found, lo, hi, stays) + again
    return in_time_order(found), clips


def looped(segments: list[Segment]) -> list[Segment]:
    """Segments whose text repeats itself past Whisper's own test of a failed decode (gzip
    compression ratio over 2.4; openai-whisper decodes those again, hotter): after halting
    speech a window read "uh, uh, uh…" for 20 s over JFK's words (heldout twice, issue 16)."""
    return [s for s in segments if s.words and s.compression_ratio > _LOOP_RATIO]


def speech_regions(audio: np.ndarray, max_length: float = 30.0) -> list[tuple[float, float]]:
    """Where Silero VAD hears speech, in seconds, each at most ``max_length`` long."""
    return listen(audio, 0.0, len(audio) / SAMPLE_RATE, max_length)


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
                found += listen(audio, float(t), min(float(t) + _FRESH_WINDOW, total), max_length)
    # Slivers beside known speech are edges heard differently, not speech missed: alone, a
    # 0.4 s one in noise was decoded as "Yes!" (issue #3).
    heard = join_regions(found, join_gap=0.0, max_length=max_length)
    missed = [c for c in join_regions(outside(heard, regions)) if c[1] - c[0] >= 1.0]
    return [grown(clip, regions, min(max_length, _GROWN_MAX)) for clip in missed]


def grown(clip: tuple[float, float], regions: list[tuple[float, float]], max_length: float) -> tuple[float, float]:
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


def listen(audio: np.ndarray, start: float, end: float, max_length: float) -> list[tuple[float, float]]:
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
_LOOP_RATIO = 2.4  # openai-whisper's compression_ratio_threshold
_ROUNDS = 2  # of the second pass
_SPARED_EDGE = 0.5  # s
_GROWN_MAX = 15.0  # s; grown to 30 s, a clip re-decoded 25 s of words the first pass had right


def outside(spans: list[tuple[float, float]], taken: list[tuple[float, float]],
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


def within(words: list[Word], start: float, end: float) -> list[Word]:
    return [w for w in words if start <= (w.start + w.end) / 2 <= end]


def without(segments: list[Segment], start: float, end: float,
            stays: Callable[[Word], bool] = lambda w: False) -> list[Segment]:
    """The segments with their words from ``start`` to ``end`` taken out, but those that
    ``stays`` keeps; emptied ones dropped."""
    def inside(t: float) -> bool:
        return start <= t <= end

    kept = keeping(segments, lambda w: not inside((w.start + w.end) / 2) or stays(w))
    return [s for s in kept if s.words or not inside((s.start + s.end) / 2)]


def keeping(segments: list[Segment], keep: Callable[[Word], bool]) -> list[Segment]:
    """The segments with only the words ``keep`` accepts; those left without any dropped."""
    out = []
    for s in segments:
        kept = [w for w in s.words if keep(w)]
        if kept or not s.words:
            out.append(with_words(s, kept))
    return out


def with_words(segment: Segment, words: list[Word]) -> Segment:
    """``segment`` holding only ``words``, from the first to the last."""
    if len(words) == len(segment.words):
        return segment
    return replace(segment, start=words[0].start, end=words[-1].end,
                   text="".join(w.text for w in words).strip(), words=tuple(words))


def piled(words: list[Word], least: int = 3) -> list[Word]:
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


def without_ids(words: list[Word], gone: list[Word]) -> list[Word]:
    """``words`` but the ``gone`` ones (the same objects)."""
    ids = {id(w) for w in gone}
    return [w for w in words if id(w) not in ids]


def without_words(segments: list[Segment], gone: list[Word]) -> list[Segment]:
    """The segments without the ``gone`` words (the same objects); emptied ones dropped."""
    ids = {id(w) for w in gone}
    return keeping(segments, lambda w: id(w) not in ids)


def in_time_order(segments: list[Segment]) -> list[Segment]:
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
        pieces += [with_words(s, group) for _, group in sorted(groups.items())]
    return sorted(pieces, key=lambda p: p.start)


def wordless(spans: list[tuple[float, float]], words: list[Word], longest: float = 2.0) -> list[tuple[float, float]]:
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


def overlaps(span: tuple[float, float], others: list[tuple[float, float]]) -> bool:
    return any(a < span[1] and b > span[0] for a, b in others)


def unpacked(segment: Segment, starts: list[float], regions: list[tuple[float, float]]) -> Segment:
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
