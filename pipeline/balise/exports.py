"""The annotated corpus out: one small writer per researcher's tool.

Why: researchers read and correct the corpus in the tools they already use (INCEpTION, brat, doccano, Label Studio,
Prodigy, spaCy, IRaMuTeQ, TXM, a spreadsheet). Every writer takes records in the ``balise annotate`` output format
(``AnnotatedDocument.to_dict``) and keeps offsets exact, so that :mod:`balise.imports` reads the corrections back to
the same passages and signal spans.

The annotation tools share one scheme: a ``Passage`` span for every passage (so that a passage with no label is
still there to be corrected), one span per passage label with the label ID as its type, and ``Signal_<family>``
spans for the rupture signals. INCEpTION gets a passage type with one boolean feature per label instead.
"""
from __future__ import annotations

import contextlib
import csv
import json
import os
import re
import sys
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any
from urllib.parse import urlsplit

from .errors import BaliseError
from .markers import LABEL_NAMES, LABELS, SIGNAL_FAMILIES

if TYPE_CHECKING:
    from cassis import TypeSystem
    from spacy.language import Language

FORMATS: tuple[str, ...] = ("jsonl", "csv", "spacy", "brat", "inception", "doccano", "labelstudio", "prodigy",
                            "iramuteq", "txm")
"""Every export format, in the order ``balise export --help`` lists them."""
READABLE_FORMATS: tuple[str, ...] = ("jsonl", "spacy", "brat", "inception", "doccano", "labelstudio", "prodigy")
"""Formats :func:`balise.imports.import_annotations` reads back."""
FOLDER_FORMATS: tuple[str, ...] = ("brat", "inception", "txm")
"""Formats written as a folder of files; the others are one file (plus a side file for some tools)."""
STREAM_FORMATS: tuple[str, ...] = ("jsonl", "csv", "doccano", "prodigy")
"""Formats that can be written to standard output (``-o -``)."""
UNITS = ("passage", "document")

PASSAGE = "Passage"
"""Type of the span that marks a passage in the span-based tools (brat, doccano, Label Studio, Prodigy, spaCy)."""
SIGNAL_PREFIX = "Signal_"
INDEX_FILE = "balise-documents.jsonl"
"""Side file of the folder formats: file name → document ID and metadata, so that IDs survive the round trip."""
TYPESYSTEM_FILE = "typesystem.xml"
PASSAGE_TYPE = "balise.type.Passage"
SIGNAL_TYPE = "balise.type.Signal"
LABEL_LIST_FEATURE = "labels"
FAMILY_FEATURE = "family"
SPANS_PASSAGES = "balise_passages"
SPANS_SIGNALS = "balise_signals"
LABEL_STUDIO_MARKERS = "marker"
LABEL_STUDIO_SIGNALS = "signal"
LABEL_STUDIO_TEXT = "text"

COLOURS = {
    PASSAGE: "#d9d9d9",
    "beneficiaires": "#a6cee3",
    "ancrage_territorial": "#b2df8a",
    "gouvernance": "#fdbf6f",
    "accessibilite_service": "#cab2d6",
    "rupture": "#fb9a99",
    "changement_social": "#ffff99",
    "contrast": "#1f78b4",
    "rupture_verb": "#e31a1c",
    "first": "#33a02c",
    "shift": "#6a3d9a",
}


class ExportError(BaliseError):
    """An export cannot be written (unknown format, output folder not empty…)."""


@dataclass
class ExportReport:
    """What an export wrote, and which documents it left out and why."""

    format: str
    output: str
    documents: int = 0
    passages: int = 0
    files: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"format": self.format, "output": self.output, "documents": self.documents,
                "passages": self.passages, "files": list(self.files),
                "skipped": [{"id": i, "reason": r} for i, r in self.skipped]}

    def summary(self) -> str:
        """One or two lines for the command line."""
        line = f"{self.documents} document(s), {self.passages} passage(s) written as {self.format} to {self.output}"
        if self.skipped:
            reasons: dict[str, int] = {}
            for _, reason in self.skipped:
                reasons[reason] = reasons.get(reason, 0) + 1
            line += "\nskipped: " + ", ".join(f"{n} {reason}" for reason, n in sorted(reasons.items()))
        return line


# ------------------------------------------------------------------------------------------------ shared helpers


def signal_type(family: str) -> str:
    """Span type of a signal family in the annotation tools."""
    return f"{SIGNAL_PREFIX}{family}"


def passage_id(doc_id: str, start: int, end: int, length: int) -> str:
    """ID of a passage in the corpus format: the document ID when the passage is the whole text (a suggested
    passage exported on its own), else ``doc#start-end`` — stable across tools, unlike a passage index."""
    return str(doc_id) if (start, end) == (0, length) else f"{doc_id}#{start}-{end}"


def passages_of(record: dict[str, Any]) -> list[dict[str, Any]]:
    """The passages of an annotated record, in text order."""
    return sorted(record.get("passages") or [], key=lambda p: (p["start"], p["end"]))


def signals_of(record: dict[str, Any]) -> list[dict[str, Any]]:
    """The signals of an annotated record, in text order."""
    return sorted(record.get("signals") or [], key=lambda s: (s["start"], s["end"], s["family"]))


def meta_of(record: dict[str, Any]) -> dict[str, Any]:
    """The ``meta`` dict of a record (empty when missing or not a dict)."""
    meta = record.get("meta")
    return meta if isinstance(meta, dict) else {}


def doc_info(record: dict[str, Any]) -> dict[str, Any]:
    """Document ID and the metadata worth carrying through an annotation tool (``None`` values left out)."""
    meta = meta_of(record)
    info = {"id": str(record.get("id")), "source": record.get("source"), "url": record.get("url"),
            "title": record.get("title"), "date": record.get("date"), "author": record.get("author"),
            "lang": record.get("lang"), "genre": record.get("genre") or meta.get("genre"),
            "topic": record.get("topic") or meta.get("topic")}
    return {k: v for k, v in info.items() if v is not None}


def ascii_fold(text: str) -> str:
    """``text`` without accents (NFKD, combining marks dropped), for file names and IRaMuTeQ variables."""
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def file_stems(ids: Iterable[str], max_length: int = 80) -> list[str]:
    """A safe, unique file name (no extension) per document ID, in order: ASCII letters, digits, ``._-``."""
    stems: list[str] = []
    used: set[str] = set()
    for doc_id in ids:
        base = re.sub(r"[^A-Za-z0-9._-]+", "_", ascii_fold(str(doc_id))).strip("._-")[:max_length] or "document"
        stem, n = base, 2
        while stem.lower() in used:
            stem, n = f"{base}-{n}", n + 1
        used.add(stem.lower())
        stems.append(stem)
    return stems


def newline_maps(text: str) -> tuple[str, list[int], list[int]]:
    """``text`` with universal newlines (CRLF and lone CR → LF), and offset maps original → normalised and back.

    Why: brat reads its ``.txt`` files with universal newlines, so its offsets count a CRLF as one character.
    """
    if "\r" not in text:
        identity = list(range(len(text) + 1))
        return text, identity, identity
    out: list[str] = []
    to_norm = [0] * (len(text) + 1)
    to_orig: list[int] = []
    i = 0
    while i < len(text):
        to_norm[i] = len(out)
        to_orig.append(i)
        if text[i] == "\r":
            if text[i + 1 : i + 2] == "\n":
                to_norm[i + 1] = len(out)
                i += 1
            out.append("\n")
        else:
            out.append(text[i])
        i += 1
    to_norm[len(text)] = len(out)
    to_orig.append(len(text))
    return "".join(out), to_norm, to_orig


def _fragments(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """``[start, end)`` cut at line ends, as brat does for a span over several lines."""
    pieces = []
    position = start
    for line in re.split(r"(\n)", text[start:end]):
        if line == "\n":
            position += 1
            continue
        if line:
            pieces.append((position, position + len(line)))
        position += len(line)
    return pieces or [(start, end)]


@lru_cache(maxsize=1)
def blank_french() -> Language:
    """spaCy's French tokenizer alone (no model to download): enough to build ``Doc`` objects."""
    import spacy

    return spacy.blank("fr")


def _is_usable(record: dict[str, Any], report: ExportReport) -> bool:
    """Only annotated documents with passages go to the annotation and analysis tools."""
    if not isinstance(record.get("text"), str):
        report.skipped.append((str(record.get("id")), "no text"))
        return False
    if "passages" not in record:
        report.skipped.append((str(record.get("id")), "not annotated"))
        return False
    if not record["passages"]:
        report.skipped.append((str(record.get("id")), f"no passage (lang {record.get('lang')})"))
        return False
    return True


@contextlib.contextmanager
def _output_file(out: Path | str, newline: str | None = None, encoding: str = "utf-8") -> Iterator[IO[str]]:
    """A text file written under a temporary name and renamed at the end (``-`` is standard output), so that an
    interrupted export never leaves a half file under the final name."""
    if str(out) == "-":
        yield sys.stdout
        return
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    with tmp.open("w", encoding=encoding, newline=newline) as handle:
        yield handle
    os.replace(tmp, path)


def _prepare_folder(out: Path, force: bool) -> None:
    if out.exists() and not out.is_dir():
        raise ExportError(f"{out} is a file; this format writes a folder")
    if out.exists() and any(out.iterdir()) and not force:
        raise ExportError(f"{out} is not empty (files from an earlier export would be read back with the "
                          f"new ones); choose a new folder or force")
    out.mkdir(parents=True, exist_ok=True)


def _write_index(folder: Path, entries: list[dict[str, Any]]) -> Path:
    path = folder / INDEX_FILE
    with path.open("w", encoding="utf-8") as handle:
        for entry in entries:
            handle.write(json.dumps(entry, ensure_ascii=False) + "\n")
    return path


# ------------------------------------------------------------------------------------------------ entry point


def export(
    records: Iterable[dict[str, Any]],
    fmt: str,
    out: Path | str,
    per: str = "passage",
    *,
    force: bool = False,
) -> ExportReport:
    """Write annotated ``records`` in format ``fmt`` to ``out`` (a file, or a folder for brat, INCEpTION and TXM).

    ``per`` is the IRaMuTeQ unit (one text per passage or per document); the other formats keep documents whole
    (CSV has one row per passage). ``force`` lets a folder format write into a non-empty folder.
    """
    if fmt not in _WRITERS:
        raise ExportError(f"unknown format {fmt!r} (available: {', '.join(FORMATS)})")
    if per not in UNITS:
        raise ExportError(f"unknown unit {per!r} (passage or document)")
    if str(out) == "-" and fmt not in STREAM_FORMATS:
        raise ExportError(f"{fmt} cannot be written to standard output; give an output "
                          f"{'folder' if fmt in FOLDER_FORMATS else 'file'}")
    report = ExportReport(fmt, str(out))
    if fmt in FOLDER_FORMATS:
        _prepare_folder(Path(out), force)
    _WRITERS[fmt](records, out, report, per)
    if str(out) != "-" and fmt not in FOLDER_FORMATS:
        report.files.insert(0, str(out))
    return report


# ------------------------------------------------------------------------------------------------ writers


def _write_jsonl(records: Iterable[dict[str, Any]], out: Path | str, report: ExportReport, per: str) -> None:
    with _output_file(out) as handle:
        for record in records:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
            report.documents += 1
            report.passages += len(record.get("passages") or [])


def _write_csv(records: Iterable[dict[str, Any]], out: Path | str, report: ExportReport, per: str) -> None:
    # utf-8-sig: the byte-order mark makes Excel read accents right; LibreOffice and pandas ignore it
    with _output_file(out, newline="", encoding="utf-8" if str(out) == "-" else "utf-8-sig") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "source", "date", "passage", "start", "end", "text", "labels",
                         *[f"score_{label}" for label in LABELS], "signals"])
        for record in records:
            if not _is_usable(record, report):
                continue
            report.documents += 1
            text = record["text"]
            signals = signals_of(record)
            for number, passage in enumerate(passages_of(record)):
                start, end = passage["start"], passage["end"]
                inside = [s for s in signals if start <= s["start"] and s["end"] <= end]
                scores = passage.get("scores") or {}
                writer.writerow([
                    record.get("id"), record.get("source") or "", record.get("date") or "", number, start, end,
                    text[start:end], ";".join(passage.get("labels") or []),
                    *[scores.get(label, "") for label in LABELS],
                    " ; ".join(f"{s['family']}[{s['start']}:{s['end']}] {text[s['start']:s['end']]}" for s in inside),
                ])
                report.passages += 1


def _write_spacy(records: Iterable[dict[str, Any]], out: Path | str, report: ExportReport, per: str) -> None:
    from spacy.tokens import DocBin

    nlp = blank_french()
    docbin = DocBin(store_user_data=True)
    for record in records:
        if not _is_usable(record, report):
            continue
        doc = nlp.make_doc(record["text"])
        passages, signals = [], []
        exact_passages, exact_signals = [], []
        for passage in passages_of(record):
            span = doc.char_span(passage["start"], passage["end"], alignment_mode="expand")
            if span is None or not len(span):
                report.skipped.append((str(record.get("id")), "passage on whitespace only"))
                continue
            for label in [PASSAGE, *passage.get("labels", [])]:
                passages.append(doc.char_span(span.start_char, span.end_char, label=label))
            exact_passages.append([passage["start"], passage["end"]])
            report.passages += 1
        for signal in signals_of(record):
            span = doc.char_span(signal["start"], signal["end"], label=signal["family"], alignment_mode="expand")
            if span is not None and len(span):
                signals.append(span)
                exact_signals.append([signal["start"], signal["end"], signal["family"]])
        doc.spans[SPANS_PASSAGES] = [span for span in passages if span is not None]
        doc.spans[SPANS_SIGNALS] = signals
        doc.cats = {label: float(label in (record.get("labels") or [])) for label in LABELS}
        # the character offsets themselves, for the reader: a token-expanded span may be wider than the passage
        doc.user_data["balise"] = {"info": doc_info(record), "passages": exact_passages, "signals": exact_signals,
                                   "scores": dict(record.get("scores") or {})}
        docbin.add(doc)
        report.documents += 1
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    tmp.write_bytes(docbin.to_bytes())
    os.replace(tmp, path)


def _write_brat(records: Iterable[dict[str, Any]], out: Path | str, report: ExportReport, per: str) -> None:
    folder = Path(out)
    index: list[dict[str, Any]] = []
    usable = [r for r in records if _is_usable(r, report)]
    for record, stem in zip(usable, file_stems(r["id"] for r in usable)):
        original = record["text"]
        text, to_norm, _ = newline_maps(original)
        lines: list[str] = []
        for passage in passages_of(record):
            scores = passage.get("scores") or {}
            note = " ".join(f"{label}={scores[label]:.2f}" for label in LABELS if label in scores) or None
            span = (to_norm[passage["start"]], to_norm[passage["end"]])
            _brat_line(lines, text, PASSAGE, span, note)
            for label in passage.get("labels") or []:
                _brat_line(lines, text, label, span)
            report.passages += 1
        for signal in signals_of(record):
            _brat_line(lines, text, signal_type(signal["family"]), (to_norm[signal["start"]], to_norm[signal["end"]]))
        # written as bytes: no newline translation, so the .txt is exactly the text brat counts offsets in
        (folder / f"{stem}.txt").write_bytes(text.encode("utf-8"))
        (folder / f"{stem}.ann").write_bytes(("\n".join(lines) + "\n").encode("utf-8"))
        entry = {"file": stem, **doc_info(record)}
        if text != original:
            entry["text"] = original  # CR line ends, restored by the reader
        index.append(entry)
        report.documents += 1
    (folder / "annotation.conf").write_text(_brat_annotation_conf(), encoding="utf-8")
    (folder / "visual.conf").write_text(_brat_visual_conf(), encoding="utf-8")
    report.files += [str(_write_index(folder, index)), str(folder / "annotation.conf"), str(folder / "visual.conf")]


def _brat_line(lines: list[str], text: str, kind: str, span: tuple[int, int], note: str | None = None) -> None:
    """Append a text-bound annotation (cut at line ends, as brat does) and its note to ``lines``."""
    number = sum(1 for line in lines if line.startswith("T")) + 1
    pieces = _fragments(text, *span)
    spans = ";".join(f"{a} {b}" for a, b in pieces)
    covered = " ".join(text[a:b] for a, b in pieces)
    lines.append(f"T{number}\t{kind} {spans}\t{covered}")
    if note:
        lines.append(f"#{number}\tAnnotatorNotes T{number}\t{note}")


def _brat_annotation_conf() -> str:
    entities = [PASSAGE, *LABELS, *[signal_type(f) for f in SIGNAL_FAMILIES]]
    return ("# balise: passages, the six markers (a span over the passage per label) and the rupture signals\n"
            "[entities]\n" + "\n".join(entities) + "\n\n[relations]\n"
            "# passages, their labels and signals overlap by design\n"
            "<OVERLAP>\tArg1:<ENTITY>, Arg2:<ENTITY>, <OVL-TYPE>:<ANY>\n\n[events]\n\n[attributes]\n")


def _brat_visual_conf() -> str:
    labels = [f"{PASSAGE} | Passage", *[f"{label} | {LABEL_NAMES[label]} | {label}" for label in LABELS],
              *[f"{signal_type(f)} | Signal {f} | {f}" for f in SIGNAL_FAMILIES]]
    drawing = [f"{PASSAGE}\tbgColor:{COLOURS[PASSAGE]}", *[f"{label}\tbgColor:{COLOURS[label]}" for label in LABELS],
               *[f"{signal_type(f)}\tbgColor:{COLOURS[f]}, fgColor:white" for f in SIGNAL_FAMILIES],
               "SPAN_DEFAULT\tfgColor:black, bgColor:lightgreen, borderColor:darken",
               "ARC_DEFAULT\tcolor:black, arrowHead:triangle-5"]
    return "[labels]\n" + "\n".join(labels) + "\n\n[drawing]\n" + "\n".join(drawing) + "\n"


def build_typesystem() -> TypeSystem:
    """The UIMA type system of the INCEpTION export: a passage type with one boolean feature per label and the
    label list as a string, and a signal type with its family."""
    from cassis import TypeSystem

    typesystem = TypeSystem()
    passage = typesystem.create_type(PASSAGE_TYPE, supertypeName="uima.tcas.Annotation",
                                     description="A passage tagged by balise (tick the markers it shows)")
    for label in LABELS:
        typesystem.create_feature(passage, label, "uima.cas.Boolean", description=LABEL_NAMES[label])
    typesystem.create_feature(passage, LABEL_LIST_FEATURE, "uima.cas.String",
                              description="The machine's labels, space-separated (informative: the booleans count)")
    signal = typesystem.create_type(SIGNAL_TYPE, supertypeName="uima.tcas.Annotation",
                                    description="A rupture signal: " + ", ".join(SIGNAL_FAMILIES))
    typesystem.create_feature(signal, FAMILY_FEATURE, "uima.cas.String",
                              description="contrast, rupture_verb, first or shift")
    return typesystem


def _write_inception(records: Iterable[dict[str, Any]], out: Path | str, report: ExportReport, per: str) -> None:
    from cassis import Cas

    folder = Path(out)
    typesystem = build_typesystem()
    Passage, Signal = typesystem.get_type(PASSAGE_TYPE), typesystem.get_type(SIGNAL_TYPE)
    index: list[dict[str, Any]] = []
    usable = [r for r in records if _is_usable(r, report)]
    for record, stem in zip(usable, file_stems(r["id"] for r in usable)):
        cas = Cas(typesystem=typesystem)
        cas.sofa_string = record["text"]  # Python offsets are code points; cassis writes UTF-16 units to the XMI
        cas.sofa_mime = "text/plain"
        for passage in passages_of(record):
            labels = passage.get("labels") or []
            features = {label: label in labels for label in LABELS}
            cas.add(Passage(begin=passage["start"], end=passage["end"], **features,
                            **{LABEL_LIST_FEATURE: " ".join(labels)}))
            report.passages += 1
        for signal in signals_of(record):
            cas.add(Signal(begin=signal["start"], end=signal["end"], **{FAMILY_FEATURE: signal["family"]}))
        cas.to_xmi(str(folder / f"{stem}.xmi"))
        index.append({"file": stem, **doc_info(record)})
        report.documents += 1
    typesystem.to_xml(str(folder / TYPESYSTEM_FILE))
    report.files += [str(folder / TYPESYSTEM_FILE), str(_write_index(folder, index))]


def _spans(record: dict[str, Any]) -> list[tuple[int, int, str]]:
    """``(start, end, type)`` of the span-based tools: a ``Passage`` span and one per label for each passage, then
    the signals."""
    spans: list[tuple[int, int, str]] = []
    for passage in passages_of(record):
        spans.append((passage["start"], passage["end"], PASSAGE))
        spans += [(passage["start"], passage["end"], label) for label in passage.get("labels") or []]
    spans += [(s["start"], s["end"], signal_type(s["family"])) for s in signals_of(record)]
    return spans


def _span_types() -> list[str]:
    return [PASSAGE, *LABELS, *[signal_type(f) for f in SIGNAL_FAMILIES]]


def _side_file(out: Path | str, suffix: str) -> Path:
    path = Path(out)
    return path.with_name(f"{path.stem}{suffix}")


def _write_doccano(records: Iterable[dict[str, Any]], out: Path | str, report: ExportReport, per: str) -> None:
    with _output_file(out) as handle:
        for record in records:
            if not _is_usable(record, report):
                continue
            info = doc_info(record)
            line = {"text": record["text"], "label": [list(span) for span in _spans(record)],
                    "balise_id": info.pop("id"), **info}
            handle.write(json.dumps(line, ensure_ascii=False) + "\n")
            report.documents += 1
            report.passages += len(record["passages"])
    if str(out) != "-":
        labels = _side_file(out, ".labels.json")
        labels.write_text(json.dumps([{"text": kind, "suffix_key": None, "background_color": _colour(kind),
                                       "text_color": "#000000"} for kind in _span_types()],
                                     ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        report.files.append(str(labels))


def _colour(kind: str) -> str:
    return COLOURS.get(kind.removeprefix(SIGNAL_PREFIX), "#cccccc")


def _write_labelstudio(records: Iterable[dict[str, Any]], out: Path | str, report: ExportReport, per: str) -> None:
    tasks = []
    for record in records:
        if not _is_usable(record, report):
            continue
        text = record["text"]
        results = []
        for number, passage in enumerate(passages_of(record)):
            start, end = passage["start"], passage["end"]
            results.append(_ls_region(f"p{number}", LABEL_STUDIO_MARKERS, start, end, text,
                                      [PASSAGE, *(passage.get("labels") or [])]))
            report.passages += 1
        for number, signal in enumerate(signals_of(record)):
            results.append(_ls_region(f"s{number}", LABEL_STUDIO_SIGNALS, signal["start"], signal["end"], text,
                                      [signal_type(signal["family"])]))
        info = doc_info(record)
        model = record.get("model") or {}
        data: dict[str, Any] = {LABEL_STUDIO_TEXT: text, "balise_id": info.pop("id"), **info}
        tasks.append({"data": data,
                      "predictions": [{"model_version": f"{model.get('name', 'balise')} {model.get('version', '')}"
                                       .strip(), "result": results}]})
        report.documents += 1
    with _output_file(out) as handle:
        json.dump(tasks, handle, ensure_ascii=False, indent=1)
        handle.write("\n")
    config = _side_file(out, ".label_config.xml")
    config.write_text(labelstudio_config(), encoding="utf-8")
    report.files.append(str(config))


def _ls_region(region_id: str, control: str, start: int, end: int, text: str, labels: list[str]) -> dict[str, Any]:
    # Label Studio counts offsets in code points (as Python does) since label-studio-frontend#308
    return {"id": region_id, "from_name": control, "to_name": LABEL_STUDIO_TEXT, "type": "labels",
            "value": {"start": start, "end": end, "text": text[start:end], "labels": labels}}


def labelstudio_config() -> str:
    """The labeling interface: passage regions take several markers; signals are their own regions."""
    from xml.sax.saxutils import quoteattr

    markers = [(f'    <Label value="{PASSAGE}" background="{COLOURS[PASSAGE]}" hint="Passage (keep it, even with no '
                f'marker)"/>')]
    markers += [f'    <Label value="{label}" background="{COLOURS[label]}" hint={quoteattr(LABEL_NAMES[label])}/>'
                for label in LABELS]
    signals = [f'    <Label value="{signal_type(f)}" background="{COLOURS[f]}" hint={quoteattr(d)}/>'
               for f, d in SIGNAL_FAMILIES.items()]
    return ("<View>\n"
            f'  <Header value="Marqueurs (Passage + les marqueurs du passage)"/>\n'
            f'  <Labels name="{LABEL_STUDIO_MARKERS}" toName="{LABEL_STUDIO_TEXT}" choice="multiple">\n'
            + "\n".join(markers) + "\n  </Labels>\n"
            f'  <Header value="Signaux de rupture"/>\n'
            f'  <Labels name="{LABEL_STUDIO_SIGNALS}" toName="{LABEL_STUDIO_TEXT}">\n'
            + "\n".join(signals) + "\n  </Labels>\n"
            f'  <Text name="{LABEL_STUDIO_TEXT}" value="${LABEL_STUDIO_TEXT}"/>\n'
            "</View>\n")


def _write_prodigy(records: Iterable[dict[str, Any]], out: Path | str, report: ExportReport, per: str) -> None:
    with _output_file(out) as handle:
        for record in records:
            if not _is_usable(record, report):
                continue
            line = {"text": record["text"],
                    "spans": [{"start": s, "end": e, "label": kind} for s, e, kind in _spans(record)],
                    "meta": doc_info(record)}
            handle.write(json.dumps(line, ensure_ascii=False) + "\n")
            report.documents += 1
            report.passages += len(record["passages"])


# ------------------------------------------------------------------------------------------------ IRaMuTeQ, TXM


def iramuteq_name(value: str) -> str:
    """An IRaMuTeQ variable name: lower-case ASCII letters and digits only (the first ``_`` of a star ends it)."""
    return re.sub(r"[^a-z0-9]+", "", ascii_fold(value).lower()) or "x"


def iramuteq_value(value: str | None, default: str = "inconnu") -> str:
    """An IRaMuTeQ modality: no space, accent, hyphen or apostrophe (runs of them become one ``_``)."""
    if not value:
        return default
    cleaned = re.sub(r"[^a-z0-9]+", "_", ascii_fold(str(value)).lower()).strip("_")
    return cleaned or default


def source_name(record: dict[str, Any]) -> str | None:
    """A short name for the source of a document: the site name, the web host, or the file name."""
    meta = meta_of(record)
    if meta.get("sitename"):
        return str(meta["sitename"])
    for value in (record.get("url"), record.get("source")):
        if value and re.match(r"https?://", str(value)):
            host = urlsplit(str(value)).hostname or ""
            return host.removeprefix("www.") or None
    if record.get("source"):
        return Path(str(record["source"])).stem
    return None


def _month(date: str | None) -> str | None:
    match = re.match(r"(\d{4})(?:-(\d{2}))?", date or "")
    if not match:
        return None
    return match.group(1) + (f"_{match.group(2)}" if match.group(2) else "")


def _iramuteq_text(text: str) -> str:
    """A text body IRaMuTeQ will not misread: no ``*`` (it marks variables), no line opening with ``-*`` (a
    thematic line) or ``****`` (a new text)."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("*", " ")
    return "\n".join(line[1:] if line.startswith("-") and line[1:].lstrip().startswith("*") else line
                     for line in text.split("\n")).strip("\n")


def _write_iramuteq(records: Iterable[dict[str, Any]], out: Path | str, report: ExportReport, per: str) -> None:
    usable = [r for r in records if _is_usable(r, report)]
    stems = file_stems(r["id"] for r in usable)
    with _output_file(out, newline="\n") as handle:
        for record, stem in zip(usable, stems):
            report.documents += 1
            stars = [f"*doc_{iramuteq_value(stem)}", f"*source_{iramuteq_value(source_name(record))}",
                     f"*date_{iramuteq_value(_month(record.get('date')))}"]
            units = ([(p["start"], p["end"], p.get("labels") or []) for p in passages_of(record)] if per == "passage"
                     else [(0, len(record["text"]), record.get("labels") or [])])
            for start, end, labels in units:
                markers = [f"*marqueur_{iramuteq_value(label)}" for label in labels] or ["*marqueur_aucun"]
                body = _iramuteq_text(record["text"][start:end])
                if not body.strip():
                    continue
                handle.write("**** " + " ".join(stars + markers) + "\n" + body + "\n\n")
                report.passages += 1 if per == "passage" else len(record["passages"])


def _write_txm(records: Iterable[dict[str, Any]], out: Path | str, report: ExportReport, per: str) -> None:
    folder = Path(out)
    usable = [r for r in records if _is_usable(r, report)]
    rows = []
    for record, stem in zip(usable, file_stems(r["id"] for r in usable)):
        (folder / f"{stem}.txt").write_bytes(record["text"].encode("utf-8"))
        labels = record.get("labels") or []
        rows.append([stem, record.get("id"), source_name(record) or "", record.get("date") or "",
                     record.get("title") or "", *["oui" if label in labels else "non" for label in LABELS]])
        report.documents += 1
        report.passages += len(record["passages"])
    # TXM's TXT+CSV import: "id" matches the file names; column names are lower-case XML names
    with (folder / "metadata.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "balise_id", "source", "date", "title", *LABELS])
        writer.writerows(rows)
    report.files.append(str(folder / "metadata.csv"))


_WRITERS: dict[str, Callable[[Iterable[dict[str, Any]], Path | str, ExportReport, str], None]] = {
    "jsonl": _write_jsonl,
    "csv": _write_csv,
    "spacy": _write_spacy,
    "brat": _write_brat,
    "inception": _write_inception,
    "doccano": _write_doccano,
    "labelstudio": _write_labelstudio,
    "prodigy": _write_prodigy,
    "iramuteq": _write_iramuteq,
    "txm": _write_txm,
}
