"""Apply a label review to the writers' part files and record every change.

A review is one or more JSONL files of changes, one line a changed passage:
``{"id": "w3-0042", "add": [labels], "remove": [labels], "reason": "quoted evidence"}`` (lines whose id starts
with ``__`` are progress marks and are skipped). The part files in corpora/gold/parts/ are rewritten with the new
labels, and corpora/gold/revision-v<VERSION>.jsonl lists each change as ``before`` / ``after`` with its reason.
Rebuild the split afterwards:  python scripts/build_gold.py

Run from the repository root:
    python scripts/apply_revision.py --version 1.2 review/changes-*.jsonl review/adjudication.jsonl
    python scripts/apply_revision.py --version 1.2 --record revision-implicit.jsonl review18/changes-*.jsonl

Several files may change the same passage: their changes apply in the order the files are given.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from balise.corpus import read_jsonl_records, write_jsonl
from balise.markers import LABELS, sort_labels


def load_changes(paths: list[str]) -> dict[str, list[dict]]:
    """Changes by passage id, in the order given (a later file's decision applies after an earlier one's)."""
    changes: dict[str, list[dict]] = {}
    for path in paths:
        for line in Path(path).read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            change = json.loads(line)
            if str(change.get("id", "")).startswith("__"):
                continue
            unknown = (set(change.get("add", [])) | set(change.get("remove", []))) - set(LABELS)
            if unknown:
                raise SystemExit(f"{path}: unknown label(s) {sorted(unknown)} for {change['id']}")
            changes.setdefault(change["id"], []).append(change)
    return changes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("changes", nargs="+", help="JSONL change files")
    parser.add_argument("--version", required=True, help="guide version the review applies, e.g. 1.2")
    parser.add_argument("--parts", default="corpora/gold/parts")
    parser.add_argument("--labels", nargs="*", default=list(LABELS), help="apply changes to these labels only")
    parser.add_argument("--record", default=None,
                        help="name of the change record in corpora/gold (default revision-v<VERSION>.jsonl); a "
                             "review of one campaign under the current guide gets its own record")
    args = parser.parse_args()
    changes = load_changes(args.changes)
    keep = set(args.labels)
    revision = []
    seen = set()
    for path in sorted(Path(args.parts).glob("*.jsonl")):
        records = read_jsonl_records(path)
        for record in records:
            steps = changes.get(record["id"])
            if steps is None:
                continue
            seen.add(record["id"])
            before = list(record["labels"])
            after = set(before)
            for change in steps:
                after = (after | (set(change.get("add", [])) & keep)) - (set(change.get("remove", [])) & keep)
            after_sorted = sort_labels(list(after))
            if after_sorted != sort_labels(before):
                record["labels"] = after_sorted
                revision.append({"id": record["id"], "before": sort_labels(before), "after": after_sorted,
                                 "reason": " | ".join(c.get("reason", "") for c in steps)})
        write_jsonl(records, path)
    missing = sorted(set(changes) - seen)
    out = Path(args.parts).parent / (args.record or f"revision-v{args.version}.jsonl")
    write_jsonl(sorted(revision, key=lambda r: r["id"]), out)
    print(f"{len(revision)} passages changed, written to {out}"
          + (f"; {len(missing)} unknown ids skipped: {missing[:5]}" if missing else ""))


if __name__ == "__main__":
    main()
