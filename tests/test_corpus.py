"""The gold corpus passes its own validator, and the validator catches what it should."""
from __future__ import annotations

from conftest import GOLD
from typer.testing import CliRunner

from balise.cli import app
from balise.corpus import CorpusRequirements, check_corpus, check_records, near_duplicates, stratified_split


def test_gold_corpus_is_valid():
    report = check_corpus(GOLD, CorpusRequirements())
    assert report.ok, report.errors[:20]


def test_cli_corpus_check():
    result = CliRunner().invoke(app, ["corpus", "check", str(GOLD)])
    assert result.exit_code == 0, result.output
    assert "corpus OK" in result.output


def _rec(i, text, labels=(), signals=(), split="train"):
    return {"id": str(i), "text": text, "labels": list(labels), "signals": [list(s) for s in signals],
            "genre": "op_ed", "topic": "housing", "split": split}


def test_validator_catches_errors():
    text = "Jusqu'ici les familles attendaient au guichet ; désormais le CCAS vient chez elles."
    records = [
        _rec(1, text, ["rupture"], [(0, 9, "contrast")]),
        _rec(2, text.replace("familles", "personnes"), ["rupture"], split="dev"),
        _rec(3, "Un autre texte sans rapport avec le précédent, sur le budget du club.", ["inconnu"],
             [(50, 500, "contrast")]),
        {"id": "4", "text": "x"},
    ]
    report = check_records(records, CorpusRequirements(min_passages=10))
    joined = "\n".join(report.errors)
    assert "near-duplicate across splits: 1 ~ 2" in joined
    assert "unknown label(s) ['inconnu']" in joined
    assert "bad signal [50, 500, 'contrast']" in joined
    assert "missing field(s)" in joined
    assert "passages < 10" in joined


def test_near_duplicates_and_split_keep_twins_together():
    base = "Les habitants du quartier ont imaginé une épicerie solidaire qu'ils tiennent trois soirs par semaine."
    texts = [base, base.replace("trois", "quatre"), "Le match de dimanche a été reporté à cause de la pluie."]
    pairs = near_duplicates(texts)
    assert [(i, j) for i, j, _ in pairs] == [(0, 1)]
    records = [_rec(i, t, ["beneficiaires"] if i < 2 else []) for i, t in enumerate(texts)]
    train, dev = stratified_split(records, dev_share=0.5, min_dev_positives=1)
    sides = {r["id"]: ("train" if r in train else "dev") for r in records}
    assert sides["0"] == sides["1"]
