"""Write docs/api.md, the API reference, from the public objects' signatures and docstrings.

    python scripts/make_api_docs.py [--check]

``--check`` fails when docs/api.md is out of date (the tests run it), so the reference never drifts from the code.
"""
from __future__ import annotations

import argparse
import inspect
import sys
from pathlib import Path

import balise
import balise.annotate
import balise.component
import balise.crawl
import balise.errors
import balise.exports
import balise.imports
import balise.extract
import balise.markers
import balise.render
import balise.signals
import balise.store
import balise.suggest
import balise.tagger

OUT = Path(__file__).resolve().parents[1] / "docs" / "api.md"

SECTIONS = [
    ("Loading and tagging", [balise.load, balise.Tagger]),
    ("Results", [balise.AnnotatedDocument, balise.AnnotatedPassage, balise.Evidence, balise.signals.Signal]),
    ("Inputs", [balise.Document, balise.extract.read_paths, balise.extract.read_file, balise.extract.extract_html,
                balise.extract.extract_pdf]),
    ("Batch annotation", [balise.annotate.annotate, balise.annotate.annotate_documents, balise.annotate.RunSummary]),
    ("The scheme", [balise.Marker, balise.markers.sort_labels]),
    ("Rendering", [balise.render]),
    ("Crawling and the store", [balise.crawl.crawl, balise.crawl.watch, balise.crawl.fetch_url,
                                balise.crawl.SourceOptions, balise.store.Store]),
    ("Exports, imports, suggestions", [balise.exports.export, balise.imports.import_annotations,
                                       balise.imports.compare, balise.suggest.suggest]),
    ("spaCy components", [balise.component.MarkersComponent, balise.component.SignalsComponent]),
    ("Errors", [balise.errors.BaliseError, balise.errors.InvalidInputError, balise.errors.UnreadableDocumentError,
                balise.errors.ModelNotFoundError, balise.errors.ModelIntegrityError]),
]


def _doc(obj: object) -> str:
    return inspect.cleandoc(obj.__doc__ or "(no docstring)")


def _summary(obj: object) -> str:
    """First paragraph of a docstring on one line."""
    return " ".join(_doc(obj).split("\n\n")[0].split())


def _signature(obj: object, name: str) -> str:
    try:
        return f"{name}{inspect.signature(obj)}"  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return name


def render_reference() -> str:
    lines = ["# balise API reference", "",
             "Generated from the docstrings by `python scripts/make_api_docs.py`; do not edit by hand.", "",
             f"Version {balise.__version__}. Everything below is importable from the module shown.", ""]
    lines += ["## `balise.MARKERS`", "", "| ID | Name | Definition |", "|---|---|---|"]
    lines += [f"| `{m.id}` | {m.name} | {m.definition} |" for m in balise.MARKERS]
    lines.append("")
    for title, objects in SECTIONS:
        lines += [f"## {title}", ""]
        for obj in objects:
            module = obj.__module__
            name = obj.__qualname__
            lines += [f"### `{module}.{name}`", "", "```python", _signature(obj, name), "```", "", _doc(obj), ""]
            if inspect.isclass(obj) and not issubclass(obj, BaseException):
                for member_name, member in inspect.getmembers(obj):
                    if member_name.startswith("_") and member_name != "__call__":
                        continue
                    if inspect.isfunction(member) and member.__qualname__.startswith(obj.__qualname__):
                        lines += [f"- `{_signature(member, member_name)}` — {_summary(member)}"]
                    elif isinstance(member, property) and member.__doc__:
                        lines += [f"- `{member_name}` (property) — {_summary(member)}"]
                lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if docs/api.md is out of date")
    args = parser.parse_args()
    text = render_reference()
    if args.check:
        if not OUT.exists() or OUT.read_text(encoding="utf-8") != text:
            sys.exit("docs/api.md is out of date: run python scripts/make_api_docs.py")
        print("docs/api.md is up to date")
        return
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
