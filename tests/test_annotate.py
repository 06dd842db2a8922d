"""The batch job and its contract: output schema and offsets, resume, API = CLI, non-French documents."""
from __future__ import annotations

import json
import subprocess
import sys

from conftest import SAMPLES
from typer.testing import CliRunner

from balise.annotate import annotate
from balise.cli import app
from balise.markers import LABELS
from balise.signals import FAMILIES

FRENCH_1 = ("Jusqu'ici, les personnes âgées isolées devaient se rendre au CCAS. Désormais, une équipe mobile "
            "vient à leur rencontre dans les hameaux du canton, sans rendez-vous.\n\n"
            "Les habitants du quartier ont conçu eux-mêmes le service avec le centre social ; ils en assurent "
            "l'ouverture trois soirs par semaine.")
FRENCH_2 = ("Météo-France annonce des averses orageuses sur le littoral jeudi, avec des rafales à 80 km/h en fin "
            "de journée.")
ENGLISH = ("The city council approved the new budget on Tuesday, after a long debate about road repairs and "
           "the cost of the swimming pool renovation.")


def write_jsonl(path, rows):
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    return path


def read_lines(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_output_schema_and_offsets(tmp_path, tagger):
    source = write_jsonl(tmp_path / "in.jsonl", [{"id": "doc-a", "text": FRENCH_1, "title": "Aînés", "theme": "x"},
                                                 {"id": "doc-b", "text": FRENCH_2}])
    summary = annotate([source], tmp_path / "out.jsonl", tagger=tagger)
    rows = read_lines(tmp_path / "out.jsonl")
    assert [r["id"] for r in rows] == ["doc-a", "doc-b"]
    assert summary.tagged == 2 and summary.read == 2 and not summary.skipped
    for row in rows:
        assert set(row) >= {"id", "source", "url", "title", "date", "lang", "text", "labels", "scores", "passages",
                            "signals", "model"}
        assert row["lang"] == "fr"
        assert set(row["scores"]) == set(LABELS)
        assert set(row["labels"]) <= set(LABELS)
        assert row["model"]["name"] and row["model"]["version"]
        for passage in row["passages"]:
            text = row["text"][passage["start"] : passage["end"]]
            assert text and text == text.strip()
            assert set(passage["scores"]) == set(LABELS)
            assert all(0.0 <= v <= 1.0 for v in passage["scores"].values())
            for evidence in passage["evidence"]:
                assert evidence["label"] in passage["labels"]
                assert passage["start"] <= evidence["start"] < evidence["end"] <= passage["end"]
        for signal in row["signals"]:
            assert signal["family"] in FAMILIES
            assert row["text"][signal["start"] : signal["end"]] == signal["text"]
        doc_labels = {label for p in row["passages"] for label in p["labels"]}
        assert set(row["labels"]) == doc_labels
    first = rows[0]
    assert first["title"] == "Aînés" and first["meta"] == {"theme": "x"}
    assert [first["text"][p["start"]:p["end"]][:10] for p in first["passages"]] == ["Jusqu'ici,", "Les habita"]
    assert {s["text"] for s in first["signals"]} >= {"Jusqu'ici", "Désormais"}
    assert rows[1]["labels"] == []


def test_non_french_document_is_flagged_not_tagged(tmp_path, tagger):
    source = write_jsonl(tmp_path / "in.jsonl", [{"id": "en", "text": ENGLISH}, {"id": "fr", "text": FRENCH_2}])
    summary = annotate([source], tmp_path / "out.jsonl", tagger=tagger)
    rows = {r["id"]: r for r in read_lines(tmp_path / "out.jsonl")}
    assert rows["en"]["lang"] == "en"
    assert rows["en"]["passages"] == [] and rows["en"]["labels"] == []
    assert rows["fr"]["lang"] == "fr"
    assert summary.not_french == 1 and summary.tagged == 1


def test_resume_after_interrupted_run(tmp_path, tagger):
    rows = [{"id": f"d{i}", "text": f"{FRENCH_2} Bulletin numéro {i}."} for i in range(6)]
    source = write_jsonl(tmp_path / "in.jsonl", rows)
    out = tmp_path / "out.jsonl"
    annotate([source], out, tagger=tagger)
    complete = out.read_text(encoding="utf-8").splitlines(keepends=True)
    # simulate a run killed while writing its fourth line
    out.write_text("".join(complete[:3]) + complete[3][: len(complete[3]) // 2], encoding="utf-8")
    summary = annotate([source], out, tagger=tagger, resume=True)
    assert summary.already_done == 3 and summary.tagged == 3
    resumed = read_lines(out)
    assert [r["id"] for r in resumed] == [f"d{i}" for i in range(6)]
    assert resumed == [json.loads(line) for line in complete]


def test_bad_inputs_never_abort_the_batch(tmp_path, tagger):
    (tmp_path / "bin.txt").write_bytes(b"\x00\x01\x02" * 500)
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "broken.pdf").write_bytes(b"%PDF-1.4\n1 0 obj <<\n")
    (tmp_path / "ok.txt").write_text(FRENCH_1, encoding="utf-8")
    summary = annotate([tmp_path], tmp_path / "out" / "res.jsonl", tagger=tagger)
    assert summary.tagged == 1
    reasons = {s.source.rsplit("/", 1)[-1]: s.reason for s in summary.skipped}
    assert set(reasons) == {"bin.txt", "empty.txt", "broken.pdf"}
    assert all(reasons.values())
    assert len(read_lines(tmp_path / "out" / "res.jsonl")) == 1


def test_api_and_cli_give_the_same_result(tmp_path, tagger):
    source = write_jsonl(tmp_path / "in.jsonl", [{"id": "x", "text": FRENCH_1}])
    result = CliRunner().invoke(app, ["annotate", str(source), "-o", str(tmp_path / "cli.jsonl"),
                                      "--summary", str(tmp_path / "summary.json")])
    assert result.exit_code == 0, result.output
    assert "documents read: 1" in result.output
    cli_row = read_lines(tmp_path / "cli.jsonl")[0]
    api_row = tagger(FRENCH_1, id="x", source=str(source)).to_dict()
    assert cli_row == api_row
    assert json.loads((tmp_path / "summary.json").read_text())["documents_tagged"] == 1


def test_cli_thresholds_change_decisions_and_are_recorded(tmp_path):
    source = write_jsonl(tmp_path / "in.jsonl", [{"id": "x", "text": FRENCH_1}])
    strict = [arg for label in LABELS for arg in ("--threshold", f"{label}=0.9999")]
    result = CliRunner().invoke(app, ["annotate", str(source), "-o", str(tmp_path / "strict.jsonl"), *strict])
    assert result.exit_code == 0, result.output
    row = read_lines(tmp_path / "strict.jsonl")[0]
    assert row["labels"] == [] and row["model"]["thresholds"] == dict.fromkeys(LABELS, 0.9999)
    assert all(p["evidence"] == [] for p in row["passages"])
    bad = CliRunner().invoke(app, ["annotate", str(source), "-o", str(tmp_path / "bad.jsonl"),
                                   "--threshold", "rupture=2"])
    assert bad.exit_code != 0 and "between 0 and 1" in bad.output
    assert not (tmp_path / "bad.jsonl").exists()
    watching = CliRunner().invoke(app, ["watch", "--db", str(tmp_path / "w.db"), "--threshold", "inconnu=0.2"])
    assert watching.exit_code != 0 and "unknown label" in watching.output


def test_samples_quick_start(tmp_path, tagger):
    summary = annotate([SAMPLES], tmp_path / "samples.jsonl", tagger=tagger)
    rows = read_lines(tmp_path / "samples.jsonl")
    assert summary.tagged >= 11 and summary.not_french >= 1
    by_name = {r["id"].rsplit("/", 1)[-1]: r for r in rows}
    assert by_name["rapport-activite-cias-2025.pdf"]["passages"]
    rich = ["article-bus-des-droits-thierache.html", "magazine-municipal-epicerie-du-pont.html",
            "fiche-projet-halte-repit-itinerante.txt", "rapport-activite-cias-2025.pdf"]
    assert all(len(by_name[name]["labels"]) >= 2 for name in rich)
    off_topic = [r for r in rows if r["id"] == "veille-2026-0311-02"]
    assert off_topic and off_topic[0]["labels"] == []


def test_console_script_help():
    result = subprocess.run([sys.executable, "-m", "balise", "annotate", "--help"], capture_output=True, text=True)
    assert result.returncode == 0
    for option in ("--output", "--resume", "--n-process", "--model"):
        assert option in result.stdout
