"""The errors balise raises. Catch :class:`BaliseError` to catch them all."""
from __future__ import annotations


class BaliseError(Exception):
    """Base class of every error raised on purpose by balise."""


class InvalidInputError(BaliseError, ValueError):
    """The input cannot be processed (not text, unknown label, malformed record…)."""


class UnreadableDocumentError(InvalidInputError):
    """A file could not be turned into text; ``reason`` says why in a few words for the run summary."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


class ModelNotFoundError(BaliseError, FileNotFoundError):
    """No model at the given name or path, or the spaCy pipeline it needs is not installed."""


class ModelIntegrityError(BaliseError):
    """A model file does not match the SHA-256 recorded in its model card: it is never unpickled."""
