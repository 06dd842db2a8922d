"""balise: find the markers of social innovation (Institut Godin grid) and rupture signals in French texts.

>>> import balise
>>> tagger = balise.load()
>>> result = tagger("Jusqu'ici les aînés devaient venir au CCAS ; désormais une équipe passe dans les hameaux.")
>>> result.labels, [s.text for s in result.signals]
"""
from __future__ import annotations

__version__ = "0.1.0"

from . import errors
from .extract import Document
from .markers import LABELS, MARKERS, SIGNAL_FAMILIES, Marker
from .render import render
from .tagger import AnnotatedDocument, AnnotatedPassage, Evidence, Tagger, load

__all__ = [
    "LABELS",
    "MARKERS",
    "SIGNAL_FAMILIES",
    "AnnotatedDocument",
    "AnnotatedPassage",
    "Document",
    "Evidence",
    "Marker",
    "Tagger",
    "__version__",
    "errors",
    "load",
    "render",
]
