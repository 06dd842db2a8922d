"""The public API: typed errors, the reference page, the examples, mypy on the public modules."""
from __future__ import annotations

import re
import subprocess
import sys

import pytest
from conftest import ROOT

import balise
from balise.errors import BaliseError, InvalidInputError


def test_public_names():
    assert [m.id for m in balise.MARKERS] == list(balise.LABELS)
    assert all(m.name and m.definition for m in balise.MARKERS)
    assert set(balise.SIGNAL_FAMILIES) == {"contrast", "rupture_verb", "first", "shift"}


def test_bad_input_raises_a_balise_error(tagger):
    with pytest.raises(InvalidInputError):
        tagger(12345)  # type: ignore[arg-type]
    with pytest.raises(BaliseError):
        balise.render(object())
    with pytest.raises(InvalidInputError):
        balise.markers.sort_labels(["gouvernance", "inconnu"])


def test_empty_and_whitespace_text(tagger):
    result = tagger("   \n\n  ")
    assert result.passages == [] and result.labels == []
    assert result.to_dict()["scores"] == dict.fromkeys(balise.LABELS, 0.0)


def test_pipe_streams_in_order(tagger):
    texts = ["Le CCAS ouvre une permanence sans rendez-vous au cœur du quartier.",
             "This is an English sentence about the weather in London today.",
             "", "Le match a été reporté."]
    results = list(tagger.pipe(texts, batch_size=2))
    assert [r.id for r in results] == ["0", "1", "2", "3"]
    assert results[1].lang == "en" and not results[1].passages


def test_render_highlights_signals(tagger):
    html = balise.render(tagger("Jusqu'ici le CCAS attendait les familles ; désormais il va vers elles."))
    marked = [re.sub(r"<[^>]+>", "", inner) for inner in re.findall(r"<mark[^>]*>(.*?)</mark>", html)]
    assert marked == ["Jusqu&#x27;ici", "désormais"]
    assert 'title="signal: contrast"' in html
    assert html.count('class="passage"') == 1


def test_api_reference_is_up_to_date():
    out = subprocess.run([sys.executable, str(ROOT / "scripts" / "make_api_docs.py"), "--check"],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr + out.stdout


@pytest.mark.parametrize("example", ["tag_a_text.py", "spacy_pipeline.py", "render_html.py"])
def test_examples_run(example, tmp_path):
    args = [sys.executable, str(ROOT / "scripts" / "examples" / example)]
    if example == "render_html.py":
        args.append(str(tmp_path / "x.html"))
    out = subprocess.run(args, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip()
    if example == "render_html.py":
        assert "<html" in (tmp_path / "x.html").read_text(encoding="utf-8")


def test_public_modules_are_mypy_clean():
    modules = ["__init__", "tagger", "errors", "markers", "render", "component", "extract", "annotate"]
    paths = [str(ROOT / "pipeline" / "balise" / f"{m}.py") for m in modules]
    out = subprocess.run([sys.executable, "-m", "mypy", "--ignore-missing-imports", *paths],
                         capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stdout


def test_thresholds_can_be_overridden_and_are_recorded(tagger):
    from balise.tagger import Tagger, parse_thresholds

    text = ("Jusqu'ici, les personnes âgées isolées devaient se rendre au CCAS. Désormais, une équipe mobile vient "
            "à leur rencontre dans les hameaux du canton, sans rendez-vous.")
    tuned = tagger(text)
    scores = tuned.passages[0].scores
    label = max((k for k in balise.LABELS if k not in tuned.labels), key=scores.get)  # the likeliest label left out
    assert scores[label] >= 0.001 and "thresholds" not in tuned.to_dict()["model"]
    lower = scores[label] / 2  # scores are rounded to 4 digits: half the score is safely below the probability
    lenient = Tagger(tagger.bundle, tagger.card, nlp=tagger.nlp, thresholds={label: lower})
    result = lenient(text)
    assert label in result.labels and result.passages[0].scores == scores
    assert any(e.label == label for e in result.passages[0].evidence)  # evidence follows the decision
    assert result.to_dict()["model"]["thresholds"] == {label: pytest.approx(lower)}
    assert lenient.thresholds[label] == pytest.approx(lower)
    other = next(k for k in balise.LABELS if k != label)
    assert lenient.thresholds[other] == tagger.thresholds[other]
    strict = Tagger(tagger.bundle, tagger.card, nlp=tagger.nlp, thresholds=dict.fromkeys(balise.LABELS, 0.9999))
    assert strict(text).labels == []
    assert parse_thresholds(["rupture=0.3", " changement_social = 0.25 "]) == {"rupture": 0.3,
                                                                             "changement_social": 0.25}
    for bad in (["inconnu=0.2"], ["rupture=1"], ["rupture=0"], ["rupture=abc"], ["rupture"]):
        with pytest.raises(InvalidInputError):
            parse_thresholds(bad)
