"""The engine seam: engines by name, results per call, and the language race it ended.

``archive --jobs 2`` shares one loaded engine between threads. The old ``Transcriber``
kept the language of its last call on itself and the pipeline read it afterwards, so
two items could swap languages and an item without speech took the previous one's.
The fake engine (no model, a language by recording length) makes that testable in
milliseconds; the real faster-whisper adapter is checked on the same contract.
"""

from __future__ import annotations

import importlib
import json
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import corpus
from factories import segment
import talkdown
from talkdown import asr
from talkdown.archiving import ArchiveJob, archive
from talkdown.asr.fake import FakeOptions
from talkdown.cli import cli
from talkdown.errors import ModelError
from talkdown.pipeline import ItemJob
from talkdown.render import read_json, render
from talkdown.types import Segment, Word

JFK = next(corpus.CORPUS.rglob("jfk.flac"))  # 11.0 s
SONNET = next(corpus.CORPUS.rglob("p002.mp3"))


def _fake(**tuning: object) -> asr.TranscribeOptions:
    return asr.TranscribeOptions(engine="fake", tuning=FakeOptions(**tuning))  # type: ignore[arg-type]


def test_engines_are_found_by_name_and_a_wrong_one_is_one_sentence() -> None:
    assert [e.name for e in asr.engines()][:1] == ["faster-whisper"]
    assert "fake" in {e.name for e in asr.engines()}
    with pytest.raises(ModelError, match=r"Unknown engine 'parakeet'; talkdown has faster-whisper, fake\."):
        asr.load(asr.TranscribeOptions(engine="parakeet"))
    with pytest.raises(ModelError, match="takes FakeOptions options, not WhisperOptions"):
        from talkdown.asr.whisper import WhisperOptions

        asr.load(asr.TranscribeOptions(engine="fake", tuning=WhisperOptions()))


def test_an_engine_keeps_nothing_of_a_call(transcriber: asr.Engine) -> None:
    """The real adapter: two calls from two threads at once, each its own result; no
    attribute of the engine changes."""
    jfk, silence = corpus.decode16k(JFK), corpus.silence(5.0)
    before = dict(vars(transcriber))
    with ThreadPoolExecutor(2) as pool:
        heard, quiet = pool.map(transcriber, [jfk, silence])
    assert "ask not what your country" in " ".join(s.text for s in heard.segments).lower()
    assert heard.language == "en" and heard.model.engine == "faster-whisper"
    assert quiet.segments == () and quiet.language == "en"  # English-only tiny.en: en, or nothing
    assert dict(vars(transcriber)) == before


def test_two_items_in_two_languages_keep_their_own_with_two_jobs(tmp_path: Path) -> None:
    """Each item keeps the language heard in it; one without speech gets none, not the last item's."""
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(JFK, folder / "a-german.flac")
    corpus.write_wav(folder / "b-french.wav", corpus.decode16k(JFK)[: 16_000 * 6])
    corpus.write_wav(folder / "c-quiet.wav", corpus.white_noise(4.0, -60.0))
    job = ArchiveJob(tmp_path / "archive", jobs=2,
                     item=ItemJob(transcribe=_fake(languages=((11.0, "de"), (6.0, "fr")), delay=0.2)))
    results = list(archive([str(folder)], job))
    assert [r.status for r in results] == ["archived"] * 3
    languages = {}
    for path in (tmp_path / "archive").glob("*/.json/*.json"):
        t = read_json(path.read_text(encoding="utf-8"))
        languages[t.media.title] = t.language
    assert languages == {"a-german": "de", "b-french": "fr", "c-quiet": None}


def test_a_given_language_is_kept_where_nothing_is_heard(tmp_path: Path) -> None:
    quiet = corpus.write_wav(tmp_path / "quiet.wav", corpus.white_noise(3.0, -60.0))
    result = CliRunner().invoke(cli, ["transcribe", str(quiet), "--engine", "fake", "--language", "de", "-f", "json",
                                      "-o", "-"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["language"] == "de" and data["sections"] == [] or all(not s["lines"] for s in data["sections"])


def test_the_engine_and_its_version_are_recorded(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["transcribe", str(JFK), "--engine", "fake", "-o", "-"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "Transcription Model: fake 1 fake" in result.stdout
    assert "*  w1 w2 w3 w4 w5 w6 w7 w8 w9 w10 w11 [00:00:00]" in result.stdout  # a word a second of speech


# -- the public API -------------------------------------------------------------------


def test_the_public_api_transcribes_and_archives_from_code(tmp_path: Path) -> None:
    t = talkdown.transcribe(str(JFK))
    assert isinstance(t, talkdown.Transcript) and "ask not what your country" in t.text.lower()
    assert t.model.name == "tiny.en" and t.language == "en"
    assert render(t, "srt").startswith("1\n00:00:00")

    results = talkdown.archive([str(JFK), str(tmp_path / "missing.mp3")], tmp_path / "archive", engine="fake")
    assert sorted(r.status for r in results) == ["archived", "failed"]
    assert "No such file" in next(r.error or "" for r in results if r.status == "failed")
    with pytest.raises(talkdown.Error, match="No such file"):
        talkdown.transcribe(str(tmp_path / "missing.mp3"))
    assert set(talkdown.__all__) >= {"transcribe", "archive", "search", "Transcript", "Media", "Error"}
    importlib.import_module("talkdown.archiving")  # a module of the function's name would shadow it
    assert callable(talkdown.archive) and callable(talkdown.transcribe)


def test_a_fake_engine_is_fast_enough_for_shaping_tests() -> None:
    engine = asr.load(_fake())
    audio = np.concatenate([corpus.decode16k(SONNET), corpus.silence(2.0)])
    heard = engine(audio)
    words = [w for s in heard.segments for w in s.words]
    assert len(words) >= 30 and [w.start for w in words] == sorted(w.start for w in words)


# -- where the engine runs ------------------------------------------------------------


def test_device_auto_on_this_cpu_only_machine_is_int8_on_the_cpu_with_the_cores_shared_out() -> None:
    from talkdown.asr.whisper import WhisperOptions, cuda_devices, place

    assert cuda_devices() == 0  # CTranslate2's own report: no GPU here
    alone = place(WhisperOptions(), cores=2)
    assert (alone.device, alone.compute_type, alone.decoders, alone.threads, alone.workers) == ("cpu", "int8", 2, 1, 2)
    assert "no CUDA device" in alone.why
    # archive --jobs 2 gives each call one thread: one decoder per call, two in all, never four
    jobs = place(WhisperOptions(), asr.TranscribeOptions(threads=1, workers=2), cores=2)
    assert (jobs.decoders, jobs.threads, jobs.workers) == (1, 1, 2)
    with pytest.raises(ModelError, match="reports no CUDA device"):
        place(WhisperOptions(device="cuda"))


@pytest.mark.parametrize("cores", [1, 2, 4, 16])
@pytest.mark.parametrize("threads, workers", [(0, 1), (2, 1), (1, 2), (1, 4), (0, 3)])
def test_a_cpu_decodes_at_most_four_windows_at_once_however_calls_and_decoders_are_shared(
        cores: int, threads: int, workers: int) -> None:
    """Each window in flight holds ~150 MB of CTranslate2's buffers: the peak of a long file
    is set by how many are decoded at once (30 min: 1,131 MiB at 6, 844 at 4), never 16 as
    when archive --jobs 2 gave each call a batch of 8."""
    from talkdown.asr.placement import CPU_WINDOWS, WhisperOptions, place

    p = place(WhisperOptions(), asr.TranscribeOptions(threads=threads, workers=workers), cores=cores)
    assert p.batch_size >= 1
    assert p.batch_size * p.workers <= max(CPU_WINDOWS, p.workers)
    assert f"{p.batch_size * p.workers} window(s) of 30 s at once" in p.why
    assert place(WhisperOptions(batch_size=8), asr.TranscribeOptions(threads=threads, workers=workers),
                 cores=cores).batch_size == 8  # --batch-size is kept as given


def test_device_auto_with_a_faked_cuda_device_count_picks_the_gpu_in_float16_with_larger_batches() -> None:
    from talkdown.asr.whisper import WhisperOptions, place

    gpu = place(WhisperOptions(), cuda=1, cores=2)
    assert (gpu.device, gpu.compute_type, gpu.batch_size, gpu.decoders) == ("cuda", "float16", 16, 1)
    assert "reports 1 CUDA device" in gpu.why
    assert place(WhisperOptions(device="cpu"), cuda=1, cores=2).device == "cpu"


def test_two_decoders_give_the_words_of_one(transcriber: asr.Engine) -> None:
    """One file's windows shared out to two single-threaded decoders: the same words."""
    from talkdown.asr.whisper import WhisperOptions

    audio = np.concatenate([corpus.decode16k(JFK), corpus.silence(1.0), corpus.decode16k(SONNET)] * 3)
    one = asr.load(asr.TranscribeOptions(threads=2, tuning=WhisperOptions(batch_size=8)))
    assert transcriber.placement.decoders == 2 and one.placement.decoders == 1  # type: ignore[attr-defined]
    words = [[w.text for s in e(audio).segments for w in s.words] for e in (transcriber, one)]
    assert len(words[0]) > 100 and words[0] == words[1]


def test_a_window_is_cut_at_a_long_pause_once_it_holds_ten_seconds() -> None:
    """Packed speech is not glued across a pause of 2 s or more into a window already holding
    10 s, and keeps 2 s of such a pause before it (without, halting speech after a sonnet lost
    its first words); times still map back to the recording."""
    from talkdown.asr import spans

    audio = np.zeros(16000 * 90, np.float32)
    regions = [(0.0, 6.0), (6.5, 12.0), (15.0, 18.0), (18.3, 21.0), (24.0, 27.0), (27.5, 56.0), (66.0, 71.0)]
    packed = spans.pack(audio, regions)
    assert packed.regions == [(0.0, 6.0), (6.5, 12.0), (13.0, 18.0), (18.3, 21.0), (22.0, 27.0), (27.5, 56.0),
                              (64.0, 71.0)]
    # 11.5 s held at the 3 s pause: cut; 7.7 s held at the next: kept; 28.5 s more: no room;
    # 28.5 s held at the 10 s pause: cut
    assert [(round(a, 1), round(b, 1)) for a, b in packed.windows] == [(0.0, 11.5), (11.5, 24.2), (24.2, 52.7),
                                                                       (52.7, 59.7)]
    assert all(b - a <= 30.0 for a, b in packed.windows)
    word = Word(start=14.0, end=14.5, text=" one", probability=0.9)
    back = spans.unpacked(Segment(start=14.0, end=14.5, text="one", words=(word,)), packed.starts, packed.regions)
    assert (back.words[0].start, back.words[0].end) == (15.5, 16.0)


def test_a_window_caught_in_a_loop_is_decoded_again_alone() -> None:
    """A first-pass segment that repeats itself past Whisper's compression-ratio test (2.4) is
    no words heard: its speech is decoded alone and taken, though the loop had more words
    ("uh, uh…" ×25 over JFK's 15 after halting speech; counted as words, the loop was kept)."""
    from talkdown.asr import spans

    audio = np.zeros(16000 * 32, np.float32)
    regions = [(0.0, 6.0), (8.0, 20.0), (21.0, 30.0)]
    jfk = "and so my fellow americans ask not what your country can do for you ask what you".split()
    first = [segment(0.5, 5.5, ["one"] * 10), segment(8.0, 19.5, ["uh,"] * 25, ratio=9.1), segment(21.0, 29.0, ["two"] * 12)]
    asked: list[list[tuple[float, float]]] = []

    def decode(clips: list[tuple[float, float]], cap: int) -> list:
        asked.append(clips)
        return [segment(8.2, 19.0, jfk)]

    out = spans.second_pass(audio, regions, first, decode)
    assert asked == [[(8.0, 20.0)]]
    texts = [w.text.strip() for s in out for w in s.words]
    assert texts == ["one"] * 10 + jfk + ["two"] * 12


def test_a_clip_decoded_alone_that_stops_early_keeps_the_first_pass_words_after_it() -> None:
    """Decoded alone, a clip can stop early (JFK read, the sonnet after him dropped): where it
    gives no word for 2 s or more, the first pass's words stand; the loop's words go."""
    from talkdown.asr import spans

    audio = np.zeros(16000 * 32, np.float32)
    regions = [(0.0, 10.0), (11.0, 20.0)]
    sonnet = "from fairest creatures we desire increase that thereby beautys rose".split()
    first = [segment(0.5, 12.0, ["uh,"] * 25, ratio=9.1), segment(14.0, 19.5, sonnet)]

    asked: list[list[tuple[float, float]]] = []

    def decode(clips: list[tuple[float, float]], cap: int) -> list:
        asked.append(clips)
        return [segment(0.5, 9.0, ["jfk"] * 12)] if len(asked) == 1 else []

    texts = [w.text.strip() for s in spans.second_pass(audio, regions, first, decode) for w in s.words]
    assert texts == ["jfk"] * 12 + sonnet
    # what is still without words (11-14 s) is asked for once more, and only once
    assert asked == [[(0.0, 20.0)], [(11.0, 20.0)]]


def test_speech_a_clip_alone_dropped_is_asked_for_in_a_second_round() -> None:
    """One speaker's sentence read, the sonnet after it dropped, by the window and again by
    the clip alone (heldout2, issue 16): what is still wordless is decoded once more, and a
    clip that gave nothing is never asked for twice."""
    from talkdown.asr import spans

    audio = np.zeros(16000 * 40, np.float32)
    regions = [(0.0, 4.0), (5.0, 10.0), (11.5, 26.0), (30.0, 31.0)]
    sonnet = "but thou contracted to thine own bright eyes feedst thy lights flame".split()
    first = [segment(0.5, 3.5, ["so"] * 8), segment(30.1, 30.9, ["end"] * 2)]
    asked: list[list[tuple[float, float]]] = []

    def decode(clips: list[tuple[float, float]], cap: int) -> list:
        asked.append(clips)
        if clips[0][0] <= 5.0:  # the clip from 5 s: the sentence, then the decoder stops
            return [segment(5.2, 9.8, ["he", "began", "a", "confused", "complaint"])]
        return [segment(11.6, 25.5, sonnet)] if (11.5, 26.0) in clips else []

    texts = [w.text.strip() for s in spans.second_pass(audio, regions, first, decode) for w in s.words]
    assert texts == ["so"] * 8 + ["he", "began", "a", "confused", "complaint"] + sonnet + ["end"] * 2
    assert len(asked) == 2 and (11.5, 26.0) in asked[1]


def test_words_misplaced_into_a_pause_beside_a_clip_go_when_the_clip_is_taken() -> None:
    """The first pass's words in the pause before a clip came from inside it, misplaced (JFK
    after music, issue #3): taking the clip drops them, however long the pause, and the
    words the clip alone gives are not kept twice."""
    from talkdown.asr import spans

    audio = np.zeros(16000 * 22, np.float32)
    jfk = "ask not what your country can do for you".split()
    first = [segment(0.5, 2.5, ["a"] * 4), segment(5.0, 9.0, jfk)]
    heard = jfk + ["what"]
    out = spans.second_pass(audio, [(0.0, 3.0), (10.0, 20.0)], first, lambda clips, cap: [segment(10.2, 19.0, heard)])
    assert [w.text.strip() for s in out for w in s.words] == ["a"] * 4 + heard
    assert all(w.start >= 10.0 for s in out for w in s.words if w.text.strip() in jfk)


def test_a_clip_that_gives_the_words_the_first_pass_had_is_not_taken_for_a_word_twice() -> None:
    """A first-pass word a few tenths of a second after the clip's own copy of it is the same
    word, not one the clip left out: it does not stay, and does not make the clip win."""
    from talkdown.asr import spans

    audio = np.zeros(16000 * 12, np.float32)
    four = "ask not what your".split()
    out = spans.second_pass(audio, [(0.0, 10.0)], [segment(0.3, 4.6, four)], lambda clips, cap: [segment(0.2, 4.0, four)])
    assert [w.text.strip() for s in out for w in s.words] == four
