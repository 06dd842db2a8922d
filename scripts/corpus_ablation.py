"""What each writing campaign brings: train the shipped model without one group of writers at a time.

    python scripts/corpus_ablation.py [--gold corpora/gold] [--real ../shared/real-dev/apriles-dev.jsonl]

Groups are writer prefixes of the passage ids (``w13-0042`` → ``w13``), gathered into the campaigns described in
``corpora/README.md``. Every model is fitted on train minus one campaign (thresholds tuned inside, by
cross-validation on what remains) and scored on the full dev split and, with ``--real``, on real documents
(evaluation only: nothing is tuned on them). Real figures come with the mean ROC AUC, which does not depend on
thresholds and so says whether a campaign improved the ranking or only moved the cut.
"""
from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.metrics import roc_auc_score

from balise.classifier import KeywordBaseline, shipped_model
from balise.corpus import label_matrix, read_gold, read_jsonl_records
from balise.evaluate import _document_features, _document_proba, scores
from balise.features import PassageFeatures
from balise.modelfile import ModelBundle
from balise.preprocess import SPACY_MODEL, load_spacy
from balise.tagger import Tagger
from balise.train import featurize_passages

CAMPAIGNS: dict[str, tuple[str, ...]] = {
    "all genres (w1-w6)": tuple(f"w{i}" for i in range(1, 7)),
    "detailed project sheets (w7-w11)": tuple(f"w{i}" for i in range(7, 12)),
    "near-misses (w12, w20)": ("w12", "w20"),
    "database summaries (w13-w19)": tuple(f"w{i}" for i in range(13, 20)),
    "understated evidence (w21-w26, w33-w38)": tuple(f"w{i}" for i in (*range(21, 27), *range(33, 39))),
    "ordinary news (w27-w32, w47-w48)": tuple(f"w{i}" for i in (*range(27, 33), 47, 48)),
    "database register (w39-w46)": tuple(f"w{i}" for i in range(39, 47)),
    "fields of local social action (w49-w56)": tuple(f"w{i}" for i in range(49, 57)),
    "implicit evidence (w57-w64)": tuple(f"w{i}" for i in range(57, 65)),
}


def campaign_of(record_id: str) -> str:
    """The writing campaign of a passage, from the writer prefix of its id ("other" if none claims it)."""
    prefix = str(record_id).split("-")[0]
    return next((name for name, prefixes in CAMPAIGNS.items() if prefix in prefixes), "other")


@dataclass
class EvaluationData:
    """Train features and labels, and dev and real documents featurized through the annotation path
    (paragraphs, passages, a document has a label when any passage has it) — computed once, scored many times."""

    train: list[dict[str, Any]]
    X_train: list[PassageFeatures]
    Y_train: np.ndarray
    dev_features: list
    Y_dev: np.ndarray
    real: list[dict[str, Any]]
    real_features: list
    Y_real: np.ndarray | None

    @classmethod
    def load(cls, gold: str, real_path: str | None) -> EvaluationData:
        train, dev = read_gold(gold, "train"), read_gold(gold, "dev")
        X = featurize_passages([r["text"] for r in train])
        probe = Tagger(ModelBundle(KeywordBaseline().fit([]), SPACY_MODEL, "probe", "0"),
                       nlp=load_spacy(SPACY_MODEL))
        real = read_jsonl_records(real_path) if real_path else []
        return cls(train, X, label_matrix(train), _document_features(probe, dev), label_matrix(dev), real,
                   _document_features(probe, real) if real else [], label_matrix(real) if real else None)


def macro_f1_at(Y: np.ndarray, proba: np.ndarray, thresholds: np.ndarray) -> float:
    """Macro-F1 of the decisions ``proba >= thresholds``."""
    return scores(Y, (proba >= thresholds).astype(int)).macro_f1


def mean_auc(Y: np.ndarray, proba: np.ndarray) -> float:
    return float(np.mean([roc_auc_score(Y[:, j], proba[:, j]) for j in range(Y.shape[1]) if 0 < Y[:, j].sum()
                          < len(Y)]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gold", default="corpora/gold")
    parser.add_argument("--real", default=None, help="labelled documents (id, text, labels) to report on")
    args = parser.parse_args()
    data = EvaluationData.load(args.gold, args.real)
    X, Y, Y_dev, Y_real, real = data.X_train, data.Y_train, data.Y_dev, data.Y_real, data.real
    dev_features, real_features = data.dev_features, data.real_features
    campaigns = np.array([campaign_of(r["id"]) for r in data.train])

    print("| training data | passages | dev macro-F1 | real macro-F1 | real mean AUC |")
    print("|---|---|---|---|---|")
    for name, left_out in [("everything", None)] + [(f"without {k}", k) for k in CAMPAIGNS]:
        keep = campaigns != left_out
        if not keep.any() or (keep.all() and left_out):
            continue
        started = time.perf_counter()
        model = shipped_model().fit([x for x, k in zip(X, keep) if k], Y[keep])
        dev_f1 = macro_f1_at(Y_dev, _document_proba(model, dev_features), model.thresholds_)
        line = f"| {name} | {int(keep.sum())} | {dev_f1:.3f} |"
        if real:
            proba = _document_proba(model, real_features)
            line += f" {macro_f1_at(Y_real, proba, model.thresholds_):.3f} | {mean_auc(Y_real, proba):.3f} |"
        else:
            line += " | |"
        print(line, flush=True)
        print(f"  ({name}: {time.perf_counter() - started:.0f} s)", file=sys.stderr)


if __name__ == "__main__":
    main()
