"""Where and how faster-whisper decodes: its options, and the device, batch and decoders
``place`` picks for them, decided once per loaded engine (``talkdown models`` shows it).

Apart from the engine so that commands building options (every ``talkdown`` command)
import neither numpy nor CTranslate2: CTranslate2 is asked about CUDA only by ``place``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from ..errors import ModelError
from . import TranscribeOptions

__all__ = ["CPU_WINDOWS", "CUDA_BATCH", "Placement", "WhisperOptions", "cuda_devices", "place"]


@dataclass(frozen=True, slots=True)
class WhisperOptions:
    """faster-whisper's own options; defaults chosen by ``bench/longform.py`` on a 2-core CPU.

    ``batch_size`` > 0 uses faster-whisper's batched pipeline (VAD chunks decoded in
    parallel, each independently, so a loop in one cannot spread); 0 decodes sequentially;
    None: the device's own (``place``). ``device`` is auto, cpu or cuda; ``compute_type``
    auto is int8 on a CPU, float16 on a GPU.
    """

    beam_size: int = 5
    batch_size: int | None = None
    device: str = "auto"
    compute_type: str = "auto"
    second_pass: bool = True  # batched: decode again, on their own, regions of speech that got no words


# 30 s windows decoded at once on a CPU, by all decoders together. Each window in flight
# holds ~150 MB of CTranslate2's buffers at beam 5 (encoder attention, the beams'
# cross-attention cache), so this, not the length of the file, sets the peak: 30 min in
# 2 decoders peaked at 1,131 MiB with 3 windows each, 844 MiB with 2, 688 with 1, in
# 65, 65 and 71 s; one decoder of 2 threads: 8 windows 1,000 MiB, 4 windows 786, no
# slower (/tmp/exp/hwm2.py, issue 16).
CPU_WINDOWS = 4
CUDA_BATCH = 16  # a GPU decodes a batch in about the time of one window: more at once, fewer launches
_MOST_THREADS = 4  # per decoder; CTranslate2's own default


@dataclass(frozen=True, slots=True)
class Placement:
    """Where and how one loaded engine decodes, and why (``talkdown models`` says it)."""

    device: str  # cpu or cuda
    compute_type: str
    batch_size: int  # windows per batch (0: sequential decoding)
    decoders: int  # CTranslate2 workers one call shares its batches out to
    threads: int  # CPU threads of each worker
    workers: int  # CTranslate2 workers in all (calls at once × decoders)
    why: str


def cuda_devices() -> int:
    """CUDA devices CTranslate2 can use here (0 on a build or machine without CUDA)."""
    import ctranslate2

    try:
        return int(ctranslate2.get_cuda_device_count())
    except Exception:  # noqa: BLE001 - a broken driver is no GPU, not a crash
        return 0


def place(tuning: WhisperOptions, options: TranscribeOptions = TranscribeOptions(),
          cuda: int | None = None, cores: int | None = None) -> Placement:
    """The device, compute type, batch and decoders for ``tuning`` and ``options``.

    ``cuda`` (CUDA devices) and ``cores`` default to what this machine reports.

    Raises:
        ModelError: an unknown device, or cuda asked for where CTranslate2 sees none.
    """
    if tuning.device not in ("auto", "cpu", "cuda"):
        raise ModelError(f"Unknown device {tuning.device!r}; use auto, cpu or cuda.")
    cuda = cuda_devices() if cuda is None and tuning.device != "cpu" else (cuda or 0)
    if not cores:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    if tuning.device == "cuda" and not cuda:
        raise ModelError("--device cuda, but CTranslate2 reports no CUDA device here; use --device auto or cpu.")
    if tuning.device != "cpu" and cuda:
        why = (f"CTranslate2 reports {cuda} CUDA device{'s' if cuda > 1 else ''}" if tuning.device == "auto"
               else "asked for")
        batch = CUDA_BATCH if tuning.batch_size is None else tuning.batch_size
        compute = "float16" if tuning.compute_type == "auto" else tuning.compute_type
        return Placement("cuda", compute, batch, 1, options.threads or min(_MOST_THREADS, cores), options.workers, why)
    why = "asked for" if tuning.device == "cpu" else "CTranslate2 reports no CUDA device"
    compute = "int8" if tuning.compute_type == "auto" else tuning.compute_type
    if options.threads or tuning.batch_size == 0:
        # Threads given (archive --jobs gives each of its calls one): one decoder per call, as asked.
        threads = options.threads or min(_MOST_THREADS, cores)
        batch = _cpu_batch(tuning, options.workers)
        return Placement("cpu", compute, batch, 1, threads, options.workers,
                         f"{why}; {threads} thread(s) per call{_windows(batch, options.workers)}")
    share = max(1, cores // max(1, options.workers))  # cores for one call, with ``workers`` calls at once
    decoders = min(share, _MOST_THREADS)
    threads = max(1, min(_MOST_THREADS, share // decoders))
    workers = options.workers * decoders
    batch = _cpu_batch(tuning, workers)
    return Placement("cpu", compute, batch, decoders, threads, workers,
                     f"{why}; {cores} cores, {options.workers} call(s) at once: "
                     f"{decoders} decoder(s) of {threads} thread(s) per call{_windows(batch, workers)}")


def _cpu_batch(tuning: WhisperOptions, at_once: int) -> int:
    """The batch asked for, else ``CPU_WINDOWS`` shared among the decoders that run at once."""
    return max(1, CPU_WINDOWS // max(1, at_once)) if tuning.batch_size is None else tuning.batch_size


def _windows(batch: int, at_once: int) -> str:
    return f", {batch * at_once} window(s) of 30 s at once" if batch else ", sequential decoding"
