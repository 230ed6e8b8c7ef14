"""Start-up of the commands that transcribe nothing: wall seconds of a fresh ``talkdown``
process, median of ``--rounds``, against a baseline checkout (``--against DIR``, its
``src/`` run) in the same run and interleaved, so both meet the same load.

    .venv/bin/python bench/startup.py [--against /tmp/base-mem] [--rounds 9]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _run import REPO

sys.path.insert(0, str(REPO / "tests"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--against", type=Path, help="a baseline checkout (its src/ is run)")
    parser.add_argument("--rounds", type=int, default=9)
    args = parser.parse_args()
    from factories import transcript
    from talkdown.render import render

    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "t.json"
        data.write_text(render(transcript(), "json"), encoding="utf-8")
        archive = Path(tmp) / "archive"
        subprocess.run([sys.executable, "-m", "talkdown", "import", tmp, "-o", str(archive)], capture_output=True,
                       env={"PYTHONPATH": str(REPO / "src")})
        commands = {"--help": ["--help"], "search": ["search", "word", "-o", str(archive)],
                    "render -o -": ["render", str(data), "-f", "srt", "-o", "-"],
                    "python -c pass": None}
        checkouts = [("baseline", args.against / "src")] if args.against else []
        checkouts.append(("this", REPO / "src"))
        times: dict[tuple[str, str], list[float]] = {}
        for _ in range(args.rounds):
            for label, argv in commands.items():
                for name, src in checkouts:
                    cmd = [sys.executable, "-c", "pass"] if argv is None else \
                          [sys.executable, "-c", "import sys; sys.argv[0] = 'talkdown'; from talkdown.cli import main; main()", *argv]
                    start = time.perf_counter()
                    subprocess.run(cmd, capture_output=True, env={"PYTHONPATH": str(src)})
                    times.setdefault((label, name), []).append(time.perf_counter() - start)
    print("| command | " + " | ".join(f"{n} s" for n, _ in checkouts) + (" | ratio |" if args.against else " |"))
    print("|---" * (len(checkouts) + 1 + bool(args.against)) + "|")
    for label in commands:
        medians = [statistics.median(times[(label, n)]) for n, _ in checkouts]
        ratio = f" {medians[0] / medians[1]:.2f}× |" if args.against else ""
        print(f"| {label} | " + " | ".join(f"{m:.3f}" for m in medians) + " |" + ratio)


if __name__ == "__main__":
    main()
