"""Transcript <-> JSON, the archive's source of truth.

``render_json`` writes everything a ``Transcript`` holds (media, lines, words with
times and probabilities, speakers, model) via ``Transcript.to_dict``, so every other
format can be re-rendered later without re-transcribing; ``read_json`` reads it back.
Stdlib ``json``; no I/O.
"""

from __future__ import annotations

import json

from talkdown.errors import ParseError
from talkdown.types import Transcript


def render_json(t: Transcript) -> str:
    """Renders the whole transcript as JSON (not ASCII-escaped), ending with a newline."""
    return json.dumps(t.to_dict(), ensure_ascii=False, indent=1) + "\n"


def read_json(text: str) -> Transcript:
    """Reads ``render_json`` output back.

    Raises:
        ParseError: the text is not JSON, or not a talkdown transcript.
    """
    try:
        data = json.loads(text)
    except ValueError as e:
        raise ParseError(f"This is not valid JSON ({e}); is it a talkdown .json transcript?") from e
    if not isinstance(data, dict):
        raise ParseError("This JSON is not a talkdown transcript: it is not an object.")
    try:
        return Transcript.from_dict(data)
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise ParseError(
            f"This JSON is not a talkdown transcript: {type(e).__name__} {e}; "
            "was it written by another tool or by a newer talkdown?"
        ) from e
