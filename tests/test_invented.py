"""Nothing invented, nothing lost: speech between long stretches of silence, noise and music.

Whisper is known to write "Thank you." over silence and to lose speech after long
pauses; bench/invented.py measures both in detail. Here the real bundled tiny.en
hears two corpus clips padded with 30 s of each kind before, between and after.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import corpus
from talkdown import pipeline
from talkdown.asr import Engine, spans
from talkdown.types import Segment, Word

PADDING = {
    "silence": lambda s: corpus.silence(s),
    "white noise at -20 dBFS": lambda s: corpus.white_noise(s, -20.0),
    "chords at -20 dBFS": lambda s: corpus.music(s, -20.0),
}
CLIPS = ("jfk", "p002")


@pytest.fixture(scope="module")
def alone(transcriber: Engine) -> float:
    """WER of the clips transcribed one by one, with nothing around them."""
    errors = words = 0
    for name in CLIPS:
        c = corpus.clip(name)
        media, _ = pipeline.load_media(str(c.audio))
        t = pipeline.transcribe_media(media, c.audio, transcriber, pipeline.SilentReporter())
        e, n = corpus.errors_and_words(c.reference, t.text)
        errors, words = errors + e, words + n
    return errors / words


def _padded(transcriber: Engine, tmp_path: Path, kind: str):  # -> (Transcript, spans)
    pad = PADDING[kind]
    pieces, spans, t = [pad(30.0)], [], 30.0
    for name in CLIPS:
        audio = corpus.decode16k(corpus.clip(name).audio)
        pieces += [audio, pad(30.0)]
        spans.append((t, t + len(audio) / corpus.SAMPLE_RATE))
        t += len(audio) / corpus.SAMPLE_RATE + 30.0
    wav = corpus.write_wav(tmp_path / "padded.wav", np.concatenate(pieces))
    media, _ = pipeline.load_media(str(wav))
    return pipeline.transcribe_media(media, wav, transcriber, pipeline.SilentReporter()), spans


@pytest.mark.parametrize("kind", sorted(PADDING))
def test_padding_gets_no_words(transcriber: Engine, tmp_path: Path, kind: str) -> None:
    transcript, spans = _padded(transcriber, tmp_path, kind)
    words = list(transcript.words())
    invented = [w for w in words if not any(a - 0.5 <= (w.start + w.end) / 2 <= b + 0.5 for a, b in spans)]
    assert invented == []
    for start, end in spans:  # each clip is heard, where it is
        assert any(start - 0.5 <= w.start <= end for w in words)


# Chords too: Silero, just out of 30 s of music, missed JFK's first 4 s ("And so, my
# fellow Americans, ask not what your") until long pauses were heard again, fresh.
@pytest.mark.parametrize("kind", sorted(PADDING))
def test_padding_costs_the_speech_nothing(transcriber: Engine, tmp_path: Path, alone: float, kind: str) -> None:
    transcript, _ = _padded(transcriber, tmp_path, kind)
    reference = " ".join(corpus.clip(n).reference for n in CLIPS)
    # Measured: 0.110 (silence) and 0.117 (noise) against 0.090 alone, i.e. 3-4 of 145 words.
    # Chords: 0.17 before pauses were heard again, fresh.
    assert corpus.wer(reference, transcript.text) <= alone + 0.03


def test_speech_missed_after_a_long_pause_is_found_on_a_fresh_listen() -> None:
    jfk = corpus.decode16k(corpus.clip("jfk").audio)
    audio = np.concatenate([corpus.music(30.0, -20.0), jfk, corpus.music(30.0, -20.0)]).astype(np.float32)
    regions = spans.speech_regions(audio)
    assert regions[0][0] > 30.5  # Silero, dulled by the music, hears JFK late
    (start, end), = spans.unheard_speech(audio, regions)
    assert 29.5 <= start <= 30.5 and end >= regions[0][1]  # from his first word, into the speech it knew


def test_words_replaced_in_a_span_leave_the_rest_of_their_segment_whole() -> None:
    words = (Word(1.0, 1.4, " one"), Word(5.0, 5.4, " two"), Word(9.0, 9.4, " three"))
    segment = Segment(1.0, 9.4, " one two three", words)
    (left,) = spans.without([segment], 4.0, 6.0)
    assert left.words == (words[0], words[2]) and left.text == "one three"
    assert (left.start, left.end) == (1.0, 9.4)
    assert spans.without([Segment(4.5, 5.5, " two", (words[1],))], 4.0, 6.0) == []


def test_two_missed_stretches_in_one_pause_both_keep_their_words(transcriber: Engine, monkeypatch) -> None:
    """Each stretch heard on a fresh listen replaces only old words up to its neighbours."""
    jfk = corpus.decode16k(corpus.clip("jfk").audio)
    audio = np.concatenate([corpus.silence(20.0), jfk[: 16_000 * 4], corpus.silence(3.0), jfk[16_000 * 5 :],
                            corpus.silence(20.0)]).astype(np.float32)
    first, second = (20.0, 24.0), (27.0, 33.0)
    monkeypatch.setattr(spans, "speech_regions", lambda audio, max_length=30.0: [])
    monkeypatch.setattr(spans, "unheard_speech", lambda audio, regions, max_length=30.0: [first, second])
    words = [w for s in transcriber(audio).segments for w in s.words]
    assert any(first[0] <= w.start < first[1] for w in words)
    assert any(second[0] <= w.start < second[1] for w in words)


def test_overlapping_regions_join_into_clips_that_do_not_overlap() -> None:
    regions = [(10.0, 18.0), (0.0, 8.0), (4.0, 12.0), (14.0, 40.0)]
    assert spans.join_regions(regions, join_gap=0.0) == [(0.0, 18.0), (18.0, 40.0)]
    assert spans.join_regions([(0.0, 2.0), (3.0, 5.0), (9.0, 10.0)]) == [(0.0, 5.0), (9.0, 10.0)]


def test_words_piled_at_one_instant_are_found() -> None:
    """Packed halting speech made tiny.en repeat "Montreal forced a liner? I hardly know her"
    with no time to its words: 13 of them at 93.88 s (issue #3)."""
    heard = [Word(93.38, 93.54, " Montreal"), Word(93.54, 93.88, " forced")]
    piled = [Word(93.88, 93.88, w) for w in (" a", " liner?", " I", " hardly")]
    after = [Word(93.88, 93.92, " forced"), Word(94.68, 94.68, " I"), Word(94.68, 94.68, " hardly"),
             Word(94.74, 95.02, " know")]
    assert spans.piled(heard + piled + after) == piled  # two at one instant are not a pile
    segments = [Segment(93.38, 95.02, "", tuple(heard + piled + after))]
    (kept,) = spans.without_words(segments, piled)
    assert kept.words == tuple(heard + after) and kept.text.startswith("Montreal forced forced I hardly")


def test_a_word_at_its_edge_does_not_hide_lost_speech() -> None:
    """12 s of a sonnet came back without words after JFK; one word at the region's end
    had made it look heard (bench/invented.py "clean")."""
    edge = [Word(26.73, 26.74, " But")]
    assert spans.wordless([(14.35, 26.74)], edge) == [(14.35, 26.73)]
    spoken = [Word(14.5 + i, 15.3 + i, " word") for i in range(12)]
    assert spans.wordless([(14.35, 26.74)], spoken + edge) == []
    assert spans.wordless([(13.0, 16.0), (10.0, 13.0)], spoken[:2]) == [(10.0, 13.0)]


def test_a_clip_decoded_again_reads_in_its_place_inside_a_packed_segment() -> None:
    """A packed window's segment spans every region in it; a clip decoded again inside that
    span must not be read after it (its words were pushed to the segment's end)."""
    packed = Segment(42.9, 106.2, "", (Word(42.9, 43.3, " And"), Word(47.5, 48.0, " bottle."),
                                       Word(60.0, 60.5, " Montreal"), Word(105.7, 106.2, " liner?")))
    again = Segment(53.2, 56.2, "Montreal forest line.", (Word(53.2, 54.0, " Montreal"), Word(54.0, 56.2, " forest")))
    ordered = spans.in_time_order([packed, again])
    words = [w for s in ordered for w in s.words]
    assert [w.start for w in words] == sorted(w.start for w in words) and len(words) == 6
    assert [(s.start, s.end) for s in ordered] == [(42.9, 48.0), (53.2, 56.2), (60.0, 106.2)]
    assert ordered[0].text == "And bottle." and ordered[1] is again


def test_segments_that_touch_are_not_cut_into_pieces() -> None:
    """Windows decoded side by side can overlap by a word's edge; that is not an insertion."""
    first = Segment(10.0, 16.2, "One two.", (Word(10.0, 12.0, " One"), Word(15.7, 16.2, " two.")))
    second = Segment(16.0, 18.0, "Three.", (Word(16.0, 18.0, " Three."),))
    wordless = Segment(20.0, 21.0, "", ())
    assert spans.in_time_order([second, wordless, first]) == [first, second, wordless]
