"""Confidence: do the lines talkdown flags as unsure hold the errors? The curve that sets
``types.UNSURE_BELOW``.

Every clip of ``corpus.clips()`` (or those named) is transcribed as ``talkdown
transcribe`` does (``pipeline.transcribe_media`` with the defaults); each line's word
errors come from one alignment of the clip's reference against its lines
(``corpus.line_errors``). For each threshold: the share of lines (and of words) flagged,
the WER of flagged and of unflagged lines, and the share of all errors that sit in
flagged lines (what a reader checking only those would catch).

    .venv/bin/python bench/confidence.py [--clips jfk,p001,...] [--thresholds 0.3,0.4,0.5]
"""

from __future__ import annotations

import argparse
import time

import _run  # noqa: F401  (puts tests/ on sys.path)
import corpus
from talkdown import asr, pipeline
from talkdown.types import UNSURE_BELOW


def measure(clips: list[corpus.Clip]) -> list[tuple[str, float, int, int]]:
    """(clip, line confidence, errors, reference words) for every line of every clip."""
    engine = asr.load(asr.TranscribeOptions())
    rows = []
    for clip in clips:
        media, path = pipeline.load_media(str(clip.audio))
        transcript = pipeline.transcribe_media(media, path, engine)
        lines = list(transcript.lines())
        for line, (errors, words) in zip(lines, corpus.line_errors(clip.reference, [x.text for x in lines])):
            rows.append((clip.name, line.confidence if line.confidence is not None else 1.0, errors, words))
    return rows


def curve(rows: list[tuple[str, float, int, int]], thresholds: list[float]) -> list[str]:
    total_errors = sum(r[2] for r in rows) or 1
    out = [f"{'below':>6} {'lines':>6} {'words':>6} {'WER flagged':>12} {'WER rest':>9} {'errors caught':>14}"]
    for t in thresholds:
        flagged = [r for r in rows if r[1] < t]
        rest = [r for r in rows if r[1] >= t]
        fe, fw = sum(r[2] for r in flagged), sum(r[3] for r in flagged)
        re_, rw = sum(r[2] for r in rest), sum(r[3] for r in rest)
        words = (fw + rw) or 1
        mark = "  ← UNSURE_BELOW" if abs(t - UNSURE_BELOW) < 1e-9 else ""
        out.append(f"{t:6.2f} {len(flagged) / len(rows):6.1%} {fw / words:6.1%} "
                   f"{(fe / fw if fw else 0):12.1%} {(re_ / rw if rw else 0):9.1%} {fe / total_errors:14.1%}{mark}")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clips", help="comma-separated clip names (default: every clip)")
    parser.add_argument("--thresholds", default="0.3,0.4,0.5,0.55,0.6,0.65,0.7,0.75,0.8")
    args = parser.parse_args()
    clips = corpus.clips()
    if args.clips:
        wanted = set(args.clips.split(","))
        clips = [c for c in clips if c.name in wanted]
    started = time.perf_counter()
    rows = measure(clips)
    print(f"{len(clips)} clips, {len(rows)} lines, {time.perf_counter() - started:.0f} s")
    confidences = sorted(r[1] for r in rows)
    print("confidence quartiles: " + " / ".join(f"{confidences[int(q * (len(rows) - 1))]:.2f}"
                                               for q in (0, 0.25, 0.5, 0.75, 1)))
    print("\n".join(curve(rows, [float(t) for t in args.thresholds.split(",")])))
    print("\nworst lines:")
    for name, conf, errors, words in sorted(rows, key=lambda r: r[1])[:8]:
        print(f"  {conf:.2f}  {name:40s} {errors}/{words} errors")


if __name__ == "__main__":
    main()
