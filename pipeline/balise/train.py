"""Training the passage classifier from the gold corpus, and writing the model card.

Deterministic: the same corpus, seed and library versions give the same model. Thresholds are tuned by
cross-validation on the training split only; the dev split is looked at once, for the card.
"""
from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from . import __version__
from .classifier import KeywordBaseline, MarkerClassifier, MarkerEnsemble, shipped_model
from .corpus import label_matrix, read_gold, read_jsonl_records
from .evaluate import calibration, evaluate_records, scores
from .features import PassageFeatures, featurize
from .markers import LABELS
from .modelfile import DEFAULT_NAME, ModelBundle, save_bundle
from .preprocess import SPACY_MODEL, load_spacy
from .signals import SignalDetector, signals_of
from .tagger import Tagger


def data_hash(records: Sequence[dict[str, Any]]) -> str:
    """SHA-256 of the training records (id, text, labels), independent of file layout."""
    digest = hashlib.sha256()
    for record in sorted(records, key=lambda r: str(r["id"])):
        digest.update(json.dumps([record["id"], record["text"], sorted(record["labels"])],
                                 ensure_ascii=False).encode("utf-8"))
    return digest.hexdigest()


def featurize_passages(texts: Sequence[str], spacy_model: str = SPACY_MODEL, n_process: int = 1,
                       batch_size: int = 64) -> list[PassageFeatures]:
    """One feature record per gold passage (each passage is taken whole, as annotated)."""
    nlp = load_spacy(spacy_model)
    detector = SignalDetector(nlp.vocab)
    records = []
    for doc in nlp.pipe(texts, batch_size=batch_size, n_process=n_process):
        detector(doc)
        records.append(featurize(doc[:], signals_of(doc)))
    return records


def train(
    gold: str | os.PathLike[str],
    output: str | os.PathLike[str],
    extra: Sequence[str | os.PathLike[str]] = (),
    report_data: Sequence[str | os.PathLike[str]] = (),
    params: dict[str, Any] | None = None,
    name: str = DEFAULT_NAME,
    n_process: int = 1,
    log: Any = print,
) -> dict[str, Any]:
    """Fit the model on ``gold``'s train split (plus ``extra`` corrected passages), evaluate it on the dev
    split and on each ``report_data`` file (evaluation only), save it in ``output`` with its card."""
    started = time.perf_counter()
    train_records = read_gold(gold, "train")
    for path in extra:
        train_records += _corrections(path, {r["id"] for r in train_records})
    dev_records = read_gold(gold, "dev")
    if not train_records:
        raise FileNotFoundError(f"no training passages found in {gold}")
    log(f"featurizing {len(train_records)} training passages…")
    X = featurize_passages([r["text"] for r in train_records], n_process=n_process)
    Y = label_matrix(train_records)
    classifier: MarkerClassifier | MarkerEnsemble = MarkerClassifier(**params) if params else shipped_model()
    log("fitting (calibrated logistic regressions, thresholds by 5-fold cross-validation)…")
    classifier.fit(X, Y)
    oof = classifier.oof_proba_
    cv = scores(Y, (oof >= classifier.thresholds_).astype(int))
    cv_baseline = scores(Y, KeywordBaseline().fit(X).predict(X))
    bundle = ModelBundle(classifier=classifier, spacy_model=SPACY_MODEL, name=name, version=__version__)
    tagger = Tagger(bundle, nlp=load_spacy(SPACY_MODEL))
    card: dict[str, Any] = {
        "description": "Passage classifier for the six social-innovation markers (Institut Godin grid) and "
                       "rupture-signal rules, for French text.",
        "labels": list(LABELS),
        "created": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "training_data": {"path": str(gold), "passages": len(train_records), "sha256": data_hash(train_records),
                          "extra": [str(p) for p in extra]},
        "params": model_params(classifier),
        "thresholds": {label: float(t) for label, t in zip(LABELS, classifier.thresholds_)},
        "metrics": {"cross_validation_train": {"model": cv.to_dict(), "keyword_baseline": cv_baseline.to_dict(),
                                               "brier": calibration(Y, oof)[0]}},
    }
    if dev_records:
        log(f"evaluating on {len(dev_records)} dev passages…")
        card["metrics"]["dev"] = evaluate_records(tagger, dev_records).to_dict()
    for path in report_data:
        records = read_jsonl_records(path)
        log(f"evaluating on {len(records)} documents of {path} (evaluation only)…")
        card["metrics"][f"data:{Path(path).name}"] = evaluate_records(tagger, records).to_dict()
    card["training_seconds"] = round(time.perf_counter() - started, 1)
    model_path, card_path = save_bundle(bundle, output, card)
    log(f"model written to {model_path} (card {card_path})")
    return json.loads(card_path.read_text(encoding="utf-8"))


def model_params(classifier: MarkerClassifier | MarkerEnsemble) -> dict[str, Any]:
    """The hyper-parameters of a fitted model as plain JSON (an ensemble lists each view's)."""
    def plain(estimator: Any) -> dict[str, Any]:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in estimator.get_params(deep=False).items()
                if k != "members"}
    if isinstance(classifier, MarkerEnsemble):
        return {**plain(classifier), "members": [plain(m) for m in classifier.members_]}
    return plain(classifier)


def _corrections(path: str | os.PathLike[str], known: set[str]) -> list[dict[str, Any]]:
    """Corrected passages in the corpus format; a corrected passage replaces nothing, it is added."""
    records = []
    for record in read_jsonl_records(path):
        if not isinstance(record.get("text"), str) or "labels" not in record:
            continue
        unknown = set(record["labels"]) - set(LABELS)
        if unknown:
            raise ValueError(f"{path}: unknown label(s) {sorted(unknown)} in {record.get('id')}")
        record = {**record, "id": f"correction:{record.get('id')}" if record.get("id") in known else record.get("id")}
        records.append(record)
    return records

