"""Shared fixtures: the bundled tagger is loaded once for the whole session (spaCy takes seconds to load)."""
from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "corpora" / "samples"
GOLD = ROOT / "corpora" / "gold"


@pytest.fixture(scope="session")
def tagger():
    import balise

    return balise.load()


@pytest.fixture(scope="session")
def nlp(tagger):
    return tagger.nlp


def make_pdf(path: Path, paragraphs: list[str]) -> Path:
    """A real PDF with a text layer (fpdf2, core font: latin-1 text only)."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", size=11)
    for paragraph in paragraphs:
        pdf.multi_cell(0, 6, paragraph)
        pdf.ln(4)
    pdf.output(str(path))
    return path
