"""Stage 4c — the passage classifier (scikit-learn estimator contract) and the keyword baseline.

:class:`MarkerClassifier` is one calibrated logistic regression a label over TF-IDF of lemma n-grams, optionally
joined by dense features (word vectors, entities, rupture signals). Decision thresholds are tuned per label by
cross-validation on the training data only. Being linear, it can say which words weighed for each label.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.calibration import CalibratedClassifierCV
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import KFold, StratifiedKFold
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.preprocessing import StandardScaler
from spacy.lang.fr.stop_words import STOP_WORDS as FRENCH_STOP_WORDS

from .features import NUMBER, DenseFeatures, LemmaText, PassageFeatures, split_on_space
from .markers import LABELS

_STOP_WORDS = frozenset(FRENCH_STOP_WORDS) | {"le", "un", "de", "à", "être", "avoir"}

MIN_RELATIVE_EVIDENCE = 0.2
"""Evidence n-grams weigh at least this share of the strongest one: the rest is noise to a reader."""

THRESHOLD_GRID = np.round(np.arange(0.10, 0.91, 0.025), 3)


class MarkerClassifier(BaseEstimator, ClassifierMixin):
    """Multi-label passage classifier: ``fit(X, Y)`` with ``X`` a list of :class:`PassageFeatures` and ``Y``
    a 0/1 matrix with one column per label of :data:`balise.markers.LABELS`.

    ``dense_parts`` empty gives the lemma-only model; the default adds vectors, entities, signals and length.
    """

    def __init__(
        self,
        dense_parts: tuple[str, ...] = ("vector", "entities", "signals", "lexicon", "social_signals", "length"),
        dense_weight: float = 0.2,
        C: float = 4.0,
        ngram_range: tuple[int, int] = (1, 2),
        min_df: int = 2,
        calibration_folds: int = 3,
        threshold_folds: int = 5,
        random_state: int = 13,
    ) -> None:
        self.dense_parts = dense_parts
        self.dense_weight = dense_weight
        self.C = C
        self.ngram_range = ngram_range
        self.min_df = min_df
        self.calibration_folds = calibration_folds
        self.threshold_folds = threshold_folds
        self.random_state = random_state

    # ------------------------------------------------------------------ fitting

    def _make_features(self) -> FeatureUnion:
        blocks: list[tuple[str, Any]] = [
            (
                "lemmas",
                Pipeline(
                    [
                        ("text", LemmaText()),
                        (
                            "tfidf",
                            TfidfVectorizer(
                                tokenizer=split_on_space,
                                token_pattern=None,
                                lowercase=False,
                                ngram_range=self.ngram_range,
                                min_df=self.min_df,
                                sublinear_tf=True,
                                dtype=np.float64,
                            ),
                        ),
                    ]
                ),
            )
        ]
        weights = {"lemmas": 1.0}
        if self.dense_parts:
            blocks.append(
                ("dense", Pipeline([("dense", DenseFeatures(tuple(self.dense_parts))), ("scale", StandardScaler())]))
            )
            weights["dense"] = self.dense_weight
        return FeatureUnion(blocks, transformer_weights=weights)

    def _fit_models(self, matrix: Any, Y: np.ndarray) -> list[CalibratedClassifierCV]:
        models = []
        for j in range(Y.shape[1]):
            base = LogisticRegression(C=self.C, class_weight="balanced", max_iter=3000, solver="liblinear")
            folds = StratifiedKFold(self.calibration_folds, shuffle=True, random_state=self.random_state)
            model = CalibratedClassifierCV(base, method="sigmoid", cv=folds)
            model.fit(matrix, Y[:, j])
            models.append(model)
        return models

    def fit(self, X: Sequence[PassageFeatures], Y: Any, tune_thresholds: bool = True) -> MarkerClassifier:
        Y = np.asarray(Y, dtype=int)
        if Y.ndim != 2 or Y.shape[1] != len(LABELS):
            raise ValueError(f"Y must have one column per label ({len(LABELS)}), got shape {Y.shape}")
        self.labels_ = list(LABELS)
        self.features_ = self._make_features()
        matrix = self.features_.fit_transform(list(X))
        self.models_ = self._fit_models(matrix, Y)
        self.coef_ = np.vstack(
            [np.mean([c.estimator.coef_[0] for c in m.calibrated_classifiers_], axis=0) for m in self.models_]
        )
        tfidf = self.features_.transformer_list[0][1].named_steps["tfidf"]
        self.lemma_feature_names_ = tfidf.get_feature_names_out()
        self.n_lemma_features_ = len(self.lemma_feature_names_)
        return _set_thresholds(self, X, Y, tune_thresholds)

    def cross_val_proba(self, X: Sequence[PassageFeatures], Y: np.ndarray) -> np.ndarray:
        """Out-of-fold probabilities on the training data (for thresholds and honest CV scores)."""
        X = list(X)
        proba = np.zeros(Y.shape, dtype=float)
        folds = KFold(self.threshold_folds, shuffle=True, random_state=self.random_state)
        for train, test in folds.split(X):
            model = clone(self)
            model.fit([X[i] for i in train], Y[train], tune_thresholds=False)
            proba[test] = model.predict_proba([X[i] for i in test])
        return proba

    # ------------------------------------------------------------------ prediction

    def predict_proba(self, X: Sequence[PassageFeatures]) -> np.ndarray:
        """Calibrated probability of each label (columns in :data:`LABELS` order)."""
        return self.predict_proba_with_rows(X)[0]

    def predict_proba_with_rows(self, X: Sequence[PassageFeatures]) -> tuple[np.ndarray, Any]:
        """Probabilities and the TF-IDF rows they came from (reused to explain, so nothing is computed twice)."""
        if len(X) == 0:
            return np.zeros((0, len(LABELS))), sparse.csr_matrix((0, getattr(self, "n_lemma_features_", 0)))
        matrix = sparse.csr_matrix(self.features_.transform(list(X)))
        proba = np.column_stack([m.predict_proba(matrix)[:, 1] for m in self.models_])
        return proba, matrix[:, : self.n_lemma_features_]

    def predict(self, X: Sequence[PassageFeatures]) -> np.ndarray:
        return (self.predict_proba(X) >= self.thresholds_).astype(int)

    def lemma_row(self, record: PassageFeatures) -> Any:
        """The TF-IDF row of a passage (computed once, shared by the explanations of all its labels)."""
        tfidf: TfidfVectorizer = self.features_.transformer_list[0][1].named_steps["tfidf"]
        return tfidf.transform([record.lemma_text]).tocsr()

    def explain(
        self, record: PassageFeatures, label_index: int, top_k: int = 4, row: Any = None
    ) -> list[tuple[int, int, float]]:
        """The lemma n-grams of ``record`` that pushed most towards a label: ``(start, end, weight)``.

        Weight is the n-gram's contribution to the logit (TF-IDF value × coefficient), so weights of different
        passages are comparable for one label. ``row`` is :meth:`lemma_row` of the record, when already known.
        """
        if row is None:
            row = self.lemma_row(record)
        return _explain(record, row, self.coef_[label_index, : self.n_lemma_features_], self.lemma_feature_names_,
                        top_k)

    def signal_weights(self, record: PassageFeatures, label_index: int) -> dict[str, float]:
        """Contribution of each rupture-signal family present in ``record`` to a label's logit."""
        if "signals" not in self.dense_parts:
            return {}
        dense_pipe = self.features_.transformer_list[1][1]
        block: DenseFeatures = dense_pipe.named_steps["dense"]
        scaler = dense_pipe.named_steps["scale"]
        names = block.feature_names(len(record.vector))
        weights = {}
        for family, count in record.signals.items():
            column = names.index(f"signal_{family}")
            # the block's value is the count capped at 3, standardised, then weighted in the union
            scaled = (min(count, 3) - scaler.mean_[column]) / scaler.scale_[column] * self.dense_weight
            weights[family] = round(float(self.coef_[label_index, self.n_lemma_features_ + column] * scaled), 4)
        return weights


def _explain(record: PassageFeatures, row: Any, coef: np.ndarray, names: Any, top_k: int) -> list[tuple[int, int, float]]:
    """The n-grams of a TF-IDF ``row`` with the largest contribution (value × coefficient), placed in the text."""
    if row.nnz == 0:
        return []
    contributions = row.data * coef[row.indices]
    order = np.argsort(-contributions)
    found: list[tuple[int, int, float]] = []
    used: set[tuple[int, int]] = set()
    floor = max(float(contributions.max()), 0.0) * MIN_RELATIVE_EVIDENCE
    for k in order:
        weight = float(contributions[k])
        if weight <= floor or len(found) >= top_k:
            break
        gram = names[row.indices[k]].split(" ")
        if all(word in _STOP_WORDS or word == NUMBER for word in gram):
            continue
        for start, end in _occurrences(record, gram)[:2]:
            if any(a <= start and end <= b for a, b in used):
                continue
            # a bigram replaces the unigram it contains: one mark per place
            found = [f for f in found if not (start <= f[0] and f[1] <= end)]
            used = {u for u in used if not (start <= u[0] and u[1] <= end)}
            used.add((start, end))
            found.append((start, end, round(weight, 4)))
    return found


def _occurrences(record: PassageFeatures, gram: list[str]) -> list[tuple[int, int]]:
    n = len(gram)
    spans = []
    for i in range(len(record.lemmas) - n + 1):
        if record.lemmas[i : i + n] == gram:
            spans.append((record.offsets[i][0], record.offsets[i + n - 1][1]))
    return spans


def _set_thresholds(model: Any, X: Sequence[PassageFeatures], Y: np.ndarray, tune: bool) -> Any:
    """Per-label thresholds that maximise F1 on the model's out-of-fold probabilities (0.5 when not tuned)."""
    model.thresholds_ = np.full(len(LABELS), 0.5)
    if tune:
        model.oof_proba_ = model.cross_val_proba(X, Y)
        model.thresholds_ = tune_thresholds_f1(Y, model.oof_proba_)
    return model


def tune_thresholds_f1(Y: np.ndarray, proba: np.ndarray, grid: np.ndarray = THRESHOLD_GRID) -> np.ndarray:
    """Per label, the threshold that maximises F1 on out-of-fold probabilities (middle of ties)."""
    thresholds = []
    for j in range(Y.shape[1]):
        scores = []
        for t in grid:
            pred = proba[:, j] >= t
            tp = np.sum(pred & (Y[:, j] == 1))
            fp = np.sum(pred & (Y[:, j] == 0))
            fn = np.sum(~pred & (Y[:, j] == 1))
            scores.append(2 * tp / max(1, 2 * tp + fp + fn))
        scores_arr = np.array(scores)
        best = np.flatnonzero(scores_arr >= scores_arr.max() - 1e-9)
        thresholds.append(float(grid[best[len(best) // 2]]))
    return np.array(thresholds)


# --------------------------------------------------------------------------------------------- baseline

KEYWORDS: dict[str, tuple[str, ...]] = {
    "beneficiaires": ("habitant", "usager", "bénéficiaire", "participatif", "participation", "co-construction",
                      "pair", "pouvoir d'agir"),
    "ancrage_territorial": ("territoire", "territorial", "local", "quartier", "commune", "diagnostic"),
    "gouvernance": ("gouvernance", "comité de pilotage", "collège", "scic", "conseil d'administration",
                    "coopérative", "copilotage"),
    "accessibilite_service": ("accès", "accessible", "gratuit", "mobile", "proximité", "accompagnement",
                              "aller-vers", "solidaire"),
    "rupture": ("innovant", "innovation", "nouveau", "rupture", "désormais", "première", "inédit", "novateur"),
    "changement_social": ("changement", "essaimage", "impact", "autonomie", "généralisé", "transformation",
                          "pérenniser", "dupliquer"),
}


class KeywordBaseline(BaseEstimator, ClassifierMixin):
    """The plain keyword list: a label fires when one of its words appears (lemmas or text). Nothing is learnt;
    ``fit`` exists so that it runs through the same evaluation as the real model."""

    def __init__(self, keywords: dict[str, tuple[str, ...]] | None = None) -> None:
        self.keywords = keywords

    def fit(self, X: Sequence[PassageFeatures], Y: Any = None) -> KeywordBaseline:
        self.keywords_ = self.keywords or KEYWORDS
        self.thresholds_ = np.full(len(LABELS), 0.5)  # a word is there (1.0) or not (0.0)
        return self

    def predict_proba(self, X: Sequence[PassageFeatures]) -> np.ndarray:
        keywords = getattr(self, "keywords_", self.keywords or KEYWORDS)
        out = np.zeros((len(X), len(LABELS)))
        for i, record in enumerate(X):
            haystack = f" {record.lemma_text} "
            for j, label in enumerate(LABELS):
                if any(f" {word} " in haystack or f" {word}" in haystack for word in keywords[label]):
                    out[i, j] = 1.0
        return out

    def predict(self, X: Sequence[PassageFeatures]) -> np.ndarray:
        return self.predict_proba(X).astype(int)


# --------------------------------------------------------------------------------------------- two views

WORDS_AND_CUES = ("entities", "signals", "lexicon", "social_signals", "clauses", "length")
"""Dense features that name what a passage says and how (lexicon, signals, clause cues): they carry over from
one writing style to another."""
WORDS_CUES_AND_VECTORS = ("vector", *WORDS_AND_CUES)
"""The same plus the mean word vector, which reads topic and tone but also the style of whoever wrote the text."""


def shipped_model() -> MarkerClassifier:
    """The configuration ``balise train`` fits: words and cues at C=32, dense weight 0.03. Chosen by dev
    macro-F1 among the candidates of ``scripts/compare_models.py`` (see the model card)."""
    return MarkerClassifier(dense_parts=WORDS_AND_CUES, C=32.0, dense_weight=0.03)


def default_members() -> tuple[MarkerClassifier, ...]:
    """The two views of the soft vote: words and cues, and the same plus word vectors."""
    return (
        shipped_model(),
        MarkerClassifier(dense_parts=WORDS_CUES_AND_VECTORS, C=32.0, dense_weight=0.03),
    )


class MarkerEnsemble(BaseEstimator, ClassifierMixin):
    """Soft vote of :class:`MarkerClassifier` views: the mean of their calibrated probabilities, with per-label
    thresholds tuned by cross-validation on the mean (training data only).

    Two views of one passage err differently — one on words and cues, one also on word vectors — and their mean
    is better than either (see the model card). Evidence is the mean of the views' word contributions.
    """

    def __init__(self, members: tuple[MarkerClassifier, ...] | None = None, threshold_folds: int = 5,
                 random_state: int = 13) -> None:
        self.members = members
        self.threshold_folds = threshold_folds
        self.random_state = random_state

    def fit(self, X: Sequence[PassageFeatures], Y: Any, tune_thresholds: bool = True) -> MarkerEnsemble:
        Y = np.asarray(Y, dtype=int)
        X = list(X)
        templates = self.members if self.members is not None else default_members()
        self.labels_ = list(LABELS)
        self.members_ = [clone(m).set_params(threshold_folds=self.threshold_folds, random_state=self.random_state)
                         .fit(X, Y, tune_thresholds=False) for m in templates]
        return _set_thresholds(self, X, Y, tune_thresholds)

    def cross_val_proba(self, X: Sequence[PassageFeatures], Y: np.ndarray) -> np.ndarray:
        """Out-of-fold mean probabilities on the training data (same folds for every view)."""
        return np.mean([m.cross_val_proba(X, Y) for m in self.members_], axis=0)

    def predict_proba(self, X: Sequence[PassageFeatures]) -> np.ndarray:
        """Mean calibrated probability of each label over the views (columns in :data:`LABELS` order)."""
        return self.predict_proba_with_rows(X)[0]

    def predict_proba_with_rows(self, X: Sequence[PassageFeatures]) -> tuple[np.ndarray, Any]:
        """Probabilities and, for explanations, each view's TF-IDF rows."""
        if len(X) and self._shared_lemma_coef() is not None:
            return self._predict_shared(list(X))
        outputs = [m.predict_proba_with_rows(X) for m in self.members_]
        proba = np.mean([p for p, _ in outputs], axis=0)
        return proba, _RowsOfViews([rows for _, rows in outputs])

    def _predict_shared(self, X: list[PassageFeatures]) -> tuple[np.ndarray, Any]:
        """Views with one vocabulary: the TF-IDF rows are computed once and joined to each view's dense block
        (the same matrix as each view's own ``FeatureUnion``, without the repeated work)."""
        first = self.members_[0]
        lemmas = sparse.csr_matrix(first.features_.transformer_list[0][1].transform(X))
        probas = []
        for member in self.members_:
            weights = member.features_.transformer_weights or {}
            blocks = [lemmas * weights.get("lemmas", 1.0)]
            for name, pipe in member.features_.transformer_list[1:]:
                blocks.append(sparse.csr_matrix(np.asarray(pipe.transform(X)) * weights.get(name, 1.0)))
            matrix = sparse.hstack(blocks).tocsr()
            probas.append(np.column_stack([m.predict_proba(matrix)[:, 1] for m in member.models_]))
        return np.mean(probas, axis=0), _RowsOfViews([lemmas] * len(self.members_))

    def predict(self, X: Sequence[PassageFeatures]) -> np.ndarray:
        return (self.predict_proba(X) >= self.thresholds_).astype(int)

    def lemma_row(self, record: PassageFeatures) -> Any:
        return _ViewRows([m.lemma_row(record) for m in self.members_])

    def explain(
        self, record: PassageFeatures, label_index: int, top_k: int = 4, row: Any = None
    ) -> list[tuple[int, int, float]]:
        """The words of ``record`` that pushed most towards a label, by mean contribution over the views."""
        rows = row.rows if isinstance(row, _ViewRows) else [None] * len(self.members_)
        shared = self._shared_lemma_coef()
        if shared is not None:
            first = self.members_[0]
            own_row = rows[0] if rows[0] is not None else first.lemma_row(record)
            return _explain(record, own_row, shared[label_index], first.lemma_feature_names_, top_k)
        summed: dict[tuple[int, int], float] = {}
        for member, member_row in zip(self.members_, rows):
            for start, end, weight in member.explain(record, label_index, top_k, member_row):
                summed[(start, end)] = summed.get((start, end), 0.0) + weight / len(self.members_)
        ranked = sorted(summed.items(), key=lambda item: -item[1])[:top_k]
        return [(start, end, round(weight, 4)) for (start, end), weight in ranked]

    def _shared_lemma_coef(self) -> np.ndarray | None:
        """The views' mean word coefficients, when they share one vocabulary (views fitted on the same passages
        with the same n-gram settings do): evidence then costs what it costs for a single model."""
        if "_lemma_coef" not in self.__dict__:
            first = self.members_[0]
            same = all(list(m.lemma_feature_names_) == list(first.lemma_feature_names_) for m in self.members_[1:])
            self._lemma_coef = (np.mean([m.coef_[:, : m.n_lemma_features_] for m in self.members_], axis=0)
                                if same else None)
        return self._lemma_coef

    def signal_weights(self, record: PassageFeatures, label_index: int) -> dict[str, float]:
        """Mean contribution of each rupture-signal family present in ``record`` to a label's logit."""
        weights: dict[str, float] = {}
        for member in self.members_:
            for family, weight in member.signal_weights(record, label_index).items():
                weights[family] = weights.get(family, 0.0) + weight / len(self.members_)
        return {family: round(weight, 4) for family, weight in weights.items()}


class _ViewRows:
    """One passage's TF-IDF row in each view."""

    def __init__(self, rows: list[Any]) -> None:
        self.rows = rows


class _RowsOfViews:
    """Indexable like a sparse matrix of rows: item ``i`` is passage ``i``'s rows in every view."""

    def __init__(self, matrices: list[Any]) -> None:
        self.matrices = matrices

    def __getitem__(self, i: int) -> _ViewRows:
        return _ViewRows([m[i] for m in self.matrices])
