"""The ``balise`` command: a thin shell over the library (each command calls one library function)."""
from __future__ import annotations

import json
import sys
from pathlib import Path
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


@app.command()
def annotate(
    inputs: Annotated[list[Path], typer.Argument(help="Files and folders to annotate (.txt, .html, .pdf, .jsonl; "
                                                      "folders are read recursively).")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Output JSON Lines file, one document a line.")],
    model: Annotated[Optional[str], typer.Option(help="Model name or path (default: the bundled model).")] = None,
    resume: Annotated[bool, typer.Option(help="Keep the documents already in OUTPUT and skip them.")] = False,
    n_process: Annotated[int, typer.Option("--n-process", min=1, help="Worker processes for spaCy.")] = 1,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, help="Paragraphs per spaCy batch.")] = 32,
    summary: Annotated[Optional[Path], typer.Option(help="Also write the run summary as JSON to this file.")] = None,
    progress: Annotated[Optional[bool], typer.Option(help="Show a progress bar (default: when on a terminal).")] = None,
) -> None:
    """Annotate documents: passages, markers with scores and evidence, rupture signals."""
    from .annotate import annotate as run
    from .tagger import load

    try:
        tagger = load(model)
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
    as_json: Annotated[bool, typer.Option("--json", help="Print the full evaluation as JSON.")] = False,
) -> None:
    """Per-label precision, recall, F1 and support, macro and micro F1, the keyword baseline, confusions."""
    from .corpus import read_gold, read_jsonl_records
    from .evaluate import dump_errors, evaluate_records, format_evaluation
    from .tagger import load

    try:
        records = read_jsonl_records(data) if data else read_gold(gold, split)
        if not records:
            _fail(f"no records in {data or gold} ({split})")
        tagger = load(model)
        result = evaluate_records(tagger, records)
    except (BaliseError, OSError) as exc:
        _fail(str(exc))
        return
    if errors:
        dump_errors(result, str(errors))
    if as_json:
        typer.echo(json.dumps(result.to_dict(), ensure_ascii=False, indent=2))
    else:
        typer.echo(format_evaluation(result, f"{data or f'{gold} [{split}]'} — model {tagger.name} "
                                             f"{tagger.version}"))


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


def main() -> None:
    """Console entry point."""
    try:
        app()
    except BrokenPipeError:  # `balise … | head`
        sys.stderr.close()
