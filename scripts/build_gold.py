"""Merge the writers' part files (corpora/gold/parts/*.jsonl) into the stratified train/dev split.

Run from the repository root:  python scripts/build_gold.py
The split is deterministic (seeded) and keeps near-duplicates on one side.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from balise.corpus import read_jsonl_records, stratified_split, write_jsonl
from balise.markers import sort_labels


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--parts", default="corpora/gold/parts")
    parser.add_argument("--out", default="corpora/gold")
    parser.add_argument("--dev-share", type=float, default=0.22)
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args()
    records = []
    for path in sorted(Path(args.parts).glob("*.jsonl")):
        for record in read_jsonl_records(path):
            record["labels"] = sort_labels(record["labels"])
            record["signals"] = sorted(record["signals"])
            records.append({k: record[k] for k in ("id", "text", "labels", "signals", "genre", "topic")})
    train, dev = stratified_split(records, dev_share=args.dev_share, seed=args.seed)
    write_jsonl(sorted(train, key=lambda r: r["id"]), Path(args.out) / "train.jsonl")
    write_jsonl(sorted(dev, key=lambda r: r["id"]), Path(args.out) / "dev.jsonl")
    print(f"{len(records)} passages: {len(train)} train, {len(dev)} dev")


if __name__ == "__main__":
    main()
