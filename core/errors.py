"""The few exceptions Fundstelle raises on purpose.

Each message says what to do. The CLI and the UI turn a ``FundstelleError`` into a one-line
message; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations


class FundstelleError(Exception):
    """Base class: an error the user can act on."""


class SkipFile(FundstelleError):
    """A file that cannot be ingested; it is skipped and reported, the ingest goes on."""


class UnreadableFile(SkipFile):
    """A file that exists but cannot be read now (permissions, I/O). Unlike other skips it says
    nothing about the file's content, so the store keeps what it had of it."""


class StoreError(FundstelleError):
    """The store is missing, unreachable or was built differently."""


class EmbeddingError(FundstelleError):
    """The embedding model cannot be loaded."""


class BackendError(FundstelleError):
    """The answer generator cannot be reached or loaded."""


class InputError(FundstelleError):
    """A question file, gold set or argument is malformed."""
