"""Captions against speech recognition on the same item: seconds against minutes.

A web page on 127.0.0.1 holds a ``<video>`` of a long join of corpus clips and a
WebVTT ``<track>`` made from the clips' references (one cue per clip, at its place in
the join); yt-dlp's generic extractor reads both, as it reads any site's. Each run is
a fresh ``talkdown transcribe URL`` child process (start-up, yt-dlp, download or
caption fetch, transcription, writing), interleaved ``--rounds`` times; the table
gives the median wall time, peak RSS and WER against the join's reference, and each
source's speed as a ratio against ``--source asr`` in the same run.

    .venv/bin/python bench/captions.py [--minutes 5] [--rounds 2]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

from _run import measure
import corpus
from localweb import serve


def _stamp(seconds: float) -> str:
    return f"{int(seconds // 3600):02d}:{int(seconds % 3600 // 60):02d}:{seconds % 60:06.3f}"


def build(folder: Path, minutes: float) -> tuple[bytes, bytes, str, float]:
    """(wav bytes, WebVTT bytes, reference, seconds) of a join of the MFA and reader clips."""
    parts, total, i = [], 0.0, 0
    base = corpus.mfa_author_clips() + corpus.reader_clips()
    while total < minutes * 60:
        parts.append(base[i % len(base)])
        total += len(corpus.decode16k(parts[-1].audio)) / corpus.SAMPLE_RATE + 1.5
        i += 1
    wav, reference, spans = corpus.join(parts, [1.5], folder / "join.wav")
    cues = [f"{_stamp(a)} --> {_stamp(b)}\n{' '.join(c.reference.split())}" for c, (a, b) in zip(parts, spans)]
    return wav.read_bytes(), ("WEBVTT\n\n" + "\n\n".join(cues) + "\n").encode(), reference, spans[-1][1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    talkdown = str(Path(sys.executable).with_name("talkdown"))
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        wav, vtt, reference, seconds = build(folder, args.minutes)
        page = (b'<html><head><title>Long talk</title></head><body><video controls src="/talk.wav">'
                b'<track kind="captions" srclang="en" src="/talk.en.vtt"></video></body></html>')
        results: dict[str, list] = {"asr": [], "captions": [], "auto": []}
        with serve({"/talk.html": page, "/talk.wav": wav, "/talk.en.vtt": vtt}) as server:
            for r in range(args.rounds):
                for source in results:
                    out = folder / f"{source}-{r}"
                    m = measure([talkdown, "transcribe", f"{server.base}/talk.html", "--source", source,
                                 "-f", "txt", "-o", str(out)], env={"TALKDOWN_CACHE": str(folder / f"cache-{r}-{source}")})
                    text = next(out.glob("*.txt")).read_text(encoding="utf-8")
                    results[source].append((m, corpus.wer(reference, text)))
    print(f"{seconds:.0f} s of speech (MFA author and LibriVox reader), {args.rounds} interleaved rounds\n")
    print("| source | wall s (median) | × real time | vs asr | peak RSS MiB | WER |\n|---|---|---|---|---|---|")
    base = statistics.median(m.wall for m, _ in results["asr"])
    for source, runs in results.items():
        wall = statistics.median(m.wall for m, _ in runs)
        rss = max(m.peak_rss_mib for m, _ in runs)
        print(f"| --source {source:<8} | {wall:6.1f} | {seconds / wall:6.1f} | {base / wall:6.1f}× | {rss:6.0f} "
              f"| {runs[0][1] * 100:5.2f} % |")


if __name__ == "__main__":
    main()
