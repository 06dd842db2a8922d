"""Stage 6 — the gold corpus: reading it, checking it, splitting it.

A gold record is one JSON line: ``id``, ``text``, ``labels``, ``signals`` as ``[start, end, family]``,
``genre``, ``topic``. ``corpora/gold/`` holds ``train.jsonl`` and ``dev.jsonl``.
"""
from __future__ import annotations

import json
import os
import random
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .markers import LABELS
from .signals import FAMILIES

REQUIRED_FIELDS = ("id", "text", "labels", "signals", "genre", "topic")
SPLITS = ("train", "dev")
NEAR_DUPLICATE_JACCARD = 0.5
"""Two passages whose character 5-gram sets overlap this much (Jaccard) are near-duplicates."""


@dataclass
class CorpusRequirements:
    """The minimum counts a gold corpus must meet (issue: gold corpus)."""

    min_passages: int = 2000
    min_dev: int = 400
    min_dev_positives: int = 60
    min_label_positives: int = 300
    min_unlabelled_share: float = 0.40


@dataclass
class CorpusReport:
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    stats: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors


def read_jsonl_records(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    with Path(path).open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def read_gold(path: str | os.PathLike[str], split: str | None = None) -> list[dict[str, Any]]:
    """Records of a gold file, or of a gold folder (``split`` picks ``train`` or ``dev``; default both)."""
    path = Path(path)
    if path.is_file():
        return read_jsonl_records(path)
    names = [split] if split else list(SPLITS)
    records: list[dict[str, Any]] = []
    for name in names:
        file = path / f"{name}.jsonl"
        if file.exists():
            for record in read_jsonl_records(file):
                record.setdefault("split", name)
                records.append(record)
    return records


def label_matrix(records: Sequence[dict[str, Any]]) -> np.ndarray:
    return np.array([[int(label in r.get("labels", [])) for label in LABELS] for r in records], dtype=int)


# --------------------------------------------------------------------------------------------- checks


def _shingles(text: str, k: int = 5) -> set[str]:
    norm = re.sub(r"\W+", " ", text.lower()).strip()
    return {norm[i : i + k] for i in range(max(1, len(norm) - k + 1))}


def near_duplicates(
    texts: Sequence[str], threshold: float = NEAR_DUPLICATE_JACCARD
) -> list[tuple[int, int, float]]:
    """Pairs ``(i, j, jaccard)`` of texts whose character 5-gram sets overlap above ``threshold``.

    Sparse matrix product over hashed shingles: all pairs of a few thousand passages in about a second.
    """
    from scipy import sparse

    vocabulary: dict[str, int] = {}
    rows, cols = [], []
    for i, text in enumerate(texts):
        for gram in _shingles(text):
            rows.append(i)
            cols.append(vocabulary.setdefault(gram, len(vocabulary)))
    if not rows:
        return []
    matrix = sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(texts), len(vocabulary)))
    matrix.data[:] = 1.0
    sizes = np.asarray(matrix.sum(axis=1)).ravel()
    inter = (matrix @ matrix.T).tocoo()
    pairs = []
    for i, j, shared in zip(inter.row, inter.col, inter.data):
        if i < j:
            jaccard = shared / (sizes[i] + sizes[j] - shared)
            if jaccard >= threshold:
                pairs.append((int(i), int(j), float(jaccard)))
    return sorted(pairs)


def check_records(
    records: Sequence[dict[str, Any]], requirements: CorpusRequirements | None = None
) -> CorpusReport:
    """Schema, label IDs, signal offsets, duplicates across and within splits, and the minimum counts."""
    report = CorpusReport()
    seen_ids: set[str] = set()
    for number, record in enumerate(records, 1):
        where = f"record {number} ({record.get('id', '?')})"
        missing = [key for key in REQUIRED_FIELDS if key not in record]
        if missing:
            report.errors.append(f"{where}: missing field(s) {', '.join(missing)}")
            continue
        if record["id"] in seen_ids:
            report.errors.append(f"{where}: duplicate id")
        seen_ids.add(record["id"])
        text = record["text"]
        if not isinstance(text, str) or not text.strip():
            report.errors.append(f"{where}: empty text")
            continue
        unknown = [label for label in record["labels"] if label not in LABELS]
        if unknown:
            report.errors.append(f"{where}: unknown label(s) {unknown}")
        if len(set(record["labels"])) != len(record["labels"]):
            report.errors.append(f"{where}: repeated label")
        for signal in record["signals"]:
            ok = (
                isinstance(signal, list)
                and len(signal) == 3
                and isinstance(signal[0], int)
                and isinstance(signal[1], int)
                and 0 <= signal[0] < signal[1] <= len(text)
                and signal[2] in FAMILIES
            )
            if not ok:
                report.errors.append(f"{where}: bad signal {signal}")
            elif text[signal[0] : signal[1]] != text[signal[0] : signal[1]].strip():
                report.warnings.append(f"{where}: signal {signal} starts or ends with a space")
    texts = [r.get("text", "") for r in records]
    splits = [r.get("split", "") for r in records]
    for i, j, jaccard in near_duplicates(texts):
        a, b = records[i].get("id"), records[j].get("id")
        if splits[i] != splits[j]:
            report.errors.append(f"near-duplicate across splits: {a} ~ {b} (jaccard {jaccard:.2f})")
        else:
            report.warnings.append(f"near-duplicate within {splits[i] or 'corpus'}: {a} ~ {b} ({jaccard:.2f})")
    report.stats = corpus_stats(records)
    if requirements is not None:
        _check_counts(report, requirements)
    return report


def _check_counts(report: CorpusReport, req: CorpusRequirements) -> None:
    stats = report.stats
    if stats["passages"] < req.min_passages:
        report.errors.append(f"{stats['passages']} passages < {req.min_passages}")
    if stats["unlabelled_share"] < req.min_unlabelled_share:
        report.errors.append(f"unlabelled share {stats['unlabelled_share']:.2f} < {req.min_unlabelled_share}")
    for label in LABELS:
        if stats["labels"][label] < req.min_label_positives:
            report.errors.append(f"{label}: {stats['labels'][label]} positives < {req.min_label_positives}")
    dev = stats["splits"].get("dev")
    if dev is not None:
        if dev["passages"] < req.min_dev:
            report.errors.append(f"dev: {dev['passages']} passages < {req.min_dev}")
        for label in LABELS:
            if dev["labels"][label] < req.min_dev_positives:
                report.errors.append(f"dev {label}: {dev['labels'][label]} positives < {req.min_dev_positives}")


def corpus_stats(records: Sequence[dict[str, Any]]) -> dict[str, Any]:
    def block(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
        counts = Counter(label for r in rows for label in r.get("labels", []))
        return {
            "passages": len(rows),
            "labels": {label: counts[label] for label in LABELS},
            "unlabelled": sum(1 for r in rows if not r.get("labels")),
        }

    stats = block(records)
    stats["unlabelled_share"] = stats["unlabelled"] / max(1, len(records))
    stats["signals"] = dict(Counter(s[2] for r in records for s in r.get("signals", []) if len(s) == 3))
    stats["genres"] = dict(Counter(r.get("genre") for r in records).most_common())
    stats["topics"] = dict(Counter(r.get("topic") for r in records).most_common())
    stats["words"] = sum(len(r.get("text", "").split()) for r in records)
    stats["splits"] = {
        name: block([r for r in records if r.get("split") == name])
        for name in sorted({r.get("split") for r in records if r.get("split")})
    }
    return stats


def check_corpus(path: str | os.PathLike[str], requirements: CorpusRequirements | None = None) -> CorpusReport:
    """Check a gold file or folder (``balise corpus check``)."""
    return check_records(read_gold(path), requirements)


# --------------------------------------------------------------------------------------------- splitting


def stratified_split(
    records: Sequence[dict[str, Any]],
    dev_share: float = 0.22,
    min_dev_positives: int = 60,
    seed: int = 13,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Iterative stratification: the rarest label's passages are placed first, each into the split that is
    furthest below its target, so every label gets its share of dev (at least ``min_dev_positives``).

    Near-duplicate passages are kept together so that no dev passage has a twin in train.
    """
    rng = random.Random(seed)
    groups = _duplicate_groups([r["text"] for r in records])
    units = [[records[i] for i in group] for group in groups]
    rng.shuffle(units)
    Y = {id(u[0]): Counter(label for r in u for label in r["labels"]) for u in units}
    totals = Counter(label for r in records for label in r["labels"])
    want_dev = {label: max(min_dev_positives, round(totals[label] * dev_share)) for label in LABELS}
    want_dev_size = round(len(records) * dev_share)
    dev: list[dict[str, Any]] = []
    train: list[dict[str, Any]] = []
    dev_counts: Counter[str] = Counter()
    order = sorted(LABELS, key=lambda label: totals[label])
    placed: set[int] = set()
    for label in order:
        for unit in units:
            if id(unit[0]) in placed or label not in Y[id(unit[0])]:
                continue
            placed.add(id(unit[0]))
            if dev_counts[label] < want_dev[label] and len(dev) < want_dev_size * 1.15:
                dev.extend(unit)
                dev_counts.update(Y[id(unit[0])])
            else:
                train.extend(unit)
    unlabelled = [u for u in units if id(u[0]) not in placed]
    for unit in unlabelled:
        (dev if len(dev) < want_dev_size else train).extend(unit)
    return train, dev


def _duplicate_groups(texts: Sequence[str]) -> list[list[int]]:
    parent = list(range(len(texts)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, j, _ in near_duplicates(texts):
        parent[find(i)] = find(j)
    groups: dict[int, list[int]] = {}
    for i in range(len(texts)):
        groups.setdefault(find(i), []).append(i)
    return list(groups.values())


def write_jsonl(records: Iterable[dict[str, Any]], path: str | os.PathLike[str]) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    with tmp.open("w", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    os.replace(tmp, path)
