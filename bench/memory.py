"""Peak memory of ``talkdown transcribe`` against the recording's length.

Long inputs are joins of the corpus's MFA and LibriVox clips (``corpus.longform``),
written once as 16 kHz WAV under ``--cache``. Each run is a fresh child process
(``_run.measure``: wall seconds and the child's own peak RSS, VmHWM); ``--against DIR``
runs a baseline checkout's ``src`` on the same file in the same run, and the table
gives both, the WER of each against the join's reference, and the ratio of peaks.

    .venv/bin/python bench/memory.py [--minutes 10,60] [--against /tmp/base-mem] [--diarize]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from _run import REPO, measure
import corpus


def build(minutes: float, cache: Path) -> tuple[Path, str]:
    cache.mkdir(parents=True, exist_ok=True)
    wav, ref = cache / f"join-{minutes:g}min.wav", cache / f"join-{minutes:g}min.txt"
    if not wav.exists() or not ref.exists():
        _, text, _ = corpus.longform(wav, minutes=minutes, speaker="mfa")
        ref.write_text(text, encoding="utf-8")
    return wav, ref.read_text(encoding="utf-8")


def run(src: Path, wav: Path, diarize: bool) -> tuple[float, float, str]:
    with tempfile.TemporaryDirectory() as out:
        cmd = [sys.executable, "-c", "from talkdown.cli import main; main()", "transcribe", str(wav),
               "-f", "json", "-o", out, "--no-prompt"] + (["--diarize"] if diarize else [])
        m = measure(cmd, env={"PYTHONPATH": str(src)})
        data = json.loads(next(Path(out).glob("*.json")).read_text(encoding="utf-8"))
    text = " ".join(line["text"] for s in data["sections"] for line in s["lines"])
    return m.wall, m.peak_rss_mib, text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", default="10,60")
    parser.add_argument("--against", type=Path, help="a baseline checkout (its src/ is run)")
    parser.add_argument("--diarize", action="store_true")
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "td-mem")
    args = parser.parse_args()
    print("| input | checkout | wall s | × real time | peak RSS MiB | vs baseline | WER |\n|---|---|---|---|---|---|---|")
    for minutes in (float(m) for m in args.minutes.split(",")):
        wav, reference = build(minutes, args.cache)
        base_rss = None
        for name, src in ([("baseline", args.against / "src")] if args.against else []) + [("this", REPO / "src")]:
            wall, rss, text = run(src, wav, args.diarize)
            ratio = f"{rss / base_rss:.2f}×" if base_rss and name == "this" else "—"
            base_rss = rss if name == "baseline" else base_rss
            print(f"| {minutes:g} min{' --diarize' if args.diarize else ''} | {name} | {wall:.0f} | "
                  f"{minutes * 60 / wall:.1f} | {rss:.0f} | {ratio} | {corpus.wer(reference, text) * 100:.2f} % |",
                  flush=True)


if __name__ == "__main__":
    main()
