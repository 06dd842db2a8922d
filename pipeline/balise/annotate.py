"""Stage 5 — the batch job: read inputs, tag them, write one JSON line a document as each one finishes.

A crash loses at most the document in flight; ``resume=True`` skips the documents already in the output (a
half-written last line is cut off first). Bad inputs are counted in the summary with their reason and never
stop the batch.
"""
from __future__ import annotations

import json
import os
import sys
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from .extract import Document, Skipped, read_paths
from .preprocess import FRENCH
from .tagger import AnnotatedDocument, Tagger, load


@dataclass
class RunSummary:
    """What a run did; ``skipped`` keeps every input that gave no annotated document, with its reason."""

    read: int = 0
    tagged: int = 0
    not_french: int = 0
    already_done: int = 0
    passages: int = 0
    words: int = 0
    elapsed: float = 0.0
    skipped: list[Skipped] = field(default_factory=list)
    labels: Counter[str] = field(default_factory=Counter)
    output: str | None = None

    @property
    def words_per_second(self) -> float:
        return self.words / self.elapsed if self.elapsed > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "output": self.output,
            "documents_read": self.read,
            "documents_tagged": self.tagged,
            "documents_not_french": self.not_french,
            "documents_already_in_output": self.already_done,
            "skipped": [{"source": s.source, "reason": s.reason} for s in self.skipped],
            "passages": self.passages,
            "words": self.words,
            "elapsed_seconds": round(self.elapsed, 3),
            "words_per_second": round(self.words_per_second, 1),
            "documents_per_label": dict(self.labels),
        }

    def skipped_by_reason(self) -> Counter[str]:
        return Counter(s.reason for s in self.skipped)


class JsonlWriter:
    """Appends one JSON object a line and flushes it at once, so finished documents survive a crash."""

    def __init__(self, path: str | os.PathLike[str], resume: bool = False) -> None:
        self.path = Path(path)
        self.done: set[str] = set()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if resume and self.path.exists():
            self.done = _repair_and_collect_ids(self.path)
            self._handle: IO[str] = self.path.open("a", encoding="utf-8")
        else:
            self._handle = self.path.open("w", encoding="utf-8")

    def write(self, record: dict[str, Any]) -> None:
        self._handle.write(json.dumps(record, ensure_ascii=False) + "\n")
        self._handle.flush()
        self.done.add(str(record.get("id")))

    def close(self) -> None:
        if not self._handle.closed:
            self._handle.flush()
            os.fsync(self._handle.fileno())
            self._handle.close()

    def __enter__(self) -> JsonlWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _repair_and_collect_ids(path: Path) -> set[str]:
    """IDs of the complete lines of an output file; a truncated last line (killed mid-write) is removed."""
    ids: set[str] = set()
    good_end = 0
    with path.open("rb") as handle:
        for raw in handle:
            if not raw.endswith(b"\n"):
                break
            try:
                record = json.loads(raw)
            except json.JSONDecodeError:
                break
            ids.add(str(record.get("id")))
            good_end += len(raw)
    if good_end != path.stat().st_size:
        with path.open("r+b") as handle:
            handle.truncate(good_end)
    return ids


def annotate(
    inputs: Iterable[str | os.PathLike[str]],
    output: str | os.PathLike[str],
    tagger: Tagger | None = None,
    resume: bool = False,
    batch_size: int = 32,
    n_process: int = 1,
    progress: bool | None = None,
) -> RunSummary:
    """Annotate every document found in ``inputs`` (files and folders) into the JSONL file ``output``."""
    return annotate_documents(read_paths(inputs), output, tagger, resume, batch_size, n_process, progress)


def annotate_documents(
    documents: Iterable[Document | Skipped],
    output: str | os.PathLike[str],
    tagger: Tagger | None = None,
    resume: bool = True,
    batch_size: int = 32,
    n_process: int = 1,
    progress: bool | None = False,
) -> RunSummary:
    """Annotate documents already in memory (crawled pages, for instance); :class:`Skipped` items go to the
    summary. With ``resume`` the documents whose id is already in ``output`` are left out."""
    tagger = tagger or load()
    summary = RunSummary(output=str(output))
    started = time.perf_counter()
    with JsonlWriter(output, resume=resume) as writer:
        stream = _documents(iter(documents), summary, set(writer.done), set(writer.done))
        results = tagger.pipe(stream, batch_size=batch_size, n_process=n_process)
        for result in _with_progress(results, summary, progress):
            writer.write(result.to_dict())
            _count(result, summary)
    summary.elapsed = time.perf_counter() - started
    return summary


def _documents(
    items: Iterator[Document | Skipped], summary: RunSummary, seen: set[str], done: set[str]
) -> Iterator[Document]:
    for item in items:
        if isinstance(item, Skipped):
            summary.skipped.append(item)
            continue
        if item.id in done:
            summary.already_done += 1
            continue
        if item.id in seen:
            summary.skipped.append(Skipped(item.source or item.id, f"duplicate id '{item.id}'"))
            continue
        seen.add(item.id)
        summary.read += 1
        yield item


def _count(result: AnnotatedDocument, summary: RunSummary) -> None:
    if result.lang not in (FRENCH, "und"):
        summary.not_french += 1
        return
    summary.tagged += 1
    summary.passages += len(result.passages)
    summary.words += len(result.text.split())
    summary.labels.update(result.labels)


def _with_progress(
    results: Iterator[AnnotatedDocument], summary: RunSummary, progress: bool | None
) -> Iterator[AnnotatedDocument]:
    if progress is None:
        progress = sys.stderr.isatty()
    if not progress:
        yield from results
        return
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    columns = (SpinnerColumn(), TextColumn("{task.description}"), TextColumn("{task.completed} documents"),
               TimeElapsedColumn())
    with Progress(*columns, transient=True) as bar:
        task = bar.add_task("annotating", total=None)
        for result in results:
            yield result
            bar.update(task, advance=1, description=f"annotating {result.id[-40:]}")
