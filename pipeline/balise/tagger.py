"""Stage 4 — the tagger: spaCy analysis, rupture signals and the passage classifier put together.

``balise.load()`` returns a :class:`Tagger`; ``tagger(text)`` gives an :class:`AnnotatedDocument` whose
``to_dict()`` is one line of the JSONL output.
"""
from __future__ import annotations

import os
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from .errors import InvalidInputError
from .extract import Document, normalise_text
from .features import PassageFeatures, featurize
from .markers import LABELS
from .modelfile import ModelBundle, load_bundle
from .preprocess import FRENCH, detect_language, load_spacy, paragraph_spans, sentence_chunks
from .signals import Signal, SignalDetector, signals_of

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.tokens import Doc, Span

SCORE_DIGITS = 4
EVIDENCE_PER_LABEL = 4


@dataclass
class Evidence:
    """Words of a passage that weighed for one of its labels (offsets into the document text)."""

    start: int
    end: int
    label: str
    weight: float

    def to_dict(self) -> dict[str, Any]:
        """The evidence item as it appears in the JSONL output."""
        return {"start": self.start, "end": self.end, "label": self.label, "weight": self.weight}


@dataclass
class AnnotatedPassage:
    """A passage (``text[start:end]`` of its document), its labels and the probability of every label."""

    start: int
    end: int
    labels: list[str]
    scores: dict[str, float]
    evidence: list[Evidence] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The passage as it appears in the JSONL output."""
        return {
            "start": self.start,
            "end": self.end,
            "labels": list(self.labels),
            "scores": dict(self.scores),
            "evidence": [e.to_dict() for e in self.evidence],
        }


@dataclass
class AnnotatedDocument:
    """A document with its passages, document-level labels (any passage) and scores (best passage)."""

    id: str
    text: str
    lang: str
    labels: list[str]
    scores: dict[str, float]
    passages: list[AnnotatedPassage]
    signals: list[Signal]
    model: dict[str, str]
    source: str | None = None
    url: str | None = None
    title: str | None = None
    date: str | None = None
    author: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def tagged(self) -> bool:
        """False for a document that was not tagged (not French, or empty)."""
        return self.lang == FRENCH or self.lang == "und"

    def passage_text(self, passage: AnnotatedPassage) -> str:
        """The text of one of this document's passages."""
        return self.text[passage.start : passage.end]

    def to_dict(self) -> dict[str, Any]:
        """One line of the JSONL output (plain JSON types only)."""
        return {
            "id": self.id,
            "source": self.source,
            "url": self.url,
            "title": self.title,
            "date": self.date,
            "author": self.author,
            "lang": self.lang,
            "text": self.text,
            "labels": list(self.labels),
            "scores": dict(self.scores),
            "passages": [p.to_dict() for p in self.passages],
            "signals": [s.to_dict() for s in self.signals],
            "model": dict(self.model),
            "meta": dict(self.meta),
        }


@dataclass
class _Pending:
    document: Document
    lang: str
    paragraphs: list[tuple[int, int]]
    parsed: list[Doc] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return len(self.parsed) == len(self.paragraphs)


class Tagger:
    """Tags French documents with the six markers and the rupture signals.

    Build it with :func:`balise.load`. The spaCy pipeline is loaded on first use, once per process.
    """

    def __init__(self, bundle: ModelBundle, card: dict[str, Any] | None = None, nlp: Language | None = None,
                 thresholds: Mapping[str, float] | None = None):
        self.bundle = bundle
        self.card = card or {}
        self._nlp = nlp
        self._detector: SignalDetector | None = None
        self.threshold_overrides = check_thresholds(thresholds or {})
        tuned = np.asarray(bundle.classifier.thresholds_, dtype=float)
        self._thresholds = np.array([self.threshold_overrides.get(label, t) for label, t in zip(LABELS, tuned)])

    @property
    def name(self) -> str:
        """Model name, as written in every output record."""
        return self.bundle.name

    @property
    def version(self) -> str:
        """Model version, as written in every output record."""
        return self.bundle.version

    @property
    def nlp(self) -> Language:
        """The spaCy pipeline (loaded on first use)."""
        if self._nlp is None:
            self._nlp = load_spacy(self.bundle.spacy_model)
        return self._nlp

    @property
    def detector(self) -> SignalDetector:
        """The rupture-signal rules bound to this pipeline's vocabulary."""
        if self._detector is None:
            self._detector = SignalDetector(self.nlp.vocab)
        return self._detector

    @property
    def thresholds(self) -> dict[str, float]:
        """Decision threshold of each label: tuned by cross-validation on the training split, unless overridden
        when the tagger was loaded (:attr:`threshold_overrides`)."""
        return {label: float(t) for label, t in zip(LABELS, self._thresholds)}

    # ------------------------------------------------------------------ public API

    def __call__(self, text: str | Document, **meta: Any) -> AnnotatedDocument:
        """Annotate one text. Keyword arguments (``id``, ``url``, ``title``, ``date``, ``source``, anything
        else goes to ``meta``) describe it."""
        return next(iter(self.pipe([_as_document(text, meta)])))

    def pipe(
        self,
        documents: Iterable[str | Document],
        batch_size: int = 32,
        n_process: int = 1,
    ) -> Iterator[AnnotatedDocument]:
        """Annotate a stream of documents, in order, ``batch_size`` paragraphs a spaCy batch.

        With ``n_process`` > 1 spaCy parses in worker processes; signals and the classifier run here.
        """
        pending: deque[_Pending] = deque()
        ready: list[_Pending] = []

        def paragraphs() -> Iterator[tuple[str, int]]:
            for number, item in enumerate(documents):
                document = _as_document(item, {"id": str(number)} if isinstance(item, str) else {})
                lang = detect_language(document.text) if document.text.strip() else "und"
                spans = paragraph_spans(document.text) if lang in (FRENCH, "und") else []
                entry = _Pending(document, lang, spans)
                pending.append(entry)
                for start, end in spans:
                    yield document.text[start:end], start

        stream = self.nlp.pipe(paragraphs(), as_tuples=True, batch_size=batch_size, n_process=n_process)
        for doc, _offset in stream:
            # documents with no paragraph (not French, empty) sit in the queue before the one being parsed
            while pending and pending[0].complete:
                ready.append(pending.popleft())
            pending[0].parsed.append(doc)
            while pending and pending[0].complete:
                ready.append(pending.popleft())
            if len(ready) >= batch_size:
                yield from self._annotate(ready)
                ready = []
        while pending:
            ready.append(pending.popleft())
        if ready:
            yield from self._annotate(ready)

    def annotate_doc(self, doc: Doc) -> tuple[list[AnnotatedPassage], list[Signal]]:
        """Passages and signals of an already parsed spaCy ``Doc`` holding a whole document (the spaCy
        component's path): paragraphs are found in ``doc.text``, then cut into passages as in :meth:`pipe`."""
        paragraphs = []
        for start, end in paragraph_spans(doc.text):
            span = doc.char_span(start, end, alignment_mode="expand")
            if span is not None and len(span):
                paragraphs.append(span)
        records, spans, signals = self._passages_of(doc, 0, paragraphs)
        proba, lemma_rows = self.bundle.classifier.predict_proba_with_rows(records)
        passages = [self._passage(r, s, p, signals, lemma_rows[i]) for i, (r, s, p) in enumerate(zip(records, spans, proba))]
        return passages, signals

    # ------------------------------------------------------------------ internals

    def _passages_of(
        self, doc: Doc, offset: int, paragraphs: list[Span] | None = None
    ) -> tuple[list[PassageFeatures], list[tuple[int, int]], list[Signal]]:
        """Features, spans and signals of the passages of ``doc`` (one paragraph, or ``paragraphs`` of it),
        whose text starts at ``offset`` in the document."""
        self.detector(doc)
        signals = signals_of(doc, offset)
        records, spans = [], []
        chunks = [c for p in paragraphs for c in sentence_chunks(p)] if paragraphs is not None else sentence_chunks(doc)
        for chunk in chunks:
            start, end = chunk.start_char + offset, chunk.end_char + offset
            inside = [s for s in signals if s.start >= start and s.end <= end]
            records.append(featurize(chunk, inside, offset))
            spans.append((start, end))
        return records, spans, signals

    def _annotate(self, entries: list[_Pending]) -> Iterator[AnnotatedDocument]:
        per_document = []
        all_records: list[PassageFeatures] = []
        for entry in entries:
            records: list[PassageFeatures] = []
            spans: list[tuple[int, int]] = []
            signals: list[Signal] = []
            for doc, (start, _end) in zip(entry.parsed, entry.paragraphs):
                r, s, g = self._passages_of(doc, start)
                records += r
                spans += s
                signals += g
            per_document.append((entry, records, spans, signals))
            all_records += records
        proba, lemma_rows = self.bundle.classifier.predict_proba_with_rows(all_records)
        position = 0
        for entry, records, spans, signals in per_document:
            passages = [
                self._passage(r, s, proba[position + i], signals, lemma_rows[position + i])
                for i, (r, s) in enumerate(zip(records, spans))
            ]
            position += len(records)
            yield self._document(entry.document, entry.lang, passages, signals)

    def _passage(
        self,
        record: PassageFeatures,
        span: tuple[int, int],
        probabilities: np.ndarray,
        signals: list[Signal],
        lemma_row: Any = None,
    ) -> AnnotatedPassage:
        classifier = self.bundle.classifier
        labels = [label for label, p, t in zip(LABELS, probabilities, self._thresholds) if p >= t]
        scores = {label: round(float(p), SCORE_DIGITS) for label, p in zip(LABELS, probabilities)}
        evidence: list[Evidence] = []
        row = lemma_row if lemma_row is not None or not labels else classifier.lemma_row(record)
        for label in labels:
            j = LABELS.index(label)
            for start, end, weight in classifier.explain(record, j, EVIDENCE_PER_LABEL, row):
                evidence.append(Evidence(start, end, label, weight))
            if label == "rupture":
                family_weights = classifier.signal_weights(record, j)
                evidence += [
                    Evidence(s.start, s.end, label, family_weights.get(s.family, 0.0))
                    for s in signals
                    if span[0] <= s.start and s.end <= span[1]
                ]
        strongest: dict[tuple[int, int, str], Evidence] = {}
        for item in evidence:  # a signal may also be a weighty n-gram: one mark, the larger weight
            key = (item.start, item.end, item.label)
            if key not in strongest or item.weight > strongest[key].weight:
                strongest[key] = item
        evidence = sorted(strongest.values(), key=lambda e: (e.start, e.label))
        return AnnotatedPassage(span[0], span[1], labels, scores, evidence)

    def _document(
        self, document: Document, lang: str, passages: list[AnnotatedPassage], signals: list[Signal]
    ) -> AnnotatedDocument:
        labels = [label for label in LABELS if any(label in p.labels for p in passages)]
        scores = {label: max((p.scores[label] for p in passages), default=0.0) for label in LABELS}
        return AnnotatedDocument(
            id=document.id,
            text=document.text,
            lang=lang,
            labels=labels,
            scores=scores,
            passages=passages,
            signals=signals,
            model=self._model_info(),
            source=document.source,
            url=document.url,
            title=document.title,
            date=document.date,
            author=document.author,
            meta=dict(document.meta),
        )

    def _model_info(self) -> dict[str, Any]:
        info: dict[str, Any] = {"name": self.name, "version": self.version}
        if self.threshold_overrides:  # a corpus made at other thresholds must say so
            info["thresholds"] = dict(self.threshold_overrides)
        return info


def check_thresholds(thresholds: Mapping[str, float]) -> dict[str, float]:
    """Threshold overrides as ``{label: value}``, each label one of :data:`LABELS` and each value in (0, 1)."""
    checked = {}
    for label, value in thresholds.items():
        if label not in LABELS:
            raise InvalidInputError(f"unknown label {label!r} in thresholds (labels: {', '.join(LABELS)})")
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise InvalidInputError(f"threshold of {label} must be a number, got {value!r}") from None
        if not 0.0 < number < 1.0:
            raise InvalidInputError(f"threshold of {label} must be between 0 and 1 (exclusive), got {number}")
        checked[label] = number
    return {label: checked[label] for label in LABELS if label in checked}


def parse_thresholds(items: Iterable[str]) -> dict[str, float]:
    """``["changement_social=0.2", …]`` (as typed on the command line) → checked overrides."""
    pairs = {}
    for item in items:
        label, sep, value = item.partition("=")
        if not sep:
            raise InvalidInputError(f"threshold {item!r} is not LABEL=VALUE (for example changement_social=0.2)")
        pairs[label.strip()] = value.strip()
    return check_thresholds(pairs)  # type: ignore[arg-type]


def _as_document(item: str | Document, meta: dict[str, Any]) -> Document:
    if isinstance(item, Document):
        return item
    if not isinstance(item, str):
        raise InvalidInputError(f"expected a str or a balise.Document, got {type(item).__name__}")
    known = {k: meta.get(k) for k in ("url", "title", "date", "source", "author")}
    extra = {k: v for k, v in meta.items() if k not in known and k != "id"}
    return Document(
        id=str(meta.get("id", "0")),
        text=normalise_text(item),
        meta=extra,
        **{k: (None if v is None else str(v)) for k, v in known.items()},
    )


def load(
    name_or_path: str | os.PathLike[str] | None = None,
    nlp: Language | None = None,
    thresholds: Mapping[str, float] | None = None,
) -> Tagger:
    """The tagger of a model: the bundled one by default, or a name, a model file or a folder.

    The model file is checked against the SHA-256 of its card before it is unpickled. ``thresholds`` overrides
    the decision threshold of some labels (``{"changement_social": 0.2}``): lower finds more, higher is stricter.
    """
    bundle, card = load_bundle(name_or_path)
    return Tagger(bundle, card, nlp=nlp, thresholds=thresholds)
