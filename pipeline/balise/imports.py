"""Human corrections back in: brat, INCEpTION (UIMA CAS XMI), doccano, Label Studio, Prodigy, spaCy, JSONL.

Why: the reviewed passages become training data (``balise train --add``), so every reader turns a tool's output into
the corpus format of ``corpora/`` — one record per passage: ``id``, ``text``, ``labels``, ``signals`` as
``[start, end, family]`` (offsets into the passage), ``genre``, ``topic`` — plus ``doc_id``, ``start`` and ``end``
(the passage in its document), which :func:`compare` uses to report what the reviewers changed.

A reader accepts what people do in the tools: a label span drawn over part of a passage counts for the passage that
holds it, a label span outside any passage becomes a passage, a signal outside any passage is reported and dropped.
"""
from __future__ import annotations

import json
import os
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import BaliseError
from .exports import (
    FAMILY_FEATURE,
    INDEX_FILE,
    LABEL_LIST_FEATURE,
    LABEL_STUDIO_TEXT,
    PASSAGE,
    PASSAGE_TYPE,
    READABLE_FORMATS,
    SIGNAL_PREFIX,
    SIGNAL_TYPE,
    SPANS_PASSAGES,
    SPANS_SIGNALS,
    blank_french,
    build_typesystem,
    meta_of,
    newline_maps,
    passage_id,
    passages_of,
    signals_of,
)
from .markers import LABELS, SIGNAL_FAMILIES

UNKNOWN = "unknown"
DOCUMENT_METADATA = "de.tudarmstadt.ukp.dkpro.core.api.metadata.type.DocumentMetaData"


class AnnotationImportError(BaliseError):
    """Annotations cannot be read (unknown format, missing file, unreadable file)."""


@dataclass
class ImportedDocument:
    """A document as an annotation tool gave it back: its passages with their labels, and its signals."""

    id: str
    text: str
    passages: list[tuple[int, int, list[str]]] = field(default_factory=list)
    signals: list[tuple[int, int, str]] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)


# ------------------------------------------------------------------------------------------------ corpus records


def to_gold(document: ImportedDocument, warnings: list[str] | None = None) -> list[dict[str, Any]]:
    """One corpus record per passage of ``document``; its signals are given relative to the passage."""
    records = []
    length = len(document.text)
    placed: set[tuple[int, int, str]] = set()
    for start, end, labels in sorted(document.passages, key=lambda p: (p[0], p[1])):
        inside = sorted({(s, e, f) for s, e, f in document.signals if start <= s and e <= end})
        placed.update(inside)
        records.append({
            "id": passage_id(document.id, start, end, length),
            "text": document.text[start:end],
            "labels": [label for label in LABELS if label in labels],
            "signals": [[s - start, e - start, f] for s, e, f in inside],
            "genre": document.info.get("genre") or UNKNOWN,
            "topic": document.info.get("topic") or UNKNOWN,
            "doc_id": document.id,
            "start": start,
            "end": end,
        })
    if warnings is not None:
        for s, e, f in sorted(set(document.signals) - placed):
            warnings.append(f"{document.id}: signal {f} [{s}:{e}] is outside every passage; dropped")
    return records


def passage_records(records: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Corpus records (one per passage) of annotated documents; corpus records pass through, normalised."""
    out: list[dict[str, Any]] = []
    for record in records:
        if "passages" in record:
            meta = meta_of(record)
            document = ImportedDocument(
                id=str(record.get("id")), text=record.get("text") or "",
                passages=[(p["start"], p["end"], list(p.get("labels") or [])) for p in passages_of(record)],
                signals=[(s["start"], s["end"], s["family"]) for s in signals_of(record)],
                info={"genre": record.get("genre") or meta.get("genre"), "topic": record.get("topic") or meta.get("topic")})
            out += to_gold(document)
        elif isinstance(record.get("text"), str) and "labels" in record:  # a corpus record
            out.append({**record, "labels": [label for label in LABELS if label in (record.get("labels") or [])],
                        "signals": sorted([list(s) for s in record.get("signals") or []]),
                        "genre": record.get("genre") or UNKNOWN, "topic": record.get("topic") or UNKNOWN})
    return out


def assemble(
    doc_id: str,
    text: str,
    passages: Iterable[tuple[int, int, Iterable[str]]],
    labels: Iterable[tuple[int, int, str]] = (),
    signals: Iterable[tuple[int, int, str]] = (),
    info: dict[str, Any] | None = None,
    warnings: list[str] | None = None,
) -> ImportedDocument:
    """Put a tool's spans together: passage spans (with any labels they carry), loose label spans, signal spans.

    Spans outside the text, unknown labels and unknown signal families are reported in ``warnings`` and dropped.
    """
    warn = warnings.append if warnings is not None else (lambda message: None)

    def valid(start: Any, end: Any, what: str) -> bool:
        ok = isinstance(start, int) and isinstance(end, int) and 0 <= start < end <= len(text)
        if not ok:
            warn(f"{doc_id}: {what} [{start}:{end}] is outside the text ({len(text)} characters); dropped")
        return ok

    merged: dict[tuple[int, int], set[str]] = {}
    for start, end, passage_labels in passages:
        if valid(start, end, "passage"):
            wanted = set(passage_labels)
            for label in sorted(wanted - set(LABELS)):
                warn(f"{doc_id}: unknown label {label!r} dropped")
            merged.setdefault((start, end), set()).update(wanted & set(LABELS))
    for start, end, label in labels:
        if label not in LABELS:
            warn(f"{doc_id}: unknown label {label!r} dropped")
            continue
        if not valid(start, end, label):
            continue
        merged.setdefault(_home(merged, start, end), set()).add(label)
    kept_signals = []
    for start, end, family in signals:
        if family not in SIGNAL_FAMILIES:
            warn(f"{doc_id}: unknown signal family {family!r} dropped")
        elif valid(start, end, f"signal {family}"):
            kept_signals.append((start, end, family))
    return ImportedDocument(doc_id, text, [(s, e, sorted(v)) for (s, e), v in sorted(merged.items())],
                            sorted(set(kept_signals)), dict(info or {}))


def _home(passages: dict[tuple[int, int], set[str]], start: int, end: int) -> tuple[int, int]:
    """The passage a label span belongs to: the same span, else the smallest passage holding it, else the one it
    overlaps most, else the span itself (a new passage)."""
    if (start, end) in passages:
        return (start, end)
    holding = [p for p in passages if p[0] <= start and end <= p[1]]
    if holding:
        return min(holding, key=lambda p: p[1] - p[0])
    overlaps = [(min(end, p[1]) - max(start, p[0]), p) for p in passages if min(end, p[1]) > max(start, p[0])]
    if overlaps:
        return max(overlaps)[1]
    return (start, end)


def _split_spans(doc_id: str, text: str, spans: Iterable[tuple[int, int, str]], info: dict[str, Any],
                 warnings: list[str] | None) -> ImportedDocument:
    """Span-based tools (doccano, Prodigy, brat): ``Passage`` spans, label spans, ``Signal_<family>`` spans."""
    passages, labels, signals = [], [], []
    for start, end, kind in spans:
        if kind == PASSAGE:
            passages.append((start, end, ()))
        elif kind.startswith(SIGNAL_PREFIX):
            signals.append((start, end, kind[len(SIGNAL_PREFIX):]))
        else:
            labels.append((start, end, kind))
    return assemble(doc_id, text, passages, labels, signals, info, warnings)


# ------------------------------------------------------------------------------------------------ entry point


def import_annotations(path: str | os.PathLike[str], fmt: str,
                       warnings: list[str] | None = None) -> list[dict[str, Any]]:
    """Corrected passages in the corpus format, read from a tool's export at ``path`` (a file or a folder).

    Problems that do not stop the import (a span outside the text, an unknown label…) go to ``warnings``.
    """
    records = [r for document in import_documents(path, fmt, warnings) for r in to_gold(document, warnings)]
    if warnings is not None:
        repeated = [i for i, n in Counter(r["id"] for r in records).items() if n > 1]
        if repeated:  # e.g. an INCEpTION project export holding several annotators' copies of a document
            warnings.append(f"{len(repeated)} passage ID(s) read more than once (several copies of a document?), "
                            f"e.g. {repeated[0]}")
    return records


def import_documents(path: str | os.PathLike[str], fmt: str,
                     warnings: list[str] | None = None) -> list[ImportedDocument]:
    """The documents of a tool's export, before they are cut into corpus records."""
    readers = {"brat": read_brat, "inception": read_inception, "doccano": read_doccano,
               "labelstudio": read_labelstudio, "prodigy": read_prodigy, "spacy": read_spacy, "jsonl": read_jsonl}
    if fmt not in readers:
        raise AnnotationImportError(f"cannot import {fmt!r} (readable: {', '.join(READABLE_FORMATS)})")
    path = Path(path)
    if not path.exists():
        raise AnnotationImportError(f"{path}: no such file or folder")
    try:
        return readers[fmt](path, warnings)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise AnnotationImportError(f"{path}: not a readable {fmt} export ({type(exc).__name__}: {exc})") from exc


def _json_lines(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8-sig") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def _index(folder: Path) -> dict[str, dict[str, Any]]:
    """The ``balise-documents.jsonl`` of an export folder (or of a parent), keyed by file name."""
    for candidate in [folder, *folder.parents][:3]:
        file = candidate / INDEX_FILE
        if file.exists():
            return {str(entry["file"]): entry for entry in _json_lines(file)}
    return {}


def _info(entry: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in entry.items() if k not in ("file", "id", "text")}


# ------------------------------------------------------------------------------------------------ readers


def read_jsonl(path: Path, warnings: list[str] | None = None) -> list[ImportedDocument]:
    """Annotated JSONL (``balise annotate`` output, possibly hand-edited) or corpus records."""
    documents = []
    for number, record in enumerate(_json_lines(path), 1):
        text = record.get("text")
        if not isinstance(text, str):
            if warnings is not None:
                warnings.append(f"{path}:{number}: no text; skipped")
            continue
        doc_id = str(record.get("id", f"{path.stem}-{number}"))
        meta = meta_of(record)
        info = {"genre": record.get("genre") or meta.get("genre"), "topic": record.get("topic") or meta.get("topic")}
        if "passages" in record:
            documents.append(assemble(doc_id, text, [(p["start"], p["end"], p.get("labels") or [])
                                                     for p in record["passages"]], (),
                                      [(s["start"], s["end"], s["family"]) for s in record.get("signals") or []],
                                      info, warnings))
        elif "labels" not in record:
            if warnings is not None:
                warnings.append(f"{path}:{number}: {doc_id} is not annotated (no passages, no labels); skipped")
        else:  # a corpus record: the whole text is the passage
            documents.append(assemble(doc_id, text, [(0, len(text), record.get("labels") or [])], (),
                                      [tuple(s) for s in record.get("signals") or []], info, warnings))
    return documents


def read_brat(path: Path, warnings: list[str] | None = None) -> list[ImportedDocument]:
    """A brat folder (or one ``.ann`` file): text-bound annotations ``Passage``, label IDs, ``Signal_<family>``.

    brat counts offsets in the text read with universal newlines; the index restores CR line ends, if any.
    """
    files = sorted(f for f in path.rglob("*.ann") if f.is_file()) if path.is_dir() else [path.with_suffix(".ann")]
    indexes: dict[Path, dict[str, dict[str, Any]]] = {}
    documents = []
    for ann in files:
        txt = ann.with_suffix(".txt")
        if not txt.exists():
            if warnings is not None:
                warnings.append(f"{ann}: no {txt.name} beside it; skipped")
            continue
        with txt.open(encoding="utf-8-sig", newline=None) as handle:  # universal newlines, as brat reads it
            text = handle.read()
        if ann.parent not in indexes:
            indexes[ann.parent] = _index(ann.parent)
        entry = indexes[ann.parent].get(ann.stem, {})
        doc_id = str(entry.get("id", ann.stem))
        spans = []
        for number, line in enumerate(ann.read_text(encoding="utf-8-sig").split("\n"), 1):
            line = line.rstrip("\r")
            if not line.startswith("T"):
                continue  # relations, events, attributes, notes: not used by balise
            match = re.match(r"T\S*\t(\S+) ([\d ;]+)(?:\t|$)", line)
            if not match:
                if warnings is not None:
                    warnings.append(f"{ann}:{number}: unreadable annotation line; skipped")
                continue
            pieces = [tuple(int(x) for x in piece.split()) for piece in match.group(2).split(";")]
            spans.append((min(p[0] for p in pieces), max(p[1] for p in pieces), match.group(1)))
        original = entry.get("text")
        if isinstance(original, str) and original != text:
            normalised, _, to_orig = newline_maps(original)
            if normalised == text:
                spans = [(to_orig[s], to_orig[e], kind) for s, e, kind in spans if e <= len(normalised)]
                text = original
            elif warnings is not None:
                warnings.append(f"{ann}: the text differs from the exported one; offsets kept as brat gives them")
        documents.append(_split_spans(doc_id, text, spans, _info(entry), warnings))
    return _in_export_order(documents, indexes.values())


def _in_export_order(documents: list[ImportedDocument],
                     indexes: Iterable[dict[str, dict[str, Any]]]) -> list[ImportedDocument]:
    """Documents in the order of the export's index (file names sort doc10 before doc2); others after."""
    rank: dict[str, int] = {}
    for index in indexes:
        for entry in index.values():
            rank.setdefault(str(entry.get("id")), len(rank))
    return sorted(documents, key=lambda d: rank.get(d.id, len(rank)))


def read_inception(path: Path, warnings: list[str] | None = None) -> list[ImportedDocument]:
    """UIMA CAS XMI files (a folder, searched recursively, or one file) with the balise passage and signal types.

    The type system is the ``typesystem.xml`` (any case) found beside the XMI or above it, else balise's own.
    The document is found by its file name, its DocumentMetaData title, or its folder (INCEpTION's project export
    puts ``annotation/<document>/<user>.xmi``).
    """
    from cassis import load_cas_from_xmi, load_typesystem

    # INCEpTION names a document's folder after it (``doc.xmi/``): files only
    files = sorted(f for f in path.rglob("*.xmi") if f.is_file()) if path.is_dir() else [path]
    root = path if path.is_dir() else path.parent
    index = _index(root)
    typesystems: dict[Path | None, Any] = {}
    documents = []
    for file in files:
        typesystem_file = _find_typesystem(file.parent, root)
        if typesystem_file not in typesystems:
            if typesystem_file is None:
                typesystems[typesystem_file] = build_typesystem()
            else:
                with typesystem_file.open("rb") as handle:
                    typesystems[typesystem_file] = load_typesystem(handle)
        typesystem = typesystems[typesystem_file]
        with file.open("rb") as handle:
            cas = load_cas_from_xmi(handle, typesystem=typesystem, lenient=True)
        text = cas.sofa_string or ""
        candidates = [file.stem]
        if typesystem.contains_type(DOCUMENT_METADATA):
            for meta in cas.select(DOCUMENT_METADATA):
                for name in ("documentTitle", "documentId"):
                    value = getattr(meta, name, None)
                    if value:
                        value = str(value)
                        candidates.insert(0, value.rsplit(".", 1)[0] if value.endswith((".xmi", ".txt")) else value)
        if file.parent != root and file.parent.suffix.lower() in (".xmi", ".txt", ".xml"):
            # annotation/<document>/<user>.xmi: the folder names the document, the file the annotator
            candidates.insert(len(candidates) - 1, file.parent.stem)
        key = next((c for c in candidates if c in index), candidates[0])
        entry = index.get(key, {})
        doc_id = str(entry.get("id", key))
        passages, signals = [], []
        if typesystem.contains_type(PASSAGE_TYPE):
            for annotation in cas.select(PASSAGE_TYPE):
                passages.append((annotation.begin, annotation.end, _passage_labels(annotation)))
        elif warnings is not None:
            warnings.append(f"{file}: no {PASSAGE_TYPE} layer in its type system")
        if typesystem.contains_type(SIGNAL_TYPE):
            for annotation in cas.select(SIGNAL_TYPE):
                family = getattr(annotation, FAMILY_FEATURE, None)
                if family:
                    signals.append((annotation.begin, annotation.end, str(family)))
                elif warnings is not None:
                    warnings.append(f"{file}: signal [{annotation.begin}:{annotation.end}] has no family; dropped")
        documents.append(assemble(doc_id, text, passages, (), signals, _info(entry), warnings))
    return _in_export_order(documents, [index])


def _find_typesystem(folder: Path, root: Path) -> Path | None:
    for candidate in [folder, *folder.parents]:
        for file in sorted(candidate.glob("*.xml")):
            if file.name.lower() == "typesystem.xml":
                return file
        if candidate == root or root not in candidate.parents:
            break
    return None


def _passage_labels(annotation: Any) -> list[str]:
    """The ticked booleans; the label-list string only when no boolean is set at all (a passage typed by hand)."""
    flags = {label: getattr(annotation, label, None) for label in LABELS}
    if any(value is not None for value in flags.values()):
        return [label for label, value in flags.items() if value]
    listed = getattr(annotation, LABEL_LIST_FEATURE, None) or ""
    return [label for label in re.split(r"[\s,;]+", str(listed)) if label]


def read_doccano(path: Path, warnings: list[str] | None = None) -> list[ImportedDocument]:
    """doccano's sequence-labelling JSONL: ``label`` as ``[[start, end, label]]``, or ``entities`` (overlapping
    spans project) as ``{start_offset, end_offset, label}``."""
    documents = []
    for number, line in enumerate(_json_lines(path), 1):
        text = line.get("text") or line.get("data") or ""
        meta = meta_of(line)
        doc_id = str(line.get("balise_id") or meta.get("balise_id") or line.get("id") or f"{path.stem}-{number}")
        spans: list[tuple[int, int, str]] = []
        for key in ("label", "labels"):
            for item in line.get(key) or []:
                if isinstance(item, (list, tuple)) and len(item) == 3:
                    spans.append((int(item[0]), int(item[1]), str(item[2])))
        for item in line.get("entities") or []:
            spans.append((int(item["start_offset"]), int(item["end_offset"]), str(item["label"])))
        info = {k: line.get(k) or meta.get(k) for k in ("genre", "topic")}
        documents.append(_split_spans(doc_id, text, spans, info, warnings))
    return documents


def read_prodigy(path: Path, warnings: list[str] | None = None) -> list[ImportedDocument]:
    """Prodigy JSONL (``prodigy db-out``): ``text``, ``spans`` and ``meta``; rejected and ignored examples are
    left out."""
    documents = []
    skipped: Counter[str] = Counter()
    for number, line in enumerate(_json_lines(path), 1):
        answer = line.get("answer", "accept")
        if answer != "accept":
            skipped[answer] += 1
            continue
        meta = meta_of(line)
        doc_id = str(meta.get("id") or meta.get("balise_id") or f"{path.stem}-{number}")
        spans = [(int(s["start"]), int(s["end"]), str(s["label"])) for s in line.get("spans") or []]
        documents.append(_split_spans(doc_id, line.get("text") or "", spans, meta, warnings))
    if warnings is not None:
        warnings += [f"{path}: {n} example(s) answered {answer!r} left out" for answer, n in sorted(skipped.items())]
    return documents


def read_labelstudio(path: Path, warnings: list[str] | None = None) -> list[ImportedDocument]:
    """Label Studio's JSON export (a list of tasks, or JSONL): the last submitted annotation of each task, else its
    first prediction. Regions of the ``marker`` control hold ``Passage`` and the passage's labels."""
    raw = path.read_text(encoding="utf-8-sig").strip()
    try:
        tasks = json.loads(raw)
    except json.JSONDecodeError:  # JSON lines
        tasks = [json.loads(line) for line in raw.splitlines() if line.strip()]
    if isinstance(tasks, dict):
        tasks = [tasks]
    documents = []
    for number, task in enumerate(tasks, 1):
        data = task.get("data") or {}
        text = data.get(LABEL_STUDIO_TEXT) or ""
        doc_id = str(data.get("balise_id") or task.get("id") or f"{path.stem}-{number}")
        annotations = [a for a in task.get("annotations") or [] if not a.get("was_cancelled")]
        if annotations:
            results = max(annotations, key=lambda a: str(a.get("updated_at") or a.get("created_at") or ""))["result"]
        elif task.get("predictions"):
            results = task["predictions"][0].get("result") or []
        else:
            results = []
        passages, labels, signals = [], [], []
        for result in results:
            value = result.get("value") or {}
            kinds = value.get("labels") or value.get("hypertextlabels") or []
            if "start" not in value or not kinds:
                continue
            start, end = int(value["start"]), int(value["end"])
            markers = [k for k in kinds if not k.startswith(SIGNAL_PREFIX)]
            if PASSAGE in markers:
                passages.append((start, end, [k for k in markers if k != PASSAGE]))
            else:
                labels += [(start, end, k) for k in markers]
            signals += [(start, end, k[len(SIGNAL_PREFIX):]) for k in kinds if k.startswith(SIGNAL_PREFIX)]
        info = {k: data.get(k) for k in ("genre", "topic")}
        documents.append(assemble(doc_id, text, passages, labels, signals, info, warnings))
    return documents


def read_spacy(path: Path, warnings: list[str] | None = None) -> list[ImportedDocument]:
    """A ``.spacy`` DocBin: ``doc.spans["balise_passages"]`` (a ``Passage`` span and one per label) and
    ``doc.spans["balise_signals"]``. Exact character offsets kept by the export are used where a span was not
    moved; a span moved or added in spaCy keeps its token boundaries."""
    from spacy.tokens import DocBin

    nlp = blank_french()
    documents = []
    for number, doc in enumerate(DocBin().from_disk(path).get_docs(nlp.vocab), 1):
        stored = doc.user_data.get("balise") or {}
        info = dict(stored.get("info") or {})
        doc_id = str(info.pop("id", f"{path.stem}-{number}"))
        spans = []
        for span in doc.spans.get(SPANS_PASSAGES, []):
            start, end = _exact(doc, span, stored.get("passages") or [])
            spans.append((start, end, span.label_))
        for span in doc.spans.get(SPANS_SIGNALS, []):
            start, end = _exact(doc, span, [c for c in stored.get("signals") or [] if c[2] == span.label_])
            family = span.label_.removeprefix(SIGNAL_PREFIX)
            spans.append((start, end, SIGNAL_PREFIX + family))
        documents.append(_split_spans(doc_id, doc.text, spans, info, warnings))
    return documents


def _exact(doc: Any, span: Any, candidates: Sequence[Sequence[Any]]) -> tuple[int, int]:
    """The exported character offsets of ``span`` when it still covers the tokens they expand to; else its own."""
    for candidate in candidates:
        expanded = doc.char_span(candidate[0], candidate[1], alignment_mode="expand")
        if expanded is not None and (expanded.start, expanded.end) == (span.start, span.end):
            return int(candidate[0]), int(candidate[1])
    return int(span.start_char), int(span.end_char)


# ------------------------------------------------------------------------------------------------ change report


@dataclass
class ChangeReport:
    """What reviewers changed against the machine annotations, passage by passage."""

    machine_passages: int = 0
    corrected_passages: int = 0
    matched: int = 0
    unchanged: int = 0
    new_passages: list[str] = field(default_factory=list)
    not_reviewed: int = 0
    labels: dict[str, dict[str, int]] = field(default_factory=lambda: {l: {"added": 0, "removed": 0} for l in LABELS})
    signals_added: list[tuple[str, int, int, str]] = field(default_factory=list)
    signals_removed: list[tuple[str, int, int, str]] = field(default_factory=list)
    changes: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "machine_passages": self.machine_passages, "corrected_passages": self.corrected_passages,
            "matched": self.matched, "unchanged": self.unchanged, "new_passages": list(self.new_passages),
            "not_reviewed": self.not_reviewed, "labels": {k: dict(v) for k, v in self.labels.items()},
            "signals_added": [list(s) for s in self.signals_added],
            "signals_removed": [list(s) for s in self.signals_removed],
            "changes": list(self.changes),
        }

    def summary(self) -> str:
        """The change report as the command line prints it."""
        lines = [(f"corrected passages: {self.corrected_passages}   matched to the machine's: {self.matched}   "
                  f"unchanged: {self.unchanged}   new: {len(self.new_passages)}   "
                  f"machine passages not in the corrections: {self.not_reviewed}")]
        lines.append(f"{'label':24} {'added':>6} {'removed':>8}")
        for label, counts in self.labels.items():
            lines.append(f"{label:24} {counts['added']:>6} {counts['removed']:>8}")
        lines.append(f"signals added: {len(self.signals_added)}   removed: {len(self.signals_removed)}")
        return "\n".join(lines)


def compare(machine_records: Iterable[dict[str, Any]],
            corrected_records: Iterable[dict[str, Any]]) -> ChangeReport:
    """Per label, the passages where reviewers added or removed it; the signals they added or removed.

    Either side may be annotated documents or corpus records. Passages are matched by ID, else by identical text
    (a tool that lost the document IDs).
    """
    machine = passage_records(machine_records)
    corrected = passage_records(corrected_records)
    report = ChangeReport(machine_passages=len(machine), corrected_passages=len(corrected))
    by_id = {r["id"]: r for r in machine}
    by_text: dict[str, list[dict[str, Any]]] = {}
    for record in machine:
        by_text.setdefault(record["text"], []).append(record)
    used: set[str] = set()
    for record in corrected:
        twin = by_id.get(record["id"])
        if twin is None or twin["id"] in used:
            twin = next((m for m in by_text.get(record["text"], []) if m["id"] not in used), None)
        if twin is None:
            report.new_passages.append(record["id"])
            continue
        used.add(twin["id"])
        report.matched += 1
        added = [label for label in record["labels"] if label not in twin["labels"]]
        removed = [label for label in twin["labels"] if label not in record["labels"]]
        for label in added:
            report.labels[label]["added"] += 1
        for label in removed:
            report.labels[label]["removed"] += 1
        before = {tuple(s) for s in twin["signals"]}
        after = {tuple(s) for s in record["signals"]}
        plus = sorted(after - before)
        minus = sorted(before - after)
        report.signals_added += [(record["id"], s, e, f) for s, e, f in plus]
        report.signals_removed += [(record["id"], s, e, f) for s, e, f in minus]
        if added or removed or plus or minus:
            report.changes.append({"id": record["id"], "labels_added": added, "labels_removed": removed,
                                   "signals_added": [list(s) for s in plus],
                                   "signals_removed": [list(s) for s in minus]})
        else:
            report.unchanged += 1
    report.not_reviewed = len(machine) - len(used)
    return report
