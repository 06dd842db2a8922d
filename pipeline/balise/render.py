"""HTML rendering of an annotated document for notebooks and reports.

Each passage is a block with its markers (and scores) as badges; rupture signals are highlighted by family and
the evidence words of each marker are underlined in the marker's colour. The HTML is self-contained (inline
CSS, no script), so it can be pasted into a report or shown with ``IPython.display.HTML``.
"""
from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

from .errors import InvalidInputError
from .markers import LABEL_NAMES, LABELS

if TYPE_CHECKING:
    from spacy.tokens import Doc

    from .tagger import AnnotatedDocument

COLOURS = {
    "beneficiaires": "#e6550d",
    "ancrage_territorial": "#31a354",
    "gouvernance": "#756bb1",
    "accessibilite_service": "#3182bd",
    "rupture": "#d62728",
    "changement_social": "#8c6d31",
}
SIGNAL_COLOURS = {"contrast": "#ffe08a", "rupture_verb": "#ffb3a7", "first": "#c7e9c0", "shift": "#c6dbef"}

_CSS = """
.balise{font-family:system-ui,sans-serif;line-height:1.6;max-width:56em}
.balise .passage{border-left:4px solid #ccc;padding:.3em .8em;margin:.6em 0}
.balise .badge{display:inline-block;color:#fff;border-radius:3px;padding:0 .4em;margin-right:.3em;font-size:.8em}
.balise .signal{border-radius:2px;padding:0 1px}
.balise .legend{font-size:.8em;color:#555}
.balise .meta{font-size:.85em;color:#555}
"""


def render(doc_or_result: AnnotatedDocument | Doc | dict[str, Any], page: bool = False) -> str:
    """HTML for an :class:`~balise.AnnotatedDocument`, one JSONL output record, or a spaCy ``Doc`` processed by
    the ``balise_markers`` component. ``page=True`` wraps it in a full HTML page."""
    record = _as_record(doc_or_result)
    text = record["text"]
    parts = [f"<style>{_CSS}</style>", '<div class="balise">']
    title = record.get("title")
    if title:
        parts.append(f"<h3>{html.escape(str(title))}</h3>")
    if record.get("lang") not in (None, "fr", "und"):
        parts.append(f'<p class="meta">Not tagged: language "{html.escape(record["lang"])}".</p>')
    signals = record.get("signals", [])
    for passage in record.get("passages", []):
        labels = passage.get("labels", [])
        colour = COLOURS[labels[0]] if labels else "#ccc"
        badges = "".join(
            f'<span class="badge" style="background:{COLOURS[label]}" title="{html.escape(LABEL_NAMES[label])}">'
            f"{html.escape(LABEL_NAMES[label])} {passage['scores'][label]:.2f}</span>"
            for label in labels
        )
        inside = [s for s in signals if passage["start"] <= s["start"] and s["end"] <= passage["end"]]
        body = _highlight(text, passage["start"], passage["end"], inside, passage.get("evidence", []))
        parts.append(f'<div class="passage" style="border-left-color:{colour}">{badges}<div>{body}</div></div>')
    legend = " ".join(
        f'<span class="signal" style="background:{c}">{html.escape(f)}</span>' for f, c in SIGNAL_COLOURS.items()
    )
    parts.append(f'<p class="legend">Rupture signals: {legend}. Underlined: words that weighed for a marker.</p>')
    parts.append("</div>")
    body = "\n".join(parts)
    if page:
        return f'<!DOCTYPE html><html lang="fr"><head><meta charset="utf-8"><title>balise</title></head>' \
               f"<body>{body}</body></html>"
    return body


def _highlight(text: str, start: int, end: int, signals: list[dict[str, Any]], evidence: list[dict[str, Any]]) -> str:
    """Escape ``text[start:end]``; wrap each signal whole, and underline evidence inside and outside signals."""
    bounds = {start, end}
    for item in signals + evidence:
        bounds.update((max(start, item["start"]), min(end, item["end"])))
    points = sorted(b for b in bounds if start <= b <= end)
    out = []
    for a, b in zip(points, points[1:]):
        opening = next((s for s in signals if s["start"] == a), None)
        if opening:
            family = opening["family"]
            colour = SIGNAL_COLOURS.get(family, "#eee")
            out.append(f'<mark class="signal" style="background:{colour}" title="signal: {html.escape(family)}">')
        segment = html.escape(text[a:b]).replace("\n", "<br>")
        marks = [e for e in evidence if e["start"] <= a and b <= e["end"]]
        if marks:
            titles = "; ".join(f"{m['label']} {m['weight']:+.2f}" for m in marks)
            colour = COLOURS.get(marks[0]["label"], "#000")
            out.append(f'<span style="text-decoration:underline 2px {colour}" title="{html.escape(titles)}">'
                       f"{segment}</span>")
        else:
            out.append(segment)
        if any(s["end"] == b for s in signals if s["start"] <= a):
            out.append("</mark>")
    return "".join(out)


def _as_record(item: Any) -> dict[str, Any]:
    if isinstance(item, dict):
        return item
    if hasattr(item, "to_dict"):
        return item.to_dict()  # type: ignore[no-any-return]
    if hasattr(item, "spans") and hasattr(item, "cats"):
        return _doc_record(item)
    raise InvalidInputError(f"cannot render a {type(item).__name__}: pass an AnnotatedDocument, a dict or a Doc")


def _doc_record(doc: Doc) -> dict[str, Any]:
    if "balise_passages" not in doc.spans:
        raise InvalidInputError("this Doc was not processed by the 'balise_markers' component")
    passages = [
        {"start": s.start_char, "end": s.end_char, "labels": s._.balise_labels or [],
         "scores": s._.balise_scores or dict.fromkeys(LABELS, 0.0), "evidence": s._.balise_evidence or []}
        for s in doc.spans["balise_passages"]
    ]
    signals = [{"start": s.start_char, "end": s.end_char, "family": s.label_, "text": s.text}
               for s in doc.spans.get("balise_signals", [])]
    return {"text": doc.text, "passages": passages, "signals": signals, "lang": "fr"}


__all__ = ["COLOURS", "SIGNAL_COLOURS", "render"]
