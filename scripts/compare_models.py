"""Compare classifiers honestly: 5-fold cross-validation on train, final numbers on dev.

    python scripts/compare_models.py [--gold corpora/gold] [--real ../shared/real-dev/apriles-dev.jsonl]

Also leave-one-campaign-out cross-validation on train (each writing campaign of corpora/README.md scored by a model
trained on the others — the best proxy we have for text written by someone else, in a style the model has not
seen). (a) the keyword baseline, (b) TF-IDF over lemma n-grams with a linear model, (c) (b) plus spaCy vectors, entity,
rupture-signal, lexicon and clause-cue features, (d) a soft vote of two (c) views. Passages are featurized once. ``--real`` adds a column scored on real documents
(evaluation only: nothing is tuned on it). Prints a Markdown table for the README and the model card.
"""
from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from sklearn.model_selection import LeaveOneGroupOut

from balise.classifier import (
    WORDS_AND_CUES,
    WORDS_CUES_AND_VECTORS,
    KeywordBaseline,
    MarkerClassifier,
    MarkerEnsemble,
    shipped_model,
)
from balise.evaluate import Scores, _document_proba, scores
from corpus_ablation import EvaluationData, campaign_of  # scripts/ is on sys.path when this file is run

FULL = ("vector", "entities", "signals", "lexicon", "social_signals", "length")
CANDIDATES: dict[str, Callable[[], Any]] = {
    "(b) TF-IDF lemmas 1-2 + LR": lambda: MarkerClassifier(dense_parts=()),
    "(c) (b) + vectors, entities, signals": lambda: MarkerClassifier(dense_parts=("vector", "entities", "signals",
                                                                                 "length")),
    "(c) (b) + vectors, entities, signals, lexicon, C=4, w=0.2 (model of v0.1)":
        lambda: MarkerClassifier(dense_parts=FULL, C=4.0, dense_weight=0.2),
    "(d) soft vote, views at C=16, dense weight 0.2 (model of v0.2)":
        lambda: MarkerEnsemble(members=(MarkerClassifier(dense_parts=WORDS_AND_CUES, C=16.0),
                                        MarkerClassifier(dense_parts=WORDS_CUES_AND_VECTORS, C=16.0))),
    "(c) view 1: (b) + entities, signals, lexicon, clause cues, C=32, w=0.03 (shipped)": shipped_model,
    "(c) view 2: view 1 + vectors, C=32, w=0.03":
        lambda: MarkerClassifier(dense_parts=WORDS_CUES_AND_VECTORS, C=32.0, dense_weight=0.03),
    "(d) soft vote of views 1 and 2 (previously shipped)": lambda: MarkerEnsemble(),
}


cross_writer_scores: dict[str, Scores] = {}


def cross_writer(make: Callable[[], Any], X: list, Y: np.ndarray, groups: list[str]) -> Scores:
    """Leave-one-campaign-out: train on the other campaigns (thresholds tuned inside), score the one left out.

    The closest proxy for text written and annotated by someone else."""
    proba = np.zeros(Y.shape)
    predicted = np.zeros(Y.shape, dtype=int)
    for train_idx, test_idx in LeaveOneGroupOut().split(X, Y, groups):
        model = make().fit([X[i] for i in train_idx], Y[train_idx])
        proba[test_idx] = model.predict_proba([X[i] for i in test_idx])
        predicted[test_idx] = (proba[test_idx] >= model.thresholds_).astype(int)
    return scores(Y, predicted)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gold", default="corpora/gold")
    parser.add_argument("--real", default=None, help="labelled documents (id, text, labels) to report on")
    parser.add_argument("--json", default=None, help="also write the results as JSON here")
    args = parser.parse_args()

    started = time.perf_counter()
    data = EvaluationData.load(args.gold, args.real)
    X_train, Y_train, Y_dev, Y_real, real = data.X_train, data.Y_train, data.Y_dev, data.Y_real, data.real
    dev_features, real_features = data.dev_features, data.real_features
    print(f"featurized {len(data.train)} train passages and the evaluation documents in "
          f"{time.perf_counter() - started:.0f} s")
    groups = [campaign_of(r["id"]) for r in data.train]
    rows = []
    baseline = KeywordBaseline().fit([])
    rows.append(("(a) keyword baseline", scores(Y_train, baseline.predict(X_train)),
                 scores(Y_dev, (_document_proba(baseline, dev_features) >= 0.5).astype(int)),
                 scores(Y_real, (_document_proba(baseline, real_features) >= 0.5).astype(int)) if real else None))
    for name, make in CANDIDATES.items():
        t0 = time.perf_counter()
        model = make().fit(X_train, Y_train)
        cv = scores(Y_train, (model.oof_proba_ >= model.thresholds_).astype(int))
        cross = cross_writer(make, X_train, Y_train, groups)
        dev_scores = scores(Y_dev, (_document_proba(model, dev_features) >= model.thresholds_).astype(int))
        real_scores = (scores(Y_real, (_document_proba(model, real_features) >= model.thresholds_).astype(int))
                       if real else None)
        rows.append((name, cv, dev_scores, real_scores))
        cross_writer_scores[name] = cross
        print(f"{name}: CV {cv.macro_f1:.3f}  cross-campaign {cross.macro_f1:.3f}  dev {dev_scores.macro_f1:.3f}"
              + (f"  real {real_scores.macro_f1:.3f}" if real_scores else "")
              + f"  ({time.perf_counter() - t0:.0f} s)")

    print()
    header = ("| model | CV macro-F1 (train) | cross-campaign macro-F1 (train) | dev macro-F1 | dev min label F1 |"
              + (" real macro-F1 |" if real else ""))
    print(header)
    print("|" + "---|" * (header.count("|") - 1))
    for name, cv, dev_scores, real_scores in rows:
        worst = min(s.f1 for s in dev_scores.per_label.values())
        cross = cross_writer_scores.get(name)
        line = (f"| {name} | {cv.macro_f1:.3f} | {cross.macro_f1 if cross else float('nan'):.3f} "
                f"| {dev_scores.macro_f1:.3f} | {worst:.3f} |")
        if real_scores:
            line += f" {real_scores.macro_f1:.3f} |"
        print(line)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump([{"model": n, "cv": c.to_dict(), "dev": d.to_dict(), "real": r.to_dict() if r else None}
                       for n, c, d, r in rows], handle, indent=2)
    best = max(rows[1:], key=lambda row: row[2].macro_f1)
    print(f"\nbest by dev macro-F1: {best[0]} ({best[2].macro_f1:.3f}); per label: "
          + ", ".join(f"{k} {v.f1:.2f}" for k, v in best[2].per_label.items()))


if __name__ == "__main__":
    main()
