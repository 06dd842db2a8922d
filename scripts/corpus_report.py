"""Print the statistics tables of corpora/README.md from the gold corpus (so no figure is typed by hand).

    python scripts/corpus_report.py [--gold corpora/gold]
"""
from __future__ import annotations

import argparse
from collections import Counter

from balise.classifier import KEYWORDS
from balise.corpus import corpus_stats, read_gold
from balise.markers import LABELS


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--gold", default="corpora/gold")
    args = parser.parse_args()
    records = read_gold(args.gold)
    stats = corpus_stats(records)
    splits = stats["splits"]
    print(f"{stats['passages']} passages, {stats['words']:,} words; "
          f"{stats['unlabelled']} without label ({stats['unlabelled_share']:.0%}).\n")
    print("| label | train | dev | total | share |")
    print("|---|---|---|---|---|")
    for label in LABELS:
        total = stats["labels"][label]
        print(f"| `{label}` | {splits['train']['labels'][label]} | {splits['dev']['labels'][label]} | {total} "
              f"| {total / stats['passages']:.0%} |")
    print(f"| (no label) | {splits['train']['unlabelled']} | {splits['dev']['unlabelled']} | {stats['unlabelled']} "
          f"| {stats['unlabelled_share']:.0%} |")
    print(f"| passages | {splits['train']['passages']} | {splits['dev']['passages']} | {stats['passages']} | |\n")
    n_labels = Counter(len(r["labels"]) for r in records)
    print("Labels per passage: " + ", ".join(f"{k}: {n_labels[k]}" for k in sorted(n_labels)) + ".\n")
    pairs = Counter((a, b) for r in records for i, a in enumerate(r["labels"]) for b in r["labels"][i + 1:])
    print("Most frequent co-occurrences: " + ", ".join(f"{a} + {b} ({n})" for (a, b), n in pairs.most_common(6))
          + ".\n")
    print("Signals: " + ", ".join(f"`{k}` {v}" for k, v in sorted(stats["signals"].items())) + ".\n")
    lengths = sorted(len(r["text"].split()) for r in records)
    print(f"Length in words: median {lengths[len(lengths) // 2]}, 10th percentile {lengths[len(lengths) // 10]}, "
          f"90th percentile {lengths[9 * len(lengths) // 10]}, max {lengths[-1]}.\n")
    print("| genre | passages | with a label |")
    print("|---|---|---|")
    for genre, count in stats["genres"].items():
        labelled = sum(1 for r in records if r["genre"] == genre and r["labels"])
        print(f"| {genre} | {count} | {labelled} |")
    print()
    print("| topic | passages | with a label |")
    print("|---|---|---|")
    for topic, count in stats["topics"].items():
        labelled = sum(1 for r in records if r["topic"] == topic and r["labels"])
        print(f"| {topic} | {count} | {labelled} |")
    unlabelled = [r for r in records if not r["labels"]]
    words = [w for keywords in KEYWORDS.values() for w in keywords]
    tempting = sum(1 for r in unlabelled if any(w in r["text"].lower() for w in words))
    off_topic = sum(1 for r in unlabelled if str(r["topic"]).startswith("off_"))
    print(f"\nNear-misses: of the {len(unlabelled)} passages without a label, {tempting} "
          f"({tempting / max(1, len(unlabelled)):.0%}) contain a word of the plain keyword list "
          "(`balise.classifier.KEYWORDS`); "
          f"{off_topic} are ordinary off-topic news and notices.")


if __name__ == "__main__":
    main()
