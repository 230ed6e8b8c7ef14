"""Invented words: speech padded with 30 s of silence, white noise or music-like sound.

For each padding kind one input is built: PAD c1 PAD c2 … PAD (``--pad`` seconds each,
before, between and after the clips), plus a "clean" input with the same clips and 1 s
of silence between them as the baseline. Each engine (talkdown with any ``--option``
overrides; bare faster-whisper sequential and batched 8, same tiny.en, beam 5, VAD)
transcribes each input. Reported:

- invented words: word midpoints inside the padding, more than ``--edge`` s from speech
  (words within ``--edge`` s of a clip's edge are counted apart as "edge" words);
- WER on the speech: every output word (invented ones count as insertions) and speech
  words only, against the clean input's WER;
- the invented words themselves, with their times.

    .venv/bin/python bench/invented.py [--clips jfk,p001,mfa_surround,acoustic_corpus]
        [--kinds silence,noise-30,noise-20,music-20,sox-20] [--option vad_filter=...]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import _audio
import numpy as np
from _audio import SR, corpus, table

KINDS = {
    "silence": lambda s: _audio.silence(s),
    "noise-40": lambda s: _audio.white_noise(s, -40),
    "noise-30": lambda s: _audio.white_noise(s, -30),
    "noise-20": lambda s: _audio.white_noise(s, -20),
    "music-30": lambda s: _audio.music(s, -30),
    "music-20": lambda s: _audio.music(s, -20),
    "sox-20": lambda s: _audio.sox_chords(s, -20),
}


def build(kind: str, clips: list, pad: float, out: Path) -> tuple[Path, str, list[tuple[float, float]]]:
    pieces, spans, t = [], [], 0.0
    for i, c in enumerate(clips):
        p = KINDS[kind](pad) if kind != "clean" else _audio.silence(0.0 if i == 0 else 1.0)
        if p is None:
            raise SystemExit(f"{kind}: sox is not installed (apt-get install -y sox)")
        pieces.append(p)
        t += len(p) / SR
        a = corpus.decode16k(c.audio)
        spans.append((t, t + len(a) / SR))
        pieces.append(a)
        t += len(a) / SR
    pieces.append(KINDS[kind](pad) if kind != "clean" else _audio.silence(1.0))
    corpus.write_wav(out, np.concatenate(pieces))
    return out, " ".join(c.reference for c in clips), spans


def classify(words: list, spans: list, edge: float) -> tuple[list, list, list]:
    speech, near, invented = [], [], []
    for w in words:
        mid = (w[0] + w[1]) / 2
        if any(a <= mid <= b for a, b in spans):
            speech.append(w)
        elif any(a - edge <= mid <= b + edge for a, b in spans):
            near.append(w)
        else:
            invented.append(w)
    return speech, near, invented


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    _audio.add_option_args(ap)
    ap.add_argument("--clips", default="jfk,p001,mfa_surround,acoustic_corpus")
    ap.add_argument("--kinds", default="silence,noise-30,noise-20,music-30,music-20,sox-20")
    ap.add_argument("--pad", type=float, default=30.0)
    ap.add_argument("--edge", type=float, default=1.0)
    ap.add_argument("--no-bare", action="store_true")
    args = ap.parse_args()
    clips = [corpus.clip(n) for n in args.clips.split(",")]
    engines = _audio.engines(args, bare=not args.no_bare)
    print(f"engines: {', '.join(engines)}; clips {args.clips}; padding {args.pad:g} s before, between, after")
    rows, shown = [], []
    with tempfile.TemporaryDirectory() as d:
        for kind in ["clean", *args.kinds.split(",")]:
            wav, ref, spans = build(kind, clips, args.pad, Path(d) / f"{kind}.wav")
            for name, eng in engines.items():
                r = eng(wav)
                speech, near, invented = classify(r.words, spans, args.edge)
                e, n = corpus.errors_and_words(ref, r.text)
                es, _ = corpus.errors_and_words(ref, "".join(w[2] for w in speech + near))
                lost = sum(1 for a, b in spans if not any(a <= (w[0] + w[1]) / 2 <= b for w in r.words))
                per = []
                for c, (a, b) in zip(clips, spans):
                    ce, cn = corpus.errors_and_words(
                        c.reference, "".join(w[2] for w in r.words if a - args.edge <= (w[0] + w[1]) / 2 <= b + args.edge))
                    per.append(f"{ce / cn:.2f}")
                rows.append([kind, name, len(invented), len(near), f"{e / n:.3f}", f"{es / n:.3f}", " / ".join(per),
                             lost, f"{r.seconds:.0f}"])
                if invented:
                    text = " ".join(f"[{w[0]:.1f}]{w[2].strip()}" for w in invented[:40])
                    more = f" … (+{len(invented) - 40})" if len(invented) > 40 else ""
                    shown.append(f"- **{kind} / {name}**: {text}{more}")
                if near:
                    shown.append(f"  - edge words ({kind} / {name}): "
                                 + " ".join(f"[{w[0]:.1f}]{w[2].strip()}" for w in near[:20]))
    print(f"\n## Words in the padding ({args.pad:g} s pads; 'edge' = within {args.edge:g} s of speech)\n")
    print(table(["padding", "engine", "invented words", "edge words", "WER (all words)",
                 "WER (speech words)", f"WER per clip ({' / '.join(c.name for c in clips)})",
                 "clips with no words", "wall s"], rows))
    print("\n### The invented words ([start s] text)\n")
    print("\n".join(shown) if shown else "none")


if __name__ == "__main__":
    main()
