"""Confidence per line: the lines talkdown flags as unsure are where its errors are.

Measured on every other clip of the MFA recordings (halting speech, laughter, cut-offs:
where tiny.en errs most), with the real bundled weights; bench/confidence.py gives the
whole curve over the corpus.
"""

from __future__ import annotations

import pytest

import corpus
from talkdown import pipeline
from talkdown.asr import Engine
from talkdown.render import render
from talkdown.types import UNSURE_BELOW

MEASURED_GAP = 0.53  # WER of flagged lines minus WER of the rest on these clips (81 % vs 28 %), 2026-12-07


@pytest.fixture(scope="module")
def rated(transcriber: Engine) -> list[tuple[float | None, int, int, str]]:
    rows = []
    clips = [c for c in corpus.clips() if c.audio.parent.name == "mfa-test-recordings"][::2]
    for clip in clips:
        media, path = pipeline.load_media(str(clip.audio))
        transcript = pipeline.transcribe_media(media, path, transcriber)
        lines = list(transcript.lines())
        for line, (errors, words) in zip(lines, corpus.line_errors(clip.reference, [x.text for x in lines])):
            rows.append((line.confidence, errors, words, render(transcript, "md", flag_unsure=True)))
    return rows


def test_flagged_lines_hold_the_errors(rated) -> None:
    assert all(c is not None and 0 <= c <= 1 for c, *_ in rated)
    flagged = [r for r in rated if r[0] < UNSURE_BELOW]
    rest = [r for r in rated if r[0] >= UNSURE_BELOW]
    assert flagged and rest
    wer_flagged = sum(r[1] for r in flagged) / max(1, sum(r[2] for r in flagged))
    wer_rest = sum(r[1] for r in rest) / max(1, sum(r[2] for r in rest))
    assert wer_flagged - wer_rest >= MEASURED_GAP - 0.15, (wer_flagged, wer_rest)


def test_flagged_lines_are_marked_in_the_markdown_and_parse_back(rated) -> None:
    from talkdown.parse import parse_markdown

    marked = [md for c, _, _, md in rated if c < UNSURE_BELOW]
    assert marked and all(" (?) [" in md for md in marked)
    for md in marked:
        parsed = parse_markdown(md)
        assert all(not line.text.endswith("(?)") for line in parsed.lines())


def test_render_flags_the_unsure_lines_of_a_stored_transcript(transcriber: Engine, tmp_path) -> None:
    """``talkdown render --flag-unsure`` from the JSON: the same lines marked, no others."""
    from click.testing import CliRunner

    from talkdown.cli import cli
    from talkdown.render import render as render_fmt

    clip = corpus.clip("mfa_thenorm")
    media, path = pipeline.load_media(str(clip.audio))
    transcript = pipeline.transcribe_media(media, path, transcriber)
    stored = tmp_path / "t.json"
    stored.write_text(render_fmt(transcript, "json"), encoding="utf-8")
    plain = CliRunner().invoke(cli, ["render", str(stored), "-o", "-"])
    marked = CliRunner().invoke(cli, ["render", str(stored), "--flag-unsure", "-o", "-"])
    assert plain.exit_code == marked.exit_code == 0, plain.output + marked.output
    unsure = [line for line in transcript.lines() if line.unsure]
    assert unsure, [line.confidence for line in transcript.lines()]
    assert " (?) [" not in plain.output
    assert marked.output.count(" (?) [") == len(unsure)
