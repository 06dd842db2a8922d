"""The evaluation the figures in the README and the model card come from: counts, calibration, ranking,
bootstrap intervals, spans."""
from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from balise.cli import app
from balise.evaluate import bootstrap_intervals, by_group, calibration, evaluate_records, ranking, scores, signal_scores
from balise.markers import LABELS
from balise.signals import Signal


def test_scores_count_each_label_and_pool_them_for_micro():
    Y = np.zeros((4, len(LABELS)), dtype=int)
    P = np.zeros_like(Y)
    Y[:2, 0] = 1            # beneficiaires: 2 positives, one found, one false alarm
    P[[0, 2], 0] = 1
    Y[:, 1] = 1             # ancrage_territorial: all found
    P[:, 1] = 1
    result = scores(Y, P)
    first = result.per_label["beneficiaires"]
    assert (first.precision, first.recall, first.f1, first.support) == (0.5, 0.5, 0.5, 2)
    assert result.per_label["ancrage_territorial"].f1 == 1.0
    assert result.per_label["gouvernance"].f1 == 0.0  # nothing to find, nothing found: counts as 0 in the macro
    assert result.macro_f1 == pytest.approx((0.5 + 1.0) / len(LABELS))
    assert result.micro_f1 == pytest.approx(2 * 5 / (2 * 5 + 1 + 1))


def test_calibration_gives_brier_and_a_reliability_table():
    Y = np.zeros((4, len(LABELS)), dtype=int)
    Y[:2, 0] = 1
    proba = np.full(Y.shape, 0.05)
    proba[:, 0] = [0.95, 0.85, 0.15, 0.05]
    brier, table = calibration(Y, proba)
    assert brier["beneficiaires"] == pytest.approx(np.mean([0.05**2, 0.15**2, 0.15**2, 0.05**2]))
    assert sum(row["n"] for row in table) == Y.size
    top = next(row for row in table if row["bin"] == "0.9-1.0")
    assert top["observed_rate"] == 1.0


def test_ranking_is_independent_of_thresholds_and_undefined_without_both_classes():
    Y = np.zeros((4, len(LABELS)), dtype=int)
    Y[:2, 0] = 1
    Y[2:, 1] = 1
    proba = np.zeros(Y.shape)
    proba[:, 0] = [0.30, 0.20, 0.10, 0.05]   # every positive above every negative, all under any threshold
    proba[:, 1] = [0.30, 0.20, 0.10, 0.05]   # every positive below every negative
    result = ranking(Y, proba)
    assert result["beneficiaires"] == {"roc_auc": 1.0, "average_precision": 1.0}
    assert result["ancrage_territorial"]["roc_auc"] == 0.0
    assert result["gouvernance"] == {"roc_auc": None, "average_precision": None}


def _noisy_predictions(n: int, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    Y = rng.integers(0, 2, (n, len(LABELS)))
    return Y, np.where(rng.random(Y.shape) < 0.8, Y, 1 - Y)  # one decision in five is wrong


def test_bootstrap_intervals_hold_the_figure_and_narrow_with_more_items():
    Y, P = _noisy_predictions(80)
    small = bootstrap_intervals(Y, P, resamples=500)
    low, high = small["macro_f1"]
    assert low < scores(Y, P).macro_f1 < high
    for label in LABELS:
        low, high = small["per_label"][label]
        assert low <= scores(Y, P).per_label[label].f1 <= high
    Y_big, P_big = _noisy_predictions(2000)
    big = bootstrap_intervals(Y_big, P_big, resamples=500)
    width = lambda interval: interval[1] - interval[0]  # noqa: E731
    assert width(big["macro_f1"]) < width(small["macro_f1"]) / 3
    assert bootstrap_intervals(Y, P, resamples=500) == small  # seeded
    assert bootstrap_intervals(Y, P, resamples=500, seed=7) != small


def test_bootstrap_intervals_are_exact_for_perfect_predictions_and_refuse_bad_settings():
    Y, _ = _noisy_predictions(30)
    perfect = bootstrap_intervals(Y, Y, resamples=200)
    assert perfect["macro_f1"] == [1.0, 1.0]
    with pytest.raises(ValueError):
        bootstrap_intervals(Y, Y, resamples=0)
    with pytest.raises(ValueError):
        bootstrap_intervals(Y, Y, level=1.0)


def test_by_group_scores_each_genre_on_its_own_items():
    Y = np.zeros((5, len(LABELS)), dtype=int)
    P = np.zeros_like(Y)
    Y[0, 0] = P[0, 0] = 1          # sheet: right
    Y[1, 1] = 1                    # sheet: missed
    P[2, 4] = 1                    # press: false alarm on an unlabelled item
    groups = ["project_sheet", "project_sheet", "press_regional", "press_regional", "project_sheet"]
    result = by_group(Y, P, groups)
    assert list(result) == ["project_sheet", "press_regional"]  # largest group first
    third = pytest.approx(2 / 3, abs=1e-3)
    assert result["project_sheet"] == {"n": 3, "labelled": 2, "micro_f1": third, "exact": third}
    assert result["press_regional"]["micro_f1"] == 0.0 and result["press_regional"]["exact"] == 0.5


def test_signal_spans_match_on_overlap_and_family():
    gold = [[(0, 9, "contrast"), (40, 49, "contrast")]]
    found = [[Signal(2, 9, "contrast", "ici"), Signal(40, 49, "first", "une première")]]
    result = signal_scores(gold, found)
    assert result["all"] == {"precision": 0.5, "recall": 0.5, "found": 2, "gold": 2}
    assert result["contrast"]["precision"] == 1.0 and result["contrast"]["recall"] == 0.5
    assert result["first"]["precision"] == 0.0


def test_evaluate_command_reports_model_baseline_and_ranking(tmp_path, tagger):
    rows = [
        {"id": "a", "labels": ["ancrage_territorial", "accessibilite_service", "rupture"],
         "text": "Jusqu'ici, les personnes âgées isolées devaient se rendre au CCAS. Désormais, une équipe mobile "
                 "vient à leur rencontre dans les hameaux du canton, sans rendez-vous."},
        {"id": "b", "labels": [],
         "text": "Météo-France annonce des averses orageuses sur le littoral jeudi, avec des rafales à 80 km/h."},
    ]
    data = tmp_path / "gold.jsonl"
    data.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    evaluation = evaluate_records(tagger, rows)
    assert evaluation.ranking["accessibilite_service"]["roc_auc"] == 1.0  # the outreach passage outranks the weather
    assert evaluation.ranking["gouvernance"]["roc_auc"] is None
    result = CliRunner().invoke(app, ["evaluate", "--data", str(data)])
    assert result.exit_code == 0, result.output
    header = result.output.splitlines()[1].split()
    assert header[-2:] == ["AUC", "AP"] and "baseline" in header and "interval" in header
    assert "bootstrap samples of the 2 items" in result.output
    as_json = CliRunner().invoke(app, ["evaluate", "--data", str(data), "--json"])
    report = json.loads(as_json.output)
    assert set(report) >= {"model", "keyword_baseline", "brier", "reliability", "ranking", "intervals"}
    assert report["model"]["n"] == 2
    low, high = report["intervals"]["macro_f1"]
    assert low <= report["model"]["macro_f1"] <= high
    bare = CliRunner().invoke(app, ["evaluate", "--data", str(data), "--json", "--resamples", "0"])
    assert json.loads(bare.output)["intervals"] == {}


def _script(name):
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "scripts" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_real_gap_ceiling_is_the_best_threshold_on_the_items_themselves():
    gap = _script("real_gap")
    y = np.array([1, 1, 0, 0, 1, 0])
    assert gap.ceiling_f1(y, np.array([0.9, 0.8, 0.1, 0.2, 0.7, 0.3])) == pytest.approx(1.0)  # separable
    # positives at 0.9, 0.35, 0.05; negatives at 0.4, 0.3, 0.2: the best threshold (0.35, or 0.05) gives F1 2/3
    assert gap.ceiling_f1(y, np.array([0.9, 0.35, 0.3, 0.2, 0.05, 0.4])) == pytest.approx(2 / 3)
    assert gap.ceiling_f1(np.zeros(3, dtype=int), np.array([0.1, 0.2, 0.3])) == 0.0


def test_real_gap_cuts_each_document_into_passages_sentences_and_windows(tagger):
    gap = _script("real_gap")
    records = [{"text": "Les habitants ont conçu l'épicerie. Ils la tiennent trois soirs par semaine. "
                        "Le CCAS prête le local."},
               {"text": "Le club a gagné dimanche."}]
    units = gap.unit_features(tagger, records)
    assert [len(u) for u in units["passage"]] == [1, 1]
    assert [len(u) for u in units["sentence"]] == [3, 1]
    assert [len(u) for u in units["two sentences"]] == [3, 1]
    assert units["two sentences"][0][0].lemmas[-1] == units["sentence"][0][1].lemmas[-1]  # window = sentences 1-2
    scores = gap.document_scores(tagger, units["sentence"])
    per_sentence = tagger.bundle.classifier.predict_proba(units["sentence"][0])
    assert np.allclose(scores[0], per_sentence.max(axis=0))  # a document scores its best unit
    assert scores.shape == (2, len(LABELS))


def test_real_gap_pads_each_labelled_passage_with_an_unlabelled_one():
    gap = _script("real_gap")
    records = [{"id": "a", "text": "Les habitants tiennent l'épicerie.", "labels": ["beneficiaires"]},
               {"id": "b", "text": "Le club a gagné.", "labels": []},
               {"id": "c", "text": "Une navette gratuite dessert les hameaux.", "labels": ["accessibilite_service"]}]
    padded = gap.padded(records, seed=1)
    assert [(r["id"], r["labels"]) for r in padded] == [("a", ["beneficiaires"]), ("c", ["accessibilite_service"])]
    for original, joined in zip((records[0], records[2]), padded):
        assert original["text"] in joined["text"] and "Le club a gagné." in joined["text"]
        assert "\n" not in joined["text"]  # one paragraph, so one passage, as in a real sheet
    assert padded == gap.padded(records, seed=1)  # seeded
