"""Merge the writers' part files (corpora/gold/parts/*.jsonl) into the stratified train/dev split.

Run from the repository root:  python scripts/build_gold.py
The split is deterministic (seeded) and keeps near-duplicates on one side. It is also stable: a passage that
is already in train.jsonl or dev.jsonl stays on its side when labels are revised, so that dev figures before and
after a review are measured on the same passages; only new passages are stratified (--resplit redoes it all).
"""
from __future__ import annotations

import argparse
from pathlib import Path

from balise.corpus import near_duplicates, read_gold, read_jsonl_records, stratified_split, write_jsonl
from balise.markers import sort_labels


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--parts", default="corpora/gold/parts")
    parser.add_argument("--out", default="corpora/gold")
    parser.add_argument("--dev-share", type=float, default=0.22)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--resplit", action="store_true", help="ignore the current split and stratify again")
    args = parser.parse_args()
    records = []
    for path in sorted(Path(args.parts).glob("*.jsonl")):
        for record in read_jsonl_records(path):
            record["labels"] = sort_labels(record["labels"])
            record["signals"] = sorted(record["signals"])
            records.append({k: record[k] for k in ("id", "text", "labels", "signals", "genre", "topic")})
    side: dict[str, str] = {}
    if not args.resplit:
        for split in ("train", "dev"):
            if (Path(args.out) / f"{split}.jsonl").exists():
                side.update({r["id"]: split for r in read_gold(args.out, split)})
    if side:  # a new passage that is a near-duplicate of a placed one joins it on its side
        for i, j, _ in near_duplicates([r["text"] for r in records]):
            a, b = records[i]["id"], records[j]["id"]
            if a in side and b not in side:
                side[b] = side[a]
            elif b in side and a not in side:
                side[a] = side[b]
    new = [r for r in records if r["id"] not in side]
    # the per-label dev minimum is for a whole corpus: applied to a new batch it would send all of a rare label to dev
    minimum = 0 if side else 60
    train, dev = (stratified_split(new, dev_share=args.dev_share, min_dev_positives=minimum, seed=args.seed)
                  if new else ([], []))
    train += [r for r in records if side.get(r["id"]) == "train"]
    dev += [r for r in records if side.get(r["id"]) == "dev"]
    write_jsonl(sorted(train, key=lambda r: r["id"]), Path(args.out) / "train.jsonl")
    write_jsonl(sorted(dev, key=lambda r: r["id"]), Path(args.out) / "dev.jsonl")
    print(f"{len(records)} passages: {len(train)} train, {len(dev)} dev")


if __name__ == "__main__":
    main()
