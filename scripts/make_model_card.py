"""Write models/<name>.md, the human-readable model card, from the JSON card that `balise train` writes.

    python scripts/make_model_card.py [models/balise-markers.json] [--speed bench.md] [--comparison compare.md]

Every figure comes from the JSON card (or from the benchmark and comparison outputs given), never typed by hand.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from balise.markers import LABEL_NAMES, LABELS


def table(metrics: dict, title: str) -> list[str]:
    model, base = metrics["model"], metrics["keyword_baseline"]
    ranks = metrics.get("ranking", {})
    intervals = metrics.get("intervals", {})
    extra = " ROC AUC | average precision |" if ranks else ""
    lines = [f"#### {title}", "",
             "| label | precision | recall | F1 | 95 % interval | support | keyword baseline F1 |" + extra,
             "|---|---|---|---|---|---|---|" + ("---|---|" if ranks else "")]
    for label in LABELS:
        m, b = model["per_label"][label], base["per_label"][label]
        rank = ranks.get(label, {})
        cells = f" {_figure(rank.get('roc_auc'))} | {_figure(rank.get('average_precision'))} |" if ranks else ""
        lines.append(f"| `{label}` | {m['precision']:.3f} | {m['recall']:.3f} | **{m['f1']:.3f}** | "
                     f"{_span(intervals.get('per_label', {}).get(label))} | {m['support']} | {b['f1']:.3f} |" + cells)
    aucs = [r["roc_auc"] for r in ranks.values() if r.get("roc_auc") is not None]
    mean_auc = f" mean {sum(aucs) / len(aucs):.3f} | |" if aucs else (" | |" if ranks else "")
    lines.append(f"| **macro** | | | **{model['macro_f1']:.3f}** | {_span(intervals.get('macro_f1'))} | {model['n']} "
                 f"| {base['macro_f1']:.3f} |" + mean_auc)
    lines.append(f"| micro | | | {model['micro_f1']:.3f} | | | {base['micro_f1']:.3f} |" + (" | |" if ranks else ""))
    lines.append("")
    if intervals:
        lines.append(f"The 95 % interval is the percentile interval of F1 over {intervals['resamples']} bootstrap "
                     f"samples of the {model['n']} items: two figures whose intervals overlap widely are not shown "
                     "apart by this sample.")
        lines.append("")
    if ranks:
        lines.append("ROC AUC and average precision score the probabilities without thresholds: how well reading "
                     "the items in order of probability finds each label.")
        lines.append("")
    if metrics.get("confusions"):
        lines.append("Most frequent confusions (gold label missed → label predicted instead): " + "; ".join(
            f"{c['missed']} → {c['predicted_instead']} ({c['count']})" for c in metrics["confusions"][:6]) + ".")
        lines.append("")
    return lines


def _span(values: list[float] | None) -> str:
    return "–" if not values else f"{values[0]:.2f}–{values[1]:.2f}"


def _figure(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"


CUE_FEATURES = ("entity counts, rupture-signal counts, counts of each marker's cue lemmas, signal counts scaled by "
                "the social-action vocabulary around them, clause cues read from spaCy's morphology and parse (a "
                "change stated as fact, an aim or a future, the public as the subject of an action, a changed view "
                "or practice) and length")


def _model_description(card: dict) -> str:
    """The model bullet, from the parameters recorded in the card (one classifier or a soft vote of views)."""
    C, weight = _member_param(card, "C"), _member_param(card, "dense_weight")
    if card["params"].get("members"):
        return ("- **Model**: a soft vote (mean of calibrated probabilities) of two views of each passage. Each "
                "view is one logistic regression a label (scikit-learn, `class_weight=balanced`, "
                f"C={C}) with sigmoid calibration (3-fold), over TF-IDF of lemma 1-2-grams joined to standardised "
                f"dense features weighted {weight}. View 1 adds {CUE_FEATURES}; view 2 adds the mean word vector "
                "to view 1. Thresholds are tuned per label on the mean by 5-fold cross-validation on the training "
                "split only. Evidence is the mean word contribution over the views.")
    dense = card["params"].get("dense_parts") or []
    vectors = " and the mean word vector" if "vector" in dense else ""
    return ("- **Model**: one logistic regression a label (scikit-learn, `class_weight=balanced`, "
            f"C={C}) with sigmoid calibration (3-fold), over TF-IDF of lemma 1-2-grams joined to standardised "
            f"dense features weighted {weight} (a small weight regularises them more than the words): "
            f"{CUE_FEATURES}{vectors}. Thresholds are tuned per label by 5-fold cross-validation on the training "
            "split only. Evidence is each n-gram's contribution to a label's logit.")


def _member_param(card: dict, name: str) -> str:
    """One hyperparameter of the views, or the distinct values joined by a slash."""
    members = card["params"].get("members") or [card["params"]]
    return "/".join(dict.fromkeys(str(m.get(name)) for m in members))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("card", nargs="?", default="models/balise-markers.json")
    parser.add_argument("--speed", help="Markdown output of scripts/bench_speed.py to include")
    parser.add_argument("--comparison", help="Markdown output of scripts/compare_models.py to include")
    args = parser.parse_args()
    card_path = Path(args.card)
    card = json.loads(card_path.read_text(encoding="utf-8"))
    metrics = card["metrics"]
    lines = [f"# Model card: {card['name']} {card['version']}", "",
             card["description"], "",
             "## What it is", "",
             f"- **Input**: French passages (paragraphs of at most six sentences), analysed by spaCy "
             f"`{card['spacy_model']}` (lemmas, parse, entities, word vectors).",
             "- **Output**: a calibrated probability for each of the six markers, a decision by a per-label "
             "threshold, the words that weighed for each positive label, and rule-based rupture-signal spans.",
             _model_description(card),
             f"- **Training data**: {card['training_data']['passages']} passages of `corpora/gold/train.jsonl` "
             f"(sha256 `{card['training_data']['sha256'][:16]}…`), original French written and annotated for the "
             "project (see `corpora/README.md`).",
             f"- **File**: `{card['file']}`, sha256 `{card['sha256']}` — checked before unpickling.",
             f"- **Built**: {card['created']} with " + ", ".join(f"{k} {v}" for k, v in card["libraries"].items())
             + f"; training took {card.get('training_seconds', '?')} s on 2 CPU cores.",
             "- **Reproduce**: `balise train --report ../shared/real-dev/apriles-dev.jsonl` (deterministic: seeds "
             "fixed; same data and library versions give the same coefficients, thresholds and predictions — checked "
             "by retraining; the pickle bytes may differ).", "",
             "## Labels and thresholds", "", "| label | name | threshold |", "|---|---|---|"]
    lines += [f"| `{label}` | {LABEL_NAMES[label]} | {card['thresholds'][label]:.3f} |" for label in LABELS]
    lines += ["", "## Evaluation", "",
              "All figures below were produced by `balise train` (the same numbers as `balise evaluate`).", ""]
    cv = metrics["cross_validation_train"]
    lines += table(cv, "5-fold cross-validation on the training split (out-of-fold predictions)")
    if "dev" in metrics:
        lines += table(metrics["dev"], "Dev split (held out, never used for fitting or thresholds)")
        dev = metrics["dev"]
        lines += ["Calibration on dev — Brier score per label: " + ", ".join(
            f"`{k}` {v:.3f}" for k, v in dev["brier"].items()) + ".", "",
            "| predicted probability | passages×labels | mean predicted | observed rate |", "|---|---|---|---|"]
        lines += [f"| {r['bin']} | {r['n']} | {r['mean_predicted']:.3f} | {r['observed_rate']:.3f} |"
                  for r in dev["reliability"]]
        lines.append("")
        if dev.get("by_genre"):
            lines += ["#### Dev by genre", "",
                      "Micro-F1 over each genre's label decisions (a small genre lacks some labels, so no macro) "
                      "and the share of passages whose whole label set is right.", "",
                      "| genre | passages | with a label | micro-F1 | label set right |", "|---|---|---|---|---|"]
            lines += [f"| {genre} | {row['n']} | {row['labelled']} | {row['micro_f1']:.3f} | {row['exact']:.3f} |"
                      for genre, row in dev["by_genre"].items()]
            lines.append("")
        if dev.get("signals"):
            lines += ["#### Rupture signals on dev (span overlap, same family)", "",
                      "| family | precision | recall | found | gold |", "|---|---|---|---|---|"]
            lines += [f"| {k} | {v['precision']:.3f} | {v['recall']:.3f} | {v['found']} | {v['gold']} |"
                      for k, v in dev["signals"].items()]
            lines.append("")
    for key, value in metrics.items():
        if key.startswith("data:"):
            lines += table(value, f"Real project sheets: `{key[5:]}` (evaluation only; document level, a label "
                                  "is predicted when any passage has it)")
    if args.comparison:
        lines += ["## Model selection", "", Path(args.comparison).read_text(encoding="utf-8").strip(), ""]
    if args.speed:
        lines += ["## Speed", "", Path(args.speed).read_text(encoding="utf-8").strip(), ""]
    real = next((v for k, v in metrics.items() if k.startswith("data:")), None)
    ranked = sorted((r["roc_auc"], label) for label, r in (real or {}).get("ranking", {}).items()
                    if r.get("roc_auc") is not None)
    real_auc = f" (mean ROC AUC {sum(auc for auc, _ in ranked) / len(ranked):.2f})" if ranked else ""
    weakest = " and ".join(f"`{label}` ({auc:.2f})" for auc, label in ranked[:2]) or "the rarer labels"
    lines += ["## Limits", "",
              "- Trained on text written for the project by a small team: it has seen many genres and topics, but "
              "real texts are denser and less explicit, and the scores on real project sheets above are lower than "
              "on dev. Read the evidence, not only the label.",
              "- Passage level: a marker shown across two paragraphs may be missed in both. Document labels are "
              "the union of passage labels, so long documents collect more false positives.",
              "- French only: other languages are flagged (`lang`) and not tagged. No OCR: image-only PDFs are "
              "skipped.",
              "- The rupture-signal rules are lexical and syntactic; they know the codebook's false friends, not "
              "every idiom.",
              "- Known false positives: sport news about a local *club* can get `gouvernance` or `changement_social`; "
              "an administrative memo with *pour la première fois* and *ne … plus* can get `rupture` (technological "
              "or procedural novelty is not a rupture of social practice).",
              f"- Real project sheets: the model ranks them fairly well overall{real_auc}, worst for "
              f"{weakest}, and gives their labels low probabilities, so at the tuned thresholds it is precise and "
              "misses most `beneficiaires` and `changement_social` (real sheets state them in one general clause). "
              "Better thresholds would not close the gap: even thresholds fitted on the real sample itself leave "
              "macro-F1 well below dev (`scripts/real_gap.py`, in the model-selection section when it was run). "
              "A study that needs recall can lower a label's threshold (`--threshold`, measured on a sample it has "
              "labelled). `gouvernance` has only 4 positives in the real sample, so its figure there is very "
              "noisy.", ""]
    out = card_path.with_suffix(".md")
    out.write_text("\n".join(lines), encoding="utf-8")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
