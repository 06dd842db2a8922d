"""Inter-annotator agreement between the gold labels and an independent second annotation.

    python scripts/agreement.py [--gold corpora/gold] [--second corpora/gold/second-annotation.jsonl]
                                [--disagreements out.jsonl]

Cohen's kappa and raw agreement per label (passage level), macro-F1 of one annotator against the other, and
rupture-signal span agreement (overlap match). Prints a Markdown table for corpora/README.md.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from balise.corpus import read_gold, read_jsonl_records
from balise.evaluate import scores, signal_scores
from balise.markers import LABELS
from balise.signals import Signal


def cohen_kappa(a: np.ndarray, b: np.ndarray) -> float:
    observed = float(np.mean(a == b))
    pa, pb = a.mean(), b.mean()
    expected = pa * pb + (1 - pa) * (1 - pb)
    return (observed - expected) / (1 - expected) if expected < 1 else 1.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gold", default="corpora/gold")
    parser.add_argument("--second", default="corpora/gold/second-annotation.jsonl")
    parser.add_argument("--first-field", default="labels",
                        help="field of the gold records holding the first annotation (default: labels; "
                             "after adjudication use first_labels)")
    parser.add_argument("--disagreements", default=None, help="write the passages where the two differ here")
    args = parser.parse_args()

    gold = {r["id"]: r for r in read_gold(args.gold)}
    second = {r["id"]: r for r in read_jsonl_records(args.second)}
    ids = sorted(set(gold) & set(second))
    first_labels = [gold[i].get(args.first_field, gold[i]["labels"]) for i in ids]
    A = np.array([[int(label in labels) for label in LABELS] for labels in first_labels])
    B = np.array([[int(label in second[i]["labels"]) for label in LABELS] for i in ids])
    print(f"{len(ids)} passages annotated twice\n")
    print("| label | positives (1st / 2nd) | raw agreement | Cohen's kappa |")
    print("|---|---|---|---|")
    for j, label in enumerate(LABELS):
        print(f"| `{label}` | {A[:, j].sum()} / {B[:, j].sum()} | {np.mean(A[:, j] == B[:, j]):.3f} "
              f"| {cohen_kappa(A[:, j], B[:, j]):.3f} |")
    kappas = [cohen_kappa(A[:, j], B[:, j]) for j in range(len(LABELS))]
    print(f"| all labels | | {np.mean(A == B):.3f} | mean {np.mean(kappas):.3f} |")
    f1 = scores(A, B)
    print(f"\nmacro-F1 of the second annotation against the first: {f1.macro_f1:.3f} (micro {f1.micro_f1:.3f})")
    exact = np.mean((A == B).all(axis=1))
    print(f"passages with identical label sets: {exact:.3f}")
    gold_spans = [[tuple(s) for s in gold[i]["signals"]] for i in ids]
    second_spans = [[Signal(s[0], s[1], s[2], "") for s in second[i]["signals"]] for i in ids]
    spans = signal_scores(gold_spans, second_spans)["all"]  # type: ignore[arg-type]
    print(f"signal spans (overlap, same family): second vs first precision {spans['precision']:.3f}, "
          f"recall {spans['recall']:.3f}")
    if args.disagreements:
        with Path(args.disagreements).open("w", encoding="utf-8") as handle:
            for i, a, b in zip(ids, A, B):
                if (a != b).any():
                    handle.write(json.dumps({"id": i, "text": gold[i]["text"],
                                             "first": [LABELS[j] for j in range(6) if a[j]],
                                             "second": [LABELS[j] for j in range(6) if b[j]]},
                                            ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
