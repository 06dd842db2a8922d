"""Honest evaluation: per-label precision, recall and F1, the keyword baseline beside the model, the most
frequent confusions, calibration (Brier score, reliability table), ranking (ROC AUC, average precision: how well
the probabilities order the items, whatever the thresholds), bootstrap intervals (how far each F1 could move with
another sample of the same size) and rupture-signal span scores.

Gold data is scored at the level it is annotated: a gold passage is one document made of that passage; a
document of a real-data file (``id``, ``text``, ``labels``) is labelled by any of its passages.
"""
from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .classifier import KeywordBaseline
from .extract import normalise_text
from .features import PassageFeatures
from .markers import LABELS
from .preprocess import paragraph_spans
from .signals import Signal
from .tagger import Tagger


@dataclass
class LabelScores:
    precision: float
    recall: float
    f1: float
    support: int


@dataclass
class Scores:
    per_label: dict[str, LabelScores]
    macro_f1: float
    micro_f1: float
    n: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "macro_f1": round(self.macro_f1, 4),
            "micro_f1": round(self.micro_f1, 4),
            "per_label": {
                label: {k: round(v, 4) if isinstance(v, float) else v for k, v in s.__dict__.items()}
                for label, s in self.per_label.items()
            },
        }


@dataclass
class Evaluation:
    model: Scores
    baseline: Scores
    confusions: list[tuple[str, str, int]]
    brier: dict[str, float]
    reliability: list[dict[str, float]]
    ranking: dict[str, dict[str, float | None]] = field(default_factory=dict)
    intervals: dict[str, Any] = field(default_factory=dict)
    by_genre: dict[str, dict[str, float]] = field(default_factory=dict)
    signals: dict[str, Any] = field(default_factory=dict)
    errors: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model.to_dict(),
            "keyword_baseline": self.baseline.to_dict(),
            "confusions": [{"missed": a, "predicted_instead": b, "count": n} for a, b, n in self.confusions],
            "brier": {k: round(v, 4) for k, v in self.brier.items()},
            "reliability": self.reliability,
            "ranking": self.ranking,
            "intervals": self.intervals,
            "by_genre": self.by_genre,
            "signals": self.signals,
        }


def scores(Y: np.ndarray, P: np.ndarray) -> Scores:
    per_label = {}
    tp_all = fp_all = fn_all = 0
    for j, label in enumerate(LABELS):
        tp = int(np.sum((P[:, j] == 1) & (Y[:, j] == 1)))
        fp = int(np.sum((P[:, j] == 1) & (Y[:, j] == 0)))
        fn = int(np.sum((P[:, j] == 0) & (Y[:, j] == 1)))
        tp_all, fp_all, fn_all = tp_all + tp, fp_all + fp, fn_all + fn
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0
        per_label[label] = LabelScores(precision, recall, f1, int(Y[:, j].sum()))
    macro = float(np.mean([s.f1 for s in per_label.values()]))
    micro = 2 * tp_all / max(1, 2 * tp_all + fp_all + fn_all)
    return Scores(per_label, macro, micro, len(Y))


def bootstrap_intervals(Y: np.ndarray, P: np.ndarray, resamples: int = 1000, level: float = 0.95,
                        seed: int = 0) -> dict[str, Any]:
    """Percentile intervals of macro-F1 and of each label's F1 over ``resamples`` samples of the items drawn
    with replacement. On a small labelled set (80 real sheets, 4 positives of a label) one item more or less
    moves a figure a lot; the interval says how much, so that two figures are not compared beyond their noise."""
    if resamples < 1 or not 0 < level < 1:
        raise ValueError("resamples must be >= 1 and level in (0, 1)")
    Y, P = np.asarray(Y, dtype=bool), np.asarray(P, dtype=bool)
    if not len(Y):
        return {}
    rng = np.random.default_rng(seed)
    weights = rng.multinomial(len(Y), np.full(len(Y), 1 / len(Y)), size=resamples)  # (resamples, items)
    tp, fp, fn = (weights @ (P & Y), weights @ (P & ~Y), weights @ (~P & Y))  # (resamples, labels)
    denominator = 2 * tp + fp + fn
    f1 = np.divide(2 * tp, denominator, out=np.zeros(tp.shape), where=denominator > 0)
    tail = (1 - level) / 2 * 100

    def interval(values: np.ndarray) -> list[float]:
        return [round(float(v), 4) for v in np.percentile(values, [tail, 100 - tail])]

    return {"level": level, "resamples": resamples, "seed": seed, "macro_f1": interval(f1.mean(axis=1)),
            "per_label": {label: interval(f1[:, j]) for j, label in enumerate(LABELS)}}


def by_group(Y: np.ndarray, P: np.ndarray, groups: Sequence[str]) -> dict[str, dict[str, float]]:
    """Per group (a genre): items, items with a label, micro-F1 over its label decisions and the share of items
    whose whole label set is right. Micro rather than macro: a small group lacks some labels altogether."""
    out = {}
    for group in sorted(set(groups), key=lambda g: (-list(groups).count(g), g)):
        mask = np.array([g == group for g in groups])
        y, p = Y[mask], P[mask]
        tp, fp, fn = int(np.sum(p & y)), int(np.sum(p & (1 - y))), int(np.sum((1 - p) & y))
        out[group] = {"n": int(mask.sum()), "labelled": int(y.any(axis=1).sum()),
                      "micro_f1": round(2 * tp / (2 * tp + fp + fn), 4) if tp + fp + fn else 1.0,
                      "exact": round(float(np.mean((y == p).all(axis=1))), 4)}
    return out


def confusions(Y: np.ndarray, P: np.ndarray, top: int = 8) -> list[tuple[str, str, int]]:
    """Pairs (gold label missed, other label predicted instead) counted over items."""
    counts: Counter[tuple[str, str]] = Counter()
    for y, p in zip(Y, P):
        missed = [LABELS[j] for j in range(len(LABELS)) if y[j] and not p[j]]
        extra = [LABELS[j] for j in range(len(LABELS)) if p[j] and not y[j]]
        for a in missed:
            for b in extra:
                counts[(a, b)] += 1
            if not extra:
                counts[(a, "(nothing)")] += 1
        if not missed:
            for b in extra:
                counts[("(nothing)", b)] += 1
    return [(a, b, n) for (a, b), n in counts.most_common(top)]


def calibration(Y: np.ndarray, proba: np.ndarray, bins: int = 10) -> tuple[dict[str, float], list[dict[str, float]]]:
    brier = {label: float(np.mean((proba[:, j] - Y[:, j]) ** 2)) for j, label in enumerate(LABELS)}
    flat_p, flat_y = proba.ravel(), Y.ravel()
    table = []
    edges = np.linspace(0, 1, bins + 1)
    for k in range(bins):
        low, high = edges[k], edges[k + 1]
        mask = (flat_p >= low) & ((flat_p < high) if k < bins - 1 else (flat_p <= high))
        if mask.any():
            table.append({"bin": f"{low:.1f}-{high:.1f}", "n": int(mask.sum()),
                          "mean_predicted": round(float(flat_p[mask].mean()), 3),
                          "observed_rate": round(float(flat_y[mask].mean()), 3)})
    return brier, table


def ranking(Y: np.ndarray, proba: np.ndarray) -> dict[str, dict[str, float | None]]:
    """Per label, ROC AUC and average precision of the probabilities (``None`` when a label has no positive or
    no negative item). They say whether reading the items in order of probability finds the label, which stays
    useful where the thresholds, tuned on the training data, do not transfer."""
    from sklearn.metrics import average_precision_score, roc_auc_score

    out: dict[str, dict[str, float | None]] = {}
    for j, label in enumerate(LABELS):
        defined = 0 < Y[:, j].sum() < len(Y)
        out[label] = {
            "roc_auc": round(float(roc_auc_score(Y[:, j], proba[:, j])), 4) if defined else None,
            "average_precision": round(float(average_precision_score(Y[:, j], proba[:, j])), 4) if defined else None,
        }
    return out


# --------------------------------------------------------------------------------------------- signals


def signal_scores(gold: Sequence[Sequence[tuple[int, int, str]]], found: Sequence[Sequence[Signal]]) -> dict[str, Any]:
    """Span precision and recall with overlap matching (a found span is right when it overlaps a gold span of
    the same family), overall and per family."""
    out: dict[str, Any] = {}
    for family in (None, "contrast", "rupture_verb", "first", "shift"):
        tp_p = n_found = tp_r = n_gold = 0
        for g, f in zip(gold, found):
            g_spans = [(s, e) for s, e, fam in g if family is None or fam == family]
            f_spans = [(s.start, s.end) for s in f if family is None or s.family == family]
            g_fam = [(s, e, fam) for s, e, fam in g]
            f_fam = [(s.start, s.end, s.family) for s in f]
            n_found += len(f_spans)
            n_gold += len(g_spans)
            tp_p += sum(1 for s, e, fam in f_fam if (family is None or fam == family)
                        and any(s < ge and gs < e and fam == gf for gs, ge, gf in g_fam))
            tp_r += sum(1 for s, e, fam in g_fam if (family is None or fam == family)
                        and any(s < fe and fs < e and fam == ff for fs, fe, ff in f_fam))
        precision = tp_p / n_found if n_found else 0.0
        recall = tp_r / n_gold if n_gold else 0.0
        out[family or "all"] = {"precision": round(precision, 4), "recall": round(recall, 4),
                                "found": n_found, "gold": n_gold}
    return out


# --------------------------------------------------------------------------------------------- running


def _document_features(
    tagger: Tagger, records: Sequence[dict[str, Any]], batch_size: int = 64, n_process: int = 1
) -> list[tuple[list[PassageFeatures], list[Signal]]]:
    """Passage features and signals of each record, through the same path as annotation."""
    texts = [normalise_text(r["text"]) for r in records]
    items = []
    for i, text in enumerate(texts):
        for start, end in paragraph_spans(text):
            items.append((text[start:end], (i, start)))
    per_record: list[tuple[list[PassageFeatures], list[Signal]]] = [([], []) for _ in records]
    for doc, (i, start) in tagger.nlp.pipe(items, as_tuples=True, batch_size=batch_size, n_process=n_process):
        features, _spans, signals = tagger._passages_of(doc, start)
        per_record[i][0].extend(features)
        per_record[i][1].extend(signals)
    return per_record


def _document_proba(model: Any, per_record: list[tuple[list[PassageFeatures], list[Signal]]]) -> np.ndarray:
    flat = [f for features, _ in per_record for f in features]
    proba = model.predict_proba(flat) if flat else np.zeros((0, len(LABELS)))
    out = np.zeros((len(per_record), len(LABELS)))
    position = 0
    for i, (features, _) in enumerate(per_record):
        if features:
            out[i] = proba[position : position + len(features)].max(axis=0)
        position += len(features)
    return out


def evaluate_records(tagger: Tagger, records: Sequence[dict[str, Any]], n_process: int = 1,
                     resamples: int = 1000) -> Evaluation:
    """Score the tagger and the keyword baseline on gold records (passages or whole documents); ``resamples``
    bootstrap samples give the 95 % intervals (0 leaves them out)."""
    per_record = _document_features(tagger, records, n_process=n_process)
    Y = np.array([[int(label in r.get("labels", [])) for label in LABELS] for r in records], dtype=int)
    proba = _document_proba(tagger.bundle.classifier, per_record)
    P = (proba >= np.array([tagger.thresholds[label] for label in LABELS])).astype(int)
    baseline = KeywordBaseline().fit([])
    B = (_document_proba(baseline, per_record) >= baseline.thresholds_).astype(int)
    brier, table = calibration(Y, proba)
    evaluation = Evaluation(scores(Y, P), scores(Y, B), confusions(Y, P), brier, table, ranking(Y, proba),
                            bootstrap_intervals(Y, P, resamples) if resamples else {})
    if records and all(r.get("genre") for r in records):
        evaluation.by_genre = by_group(Y, P, [str(r["genre"]) for r in records])
    if records and all("signals" in r for r in records):
        gold_signals = [[tuple(s) for s in r["signals"]] for r in records]
        evaluation.signals = signal_scores(gold_signals, [signals for _, signals in per_record])  # type: ignore[arg-type]
    for r, y, p, row in zip(records, Y, P, proba):
        if (y != p).any():
            evaluation.errors.append({
                "id": r.get("id"), "genre": r.get("genre"),
                "missed": [LABELS[j] for j in range(len(LABELS)) if y[j] and not p[j]],
                "extra": [LABELS[j] for j in range(len(LABELS)) if p[j] and not y[j]],
                "scores": {LABELS[j]: round(float(row[j]), 3) for j in range(len(LABELS))},
            })
    return evaluation


def format_evaluation(evaluation: Evaluation, title: str = "") -> str:
    """A plain-text report (the same numbers go to the model card)."""
    m, b = evaluation.model, evaluation.baseline
    lines = [title] if title else []
    intervals = evaluation.intervals
    lines.append(f"{'label':24} {'P':>6} {'R':>6} {'F1':>6} {_interval_header(intervals):>12} {'support':>8}   "
                 f"{'baseline F1':>11}   {'AUC':>6} {'AP':>6}")
    for label in LABELS:
        s, k = m.per_label[label], b.per_label[label]
        rank = evaluation.ranking.get(label, {})
        auc, ap = (_number(rank.get(key)) for key in ("roc_auc", "average_precision"))
        span = _interval(intervals.get("per_label", {}).get(label))
        lines.append(f"{label:24} {s.precision:6.3f} {s.recall:6.3f} {s.f1:6.3f} {span:>12} {s.support:8d}   "
                     f"{k.f1:11.3f}   {auc:>6} {ap:>6}")
    lines.append(f"{'macro F1':24} {'':6} {'':6} {m.macro_f1:6.3f} {_interval(intervals.get('macro_f1')):>12} "
                 f"{m.n:8d}   {b.macro_f1:11.3f}")
    lines.append(f"{'micro F1':24} {'':6} {'':6} {m.micro_f1:6.3f} {'':12} {'':8}   {b.micro_f1:11.3f}")
    lines.append("")
    if intervals:
        lines.append(f"{_interval_header(intervals)}: percentile interval of F1 over {intervals['resamples']} "
                     f"bootstrap samples of the {m.n} items (seed {intervals['seed']}).")
    lines.append("Brier score: " + ", ".join(f"{k} {v:.3f}" for k, v in evaluation.brier.items()))
    lines.append("Most frequent confusions (gold missed → predicted instead):")
    for a, c, n in evaluation.confusions:
        lines.append(f"  {a} → {c}: {n}")
    if evaluation.by_genre:
        lines.append("By genre (micro F1 over the label decisions; exact: share of items whose label set is right):")
        for genre, row in evaluation.by_genre.items():
            lines.append(f"  {genre:22} n {row['n']:5d}  with a label {row['labelled']:5d}  micro F1 "
                         f"{row['micro_f1']:.3f}  exact {row['exact']:.3f}")
    if evaluation.signals:
        lines.append("Rupture signals (overlap match):")
        for family, s in evaluation.signals.items():
            lines.append(f"  {family:13} P {s['precision']:.3f}  R {s['recall']:.3f}  (found {s['found']}, "
                         f"gold {s['gold']})")
    return "\n".join(lines)


def _interval_header(intervals: dict[str, Any]) -> str:
    return f"{round(intervals.get('level', 0.95) * 100):g}% interval"


def _interval(values: Sequence[float] | None) -> str:
    return "-" if not values else f"{values[0]:.2f}-{values[1]:.2f}"


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def dump_errors(evaluation: Evaluation, path: str) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        for error in evaluation.errors:
            handle.write(json.dumps(error, ensure_ascii=False) + "\n")


__all__ = ["Evaluation", "bootstrap_intervals", "by_group", "evaluate_records", "format_evaluation", "ranking", "scores",
           "signal_scores"]
