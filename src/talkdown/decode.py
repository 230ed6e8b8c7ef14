"""Local media files in, 16 kHz mono float32 samples (and a ``Media`` for the file) out.

PyAV links FFmpeg's libraries inside its wheel, so any container or codec FFmpeg reads
(mp3, m4a, opus/webm, flac, wav, mp4, mkv…) decodes without an ``ffmpeg`` binary on
the machine. Whisper wants 16 kHz mono, so resampling happens here, once.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import sys
from pathlib import Path
from typing import Iterator

import av
import numpy as np

from .errors import DecodeError
from .types import SAMPLE_RATE, Media


def _open(path: Path) -> av.container.InputContainer:
    if not path.exists():
        raise DecodeError(f"No such file: {path}.")
    if path.is_dir():
        raise DecodeError(f"{path} is a folder, not a media file.")
    if path.stat().st_size == 0:
        raise DecodeError(f"{path} is empty (0 bytes).")
    try:
        return av.open(str(path), mode="r", metadata_errors="ignore")
    except av.error.FFmpegError as e:
        raise DecodeError(f"{path} is not an audio or video file that can be read ({_reason(e)}).") from e


def _reason(e: Exception) -> str:
    return getattr(e, "strerror", None) or str(e)


def _audio_stream(container: av.container.InputContainer, path: Path) -> av.audio.stream.AudioStream:
    if not container.streams.audio:
        raise DecodeError(f"{path} has no audio track to transcribe.")
    return container.streams.audio[0]


def decode(path: Path) -> np.ndarray:
    """Decodes the first audio track of a file to 16 kHz mono float32 in [-1, 1].

    Raises:
        DecodeError: the file is missing, empty, not media, has no audio or is corrupt.
    """
    chunks = list(_samples(path))
    if not chunks:
        raise DecodeError(f"{path} contains no decodable audio; it may be corrupt or truncated.")
    return np.concatenate(chunks).astype(np.float32, copy=False)


BLOCK_SECONDS = 300.0  # a block's length before its cut: what memory holds of a long file
CUT_WINDOW = 60.0  # the cut is the quietest half second within this span around the block's end
_FRAME = SAMPLE_RATE // 20  # 50 ms frames for finding the quiet moment
_QUIET = 10  # frames (0.5 s) averaged


def blocks(path: Path, seconds: float = BLOCK_SECONDS, window: float = CUT_WINDOW) -> Iterator[tuple[float, np.ndarray]]:
    """(offset in seconds, samples) of a file decoded a block at a time, each cut in the
    quietest half second near ``seconds`` after the last cut, so a word is never split
    and memory holds one block, not the file. A file shorter than ``seconds`` plus half
    ``window`` is one block, the same samples ``decode`` gives.

    Raises:
        DecodeError: as ``decode`` (while iterating).
    """
    size, half = int(seconds * SAMPLE_RATE), int(window / 2 * SAMPLE_RATE)
    held: list[np.ndarray] = []
    count, offset, any_audio = 0, 0, False
    for chunk in _samples(path):
        held.append(chunk)
        count += len(chunk)
        any_audio = True
        if count < size + half:
            continue
        samples = np.concatenate(held).astype(np.float32, copy=False)
        cut = _quietest(samples, max(0, size - half), size + half)
        yield offset / SAMPLE_RATE, samples[:cut].copy()
        offset += cut
        held, count = [samples[cut:].copy()], len(samples) - cut
        del samples
    if not any_audio:
        raise DecodeError(f"{path} contains no decodable audio; it may be corrupt or truncated.")
    if count:
        yield offset / SAMPLE_RATE, np.concatenate(held).astype(np.float32, copy=False)


def _quietest(samples: np.ndarray, lo: int, hi: int) -> int:
    """The sample index in the middle of the quietest ``_QUIET`` frames between ``lo`` and ``hi``."""
    frames = (hi - lo) // _FRAME
    energy = np.square(samples[lo : lo + frames * _FRAME], dtype=np.float64).reshape(frames, _FRAME).mean(axis=1)
    smooth = np.convolve(energy, np.ones(_QUIET) / _QUIET, mode="valid")
    return lo + (int(np.argmin(smooth)) + _QUIET // 2) * _FRAME


def _samples(path: Path) -> Iterator[np.ndarray]:
    """The file's audio as 16 kHz mono float32 pieces, in order, as they are decoded."""
    resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
    with _open(path) as container:
        stream = _audio_stream(container, path)
        try:
            for packet in container.demux(stream):
                try:
                    frames = packet.decode()
                except av.error.InvalidDataError:
                    continue  # a damaged packet: skip it, as ffmpeg does
                for frame in frames:
                    frame.pts = None
                    for out in resampler.resample(frame):
                        yield out.to_ndarray()[0]
            for out in resampler.resample(None):
                yield out.to_ndarray()[0]
        except av.error.FFmpegError as e:
            raise DecodeError(f"{path} could not be decoded; it may be corrupt ({_reason(e)}).") from e


def settle_duration(media: Media, decoded: float, path: Path) -> Media:
    """``media`` with the length its audio really has.

    The container's stated duration stands unless the audio decodes to much less (a
    truncated download or copy keeps its header's length); then the decoded length is
    used and one sentence is warned on stderr.
    """
    stated = media.duration
    if stated is not None and stated - decoded <= max(2.0, 0.1 * stated):
        return media
    if stated is not None:
        print(f"warning: {path} decodes to {decoded:.1f} s of its stated {stated:.0f} s; it may be truncated.",
              file=sys.stderr, flush=True)
    return dataclasses.replace(media, duration=round(decoded, 3))


def check(path: Path) -> None:
    """Raises ``DecodeError`` unless ``path`` opens as media with an audio stream: what a
    download must pass before it is kept (cheaper than ``probe``, which hashes the file).
    """
    with _open(path) as container:
        _audio_stream(container, path)


def probe(path: Path) -> Media:
    """Builds the ``Media`` of a local file: title and artist from its tags (else the file
    name), duration from the container, a stable id from a hash of its content.

    Raises:
        DecodeError: as ``decode``.
    """
    with _open(path) as container:
        stream = _audio_stream(container, path)
        tags = {k.lower(): v for k, v in {**container.metadata, **stream.metadata}.items()}
        if container.duration is not None:
            duration = container.duration / av.time_base
        elif stream.duration is not None and stream.time_base is not None:
            duration = float(stream.duration * stream.time_base)
        else:
            duration = None
    mtime = dt.date.fromtimestamp(path.stat().st_mtime).isoformat()
    return Media(
        id=f"file:{_content_hash(path)}",
        title=(tags.get("title") or "").strip() or path.stem,
        channel=(tags.get("artist") or tags.get("album_artist") or "").strip() or None,
        upload_date=_tag_date(tags.get("date") or tags.get("creation_time")) or mtime,
        duration=duration,
        description=(tags.get("comment") or tags.get("description") or "").strip(),
        path=str(path.resolve()),
    )


def _content_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:12]


def _tag_date(value: str | None) -> str | None:
    if not value:
        return None
    value = value.strip()
    for fmt, size in (("%Y-%m-%d", 10), ("%Y", 4)):
        try:
            return dt.datetime.strptime(value[:size], fmt).date().isoformat()
        except ValueError:
            continue
    return None
