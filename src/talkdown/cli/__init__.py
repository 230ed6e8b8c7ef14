"""The ``talkdown`` command: flags in, options to the pipeline, results and errors out.

click parses flags; results (paths written, transcripts) go to stdout, everything
else to stderr, so pipes stay clean. Every ``talkdown.Error`` becomes one sentence and
a non-zero exit, here, for every command; any other exception is a bug and keeps its
traceback. The commands live in ``making`` (transcribe, archive, import) and
``reading`` (search, render, serve, models).
"""

from __future__ import annotations

import errno
import os
import signal
import sys
import threading

import click

from ..errors import Error
from .console import fail, interrupted

__all__ = ["cli", "main"]


class _Commands(click.Group):
    """Ctrl-C in any command ends in ``interrupted``, not in click's "Aborted!" and code 1."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            result = super().invoke(ctx)
            sys.stdout.flush()  # a full disk or closed pipe shows here, not in Python's exit
            return result
        except KeyboardInterrupt:
            interrupted()
        except Error as e:  # every command's failure a user can cause: one sentence, exit 1
            fail(str(e))
            sys.exit(1)
        except OSError as e:
            if e.errno not in _OUTPUT_ERRNOS:
                raise
            target = e.filename or "standard output"  # a write to stdout carries no file name
            fail(f"Cannot write to {target} ({e.strerror}); free some space or send it somewhere else.")
            try:
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # nothing more to flush at exit
            except (OSError, ValueError):
                pass  # stdout is not a file (a test's capture): nothing is flushed at exit
            sys.exit(1)


_OUTPUT_ERRNOS = (errno.ENOSPC, errno.EPIPE, errno.EIO, errno.EDQUOT, errno.EROFS, errno.EFBIG)


def _terminate(_signum: int, _frame: object) -> None:
    """SIGTERM (``kill``, a service manager stopping us) ends a run as Ctrl-C does."""
    raise KeyboardInterrupt


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="talkdown")
def cli() -> None:
    """Turn spoken video and audio into readable, searchable Markdown transcripts.

    \b
    Examples:
      talkdown transcribe https://www.youtube.com/watch?v=MGgDHevAc8A -o transcripts/
      talkdown transcribe talk.mp3 -f md,srt,json -o out/
      talkdown models
    """
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _terminate)


from . import making, reading  # noqa: E402,F401 - registers the commands on cli


def main() -> None:
    cli()
