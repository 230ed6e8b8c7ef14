"""One error hierarchy for everything a user can cause.

Each message is one plain sentence: what failed, the likely cause, what to do next.
The CLI prints it and exits non-zero; anything that is not an ``Error`` is a bug and
keeps its traceback. Imports nothing of talkdown's.

    Error
    ├── FetchError        a URL that cannot be resolved or downloaded
    ├── DecodeError       a file that is missing, empty, not media, corrupt or silent of audio
    ├── CaptionsError     a caption track that cannot be read
    │   └── NoCaptionsError   no caption track in the language (``--source auto`` then uses ASR alone)
    ├── ModelError        a model that is unknown or cannot be had offline
    ├── OutputError       a folder or file that cannot be written
    ├── ParseError        a transcript file that cannot be read back
    ├── CatalogError      the archive's database: locked by another run, unreadable
    └── QueryError        a search query that is empty or malformed
"""


class Error(Exception):
    """Base of every error a user can cause; ``str(e)`` is the message to show."""


class FetchError(Error):
    pass


class DecodeError(Error):
    pass


class CaptionsError(Error):
    pass


class NoCaptionsError(CaptionsError):
    pass


class ModelError(Error):
    pass


class OutputError(Error):
    pass


class ParseError(Error):
    pass


class CatalogError(Error):
    pass


class QueryError(Error):
    pass
