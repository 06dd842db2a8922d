"""How the folds that set the thresholds change the scores: shuffled folds (shipped) against folds that never
split a writer and folds that leave out whole writing campaigns.

    python scripts/threshold_folds.py [--gold corpora/gold] [--real ../shared/real-dev/apriles-dev.jsonl]

Thresholds are tuned on out-of-fold probabilities of the training data. Folds that keep a writer's or a
campaign's passages together give probabilities for a style the model has not seen, which is what it meets in
the wild — if that moved the thresholds the right way, real documents would score higher. One model fitted on
all of train gives the dev and real probabilities; only the thresholds differ from row to row. Real documents are
evaluation only.
"""
from __future__ import annotations

import argparse
import sys
import time

import numpy as np
from sklearn.base import clone
from sklearn.model_selection import GroupKFold, KFold

from balise.classifier import shipped_model, tune_thresholds_f1
from balise.evaluate import _document_proba

from corpus_ablation import EvaluationData, campaign_of, macro_f1_at  # scripts/ is on sys.path when run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gold", default="corpora/gold")
    parser.add_argument("--real", default=None, help="labelled documents (id, text, labels) to report on")
    parser.add_argument("--folds", type=int, default=5)
    args = parser.parse_args()
    data = EvaluationData.load(args.gold, args.real)
    X, Y = data.X_train, data.Y_train
    model = shipped_model().fit(X, Y, tune_thresholds=False)
    dev_proba = _document_proba(model, data.dev_features)
    real_proba = _document_proba(model, data.real_features) if data.real else None
    writers = np.array([str(r["id"]).split("-")[0] for r in data.train])
    campaigns = np.array([campaign_of(r["id"]) for r in data.train])
    schemes = [
        ("shuffled folds (shipped)", KFold(args.folds, shuffle=True, random_state=model.random_state).split(X)),
        ("folds that never split a writer", GroupKFold(args.folds).split(X, groups=writers)),
        ("one campaign left out per fold", GroupKFold(len(set(campaigns))).split(X, groups=campaigns)),
    ]
    print("| thresholds from | thresholds | out-of-fold macro-F1 | dev macro-F1 | real macro-F1 |")
    print("|---|---|---|---|---|")
    for name, splits in schemes:
        started = time.perf_counter()
        oof = np.zeros(Y.shape)
        for train, test in splits:
            fold_model = clone(model).fit([X[i] for i in train], Y[train], tune_thresholds=False)
            oof[test] = fold_model.predict_proba([X[i] for i in test])
        thresholds = tune_thresholds_f1(Y, oof)
        line = (f"| {name} | {' '.join(f'{t:.2f}' for t in thresholds)} | {macro_f1_at(Y, oof, thresholds):.3f} "
                f"| {macro_f1_at(data.Y_dev, dev_proba, thresholds):.3f} |")
        real_f1 = f" {macro_f1_at(data.Y_real, real_proba, thresholds):.3f}" if real_proba is not None else ""
        line += real_f1 + " |"
        print(line, flush=True)
        print(f"  ({name}: {time.perf_counter() - started:.0f} s)", file=sys.stderr)


if __name__ == "__main__":
    main()
