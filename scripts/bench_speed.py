"""How much does tagging add to spaCy? Bare pipeline and full tagger over the same documents, same run.

    python scripts/bench_speed.py [--docs 300] [--repeat 3] [--n-process 1]

Documents are built from the gold corpus (five passages a document, blank lines between them). Timings are the
best of ``--repeat`` runs after a warm-up. Reported:
- bare spaCy: ``nlp.pipe`` over the paragraphs (what any spaCy user pays);
- balise: ``Tagger.pipe`` end to end (language check, paragraphs, spaCy, signals, features, classifier);
- the parts added by balise, timed separately on the parsed docs: rupture signals; features, classifier and
  evidence.
"""
from __future__ import annotations

import argparse
import platform
import time

import balise
from balise.corpus import read_gold
from balise.extract import Document
from balise.preprocess import detect_language, paragraph_spans


def best_of(repeat: int, run) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gold", default="corpora/gold")
    parser.add_argument("--docs", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--n-process", type=int, default=1)
    args = parser.parse_args()

    records = read_gold(args.gold)
    texts = ["\n\n".join(r["text"] for r in records[i : i + 5]) for i in range(0, len(records), 5)][: args.docs]
    documents = [Document(id=str(i), text=t) for i, t in enumerate(texts)]
    paragraphs = [t[s:e] for t in texts for s, e in paragraph_spans(t)]
    words = sum(len(t.split()) for t in texts)
    tagger = balise.load()
    nlp = tagger.nlp
    kwargs = {"batch_size": args.batch_size, "n_process": args.n_process}
    list(tagger.pipe(documents[:20], **kwargs))  # warm-up: models, vectors, caches

    bare = best_of(args.repeat, lambda: list(nlp.pipe(paragraphs, **kwargs)))
    full = best_of(args.repeat, lambda: list(tagger.pipe(documents, **kwargs)))
    parsed = list(nlp.pipe(paragraphs, batch_size=args.batch_size))
    detector = tagger.detector
    signals = best_of(args.repeat, lambda: [detector(doc) for doc in parsed])

    def classify() -> None:
        """Features, probabilities, decisions and evidence — everything after the signals."""
        items = [tagger._passages_of(doc, 0) for doc in parsed]
        flat = [r for records, _, _ in items for r in records]
        proba, rows = tagger.bundle.classifier.predict_proba_with_rows(flat)
        position = 0
        for records, spans, found in items:
            for record, span in zip(records, spans):
                tagger._passage(record, span, proba[position], found, rows[position])
                position += 1

    classify_time = best_of(args.repeat, classify) - signals  # _passages_of runs the detector again
    lang = best_of(args.repeat, lambda: [detect_language(t) for t in texts])

    print(f"{len(texts)} documents, {len(paragraphs)} paragraphs, {words} words; batch {args.batch_size}, "
          f"{args.n_process} process(es); {platform.processor() or platform.machine()}, "
          f"Python {platform.python_version()}")
    print()
    print("| step | seconds | words/s | vs bare spaCy |")
    print("|---|---|---|---|")
    print(f"| bare spaCy `{tagger.bundle.spacy_model}` (`nlp.pipe`) | {bare:.2f} | {words / bare:,.0f} | — |")
    print(f"| balise end to end (`Tagger.pipe`) | {full:.2f} | {words / full:,.0f} | +{(full / bare - 1):.1%} |")
    print(f"| of which rupture signals | {signals:.2f} | | +{signals / bare:.1%} |")
    print(f"| of which features + classifier + evidence | {classify_time:.2f} | | +{classify_time / bare:.1%} |")
    print(f"| of which language check | {lang:.2f} | | +{lang / bare:.1%} |")
    tagging = signals + classify_time
    print(f"\nsignals + classifier add {tagging / bare:.1%} to the spaCy pipeline alone (target: at most 15%).")


if __name__ == "__main__":
    main()
