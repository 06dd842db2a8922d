"""The ``balise`` command: a thin shell over the library (each command calls one library function)."""
from __future__ import annotations

import json
import sys
from pathlib import Path
from collections.abc import Iterator
from typing import Annotated, Optional

import typer

from .errors import BaliseError

app = typer.Typer(
    name="balise",
    help="Find the markers of social innovation and rupture signals in French texts.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
corpus_app = typer.Typer(help="Work with the gold corpus.", no_args_is_help=True)
app.add_typer(corpus_app, name="corpus")

DEFAULT_GOLD = Path("corpora/gold")
DEFAULT_MODEL_DIR = Path("models")


def _fail(message: str, code: int = 1) -> None:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code)


def _echo_err(message: str) -> None:
    typer.echo(message, err=True)


_THRESHOLD_HELP = ("Decision threshold of one label, LABEL=VALUE (for example changement_social=0.2); "
                   "repeatable. Lower finds more, higher is stricter; the default is the tuned threshold.")


@app.command()
def annotate(
    inputs: Annotated[list[Path], typer.Argument(help="Files and folders to annotate (.txt, .html, .pdf, .jsonl; "
                                                      "folders are read recursively).")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Output JSON Lines file, one document a line.")],
    model: Annotated[Optional[str], typer.Option(help="Model name or path (default: the bundled model).")] = None,
    threshold: Annotated[Optional[list[str]], typer.Option("--threshold", help=_THRESHOLD_HELP)] = None,
    resume: Annotated[bool, typer.Option(help="Keep the documents already in OUTPUT and skip them.")] = False,
    n_process: Annotated[int, typer.Option("--n-process", min=1, help="Worker processes for spaCy.")] = 1,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, help="Paragraphs per spaCy batch.")] = 32,
    summary: Annotated[Optional[Path], typer.Option(help="Also write the run summary as JSON to this file.")] = None,
    progress: Annotated[Optional[bool], typer.Option(help="Show a progress bar (default: when on a terminal).")] = None,
) -> None:
    """Annotate documents: passages, markers with scores and evidence, rupture signals."""
    from .annotate import annotate as run
    from .tagger import load, parse_thresholds

    try:
        tagger = load(model, thresholds=parse_thresholds(threshold or []))
        result = run(inputs, output, tagger=tagger, resume=resume, batch_size=batch_size, n_process=n_process,
                     progress=progress)
    except BaliseError as exc:
        _fail(str(exc))
        return
    _echo_err(format_summary(result))
    if summary:
        summary.write_text(json.dumps(result.to_dict(), ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def format_summary(result: object) -> str:
    """Human-readable run summary."""
    from .annotate import RunSummary

    assert isinstance(result, RunSummary)
    lines = [
        f"documents read: {result.read}   tagged: {result.tagged}   not French: {result.not_french}"
        f"   already in output: {result.already_done}   skipped: {len(result.skipped)}",
        f"passages: {result.passages}   words: {result.words}   elapsed: {result.elapsed:.1f} s"
        f"   ({result.words_per_second:,.0f} words/s)",
    ]
    if result.labels:
        lines.append("documents per marker: " + ", ".join(f"{k} {v}" for k, v in sorted(result.labels.items())))
    for skipped in result.skipped:
        lines.append(f"  skipped {skipped.source}: {skipped.reason}")
    lines.append(f"output: {result.output}")
    return "\n".join(lines)


@app.command()
def train(
    gold: Annotated[Path, typer.Option(help="Gold corpus folder (train.jsonl, dev.jsonl).")] = DEFAULT_GOLD,
    output: Annotated[Path, typer.Option("-o", "--output", help="Folder for the model and its card.")] = DEFAULT_MODEL_DIR,
    add: Annotated[Optional[list[Path]], typer.Option("--add", help="Corrected passages (corpus format) to add to "
                                                                     "the training data; repeatable.")] = None,
    report: Annotated[Optional[list[Path]], typer.Option("--report", help="Extra labelled JSONL to evaluate on "
                                                                           "(never trained on); repeatable.")] = None,
    n_process: Annotated[int, typer.Option("--n-process", min=1, help="Worker processes for spaCy.")] = 1,
) -> None:
    """Train the marker classifier from the gold corpus and write it with its model card."""
    from .train import train as run

    try:
        card = run(gold, output, extra=add or [], report_data=report or [], n_process=n_process, log=_echo_err)
    except (BaliseError, FileNotFoundError, ValueError) as exc:
        _fail(str(exc))
        return
    dev = card["metrics"].get("dev")
    if dev:
        typer.echo(f"dev macro-F1 {dev['model']['macro_f1']:.3f} (keyword baseline "
                   f"{dev['keyword_baseline']['macro_f1']:.3f})")


@app.command()
def evaluate(
    split: Annotated[str, typer.Option(help="Gold split to score: dev or train.")] = "dev",
    data: Annotated[Optional[Path], typer.Option(help="Score this labelled JSONL instead (id, text, labels).")] = None,
    gold: Annotated[Path, typer.Option(help="Gold corpus folder.")] = DEFAULT_GOLD,
    model: Annotated[Optional[str], typer.Option(help="Model name or path (default: the bundled model).")] = None,
    errors: Annotated[Optional[Path], typer.Option(help="Write the misclassified items to this JSONL file.")] = None,
    threshold: Annotated[Optional[list[str]], typer.Option("--threshold", help=_THRESHOLD_HELP)] = None,
    resamples: Annotated[int, typer.Option("--resamples", min=0, help="Bootstrap samples for the 95% intervals "
                                                                      "of F1 (0: none).")] = 1000,
    as_json: Annotated[bool, typer.Option("--json", help="Print the full evaluation as JSON.")] = False,
) -> None:
    """Per-label precision, recall, F1 (with bootstrap intervals) and support, macro and micro F1, the keyword
    baseline, confusions."""
    from .corpus import read_gold, read_jsonl_records
    from .evaluate import dump_errors, evaluate_records, format_evaluation
    from .tagger import load, parse_thresholds

    try:
        overrides = parse_thresholds(threshold or [])
        records = read_jsonl_records(data) if data else read_gold(gold, split)
        if not records:
            _fail(f"no records in {data or gold} ({split})")
        tagger = load(model, thresholds=overrides)
        result = evaluate_records(tagger, records, resamples=resamples)
    except (BaliseError, OSError) as exc:
        _fail(str(exc))
        return
    if errors:
        dump_errors(result, str(errors))
    if as_json:
        typer.echo(json.dumps(result.to_dict(), ensure_ascii=False, indent=2))
    else:
        changed = ", ".join(f"{k}={v:g}" for k, v in tagger.threshold_overrides.items())
        typer.echo(format_evaluation(result, f"{data or f'{gold} [{split}]'} — model {tagger.name} "
                                             f"{tagger.version}" + (f" (thresholds {changed})" if changed else "")))


@app.command()
def markers() -> None:
    """List the six markers and the four rupture-signal families."""
    from .markers import MARKERS, SIGNAL_FAMILIES

    for marker in MARKERS:
        typer.echo(f"{marker.id:24} {marker.name}\n{'':24} {marker.definition}")
    typer.echo("")
    for family, description in SIGNAL_FAMILIES.items():
        typer.echo(f"signal {family:17} {description}")


@corpus_app.command("check")
def corpus_check(
    path: Annotated[Path, typer.Argument(help="Gold corpus folder (train.jsonl, dev.jsonl) or one JSONL file.")],
    minimums: Annotated[bool, typer.Option(help="Also enforce the minimum counts (2,000 passages, 300 per "
                                                "label, 400 dev with 60 per label, 40% unlabelled).")] = True,
    show_warnings: Annotated[bool, typer.Option("--warnings", help="List near-duplicates within a split.")] = False,
) -> None:
    """Validate a gold corpus: schema, label IDs, signal offsets, near-duplicates across splits, counts."""
    from .corpus import CorpusRequirements, check_corpus

    report = check_corpus(path, CorpusRequirements() if minimums else None)
    stats = report.stats
    typer.echo(f"{stats['passages']} passages, {stats['words']} words, unlabelled {stats['unlabelled_share']:.0%}")
    for name, block in stats["splits"].items():
        typer.echo(f"  {name}: {block['passages']} passages; " +
                   ", ".join(f"{k} {v}" for k, v in block["labels"].items()))
    typer.echo(f"  signals: {stats['signals']}")
    if show_warnings:
        for warning in report.warnings:
            typer.echo(f"warning: {warning}")
    elif report.warnings:
        typer.echo(f"{len(report.warnings)} warning(s) (--warnings to list)")
    for error in report.errors:
        typer.secho(f"error: {error}", fg=typer.colors.RED, err=True)
    if not report.ok:
        raise typer.Exit(1)
    typer.echo("corpus OK")


# ------------------------------------------------------------------------------------------- crawl, watch, export

_DB_HELP = "SQLite store (default: $BALISE_DATA_DIR/balise.db or the user data folder, e.g. ~/.local/share/balise)."


def _fetch_settings(delay: float, connect_timeout: float, read_timeout: float, max_bytes: int, max_pdf_bytes: int,
                    retries: int, max_redirects: int, allow_private: bool) -> object:
    from .crawl import FetchSettings

    return FetchSettings(delay=delay, connect_timeout=connect_timeout, read_timeout=read_timeout,
                         max_bytes=max_bytes, max_pdf_bytes=max_pdf_bytes, retries=retries,
                         max_redirects=max_redirects, allow_private=allow_private)


_Delay = Annotated[float, typer.Option(min=0.0, help="Seconds between two requests to one host "
                                                     "(a longer robots.txt Crawl-delay wins).")]
_Concurrency = Annotated[int, typer.Option(min=1, help="Requests in flight at once, all hosts together.")]
_HostConcurrency = Annotated[int, typer.Option("--host-concurrency", min=1,
                                               help="Requests in flight at once to one host.")]
_ConnectTimeout = Annotated[float, typer.Option("--connect-timeout", min=0.1, help="Seconds to wait for a "
                                                                                     "connection.")]
_ReadTimeout = Annotated[float, typer.Option("--read-timeout", min=0.1, help="Seconds to wait for the server "
                                                                               "between two reads.")]
_MaxBytes = Annotated[int, typer.Option("--max-bytes", min=1024, help="Largest HTML page, feed or sitemap "
                                                                        "(bytes); larger ones are abandoned.")]
_MaxPdfBytes = Annotated[int, typer.Option("--max-pdf-bytes", min=1024, help="Largest PDF report (bytes).")]
_Retries = Annotated[int, typer.Option(min=0, help="Extra attempts on 429, 5xx and broken connections "
                                                   "(exponential backoff, Retry-After honoured).")]
_MaxRedirects = Annotated[int, typer.Option("--max-redirects", min=0, help="Redirects followed per URL.")]
_AllowPrivate = Annotated[bool, typer.Option("--allow-private", help="Allow private, loopback and link-local "
                                                                      "addresses (intranets, tests).")]
_Verbose = Annotated[bool, typer.Option("-v", "--verbose", help="Print one line per URL as it is done.")]


@app.command()
def crawl(
    seeds: Annotated[list[str], typer.Argument(help="Page URLs (focused crawl of their host), RSS/Atom feeds, "
                                                    "sitemaps (detected from the response), or @FILE with one "
                                                    "seed a line.")],
    db: Annotated[Optional[Path], typer.Option(help=_DB_HELP)] = None,
    max_pages: Annotated[int, typer.Option("--max-pages", min=1, help="New pages and reports fetched per seed in "
                                                                      "this run; the rest waits for the next.")] = 100,
    max_depth: Annotated[int, typer.Option("--max-depth", min=0, help="Link hops followed from a page seed.")] = 3,
    include: Annotated[Optional[list[str]], typer.Option(help="Only queue page URLs matching this regular "
                                                              "expression; repeatable.")] = None,
    exclude: Annotated[Optional[list[str]], typer.Option(help="Never queue page URLs matching this regular "
                                                              "expression; repeatable.")] = None,
    discover: Annotated[bool, typer.Option(help="Find the feeds and sitemaps a page seed announces.")] = True,
    pdfs: Annotated[bool, typer.Option(help="Fetch and extract the PDF reports linked from crawled pages.")] = True,
    delay: _Delay = 1.0,
    concurrency: _Concurrency = 4,
    host_concurrency: _HostConcurrency = 1,
    connect_timeout: _ConnectTimeout = 10.0,
    read_timeout: _ReadTimeout = 30.0,
    max_bytes: _MaxBytes = 5_000_000,
    max_pdf_bytes: _MaxPdfBytes = 50_000_000,
    retries: _Retries = 2,
    max_redirects: _MaxRedirects = 5,
    allow_private: _AllowPrivate = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the run figures as JSON.")] = False,
    verbose: _Verbose = False,
) -> None:
    """Crawl seeds into the store; a second run fetches only what is new, a killed run resumes."""
    import re

    from .crawl import SourceOptions, crawl as run

    for pattern in (include or []) + (exclude or []):
        try:
            re.compile(pattern)
        except re.error as exc:
            _fail(f"invalid pattern {pattern!r}: {exc}", 2)
    options = SourceOptions(max_pages=max_pages, max_depth=max_depth, include=include or [],
                            exclude=exclude or [], discover=discover, pdfs=pdfs)
    settings = _fetch_settings(delay, connect_timeout, read_timeout, max_bytes, max_pdf_bytes, retries,
                               max_redirects, allow_private)
    try:
        report = run(seeds, db, options=options, settings=settings, concurrency=concurrency,  # type: ignore[arg-type]
                     host_concurrency=host_concurrency, progress=_echo_err if verbose else None)
    except BaliseError as exc:
        _fail(str(exc))
        return
    if as_json:
        typer.echo(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
    else:
        _echo_err(report.summary())
    if report.sources == 0:
        _fail("no valid seed", 2)
    if report.interrupted:
        raise typer.Exit(130)


@app.command()
def watch(
    db: Annotated[Optional[Path], typer.Option(help=_DB_HELP)] = None,
    output: Annotated[Optional[Path], typer.Option("-o", "--output", help="Annotated corpus (JSON Lines) to "
                                                                          "append the new documents to.")] = None,
    model: Annotated[Optional[str], typer.Option(help="Model name or path (default: the bundled model).")] = None,
    threshold: Annotated[Optional[list[str]], typer.Option("--threshold", help=_THRESHOLD_HELP)] = None,
    duplicates: Annotated[bool, typer.Option("--duplicates/--no-duplicates", help="Also annotate near-duplicates "
                                                                                  "(syndicated copies).")] = False,
    delay: _Delay = 1.0,
    concurrency: _Concurrency = 4,
    host_concurrency: _HostConcurrency = 1,
    connect_timeout: _ConnectTimeout = 10.0,
    read_timeout: _ReadTimeout = 30.0,
    max_bytes: _MaxBytes = 5_000_000,
    max_pdf_bytes: _MaxPdfBytes = 50_000_000,
    retries: _Retries = 2,
    max_redirects: _MaxRedirects = 5,
    allow_private: _AllowPrivate = False,
    verbose: _Verbose = False,
) -> None:
    """Crawl every source recorded in the store, annotate only the new documents and append them to the
    corpus. Safe under cron: a second run while one is going exits at once with code 75."""
    from .crawl import watch as run
    from .store import WatchLockedError

    settings = _fetch_settings(delay, connect_timeout, read_timeout, max_bytes, max_pdf_bytes, retries,
                               max_redirects, allow_private)
    tagger = None
    if model is not None or threshold:
        from .tagger import load, parse_thresholds

        try:
            tagger = load(model, thresholds=parse_thresholds(threshold or []))
        except BaliseError as exc:
            _fail(str(exc))
    try:
        report = run(db, output=output, tagger=tagger, settings=settings, concurrency=concurrency,  # type: ignore[arg-type]
                     host_concurrency=host_concurrency, include_duplicates=duplicates,
                     progress=_echo_err if verbose else None)
    except WatchLockedError as exc:
        _fail(str(exc), 75)
        return
    except BaliseError as exc:
        _fail(str(exc))
        return
    typer.echo(report.summary())
    if report.crawl.interrupted:
        raise typer.Exit(130)
    if report.annotation_error:
        raise typer.Exit(1)


_FORMATS_HELP = ("jsonl (the annotate output), csv (a row per passage), spacy (DocBin), brat, inception (UIMA CAS "
                 "XMI), doccano, labelstudio, prodigy, iramuteq, txm")


@app.command()
def export(
    input_file: Annotated[Optional[Path], typer.Argument(
        metavar="IN.jsonl", show_default=False,
        help="Annotated JSON Lines (balise annotate output) to export; without it, the store (--db) is exported.")] = None,
    db: Annotated[Optional[Path], typer.Option(help=_DB_HELP)] = None,
    fmt: Annotated[str, typer.Option("--format", help=f"Output format: {_FORMATS_HELP}.")] = "jsonl",
    output: Annotated[Path, typer.Option("-o", "--output", help="Output file, or folder for brat, inception and txm "
                                                                "('-': standard output, for jsonl, csv, doccano, "
                                                                "prodigy).")] = Path("-"),
    per: Annotated[str, typer.Option(help="IRaMuTeQ unit: one text per 'passage' or per 'document'.")] = "passage",
    duplicates: Annotated[bool, typer.Option("--duplicates/--no-duplicates", help="Include near-duplicates "
                                                                                  "(marked meta.duplicate_of).")] = True,
    force: Annotated[bool, typer.Option("--force", help="Write into an output folder that is not empty.")] = False,
) -> None:
    """Write annotated documents (an annotated JSONL file or the store) for a researcher's tool."""
    from .exports import FORMATS, STREAM_FORMATS, UNITS, export as run
    from .store import Store

    if fmt not in FORMATS:
        _fail(f"unknown format {fmt!r} (available: {', '.join(FORMATS)})", 2)
    if per not in UNITS:
        _fail(f"--per must be passage or document, not {per!r}", 2)
    if input_file is not None and db is not None:
        _fail("give IN.jsonl or --db, not both", 2)
    if str(output) == "-" and fmt not in STREAM_FORMATS:
        _fail(f"--format {fmt} needs -o (a {'folder' if fmt in ('brat', 'inception', 'txm') else 'file'})", 2)
    if input_file is None and fmt == "jsonl":  # the store's own JSONL export, as before
        if db is not None and not db.exists():
            _fail(f"no store at {db}")
        try:
            with Store(db) as store:
                count = store.export_jsonl("-" if str(output) == "-" else output, include_duplicates=duplicates)
        except (BaliseError, OSError) as exc:
            _fail(str(exc))
            return
        _echo_err(f"{count} document(s) written to {output}")
        return
    try:
        if input_file is not None:
            if not input_file.is_file():
                _fail(f"no file {input_file}")
            report = run(_annotated_records(input_file), fmt, output, per, force=force)
        else:
            if db is not None and not db.exists():
                _fail(f"no store at {db}")
            with Store(db) as store:
                records = (store.export_record(d) for d in store.documents(include_duplicates=duplicates))
                report = run(records, fmt, output, per, force=force)
    except (BaliseError, OSError, ValueError) as exc:
        _fail(str(exc))
        return
    _echo_err(report.summary())


def _annotated_records(path: Path) -> Iterator[dict]:
    """The lines of an annotated JSONL file, read as they are exported (a bad line stops with its number)."""
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if line.strip():
                try:
                    yield json.loads(line)
                except json.JSONDecodeError as exc:
                    raise ValueError(f"{path}:{number}: not JSON ({exc.msg})") from exc


@app.command("import")
def import_(
    input_path: Annotated[Path, typer.Argument(
        metavar="IN", help="The tool's export: a brat or INCEpTION folder (or one .ann/.xmi file), doccano or Prodigy "
                           "JSONL, Label Studio JSON, a .spacy file, or annotated JSONL.")],
    fmt: Annotated[str, typer.Option("--format", help="brat, inception, doccano, labelstudio, prodigy, spacy or "
                                                      "jsonl.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Corrected passages in the corpus format (JSON "
                                                                "Lines), ready for balise train --add.")],
    machine: Annotated[Optional[Path], typer.Option(help="The machine annotations that were exported (annotated "
                                                         "JSONL): report what the reviewers changed.")] = None,
    report_file: Annotated[Optional[Path], typer.Option("--report", help="Also write the change report as JSON to "
                                                                        "this file (needs --machine).")] = None,
    show_warnings: Annotated[bool, typer.Option("--warnings/--no-warnings", help="List the spans that were dropped "
                                                                                 "and why.")] = True,
) -> None:
    """Read human-corrected annotations back into the corpus format, and report what changed."""
    from .corpus import write_jsonl
    from .exports import READABLE_FORMATS
    from .imports import compare, import_annotations

    if fmt not in READABLE_FORMATS:
        _fail(f"cannot import {fmt!r} (readable: {', '.join(READABLE_FORMATS)})", 2)
    warnings: list[str] = []
    try:
        records = import_annotations(input_path, fmt, warnings)
        machine_records = list(_annotated_records(machine)) if machine is not None else None
    except (BaliseError, OSError, ValueError) as exc:
        _fail(str(exc))
        return
    write_jsonl(records, output)
    documents = len({r.get("doc_id") for r in records})
    typer.echo(f"{len(records)} passage(s) from {documents} document(s) written to {output}")
    if warnings:
        _echo_err(f"{len(warnings)} warning(s)")
        for warning in warnings[: 50 if show_warnings else 0]:
            _echo_err(f"  {warning}")
    if machine_records is not None:
        changes = compare(machine_records, records)
        typer.echo(changes.summary())
        if report_file:
            report_file.write_text(json.dumps(changes.to_dict(), ensure_ascii=False, indent=2) + "\n",
                                   encoding="utf-8")


@app.command()
def suggest(
    inputs: Annotated[list[Path], typer.Argument(help="Annotated JSONL files (their scores are used) or any input "
                                                      "balise annotate reads (tagged first).")],
    n: Annotated[int, typer.Option("-n", min=1, help="Number of passages to pick.")] = 50,
    fmt: Annotated[str, typer.Option("--format", help="Format of the annotation round: brat, inception, doccano, "
                                                      "labelstudio, prodigy (or any export format).")] = "labelstudio",
    output: Annotated[Path, typer.Option("-o", "--output", help="Output file, or folder for brat, inception "
                                                                "and txm.")] = Path("suggestions.json"),
    model: Annotated[Optional[str], typer.Option(help="Model name or path (default: the bundled model); its "
                                                      "thresholds measure the uncertainty.")] = None,
    rescore: Annotated[bool, typer.Option("--rescore", help="Tag annotated inputs again with the model instead of "
                                                            "using their stored scores.")] = False,
    exclude: Annotated[Optional[list[Path]], typer.Option(help="JSONL of passages already annotated (corpus or "
                                                               "annotated format): their near-duplicates are "
                                                               "skipped; repeatable.")] = None,
    min_words: Annotated[int, typer.Option("--min-words", min=1, help="Skip passages shorter than this many "
                                                                      "words.")] = 3,
    force: Annotated[bool, typer.Option("--force", help="Write into an output folder that is not empty.")] = False,
) -> None:
    """Pick the N passages the model is least sure about (no two near-duplicates) for the next annotation round."""
    from .exports import FORMATS
    from .imports import passage_records
    from .suggest import suggest as run
    from .tagger import load

    if fmt not in FORMATS:
        _fail(f"unknown format {fmt!r} (available: {', '.join(FORMATS)})", 2)
    try:
        tagger = load(model)
        excluded = [r["text"] for path in exclude or [] for r in passage_records(_annotated_records(path))]
        result = run(inputs, tagger, n, fmt, output, rescore=rescore, min_words=min_words, exclude_texts=excluded,
                     force=force)
    except (BaliseError, OSError, ValueError) as exc:
        _fail(str(exc))
        return
    _echo_err(result.summary())


def main() -> None:
    """Console entry point."""
    try:
        app()
    except BrokenPipeError:  # `balise … | head`
        sys.stderr.close()
