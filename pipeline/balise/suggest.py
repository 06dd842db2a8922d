"""Active learning: the passages the model is least sure about, for the next annotation round.

Why: an annotator's hour is best spent where a correction changes the model — passages whose score sits close to a
label's decision threshold — and never twice on the same story (syndicated copies, boilerplate), so near-duplicates
of a passage already picked are passed over. The picks are written in an annotation tool's format, each passage as
a document of its own whose ID is the passage ID of the corpus format, so that ``balise import`` and ``balise train
--add`` take the corrections straight back.
"""
from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .corpus import NEAR_DUPLICATE_JACCARD, near_duplicates
from .exports import ExportReport, export, passage_id, passages_of, signals_of
from .markers import LABELS

if TYPE_CHECKING:
    from .tagger import Tagger


@dataclass(eq=False)
class Candidate:
    """One passage and how unsure the model is about it (``margin``: distance of the closest score to its
    threshold; smaller is less sure)."""

    record: dict[str, Any]
    passage: dict[str, Any]
    margin: float
    label: str

    @property
    def text(self) -> str:
        return self.record["text"][self.passage["start"] : self.passage["end"]]


@dataclass
class SuggestResult:
    """The chosen passages (as one-passage documents, most uncertain first) and the export that wrote them."""

    records: list[dict[str, Any]] = field(default_factory=list)
    candidates: int = 0
    duplicates_skipped: int = 0
    report: ExportReport | None = None

    def summary(self) -> str:
        line = (f"{len(self.records)} passage(s) suggested out of {self.candidates} candidate(s) "
                f"({self.duplicates_skipped} near-duplicate(s) passed over)")
        if self.records:
            margins = [r["meta"]["balise_suggest"]["margin"] for r in self.records]
            line += f"; margins {min(margins):.3f}–{max(margins):.3f}"
        if self.report is not None:
            line += "\n" + self.report.summary()
        return line


def uncertainty(scores: Mapping[str, float], thresholds: Mapping[str, float]) -> tuple[float, str]:
    """The smallest ``|p − threshold|`` over the labels, and that label."""
    margins = [(abs(float(scores[label]) - thresholds[label]), label) for label in LABELS
               if label in scores and label in thresholds]
    if not margins:
        return float("inf"), ""
    return min(margins)


def load_records(items: Iterable[dict[str, Any] | str | os.PathLike[str]], tagger: Tagger | None = None,
                 rescore: bool = False, batch_size: int = 32) -> list[dict[str, Any]]:
    """Annotated records from a mix of records, annotated JSONL files (kept as they are unless ``rescore``) and
    any input ``balise annotate`` reads (tagged with ``tagger``)."""
    from .extract import Document, read_paths

    records: list[dict[str, Any]] = []
    to_tag: list[Document] = []
    raw_paths: list[str | os.PathLike[str]] = []
    for item in items:
        if isinstance(item, dict):
            records.append(item)
            continue
        path = Path(item)
        annotated = _annotated_lines(path) if path.is_file() and path.suffix == ".jsonl" else None
        if annotated is not None and not rescore:
            records += annotated
        elif annotated is not None:
            to_tag += [Document(id=str(r.get("id")), text=r["text"], source=r.get("source"), url=r.get("url"),
                                title=r.get("title"), date=r.get("date"), author=r.get("author"),
                                meta=dict(r.get("meta") or {})) for r in annotated if isinstance(r.get("text"), str)]
        else:
            raw_paths.append(item)
    if raw_paths:
        to_tag += [d for d in read_paths(raw_paths) if isinstance(d, Document)]
    if to_tag:
        if tagger is None:
            raise ValueError("a tagger is needed to score inputs that are not annotated")
        records += [doc.to_dict() for doc in tagger.pipe(to_tag, batch_size=batch_size)]
    return records


def _annotated_lines(path: Path) -> list[dict[str, Any]] | None:
    """The records of an annotated JSONL file, or ``None`` when it is an input file (no ``passages``)."""
    with path.open(encoding="utf-8") as handle:
        records = [json.loads(line) for line in handle if line.strip()]
    if records and all("passages" in r for r in records[:20]):
        return records
    return None


def suggest(
    records_or_inputs: Iterable[dict[str, Any] | str | os.PathLike[str]],
    tagger: Tagger | None,
    n: int,
    fmt: str | None = None,
    out: Path | str | None = None,
    *,
    thresholds: Mapping[str, float] | None = None,
    rescore: bool = False,
    min_words: int = 3,
    duplicate_threshold: float = NEAR_DUPLICATE_JACCARD,
    exclude_texts: Iterable[str] = (),
    force: bool = False,
) -> SuggestResult:
    """Pick the ``n`` passages where the model is least certain, no two of them near-duplicates, and write them in
    format ``fmt`` to ``out`` when both are given.

    Scores come from annotated records (or are computed with ``tagger`` for raw inputs, or for all with
    ``rescore``); thresholds are the model's (``tagger.thresholds``) unless given. Passages of fewer than
    ``min_words`` words, and near-duplicates of ``exclude_texts`` (passages already annotated), are left out.
    """
    if thresholds is None:
        if tagger is None:
            raise ValueError("give a tagger or the label thresholds")
        thresholds = tagger.thresholds
    records = load_records(records_or_inputs, tagger, rescore=rescore)
    candidates = []
    for record in records:
        text = record.get("text")
        if not isinstance(text, str):
            continue
        for passage in passages_of(record):
            if not passage.get("scores"):
                continue
            if len(text[passage["start"] : passage["end"]].split()) < min_words:
                continue
            margin, label = uncertainty(passage["scores"], thresholds)
            candidates.append(Candidate(record, passage, margin, label))
    candidates.sort(key=lambda c: (c.margin, str(c.record.get("id")), c.passage["start"]))
    excluded = list(exclude_texts)
    result = SuggestResult(candidates=len(candidates))
    chosen: list[Candidate] = []
    pool_size = max(4 * n, n + 50)
    start = 0
    while len(chosen) < n and start < len(candidates):
        pool = candidates[start : start + pool_size]
        start += len(pool)
        chosen += _pick(pool, chosen, excluded, n - len(chosen), duplicate_threshold)
    if chosen:
        # the candidates ranked above the last pick that were not picked were all near-duplicates
        last = next(i for i, c in enumerate(candidates) if c is chosen[-1])
        result.duplicates_skipped = last + 1 - len(chosen)
    result.records = [_one_passage_record(c, rank) for rank, c in enumerate(chosen, 1)]
    if fmt is not None and out is not None:
        result.report = export(result.records, fmt, out, force=force)
    return result


def _pick(pool: list[Candidate], chosen: list[Candidate], excluded: list[str], wanted: int,
          threshold: float) -> list[Candidate]:
    """Walk ``pool`` (most uncertain first) and keep the passages that are near-duplicates of nothing kept yet,
    nor of ``excluded`` texts."""
    fixed = [c.text for c in chosen] + excluded
    texts = fixed + [c.text for c in pool]
    neighbours: dict[int, set[int]] = {}
    for i, j, _ in near_duplicates(texts, threshold):
        neighbours.setdefault(i, set()).add(j)
        neighbours.setdefault(j, set()).add(i)
    blocked = set()
    for i in range(len(fixed)):
        blocked |= neighbours.get(i, set())
    picked = []
    for k, candidate in enumerate(pool):
        index = len(fixed) + k
        if index in blocked:
            continue
        picked.append(candidate)
        blocked |= neighbours.get(index, set())
        if len(picked) == wanted:
            break
    return picked


def _one_passage_record(candidate: Candidate, rank: int) -> dict[str, Any]:
    """A suggested passage as a document of its own, offsets shifted; its ID is the passage's corpus ID."""
    record, passage = candidate.record, candidate.passage
    start, end = passage["start"], passage["end"]
    text = record["text"][start:end]
    doc_id = str(record.get("id"))
    meta = dict(record.get("meta") or {})
    meta["balise_suggest"] = {"rank": rank, "margin": round(candidate.margin, 4), "closest_label": candidate.label,
                              "doc_id": doc_id, "start": start, "end": end}
    return {
        "id": passage_id(doc_id, start, end, len(record["text"])),
        "source": record.get("source"), "url": record.get("url"), "title": record.get("title"),
        "date": record.get("date"), "author": record.get("author"), "lang": record.get("lang"),
        "text": text,
        "labels": list(passage.get("labels") or []),
        "scores": dict(passage.get("scores") or {}),
        "passages": [{"start": 0, "end": len(text), "labels": list(passage.get("labels") or []),
                      "scores": dict(passage.get("scores") or {}),
                      "evidence": [{**e, "start": e["start"] - start, "end": e["end"] - start}
                                   for e in passage.get("evidence") or []
                                   if start <= e["start"] and e["end"] <= end]}],
        "signals": [{**s, "start": s["start"] - start, "end": s["end"] - start}
                    for s in signals_of(record) if start <= s["start"] and s["end"] <= end],
        "model": dict(record.get("model") or {}),
        "meta": meta,
    }
