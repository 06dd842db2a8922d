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


def test_label_review_keeps_the_split_and_records_every_change(tmp_path):
    """A review rewrites the part files and lists before/after; rebuilding the split after it leaves every
    passage on its side, so dev figures before and after a review compare the same passages."""
    import json
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    parts = tmp_path / "gold" / "parts"
    parts.mkdir(parents=True)
    topics = ["le marché du samedi", "la crèche parentale", "le minibus du canton", "la laverie associative",
              "le jardin partagé", "la bibliothèque de rue", "la navette des hameaux", "l'épicerie sociale"]
    records = [{"id": f"t-{i:03d}", "text": f"Passage {i} sur {topics[i % 8]} numéro {i * 7919} écrit pour le test.",
                "labels": ["ancrage_territorial"] if i % 3 == 0 else [], "signals": [], "genre": "project_sheet",
                "topic": "isolation"} for i in range(60)]
    (parts / "t.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), "utf-8")

    def run(*args):
        done = subprocess.run([sys.executable, *args], cwd=root, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        return done.stdout

    def sides():
        return {split: {json.loads(line)["id"] for line in (tmp_path / "gold" / f"{split}.jsonl").open()}
                for split in ("train", "dev")}

    run("scripts/build_gold.py", "--parts", str(parts), "--out", str(tmp_path / "gold"))
    before = sides()
    changes = tmp_path / "changes.jsonl"
    changes.write_text(
        json.dumps({"id": "t-001", "add": ["changement_social"], "remove": [], "reason": "test"}) + "\n"
        + json.dumps({"id": "t-003", "add": [], "remove": ["ancrage_territorial"], "reason": "test"}) + "\n"
        + json.dumps({"id": "__progress__", "last_id": "t-003"}) + "\n", "utf-8")
    out = run("scripts/apply_revision.py", "--version", "9", "--parts", str(parts), str(changes))
    assert out.startswith("2 passages changed")
    revision = [json.loads(line) for line in (tmp_path / "gold" / "revision-v9.jsonl").open()]
    assert [(r["id"], r["before"], r["after"]) for r in revision] == [
        ("t-001", [], ["changement_social"]), ("t-003", ["ancrage_territorial"], [])]
    run("scripts/build_gold.py", "--parts", str(parts), "--out", str(tmp_path / "gold"))
    assert sides() == before
    rebuilt = {json.loads(line)["id"]: json.loads(line) for split in ("train", "dev")
               for line in (tmp_path / "gold" / f"{split}.jsonl").open()}
    assert rebuilt["t-001"]["labels"] == ["changement_social"] and rebuilt["t-003"]["labels"] == []
    # a later batch is split in proportion: its rare label is not all sent to dev to reach a whole-corpus minimum
    import random

    rng = random.Random(5)
    words = ("accueil quartier mairie bus atelier jardin école famille voisin marché conseil crèche bailleur "
             "parent navette repas stage emploi santé loisir").split()
    batch = [{"id": f"u-{i:03d}", "text": " ".join(rng.choice(words) for _ in range(12)) + f" ({i}).",
              "labels": ["gouvernance"] if i % 4 == 0 else [], "signals": [], "genre": "project_sheet",
              "topic": "isolation"} for i in range(80)]
    (parts / "u.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in batch), "utf-8")
    run("scripts/build_gold.py", "--parts", str(parts), "--out", str(tmp_path / "gold"))
    after = sides()
    assert before["train"] <= after["train"] and before["dev"] <= after["dev"]
    new_dev = [i for i in after["dev"] if i.startswith("u-")]
    rare_in_dev = [i for i in new_dev if int(i[2:]) % 4 == 0]
    assert 0 < len(rare_in_dev) < 10 and 10 <= len(new_dev) <= 30


def test_every_writer_belongs_to_one_campaign():
    """Leave-one-campaign-out scores (compare_models, corpus_ablation) are only honest if no writer's passages
    fall outside the campaigns or into two of them."""
    import importlib.util
    import sys

    path = GOLD.parents[1] / "scripts" / "corpus_ablation.py"
    spec = importlib.util.spec_from_file_location("corpus_ablation", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("corpus_ablation", module)
    spec.loader.exec_module(module)
    prefixes = [p for members in module.CAMPAIGNS.values() for p in members]
    assert len(prefixes) == len(set(prefixes))
    writers = {path.stem for path in (GOLD / "parts").glob("*.jsonl")}
    assert writers <= set(prefixes), sorted(writers - set(prefixes))


def test_double_annotation_files_match_the_gold():
    """Every double-annotated passage is in the gold, and its adjudicated labels are the gold labels."""
    import json

    from balise.corpus import read_gold

    gold = {r["id"]: r for r in read_gold(GOLD)}
    for name in ("double-annotation-summaries.jsonl", "double-annotation-understated.jsonl",
                 "double-annotation-register.jsonl", "double-annotation-fields.jsonl",
                 "double-annotation-implicit.jsonl"):
        rows = [json.loads(line) for line in (GOLD / name).open(encoding="utf-8")]
        assert rows
        for row in rows:
            assert gold[row["id"]]["labels"] == row["final"], (name, row["id"])
