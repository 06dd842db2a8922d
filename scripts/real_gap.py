"""Where the gap between dev and a labelled sample of real documents comes from: thresholds, or ranking.

    python scripts/real_gap.py --data ../shared/real-dev/apriles-dev.jsonl [--gold corpora/gold] [--model NAME]

For dev, for dev passages padded with an unlabelled neighbour (does unrelated text drown the evidence?) and
for the sample, and for three ways of scoring a document with the shipped model (each passage as
annotation does it; each sentence; each window of two sentences — a document's score is the maximum over its
units), it prints per label:

- F1 at the shipped thresholds (what the tagger does);
- ROC AUC (how well the scores rank documents, whatever the threshold);
- the median score of the documents that carry the label, beside the threshold;
- a **ceiling**: the best F1 any single threshold reaches on the sample itself. The threshold is fitted on the
  very documents it is scored on, so the figure is optimistic: it bounds what any recalibration or threshold
  choice could give with these scores. It is a diagnosis, never a setting: nothing here feeds the model.

If the ceiling is far above the tuned F1, the scores rank well and only calibration is off; if the ceiling itself
is low, the scores do not separate the documents, and better thresholds cannot close the gap.
"""
from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import precision_recall_curve

from balise.corpus import read_gold, read_jsonl_records
from balise.evaluate import _document_proba, ranking, scores
from balise.extract import normalise_text
from balise.features import PassageFeatures, featurize
from balise.markers import LABELS
from balise.preprocess import paragraph_spans
from balise.signals import Signal
from balise.tagger import Tagger, load

UNITS = ("passage", "sentence", "two sentences")


def unit_features(tagger: Tagger, records: Sequence[dict[str, Any]]) -> dict[str, list[list[PassageFeatures]]]:
    """Features of every unit of each record, for each way of cutting it (one spaCy pass per paragraph; passages
    go through the same path as annotation)."""
    texts = [normalise_text(r["text"]) for r in records]
    items = [(text[start:end], i) for i, text in enumerate(texts) for start, end in paragraph_spans(text)]
    out: dict[str, list[list[PassageFeatures]]] = {unit: [[] for _ in records] for unit in UNITS}
    for doc, i in tagger.nlp.pipe(items, as_tuples=True, batch_size=64):
        passages, _spans, signals = tagger._passages_of(doc, 0)
        sentences = list(doc.sents)
        out["passage"][i] += passages
        out["sentence"][i] += [_features(s, signals) for s in sentences]
        out["two sentences"][i] += [_features(doc[s.start : sentences[min(k + 1, len(sentences) - 1)].end], signals)
                                    for k, s in enumerate(sentences)]
    return out


def _features(span: Any, signals: Sequence[Signal]) -> PassageFeatures:
    return featurize(span, [s for s in signals if s.start >= span.start_char and s.end <= span.end_char])


def document_scores(tagger: Tagger, per_record: list[list[PassageFeatures]]) -> np.ndarray:
    """A document's score for a label is that of its best unit, as in `balise evaluate`."""
    return _document_proba(tagger.bundle.classifier, [(units, []) for units in per_record])


def ceiling_f1(y: np.ndarray, scores: np.ndarray) -> float:
    """Best F1 over every threshold, fitted on these very items (an optimistic bound, not a setting)."""
    if not y.any():
        return 0.0
    precision, recall, _ = precision_recall_curve(y, scores)
    f1 = 2 * precision * recall / np.maximum(precision + recall, 1e-12)
    return float(f1.max())


def report(name: str, Y: np.ndarray, proba: np.ndarray, thresholds: np.ndarray) -> tuple[str, dict[str, float]]:
    header = ("| label | positives | F1 at shipped threshold | ROC AUC | median score of positives | threshold "
              f"| ceiling F1 ({name}) |")
    lines = [header, "|---|---|---|---|---|---|---|"]
    tuned = scores(Y, (proba >= thresholds).astype(int))
    aucs = ranking(Y, proba)
    ceilings = [ceiling_f1(Y[:, j], proba[:, j]) for j in range(len(LABELS))]
    for j, label in enumerate(LABELS):
        y, s, auc = Y[:, j], proba[:, j], aucs[label]["roc_auc"]
        median = float(np.median(s[y == 1])) if y.any() else float("nan")
        lines.append(f"| {label} | {int(y.sum())} | {tuned.per_label[label].f1:.3f} "
                     f"| {float('nan') if auc is None else auc:.3f} | {median:.3f} | {thresholds[j]:.3f} "
                     f"| {ceilings[j]:.3f} |")
    defined = [r["roc_auc"] for r in aucs.values() if r["roc_auc"] is not None]
    summary = {"macro_f1": tuned.macro_f1, "mean_auc": float(np.mean(defined)) if defined else float("nan"),
               "ceiling_macro_f1": float(np.mean(ceilings))}
    lines.append(f"| macro | | {summary['macro_f1']:.3f} | {summary['mean_auc']:.3f} | | "
                 f"| {summary['ceiling_macro_f1']:.3f} |")
    return "\n".join(lines), summary


def padded(records: Sequence[dict[str, Any]], seed: int = 0) -> list[dict[str, Any]]:
    """Each labelled passage with an unlabelled one before or after it, in one paragraph, keeping its labels.

    Real sheets are longer and mix evidence with budgets, partner lists and context: if the evidence of a passage
    were drowned by unrelated text, this set would score far below dev."""
    rng = np.random.default_rng(seed)
    labelled = [r for r in records if r.get("labels")]
    unlabelled = [r for r in records if not r.get("labels")]
    out = []
    for r in labelled:
        other = unlabelled[rng.integers(len(unlabelled))]["text"].strip()
        parts = [r["text"].strip(), other] if rng.random() < 0.5 else [other, r["text"].strip()]
        out.append({"id": r.get("id"), "text": " ".join(parts), "labels": r["labels"]})
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True, help="labelled documents (id, text, labels): evaluation only")
    parser.add_argument("--gold", default="corpora/gold")
    parser.add_argument("--model", default=None)
    parser.add_argument("--seed", type=int, default=0, help="seed of the pairing of dev passages")
    args = parser.parse_args()
    tagger = load(args.model)
    thresholds = np.array([tagger.thresholds[label] for label in LABELS])
    dev = read_gold(args.gold, "dev")
    sets = {"dev": dev, "dev, each labelled passage joined to an unlabelled one": padded(dev, args.seed),
            Path(args.data).stem: read_jsonl_records(args.data)}
    summaries = []
    for name, records in sets.items():
        Y = np.array([[int(label in r.get("labels", [])) for label in LABELS] for r in records])
        units = unit_features(tagger, records)
        for unit in UNITS:
            table, summary = report(name, Y, document_scores(tagger, units[unit]), thresholds)
            if unit == "passage":
                print(f"### {name} ({len(records)} items), each passage scored as annotation does\n\n{table}\n")
            summaries.append((name, unit, summary))
    print("### Scoring unit\n\n| set | unit (document score = max over units) | macro-F1 at shipped thresholds "
          "| mean ROC AUC | ceiling macro-F1 |\n|---|---|---|---|---|")
    for name, unit, s in summaries:
        print(f"| {name} | {unit} | {s['macro_f1']:.3f} | {s['mean_auc']:.3f} | {s['ceiling_macro_f1']:.3f} |")


if __name__ == "__main__":
    main()
