"""Exports for researchers' tools, imports of their corrections, the change report and active learning.

Records are built by hand in the ``balise annotate`` output format: accents, typographic apostrophes, emoji outside
the BMP and CRLF line ends sit before, inside and between the spans, so that any offset slip shows.
"""
from __future__ import annotations

import csv
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from balise.cli import app
from balise.corpus import check_records
from balise.exports import FORMATS, READABLE_FORMATS, ExportError, export, newline_maps
from balise.imports import compare, import_annotations, passage_records
from balise.markers import LABELS
from balise.suggest import suggest, uncertainty
from typer.testing import CliRunner

OUTPUT = {"jsonl": "out.jsonl", "csv": "out.csv", "spacy": "out.spacy", "brat": "brat", "inception": "xmi",
          "doccano": "doccano.jsonl", "labelstudio": "tasks.json", "prodigy": "prodigy.jsonl",
          "iramuteq": "corpus.txt", "txm": "txm"}
THRESHOLDS = {label: 0.5 for label in LABELS}


def _scores(**values: float) -> dict[str, float]:
    return {label: values.get(label, 0.05) for label in LABELS}


def _record(doc_id: str, text: str, passages: list[tuple[str, str, list[str], dict[str, float]]],
            signals: list[tuple[str, str]], **fields: Any) -> dict[str, Any]:
    """An annotated record; passages and signals are located by their first and last words in ``text``."""
    built = []
    for first, last, labels, scores in passages:
        start = text.index(first)
        end = text.index(last, start) + len(last)
        built.append({"start": start, "end": end, "labels": labels, "scores": scores,
                      "evidence": [{"start": start, "end": start + len(first), "label": l, "weight": 0.5}
                                   for l in labels]})
    found = []
    for words, family in signals:
        start = text.index(words)
        found.append({"start": start, "end": start + len(words), "family": family, "text": words})
    labels = [label for label in LABELS if any(label in p["labels"] for p in built)]
    return {"id": doc_id, "source": fields.get("source"), "url": fields.get("url"), "title": fields.get("title"),
            "date": fields.get("date"), "author": None, "lang": "fr", "text": text, "labels": labels,
            "scores": {label: max((p["scores"][label] for p in built), default=0.0) for label in LABELS},
            "passages": built, "signals": found, "model": {"name": "balise-markers", "version": "0.1.0"},
            "meta": fields.get("meta", {})}


TEXT_A = ("🙂 Jusqu’ici, les aînés devaient venir au CCAS d’Étréchy ; désormais, une équipe passe 🙂 dans les "
          "hameaux.\r\nElle est formée de bénévoles et d’habitants.\r\n\r\n"
          "Pour la première fois, le conseil des usagers 🙂🙂 décide du circuit.\r\n\r\n"
          "Horaires : lundi, mardi.")
TEXT_B = ("Au lieu de renvoyer les personnes vers un guichet, la Maison France Services de Saint-Affrique "
          "organise des permanences « hors les murs » 🚐 dans les cafés.\n\n"
          "Les élus repensent l’accueil avec les usagers : ce sont eux qui ont choisi les lieux.")


@pytest.fixture()
def records() -> list[dict[str, Any]]:
    a = _record(
        "corpora/samples/fiche 1.txt", TEXT_A,
        [("🙂 Jusqu’ici", "d’habitants.", ["accessibilite_service", "rupture"],
          _scores(accessibilite_service=0.81, rupture=0.52, beneficiaires=0.47)),
         ("Pour la première", "circuit.", ["gouvernance", "rupture"], _scores(gouvernance=0.9, rupture=0.77)),
         ("Horaires", "mardi.", [], _scores())],
        [("Jusqu’ici", "contrast"), ("désormais", "contrast"), ("Pour la première fois", "first")],
        source="corpora/samples/fiche 1.txt", date="2025-03-14", title="Fiche projet",
        meta={"genre": "project_sheet"})
    b = _record(
        "https://www.exemple-média.fr/actualités/maison-france-services?x=1", TEXT_B,
        [("Au lieu", "cafés.", ["accessibilite_service", "ancrage_territorial", "rupture"],
          _scores(accessibilite_service=0.66, ancrage_territorial=0.55, rupture=0.6)),
         ("Les élus", "lieux.", ["beneficiaires"], _scores(beneficiaires=0.51, rupture=0.49))],
        [("Au lieu de", "contrast"), ("repensent", "rupture_verb")],
        url="https://www.exemple-média.fr/actualités/maison-france-services?x=1", date="2024-11",
        source="https://www.exemple-média.fr/actualités/maison-france-services?x=1")
    english = {"id": "en-1", "text": "This is an English text.", "lang": "en", "labels": [], "scores": {},
               "passages": [], "signals": [], "model": {}, "meta": {}}
    stored = {"id": "https://a.org/not-yet", "text": "Pas encore annoté.", "lang": "fr", "meta": {}}
    return [a, b, english, stored]


def _usable(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in records if r.get("passages")]


# ------------------------------------------------------------------------------------------------ round trips


@pytest.mark.parametrize("fmt", READABLE_FORMATS)
def test_round_trip_keeps_passages_labels_and_signal_offsets(fmt, records, tmp_path):
    out = tmp_path / OUTPUT[fmt]
    report = export(records, fmt, out)
    assert report.documents == (4 if fmt == "jsonl" else 2)
    warnings: list[str] = []
    imported = import_annotations(out, fmt, warnings)
    expected = passage_records(_usable(records))
    assert len(warnings) == (1 if fmt == "jsonl" else 0) and all("not annotated" in w for w in warnings)
    assert imported == expected
    # the offsets really point at the words, emoji and CRLF included
    by_id = {r["id"]: r for r in imported}
    first = by_id["corpora/samples/fiche 1.txt#0-" + str(TEXT_A.index("d’habitants.") + len("d’habitants."))]
    assert "\r\n" in first["text"] and first["text"].startswith("🙂 Jusqu’ici")
    assert [first["text"][s:e] for s, e, _ in first["signals"]] == ["Jusqu’ici", "désormais"]
    council = next(r for r in imported if r["text"].startswith("Pour la première"))
    assert council["signals"] == [[0, len("Pour la première fois"), "first"]]
    assert council["labels"] == ["gouvernance", "rupture"] and council["genre"] == "project_sheet"
    assert not check_records(imported).errors  # the corpus format: ready for balise train --add


def test_passage_records_are_the_corpus_format(records):
    gold = passage_records(records)
    assert len(gold) == 5 and {r["genre"] for r in gold} == {"project_sheet", "unknown"}
    assert all(set(r) >= {"id", "text", "labels", "signals", "genre", "topic"} for r in gold)
    assert gold[2]["labels"] == [] and gold[2]["text"] == "Horaires : lundi, mardi."
    assert passage_records(gold) == gold  # corpus records pass through


# ------------------------------------------------------------------------------------------------ tool specifics


def test_brat_standoff_counts_offsets_in_the_text_as_brat_reads_it(records, tmp_path):
    export(records, "brat", tmp_path / "brat")
    files = sorted(p.name for p in (tmp_path / "brat").iterdir())
    assert "annotation.conf" in files and "visual.conf" in files and "balise-documents.jsonl" in files
    assert len([f for f in files if f.endswith(".ann")]) == 2
    conf = (tmp_path / "brat" / "annotation.conf").read_text(encoding="utf-8")
    assert all(kind in conf.split() for kind in ["Passage", *LABELS, "Signal_contrast", "Signal_first"])
    ann = next((tmp_path / "brat").glob("corpora*.ann"))
    txt = ann.with_suffix(".txt").read_bytes().decode("utf-8")
    assert "\r" not in txt  # brat reads with universal newlines: CRLF would shift every offset after it
    for line in ann.read_text(encoding="utf-8").splitlines():
        if line.startswith("T"):
            _, kind_spans, covered = line.split("\t")
            pieces = [tuple(map(int, p.split())) for p in kind_spans.split(" ", 1)[1].split(";")]
            assert " ".join(txt[s:e] for s, e in pieces) == covered
    assert "Signal_contrast 2 11\tJusqu’ici" in ann.read_text(encoding="utf-8")  # emoji = one character


def test_newline_maps_go_both_ways():
    text = "a\r\nb\rc\n🙂d"
    norm, to_norm, to_orig = newline_maps(text)
    assert norm == "a\nb\nc\n🙂d"
    assert all(to_orig[to_norm[i]] == i for i in range(len(text) + 1) if text[i - 1 : i + 1] != "\r\n")


def test_inception_xmi_has_utf16_offsets_and_a_typesystem(records, tmp_path):
    from cassis import load_typesystem

    export(records, "inception", tmp_path / "xmi")
    typesystem = load_typesystem((tmp_path / "xmi" / "typesystem.xml").read_bytes().decode("utf-8"))
    passage = typesystem.get_type("balise.type.Passage")
    names = {f.name for f in passage.all_features}
    assert set(LABELS) <= names and "labels" in names
    assert {f.name for f in typesystem.get_type("balise.type.Signal").all_features} >= {"family"}
    xmi = next((tmp_path / "xmi").glob("corpora*.xmi")).read_text(encoding="utf-8")
    assert xmi.startswith(("<?xml version='1.0'", '<?xml version="1.0"'))
    council = TEXT_A.index("Pour la première")
    # two emoji (two UTF-16 units each) before the council passage: Java offsets are two more than Python's
    astral = sum(ord(c) > 0xFFFF for c in TEXT_A[:council])
    assert astral == 2 and re.search(rf'<type:Passage [^>]*begin="{council + astral}"', xmi)
    assert "&#13;&#10;" in xmi  # CRLF kept in the sofa, not normalised by the XML parser


def test_inception_corrections_are_read_from_the_booleans(records, tmp_path):
    from cassis import load_cas_from_xmi, load_typesystem

    export(records, "inception", tmp_path / "xmi")
    typesystem = load_typesystem(tmp_path / "xmi" / "typesystem.xml")
    path = next((tmp_path / "xmi").glob("corpora*.xmi"))
    cas = load_cas_from_xmi(path, typesystem=typesystem)
    first = cas.select("balise.type.Passage")[0]
    first.rupture = False  # the reviewer unticks rupture; the stale label list is ignored
    Passage = typesystem.get_type("balise.type.Passage")
    start = TEXT_A.index("Elle est")
    cas.add(Passage(begin=start, end=start + 4, beneficiaires=True))  # a new passage, drawn inside the old one
    cas.to_xmi(path)
    imported = {r["id"]: r for r in import_annotations(tmp_path / "xmi", "inception")}
    old = next(r for r in imported.values() if r["text"].startswith("🙂 Jusqu’ici"))
    assert old["labels"] == ["accessibilite_service"]
    assert imported[f"corpora/samples/fiche 1.txt#{start}-{start + 4}"]["labels"] == ["beneficiaires"]


def test_inception_project_export_layout_without_the_index(records, tmp_path):
    """INCEpTION's project export: ``annotation/<document>/<user>.xmi`` and ``TypeSystem.xml``; the index is gone,
    so documents are named after their folder and the change report matches passages by their text."""
    export(records, "inception", tmp_path / "xmi")
    project = tmp_path / "project" / "annotation"
    for xmi in (tmp_path / "xmi").glob("*.xmi"):
        folder = project / xmi.name
        folder.mkdir(parents=True)
        (folder / "anna.xmi").write_bytes(xmi.read_bytes())
        (folder / "TypeSystem.xml").write_bytes((tmp_path / "xmi" / "typesystem.xml").read_bytes())
    imported = import_annotations(tmp_path / "project", "inception")
    assert {r["doc_id"] for r in imported} == {"corpora_samples_fiche_1.txt",
                                               "https_www.exemple-media.fr_actualites_maison-france-services_x_1"}
    key = lambda r: r["text"]  # noqa: E731
    assert [(r["text"], r["labels"], r["signals"]) for r in sorted(imported, key=key)] == \
        [(r["text"], r["labels"], r["signals"]) for r in sorted(passage_records(records), key=key)]
    report = compare(records, imported)
    assert report.matched == report.unchanged == 5 and not report.new_passages


def test_spacy_docbin_has_spans_and_cats(records, tmp_path):
    from balise.exports import blank_french
    from spacy.tokens import DocBin

    export(records, "spacy", tmp_path / "out.spacy")
    docs = list(DocBin().from_disk(tmp_path / "out.spacy").get_docs(blank_french().vocab))
    assert len(docs) == 2
    doc = docs[0]
    assert doc.cats["rupture"] == 1.0 and doc.cats["changement_social"] == 0.0
    labels = [span.label_ for span in doc.spans["balise_passages"]]
    assert labels.count("Passage") == 3 and labels.count("rupture") == 2
    assert [span.text for span in doc.spans["balise_signals"]] == ["Jusqu’ici", "désormais", "Pour la première fois"]


def test_doccano_labelstudio_prodigy_shapes(records, tmp_path):
    export(records, "doccano", tmp_path / "d.jsonl")
    line = json.loads((tmp_path / "d.jsonl").read_text(encoding="utf-8").splitlines()[0])
    assert line["balise_id"] == "corpora/samples/fiche 1.txt" and [0, 9, "Signal_contrast"] not in line["label"]
    assert line["label"][0] == [0, TEXT_A.index("d’habitants.") + 12, "Passage"]
    assert ["Signal_contrast"] == [kind for s, e, kind in line["label"] if line["text"][s:e] == "Jusqu’ici"]
    labels = json.loads((tmp_path / "d.labels.json").read_text(encoding="utf-8"))
    assert [entry["text"] for entry in labels][:7] == ["Passage", *LABELS]

    export(records, "labelstudio", tmp_path / "tasks.json")
    tasks = json.loads((tmp_path / "tasks.json").read_text(encoding="utf-8"))
    config = ET.fromstring((tmp_path / "tasks.label_config.xml").read_text(encoding="utf-8"))
    controls = {element.get("name") for element in config.iter("Labels")}
    values = {element.get("value") for element in config.iter("Label")}
    for result in tasks[0]["predictions"][0]["result"]:
        assert result["from_name"] in controls and result["to_name"] == "text" and result["type"] == "labels"
        assert set(result["value"]["labels"]) <= values
        assert tasks[0]["data"]["text"][result["value"]["start"] : result["value"]["end"]] == result["value"]["text"]

    export(records, "prodigy", tmp_path / "p.jsonl")
    example = json.loads((tmp_path / "p.jsonl").read_text(encoding="utf-8").splitlines()[1])
    assert example["meta"]["id"].startswith("https://") and {"start", "end", "label"} == set(example["spans"][0])


def _edit_corrections(fmt: str, out: Path) -> None:
    """What a reviewer does: drop ``rupture`` from the first passage of the first document, add ``gouvernance`` to
    part of its second passage, add a ``shift`` signal, remove the ``contrast`` signal at ``désormais``."""
    if fmt == "brat":
        ann = next(out.glob("corpora*.ann"))
        txt = ann.with_suffix(".txt").read_text(encoding="utf-8")
        lines = [l for l in ann.read_text(encoding="utf-8").splitlines()
                 if not re.match(r"T\d+\trupture 0 ", l) and "\tdésormais" not in l]
        s = txt.index("le conseil")
        d = txt.index("du circuit")
        lines += [f"T90\tgouvernance {s} {s + 10}\tle conseil", f"T91\tSignal_shift {d} {d + 10}\tdu circuit"]
        ann.write_text("\n".join(lines) + "\n", encoding="utf-8")
    elif fmt == "labelstudio":
        tasks = json.loads(out.read_text(encoding="utf-8"))
        results = tasks[0]["predictions"][0]["result"]
        text = tasks[0]["data"]["text"]
        results[0]["value"]["labels"].remove("rupture")
        results[:] = [r for r in results if r["value"]["text"] != "désormais"]
        s, d = text.index("le conseil"), text.index("du circuit")
        results += [{"from_name": "marker", "to_name": "text", "type": "labels",
                     "value": {"start": s, "end": s + 10, "text": "le conseil", "labels": ["gouvernance"]}},
                    {"from_name": "signal", "to_name": "text", "type": "labels",
                     "value": {"start": d, "end": d + 10, "text": "du circuit", "labels": ["Signal_shift"]}}]
        tasks[0]["annotations"] = [{"result": results, "was_cancelled": False, "updated_at": "2026-01-02"}]
        out.write_text(json.dumps(tasks, ensure_ascii=False), encoding="utf-8")
    else:  # doccano, prodigy
        lines = [json.loads(l) for l in out.read_text(encoding="utf-8").splitlines()]
        text = lines[0]["text"]
        s, d = text.index("le conseil"), text.index("du circuit")
        key = "label" if fmt == "doccano" else "spans"
        spans = [list(x) if fmt == "doccano" else [x["start"], x["end"], x["label"]] for x in lines[0][key]]
        spans = [x for x in spans if not (x[2] == "rupture" and x[0] == 0) and text[x[0] : x[1]] != "désormais"]
        spans += [[s, s + 10, "gouvernance"], [d, d + 10, "Signal_shift"]]
        lines[0][key] = spans if fmt == "doccano" else [{"start": a, "end": b, "label": c} for a, b, c in spans]
        if fmt == "prodigy":
            lines[1]["answer"] = "ignore"
        out.write_text("".join(json.dumps(l, ensure_ascii=False) + "\n" for l in lines), encoding="utf-8")


@pytest.mark.parametrize("fmt", ["brat", "doccano", "labelstudio", "prodigy"])
def test_corrections_are_read_and_reported(fmt, records, tmp_path):
    out = tmp_path / OUTPUT[fmt]
    export(records, fmt, out)
    _edit_corrections(fmt, out)
    warnings: list[str] = []
    corrected = import_annotations(out, fmt, warnings)
    report = compare(records, corrected)
    assert report.labels["rupture"] == {"added": 0, "removed": 1}
    assert report.labels["gouvernance"] == {"added": 0, "removed": 0}  # the council passage had it already
    council = next(r for r in corrected if r["text"].startswith("Pour la première"))
    assert ["shift"] == [f for _, _, f in council["signals"] if f == "shift"]
    assert [list(s[1:]) for s in report.signals_added] == [[council["text"].index("du circuit"),
                                                            council["text"].index("du circuit") + 10, "shift"]]
    assert [s[3] for s in report.signals_removed] == ["contrast"]
    if fmt == "prodigy":
        assert report.not_reviewed == 2 and any("ignore" in w for w in warnings)
    else:
        assert report.unchanged == 3 and report.not_reviewed == 0
    assert "rupture" in report.summary()


def test_a_label_outside_every_passage_becomes_a_passage(tmp_path, records):
    export(records, "doccano", tmp_path / "d.jsonl")
    line = json.loads((tmp_path / "d.jsonl").read_text(encoding="utf-8").splitlines()[1])
    line["label"] = [[0, 5, "gouvernance"], [0, 5, "Signal_nope"], [0, 10_000, "rupture"], [3, 8, "inconnu"]]
    (tmp_path / "d.jsonl").write_text(json.dumps(line, ensure_ascii=False) + "\n", encoding="utf-8")
    warnings: list[str] = []
    [record] = import_annotations(tmp_path / "d.jsonl", "doccano", warnings)
    assert record["labels"] == ["gouvernance"] and record["text"] == "Au li"
    assert len(warnings) == 3


# ------------------------------------------------------------------------------------------------ analysis tools


def test_csv_has_one_row_per_passage_and_a_score_column_per_label(records, tmp_path):
    export(records, "csv", tmp_path / "out.csv")
    with (tmp_path / "out.csv").open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 5 and all(f"score_{label}" in rows[0] for label in LABELS)
    assert rows[0]["text"] == TEXT_A[: TEXT_A.index("d’habitants.") + len("d’habitants.")]  # CRLF intact
    assert rows[0]["labels"] == "accessibilite_service;rupture" and rows[0]["score_rupture"] == "0.52"
    assert "contrast[2:11] Jusqu’ici" in rows[0]["signals"]


@pytest.mark.parametrize("per, texts", [("passage", 5), ("document", 2)])
def test_iramuteq_star_lines(per, texts, records, tmp_path):
    report = export(records, "iramuteq", tmp_path / "corpus.txt", per=per)
    content = (tmp_path / "corpus.txt").read_text(encoding="utf-8")
    stars = [line for line in content.splitlines() if line.startswith("****")]
    assert len(stars) == texts and report.documents == 2
    for line in stars:
        assert re.fullmatch(r"\*\*\*\*( \*[a-z0-9]+_[a-z0-9_]+)+", line), line
    assert stars[0].split()[1:4] == ["*doc_corpora_samples_fiche_1_txt", "*source_fiche_1", "*date_2025_03"]
    assert "*source_exemple_media_fr" in stars[-1] and "*date_2024_11" in stars[-1]
    if per == "passage":
        assert stars[0].endswith("*marqueur_accessibilite_service *marqueur_rupture")
        assert stars[2].endswith("*marqueur_aucun")
    body = [line for line in content.splitlines() if not line.startswith("****")]
    assert not any("*" in line for line in body) and "\r" not in content and "🙂" in content


def test_txm_texts_and_metadata(records, tmp_path):
    export(records, "txm", tmp_path / "txm")
    with (tmp_path / "txm" / "metadata.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0])[:4] == ["id", "balise_id", "source", "date"] and list(rows[0])[-6:] == list(LABELS)
    for row in rows:
        assert (tmp_path / "txm" / f"{row['id']}.txt").exists()
    assert rows[0]["rupture"] == "oui" and rows[0]["beneficiaires"] == "non"
    assert (tmp_path / "txm" / f"{rows[0]['id']}.txt").read_bytes().decode("utf-8") == TEXT_A


def test_export_refuses_what_it_cannot_do(records, tmp_path):
    with pytest.raises(ExportError, match="unknown format"):
        export(records, "docx", tmp_path / "x")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "old.ann").write_text("", encoding="utf-8")
    with pytest.raises(ExportError, match="not empty"):
        export(records, "brat", tmp_path / "full")
    assert export(records, "brat", tmp_path / "full", force=True).documents == 2
    with pytest.raises(ExportError, match="standard output"):
        export(records, "brat", "-")
    assert set(FORMATS) >= set(READABLE_FORMATS)


# ------------------------------------------------------------------------------------------------ suggest


def _uncertain_records() -> list[dict[str, Any]]:
    base = "Le centre social associe les habitants à la conception du jardin partagé du quartier"
    texts = [
        (f"{base} des Fontaines.", 0.49),           # a near-duplicate of the most uncertain: passed over
        (f"{base} des Fontaines !", 0.495),         # most uncertain
        ("Les bénévoles 🙂 et les salariés votent ensemble le budget de l’épicerie solidaire.", 0.58),
        ("Le service de portage de repas passe désormais deux fois par semaine dans les hameaux.", 0.3),
        ("Fermé lundi.", 0.5),                       # too short
        ("La commune a installé un nouveau parking devant la salle des fêtes municipale.", 0.02),
    ]
    return [_record(f"d{i}", text, [(text.split()[0], text.split()[-1], [] if p < 0.5 else ["gouvernance"],
                                     _scores(gouvernance=p))], []) for i, (text, p) in enumerate(texts)]


def test_uncertainty_is_the_smallest_margin():
    assert uncertainty(_scores(gouvernance=0.45, rupture=0.9), THRESHOLDS) == pytest.approx((0.05, "gouvernance"))


def test_suggest_picks_uncertain_passages_without_near_duplicates(tmp_path):
    result = suggest(_uncertain_records(), None, 3, "prodigy", tmp_path / "round.jsonl", thresholds=THRESHOLDS)
    assert [r["id"] for r in result.records] == ["d1", "d2", "d3"]
    assert result.duplicates_skipped == 1 and result.candidates == 5
    assert result.records[0]["meta"]["balise_suggest"]["closest_label"] == "gouvernance"
    imported = import_annotations(tmp_path / "round.jsonl", "prodigy")
    assert [r["id"] for r in imported] == ["d1", "d2", "d3"]
    assert [r["text"] for r in imported] == [r["text"] for r in result.records]
    excluded = suggest(_uncertain_records(), None, 2, thresholds=THRESHOLDS,
                       exclude_texts=[_uncertain_records()[0]["text"]])
    assert [r["id"] for r in excluded.records] == ["d2", "d3"]


def test_suggested_passage_of_a_longer_document_keeps_its_corpus_id(records, tmp_path):
    result = suggest(records, None, 1, "brat", tmp_path / "round", thresholds=THRESHOLDS)
    [chosen] = result.records  # beneficiaires 0.51, rupture 0.49: the closest call
    start = TEXT_B.index("Les élus")
    assert chosen["id"] == f"{records[1]['id']}#{start}-{len(TEXT_B)}" and chosen["text"] == TEXT_B[start:]
    assert [s["text"] for s in chosen["signals"]] == ["repensent"]
    assert all(chosen["text"][s["start"] : s["end"]] == s["text"] for s in chosen["signals"])
    [imported] = import_annotations(tmp_path / "round", "brat")
    original = {r["id"]: r for r in passage_records(records)}[chosen["id"]]
    assert {k: imported[k] for k in ("id", "text", "labels", "signals")} == \
        {k: original[k] for k in ("id", "text", "labels", "signals")}
    assert compare(records, [imported]).unchanged == 1


# ------------------------------------------------------------------------------------------------ command line


def _write_jsonl(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return path


def test_cli_export_import_and_change_report(records, tmp_path):
    runner = CliRunner()
    annotated = _write_jsonl(tmp_path / "annotated.jsonl", records)
    result = runner.invoke(app, ["export", str(annotated), "--format", "brat", "-o", str(tmp_path / "brat")])
    assert result.exit_code == 0, result.output
    assert "2 document(s), 5 passage(s) written as brat" in result.output and "not annotated" in result.output
    _edit_corrections("brat", tmp_path / "brat")
    out = tmp_path / "corrections.jsonl"
    result = runner.invoke(app, ["import", "--format", "brat", str(tmp_path / "brat"), "-o", str(out),
                                 "--machine", str(annotated), "--report", str(tmp_path / "changes.json")])
    assert result.exit_code == 0, result.output
    assert "5 passage(s) from 2 document(s) written" in result.output
    assert re.search(r"rupture\s+0\s+1", result.output)
    changes = json.loads((tmp_path / "changes.json").read_text(encoding="utf-8"))
    assert changes["labels"]["rupture"] == {"added": 0, "removed": 1} and len(changes["signals_removed"]) == 1
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(lines) == 5 and not check_records(lines).errors

    both = runner.invoke(app, ["export", str(annotated), "--db", str(tmp_path / "x.db"), "--format", "csv",
                               "-o", str(tmp_path / "x.csv")])
    assert both.exit_code == 2
    assert runner.invoke(app, ["export", str(annotated), "--format", "docx", "-o", "x"]).exit_code == 2
    assert runner.invoke(app, ["export", str(annotated), "--format", "brat"]).exit_code == 2  # needs -o
    assert runner.invoke(app, ["import", "--format", "iramuteq", str(annotated), "-o", str(out)]).exit_code == 2
    stdout = runner.invoke(app, ["export", str(annotated), "--format", "csv"])
    assert stdout.exit_code == 0 and stdout.stdout.startswith("id,source,date,passage")
    per_document = runner.invoke(app, ["export", str(annotated), "--format", "iramuteq", "--per", "document",
                                       "-o", str(tmp_path / "i.txt")])
    assert per_document.exit_code == 0 and (tmp_path / "i.txt").read_text(encoding="utf-8").count("****") == 2


def test_cli_export_from_the_store(records, tmp_path):
    from balise.store import PageRecord, Store

    db = tmp_path / "s.db"
    with Store(db) as store:
        store.add_source("https://a.org/")
        row = store.url_row("https://a.org/")
        from balise.extract import Document

        result = store.record(PageRecord(url_id=row["id"], state="fetched", http_status=200, document=Document(
            id="https://a.org/", text=TEXT_B, url="https://a.org/")))
        store.save_annotation(result.document_id, {**records[1], "id": "https://a.org/"})
    runner = CliRunner()
    out = tmp_path / "store.jsonl"
    assert runner.invoke(app, ["export", "--db", str(db), "--format", "jsonl", "-o", str(out)]).exit_code == 0
    assert json.loads(out.read_text(encoding="utf-8"))["passages"] == records[1]["passages"]
    result = runner.invoke(app, ["export", "--db", str(db), "--format", "doccano", "-o", str(tmp_path / "d.jsonl")])
    assert result.exit_code == 0, result.output
    assert len(import_annotations(tmp_path / "d.jsonl", "doccano")) == 2


def test_cli_suggest(tmp_path):
    annotated = _write_jsonl(tmp_path / "annotated.jsonl", _uncertain_records())
    gold = _write_jsonl(tmp_path / "gold.jsonl", [{"id": "g1", "text": _uncertain_records()[2]["text"],
                                                   "labels": [], "signals": [], "genre": "x", "topic": "y"}])
    result = CliRunner().invoke(app, ["suggest", str(annotated), "-n", "2", "--format", "labelstudio",
                                      "-o", str(tmp_path / "round.json"), "--exclude", str(gold)])
    assert result.exit_code == 0, result.output
    assert "2 passage(s) suggested" in result.output
    tasks = json.loads((tmp_path / "round.json").read_text(encoding="utf-8"))
    assert len(tasks) == 2 and "d2" not in [t["data"]["balise_id"] for t in tasks]
    assert (tmp_path / "round.label_config.xml").exists()
