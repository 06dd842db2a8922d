"""Example: render an annotated document as HTML (for a notebook or a report).

    python scripts/examples/render_html.py out/exemple.html
"""
import sys
from pathlib import Path

import balise

out = Path(sys.argv[1] if len(sys.argv) > 1 else "out/exemple.html")
tagger = balise.load()
result = tagger(
    "Pour la première fois dans le département, une épicerie solidaire est gérée par ses usagers : les familles "
    "fixent elles-mêmes les prix avec le centre social et tiennent la caisse à tour de rôle.",
    title="Une épicerie tenue par ses usagers",
)
out.parent.mkdir(parents=True, exist_ok=True)
out.write_text(balise.render(result, page=True), encoding="utf-8")
print(f"wrote {out}")
