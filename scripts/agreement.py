"""Inter-annotator agreement between the gold labels and an independent second annotation.

    python scripts/agreement.py [--gold corpora/gold] [--double corpora/gold/double-annotation.jsonl]
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
    parser.add_argument("--double", default="corpora/gold/double-annotation.jsonl",
                        help="id, first, second, second_signals, final, adjudication")
    parser.add_argument("--disagreements", default=None, help="write the passages where the two differ here")
    args = parser.parse_args()

    gold = {r["id"]: r for r in read_gold(args.gold)}
    double = [r for r in read_jsonl_records(args.double) if r["id"] in gold]
    A = np.array([[int(label in r["first"]) for label in LABELS] for r in double])
    B = np.array([[int(label in r["second"]) for label in LABELS] for r in double])
    F = np.array([[int(label in r["final"]) for label in LABELS] for r in double])
    print(f"{len(double)} passages annotated twice, blind\n")
    print("| label | positives (1st / 2nd / final) | raw agreement | Cohen's kappa |")
    print("|---|---|---|---|")
    kappas = []
    for j, label in enumerate(LABELS):
        kappa = cohen_kappa(A[:, j], B[:, j])
        kappas.append(kappa)
        print(f"| `{label}` | {A[:, j].sum()} / {B[:, j].sum()} / {F[:, j].sum()} "
              f"| {np.mean(A[:, j] == B[:, j]):.3f} | {kappa:.3f} |")
    print(f"| all labels | | {np.mean(A == B):.3f} | mean {np.mean(kappas):.3f} |")
    f1 = scores(A, B)
    print(f"\nmacro-F1 of the second annotation against the first: {f1.macro_f1:.3f} (micro {f1.micro_f1:.3f})")
    print(f"passages with identical label sets: {np.mean((A == B).all(axis=1)):.3f}")
    adjudicated = sum(1 for r in double if r["adjudication"])
    print(f"passages adjudicated: {adjudicated}; final labels differing from the first annotation: "
          f"{int((A != F).sum())}, from the second: {int((B != F).sum())}")
    gold_spans = [[tuple(s) for s in gold[r["id"]]["signals"]] for r in double]
    second_spans = [[Signal(s[0], s[1], s[2], "") for s in r["second_signals"]] for r in double]
    if any(second_spans):
        spans = signal_scores(gold_spans, second_spans)["all"]  # type: ignore[arg-type]
        print(f"signal spans (overlap, same family), second against gold: precision {spans['precision']:.3f}, "
              f"recall {spans['recall']:.3f}")
    else:
        print("signal spans: not annotated in the second pass")
    if args.disagreements:
        with Path(args.disagreements).open("w", encoding="utf-8") as handle:
            for r, a, b in zip(double, A, B):
                if (a != b).any():
                    handle.write(json.dumps({"id": r["id"], "text": gold[r["id"]]["text"], "first": r["first"],
                                             "second": r["second"], "final": r["final"]},
                                            ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
