"""Stage 2 — turn files and web pages into plain-text documents.

Readers follow trafilatura's spirit: plain functions, options as arguments. A reader that cannot make text of
its input raises :class:`~balise.errors.UnreadableDocumentError` with a short reason; :func:`read_paths` turns
that into a :class:`Skipped` record so that one bad file never stops a batch.

Paragraphs are separated by a blank line in every ``Document.text``: the preprocessing stage relies on it.
"""
from __future__ import annotations

import io
import json
import os
import logging
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import UnreadableDocumentError

log = logging.getLogger(__name__)

MAX_FILE_BYTES = 200 * 1024 * 1024
"""Files above this size are skipped rather than loaded into memory."""

TEXT_SUFFIXES = {".txt", ".text"}
HTML_SUFFIXES = {".html", ".htm", ".xhtml"}
PDF_SUFFIXES = {".pdf"}
JSONL_SUFFIXES = {".jsonl", ".ndjson"}
KNOWN_SUFFIXES = TEXT_SUFFIXES | HTML_SUFFIXES | PDF_SUFFIXES | JSONL_SUFFIXES

MIN_HTML_WORDS = 8
"""A page whose main text is shorter than this is a menu or an error page, not a document."""

JSONL_FIELDS = ("id", "text", "url", "title", "date", "source")


@dataclass
class Document:
    """A text to annotate and what is known about where it comes from."""

    id: str
    text: str
    source: str | None = None
    url: str | None = None
    title: str | None = None
    date: str | None = None
    author: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass
class Skipped:
    """An input that produced no document, and why."""

    source: str
    reason: str


# --------------------------------------------------------------------------------------------- text helpers

_BLANK_LINES = re.compile(r"\n[ \t\r\f\v]*\n\s*")


def normalise_text(text: str) -> str:
    """Unify line ends, drop a byte-order mark and NULs, and trim trailing spaces of each line."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\ufeff", "").replace("\x00", "")
    text = "\n".join(line.rstrip() for line in text.split("\n"))
    return text.strip("\n")


def looks_binary(data: bytes) -> bool:
    """True when ``data`` is almost surely not text (NUL bytes or many control characters)."""
    sample = data[:8192]
    if not sample:
        return False
    if b"\x00" in sample and not (sample.startswith((b"\xff\xfe", b"\xfe\xff"))):
        return True
    controls = sum(1 for b in sample if b < 32 and b not in (9, 10, 12, 13))
    return controls / len(sample) > 0.05


WESTERN_ENCODINGS = ("utf_8", "utf_16", "utf_32", "cp1252", "latin_1", "iso8859_15", "mac_roman", "cp850")
"""Encodings French texts come in; detection chooses among them first, so that a latin-1 'à' is not read as a
central-European 'ŕ' (the bytes are valid in both)."""


def decode_text(data: bytes, source: str = "<bytes>") -> str:
    """Decode bytes whose encoding is unknown: UTF-8 first (it fails loudly), then detection.

    The encoding is detected, never assumed: latin-1 or cp1252 files from older office software are common in
    the reports researchers collect.
    """
    if looks_binary(data):
        raise UnreadableDocumentError(source, "binary content, not text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(data, cp_isolation=list(WESTERN_ENCODINGS)).best() or from_bytes(data).best()
    if best is None:
        raise UnreadableDocumentError(source, "unknown text encoding")
    return str(best)


# --------------------------------------------------------------------------------------------- readers


def read_text(data: bytes, source: str = "<bytes>") -> str:
    """Plain text: decoded and normalised. Raises when empty or binary."""
    text = normalise_text(decode_text(data, source))
    if not text.strip():
        raise UnreadableDocumentError(source, "empty text")
    return text


def extract_html(html: str | bytes, url: str | None = None, source: str | None = None) -> Document | None:
    """Main text and metadata of a web page, or ``None`` when the page holds no main text.

    Built on trafilatura: boilerplate (menus, footers, cookie banners) goes, paragraphs stay, one per block.
    """
    import trafilatura

    if isinstance(html, bytes):
        try:
            html = decode_html(html)
        except UnreadableDocumentError:
            return None
    if not html or not html.strip():
        return None
    try:
        result = trafilatura.bare_extraction(
            html,
            url=url,
            with_metadata=True,
            include_comments=False,
            include_tables=False,
            favor_precision=False,
        )
    except Exception as exc:  # trafilatura may raise on pathological markup
        log.debug("trafilatura failed on %s: %s", source or url, exc)
        return None
    if result is None:
        return None
    get = result.get if isinstance(result, dict) else (lambda key: getattr(result, key, None))
    raw = get("text") or ""
    paragraphs = [p.strip() for p in raw.split("\n") if p.strip()]
    if sum(len(p.split()) for p in paragraphs) < MIN_HTML_WORDS:
        return None
    return Document(
        id=url or source or "",
        text="\n\n".join(paragraphs),
        source=source or url,
        url=get("url") or url,
        title=get("title") or None,
        date=get("date") or None,
        author=get("author") or None,
        meta={k: v for k, v in {"sitename": get("sitename"), "language": get("language")}.items() if v},
    )


_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([A-Za-z0-9_\-]+)""", re.IGNORECASE)


def decode_html(data: bytes, declared: str | None = None) -> str:
    """Decode HTML bytes: the declared charset (HTTP header or ``<meta>``) when it works, else detection."""
    if looks_binary(data):
        raise UnreadableDocumentError("<html>", "binary content, not HTML")
    candidates = []
    if declared:
        candidates.append(declared)
    match = _META_CHARSET.search(data[:4096])
    if match:
        candidates.append(match.group(1).decode("ascii", "ignore"))
    for encoding in candidates:
        try:
            return data.decode(encoding)
        except (LookupError, UnicodeDecodeError):
            continue
    return decode_text(data, "<html>")


def extract_pdf(data: bytes, source: str = "<pdf>") -> str:
    """Text layer of a PDF, with lines re-joined into paragraphs.

    Encrypted, image-only (no text layer) and broken files raise with the reason: OCR is out of scope.
    """
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    if not data.lstrip()[:5].startswith(b"%PDF"):
        raise UnreadableDocumentError(source, "not a PDF file (no %PDF header)")
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            raise UnreadableDocumentError(source, "encrypted PDF")
        pages = [page.extract_text() or "" for page in reader.pages]
    except UnreadableDocumentError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, OSError, RecursionError, AssertionError) as exc:
        raise UnreadableDocumentError(source, f"broken PDF ({type(exc).__name__}: {str(exc)[:80]})") from exc
    except Exception as exc:  # pypdf raises a wide range of errors on damaged files
        raise UnreadableDocumentError(source, f"broken PDF ({type(exc).__name__})") from exc
    text = "\n\n".join(_pdf_paragraphs(page) for page in pages if page.strip())
    if len(re.sub(r"\s", "", text)) < 20:
        raise UnreadableDocumentError(source, "no text layer (image-only or empty PDF)")
    return text


_SENTENCE_END = ("." , "!", "?", ":", "»", "…", ";")


def _pdf_paragraphs(page_text: str) -> str:
    """Join the visual lines of a PDF page into paragraphs.

    A line ending a sentence followed by a short line, or an empty line, ends a paragraph; a hyphen at the end
    of a line followed by a lowercase letter is a broken word.
    """
    lines = [line.strip() for line in normalise_text(page_text).split("\n")]
    paragraphs: list[str] = []
    current = ""
    widths = [len(line) for line in lines if line]
    full = max(widths) * 0.8 if widths else 0
    previous_len = 0
    for line in lines:
        if not line:
            if current:
                paragraphs.append(current)
                current = ""
            continue
        if not current:
            current = line
        elif current.endswith("-") and line[:1].islower():
            current = current[:-1] + line
        elif current.endswith(_SENTENCE_END) and previous_len < full:
            paragraphs.append(current)
            current = line
        else:
            current = f"{current} {line}"
        previous_len = len(line)
    if current:
        paragraphs.append(current)
    return "\n\n".join(paragraphs)


def read_jsonl(path: Path) -> Iterator[Document | Skipped]:
    """One document a line: ``text`` required; ``id``, ``url``, ``title``, ``date``, ``source`` optional;
    any other field is carried through in ``meta``."""
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, 1):
            where = f"{path}:{number}"
            if not raw.strip():
                continue
            try:
                record = json.loads(raw.decode("utf-8-sig"))
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                yield Skipped(where, f"invalid JSON line ({exc.__class__.__name__})")
                continue
            if not isinstance(record, dict):
                yield Skipped(where, "JSON line is not an object")
                continue
            text = record.get("text")
            if not isinstance(text, str) or not text.strip():
                yield Skipped(where, "no 'text' field" if text is None else "empty or non-string 'text'")
                continue
            meta = {k: v for k, v in record.items() if k not in JSONL_FIELDS}
            yield Document(
                id=str(record["id"]) if record.get("id") is not None else where,
                text=normalise_text(text),
                source=str(record.get("source") or path),
                url=_str_or_none(record.get("url")),
                title=_str_or_none(record.get("title")),
                date=_str_or_none(record.get("date")),
                meta=meta,
            )


def _str_or_none(value: Any) -> str | None:
    return None if value is None else str(value)


def read_file(path: str | Path) -> Iterator[Document | Skipped]:
    """Documents of one file, chosen by its suffix. Never raises for bad content: yields :class:`Skipped`."""
    path = Path(path)
    source = str(path)
    suffix = path.suffix.lower()
    try:
        if suffix in JSONL_SUFFIXES:
            yield from read_jsonl(path)
            return
        if suffix not in KNOWN_SUFFIXES:
            yield Skipped(source, f"unsupported file type '{suffix or '(none)'}'")
            return
        size = path.stat().st_size
        if size == 0:
            yield Skipped(source, "empty file")
            return
        if size > MAX_FILE_BYTES:
            yield Skipped(source, f"file too large ({size // 1_000_000} MB > {MAX_FILE_BYTES // 1_000_000} MB)")
            return
        data = path.read_bytes()
        if suffix in TEXT_SUFFIXES:
            yield Document(id=source, text=read_text(data, source), source=source)
        elif suffix in HTML_SUFFIXES:
            doc = extract_html(data, source=source)
            if doc is None:
                yield Skipped(source, "no main text found in HTML")
            else:
                doc.id = source
                doc.source = source
                yield doc
        else:
            yield Document(id=source, text=extract_pdf(data, source), source=source)
    except UnreadableDocumentError as exc:
        yield Skipped(source, exc.reason)
    except OSError as exc:
        yield Skipped(source, f"cannot read file ({exc.strerror or exc.__class__.__name__})")


def iter_files(inputs: Iterable[str | os.PathLike[str]]) -> Iterator[Path | Skipped]:
    """Expand folders recursively (sorted, hidden files left out); report missing paths."""
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                relative = child.relative_to(path)
                if child.is_file() and not any(part.startswith(".") for part in relative.parts):
                    yield child
        elif path.is_file():
            yield path
        else:
            yield Skipped(str(path), "no such file or folder")


def read_paths(inputs: Iterable[str | os.PathLike[str]]) -> Iterator[Document | Skipped]:
    """Every document found in a mix of files and folders, in a stable order."""
    for item in iter_files(inputs):
        if isinstance(item, Skipped):
            yield item
        else:
            yield from read_file(item)
