"""Readers: every format, and every kind of bad input reported with a reason instead of raised."""
from __future__ import annotations

import json

from conftest import SAMPLES, make_pdf

from balise.extract import Document, Skipped, extract_html, read_file, read_paths
from balise.preprocess import paragraph_spans


def one(path):
    items = list(read_file(path))
    assert len(items) == 1, items
    return items[0]


def test_utf8_text_keeps_paragraphs(tmp_path):
    path = tmp_path / "note.txt"
    path.write_text("Premier paragraphe.\r\n\r\nDeuxième paragraphe, avec l’apostrophe.\r\n", encoding="utf-8")
    doc = one(path)
    assert isinstance(doc, Document)
    assert doc.text == "Premier paragraphe.\n\nDeuxième paragraphe, avec l’apostrophe."
    assert [doc.text[s:e] for s, e in paragraph_spans(doc.text)] == [
        "Premier paragraphe.", "Deuxième paragraphe, avec l’apostrophe."]


def test_latin1_text_is_detected_not_assumed(tmp_path):
    path = tmp_path / "vieux.txt"
    text = "Le CCAS a ouvert une épicerie solidaire à Château-Thierry ; les bénévoles accueillent les familles."
    path.write_bytes(text.encode("latin-1"))
    doc = one(path)
    assert doc.text == text


def test_binary_file_named_txt_is_skipped(tmp_path):
    path = tmp_path / "image.txt"
    path.write_bytes(bytes(range(256)) * 40)
    item = one(path)
    assert isinstance(item, Skipped)
    assert "binary" in item.reason


def test_empty_file_is_skipped(tmp_path):
    path = tmp_path / "vide.txt"
    path.write_bytes(b"")
    item = one(path)
    assert isinstance(item, Skipped) and item.reason == "empty file"
    (tmp_path / "blanc.txt").write_text("  \n\n \n", encoding="utf-8")
    assert isinstance(one(tmp_path / "blanc.txt"), Skipped)


def test_large_text_is_read_whole(tmp_path):
    paragraph = "Les habitants du quartier ont conçu le service avec le centre social. " * 10
    text = "\n\n".join([paragraph.strip()] * 7500)
    path = tmp_path / "gros.txt"
    path.write_text(text, encoding="utf-8")
    assert path.stat().st_size > 5_000_000
    doc = one(path)
    assert len(doc.text) == len(text)
    spans = paragraph_spans(doc.text)
    assert len(spans) == 7500
    assert all(doc.text[s:e] == paragraph.strip() for s, e in spans[:5])


def test_html_extracts_main_text_and_metadata(tmp_path):
    html = """<html><head><title>Un bus pour les droits</title>
    <meta name="author" content="Claire Dubois"><meta property="article:published_time" content="2025-03-14">
    </head><body><nav><a href="/">Accueil</a> <a href="/sport">Sport</a></nav>
    <article><h1>Un bus pour les droits</h1>
    <p>Depuis janvier, le bus du CIAS s'arrête chaque mardi sur la place des villages du canton, sans rendez-vous.</p>
    <p>Les habitants y trouvent une conseillère qui les aide à remplir leurs dossiers de retraite et de RSA.</p>
    </article><footer>Mentions légales – Tous droits réservés</footer></body></html>"""
    path = tmp_path / "page.html"
    path.write_text(html, encoding="utf-8")
    doc = one(path)
    assert isinstance(doc, Document)
    assert "Accueil" not in doc.text and "Mentions légales" not in doc.text
    paragraphs = [doc.text[s:e] for s, e in paragraph_spans(doc.text)]
    assert paragraphs[-2].startswith("Depuis janvier") and paragraphs[-1].startswith("Les habitants")
    assert doc.title == "Un bus pour les droits"
    assert doc.date == "2025-03-14"
    assert doc.author == "Claire Dubois"


def test_html_without_content_is_skipped(tmp_path):
    path = tmp_path / "vide.html"
    path.write_text("<html><head><title>x</title></head><body><nav>Menu</nav></body></html>", encoding="utf-8")
    item = one(path)
    assert isinstance(item, Skipped) and "no main text" in item.reason
    assert extract_html("") is None


def test_pdf_text_layer(tmp_path):
    paragraphs = ["Rapport d'activite 2025 du CIAS.",
                  "Les usagers siegent au comite de pilotage et votent les orientations du service de repit."]
    path = make_pdf(tmp_path / "rapport.pdf", paragraphs)
    doc = one(path)
    assert isinstance(doc, Document)
    assert "comite de pilotage" in doc.text
    assert "\n\n" in doc.text


def test_truncated_pdf_is_skipped(tmp_path):
    good = make_pdf(tmp_path / "bon.pdf", ["Un texte assez long pour remplir la page du rapport annuel."])
    broken = tmp_path / "casse.pdf"
    broken.write_bytes(good.read_bytes()[:300])
    item = one(broken)
    assert isinstance(item, Skipped)
    assert "PDF" in item.reason


def test_image_only_and_fake_pdf_are_skipped(tmp_path):
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.rect(10, 10, 50, 50)
    pdf.output(str(tmp_path / "image.pdf"))
    item = one(tmp_path / "image.pdf")
    assert isinstance(item, Skipped) and "no text layer" in item.reason
    (tmp_path / "faux.pdf").write_text("ceci n'est pas un PDF", encoding="utf-8")
    assert "not a PDF" in one(tmp_path / "faux.pdf").reason


def test_encrypted_pdf_is_skipped(tmp_path):
    from pypdf import PdfReader, PdfWriter

    plain = make_pdf(tmp_path / "clair.pdf", ["Document confidentiel du CCAS sur le repit des aidants."])
    writer = PdfWriter()
    for page in PdfReader(plain).pages:
        writer.add_page(page)
    writer.encrypt("secret")
    with open(tmp_path / "chiffre.pdf", "wb") as handle:
        writer.write(handle)
    item = one(tmp_path / "chiffre.pdf")
    assert isinstance(item, Skipped) and item.reason == "encrypted PDF"


def test_jsonl_documents_and_bad_lines(tmp_path):
    path = tmp_path / "docs.jsonl"
    lines = [
        json.dumps({"id": "a1", "text": "Premier texte.", "url": "https://exemple.fr/a1", "theme": "repit"}),
        "{pas du json",
        json.dumps({"id": "a2"}),
        json.dumps({"text": "Sans identifiant."}),
        "",
    ]
    path.write_text("\n".join(lines), encoding="utf-8")
    items = list(read_file(path))
    docs = [i for i in items if isinstance(i, Document)]
    skipped = [i for i in items if isinstance(i, Skipped)]
    assert [d.id for d in docs] == ["a1", f"{path}:4"]
    assert docs[0].url == "https://exemple.fr/a1" and docs[0].meta == {"theme": "repit"}
    assert {s.reason for s in skipped} == {"invalid JSON line (JSONDecodeError)", "no 'text' field"}


def test_folders_are_read_recursively_and_unknown_files_reported(tmp_path):
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "b" / "x.txt").write_text("Un texte.", encoding="utf-8")
    (tmp_path / "a" / "photo.jpg").write_bytes(b"\xff\xd8\xff")
    (tmp_path / ".cache").mkdir()
    (tmp_path / ".cache" / "y.txt").write_text("caché", encoding="utf-8")
    items = list(read_paths([tmp_path, tmp_path / "absent.txt"]))
    assert [i.id for i in items if isinstance(i, Document)] == [str(tmp_path / "a" / "b" / "x.txt")]
    reasons = {i.reason for i in items if isinstance(i, Skipped)}
    assert reasons == {"unsupported file type '.jpg'", "no such file or folder"}


def test_bundled_samples_all_read():
    items = list(read_paths([SAMPLES]))
    docs = [i for i in items if isinstance(i, Document)]
    assert len(docs) >= 12
    assert any(d.source.endswith(".pdf") for d in docs)
    assert not [i for i in items if isinstance(i, Skipped) and not i.source.endswith(".md")]
