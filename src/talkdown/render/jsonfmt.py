"""Transcript <-> JSON, the archive's source of truth.

``render_json`` writes everything a ``Transcript`` holds (media, lines, words with
times and probabilities, speakers, model) via ``Transcript.to_dict``, so every other
format can be re-rendered later without re-transcribing; ``read_json`` reads it back.
Stdlib ``json``; no I/O.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from talkdown.errors import ParseError
from talkdown.types import Transcript


def render_json(t: Transcript) -> str:
    """Renders the whole transcript as JSON (not ASCII-escaped), ending with a newline."""
    return json.dumps(t.to_dict(), ensure_ascii=False, indent=1) + "\n"


def read_json(text: str, name: str | Path | None = None) -> Transcript:
    """Reads ``render_json`` output back; ``name`` (the file) is what its error sentences call it.

    Raises:
        ParseError: the text is not JSON, or not a talkdown transcript (naming the bad field).
    """
    try:
        data = json.loads(text)
    except ValueError as e:
        raise ParseError(f"{name or 'This'} is not valid JSON ({e}); is it a talkdown .json transcript?") from e
    return transcript_from(data, name)


def transcript_from(data: Any, name: str | Path | None = None) -> Transcript:
    """``Transcript.from_dict`` of parsed JSON, with talkdown's sentence when a field is wrong.

    Raises:
        ParseError: ``data`` is not a transcript; the sentence names ``name`` and the field.
    """
    if not isinstance(data, dict):
        raise ParseError(f"{name or 'This JSON'} is not a talkdown transcript: it is not a JSON object.")
    try:
        return Transcript.from_dict(data)
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise ParseError(
            f"{name or 'This JSON'} is not a talkdown transcript: {e}; "
            "was it edited by hand, or written by another tool or a newer talkdown?"
        ) from e
