"""Transcript -> plain text, one line of speech per line.

For corpora and quick reading: no times, no markup, only the words, with a
``Name:`` label where the speaker changes. Pure; no I/O.
"""

from __future__ import annotations

from talkdown.types import Transcript


def render_text(t: Transcript) -> str:
    """Renders the transcript's lines as plain text, ending with a newline (empty if none)."""
    out: list[str] = []
    speaker: str | None = None
    for line in t.lines():
        text = " ".join(line.text.split())
        if line.speaker and line.speaker != speaker:
            text = f"{line.speaker}: {text}"
        speaker = line.speaker
        out.append(text)
    return "".join(f"{row}\n" for row in out)
