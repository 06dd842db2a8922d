"""Example: tag one text with the Python API and print its passages, labels, evidence and signals.

    python scripts/examples/tag_a_text.py
"""
import balise

TEXT = (
    "Jusqu'ici, les personnes âgées isolées des hameaux devaient se rendre au CCAS pour leurs démarches. "
    "Désormais, une équipe mobile vient à leur rencontre chaque semaine, sans rendez-vous.\n\n"
    "Ce sont les habitants eux-mêmes, réunis en comité, qui ont choisi les arrêts et les horaires du minibus."
)

tagger = balise.load()
result = tagger(TEXT, id="exemple", title="Un CCAS qui se déplace")
print("document labels:", ", ".join(result.labels) or "(none)")
for passage in result.passages:
    print(f"\n[{passage.start}:{passage.end}] {result.passage_text(passage)[:70]}…")
    for label in passage.labels:
        words = [result.text[e.start:e.end] for e in passage.evidence if e.label == label]
        print(f"  {label:24} {passage.scores[label]:.2f}  because of: {', '.join(words) or '—'}")
print("\nrupture signals:", [(s.text, s.family) for s in result.signals])
