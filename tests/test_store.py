"""The SQLite store, ``watch`` and ``export``: schema, duplicates, atomic records, annotations, the cron lock."""
from __future__ import annotations

import json
import sqlite3
import sys
from pathlib import Path
from typing import Any

import pytest
from balise.cli import app
from balise.crawl import FetchSettings, crawl, watch
from balise.extract import Document
from balise.store import (
    SCHEMA_VERSION,
    FileLock,
    NewUrl,
    PageRecord,
    Store,
    StoreError,
    WatchLockedError,
    default_db_path,
    minhash_signature,
)
from typer.testing import CliRunner

sys.path.insert(0, str(Path(__file__).parent))
from crawlsite import CrawlSite, french_text


def fast() -> FetchSettings:
    return FetchSettings(delay=0.0, connect_timeout=1.0, read_timeout=0.5, retries=1, backoff=0.05,
                         allow_private=True)


@pytest.fixture(scope="module")
def site():
    with CrawlSite(slow_seconds=1.0, crawl_delay="0.01") as running:
        yield running


def _page(store: Store, url: str, text: str | None, *, source_id: int | None = None) -> Any:
    store.enqueue([NewUrl(url, "page", 1, source_id)])
    row = store.url_row(url)
    document = None if text is None else Document(id=url, text=text, url=url, title=url.rsplit("/", 1)[1])
    return store.record(PageRecord(url_id=row["id"], state="fetched", http_status=200, document=document,
                                   signature=None if text is None else minhash_signature(text)))


# ------------------------------------------------------------------------------------------- schema and location


def test_default_location_follows_balise_data_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("BALISE_DATA_DIR", str(tmp_path / "data"))
    assert default_db_path() == tmp_path / "data" / "balise.db"
    with Store() as store:
        assert store.path == tmp_path / "data" / "balise.db" and store.path.exists()
    monkeypatch.delenv("BALISE_DATA_DIR")
    assert default_db_path().name == "balise.db" and "balise" in str(default_db_path().parent)


def test_schema_is_versioned_and_in_wal_mode(tmp_path):
    with Store(tmp_path / "b.db") as store:
        assert store.schema_version == SCHEMA_VERSION
        assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    with Store(tmp_path / "b.db") as store:  # reopening migrates nothing and loses nothing
        assert store.schema_version == SCHEMA_VERSION


def test_newer_schema_and_foreign_files_are_refused(tmp_path):
    newer = tmp_path / "newer.db"
    with sqlite3.connect(newer) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(StoreError, match="newer than this balise"):
        Store(newer)
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE t (x)")
    with pytest.raises(StoreError, match="not a balise store"):
        Store(other)
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"this is not sqlite at all" * 100)
    with pytest.raises(StoreError, match="not a usable balise database"):
        Store(garbage)


# ------------------------------------------------------------------------------------------- records


def test_sources_record_their_options(tmp_path):
    with Store(tmp_path / "b.db") as store:
        source = store.add_source("https://e.org/", {"max_pages": 5})
        again = store.add_source("https://e.org/", {"max_pages": 9})
        assert again.id == source.id and again.options == {"max_pages": 9}
        assert store.url_row("https://e.org/")["hub"] == 1 and store.url_row("https://e.org/")["state"] == "queued"


def test_known_urls_are_queued_once(tmp_path):
    with Store(tmp_path / "b.db") as store:
        assert store.enqueue([NewUrl("https://e.org/a", "page", 1, None)] * 3) == 1
        assert store.enqueue([NewUrl("https://e.org/a", "page", 1, None)]) == 0


def test_exact_duplicate_text_is_stored_once(tmp_path):
    text = "\n\n".join(french_text(1))
    with Store(tmp_path / "b.db") as store:
        first = _page(store, "https://a.org/x", text)
        second = _page(store, "https://b.org/y", text.replace(" ", "  "))  # whitespace does not matter
        assert first.status == "new" and second.status == "duplicate" and second.document_id == first.document_id
        assert store.count_documents() == 1
        assert store.url_row("https://b.org/y")["document_id"] == first.document_id


def test_near_duplicates_are_linked_to_the_first_copy(tmp_path):
    paragraphs = french_text(2)
    with Store(tmp_path / "b.db") as store:
        first = _page(store, "https://a.org/story", "\n\n".join(paragraphs))
        copy = _page(store, "https://b.org/story", "\n\n".join(["Repris de a.org."] + paragraphs[:-1]))
        third = _page(store, "https://c.org/story", "\n\n".join(paragraphs[1:] + ["Source : a.org."]))
        other = _page(store, "https://d.org/other", "\n\n".join(french_text(3)))
        assert copy.duplicate_of == first.document_id and third.duplicate_of == first.document_id
        assert other.duplicate_of is None and copy.similarity >= 0.7
        assert [d.id for d in store.documents(include_duplicates=False)] == [first.document_id, other.document_id]
        assert store.document(copy.document_id).to_document().meta["duplicate_of"] == first.document_id


def test_short_texts_are_never_near_duplicates():
    assert minhash_signature("Trop court pour comparer.") is None


def test_a_failing_record_leaves_nothing_behind(tmp_path):
    with Store(tmp_path / "b.db") as store:
        store.enqueue([NewUrl("https://e.org/a", "page", 1, None)])
        row = store.url_row("https://e.org/a")
        bad = PageRecord(url_id=row["id"], state="fetched", document=Document("x", "\n\n".join(french_text(4))),
                         links=[NewUrl("https://e.org/b", "page", 2, None)])
        bad.state = "nonsense"  # violates the CHECK constraint after the document was inserted
        with pytest.raises(sqlite3.IntegrityError):
            store.record(bad)
        assert store.count_documents() == 0 and store.url_row("https://e.org/b") is None
        assert store.url_row("https://e.org/a")["state"] == "queued"


def test_failed_urls_with_passing_reasons_are_retried_by_later_runs(tmp_path):
    with Store(tmp_path / "b.db") as store:
        source = store.add_source("https://e.org/")
        store.enqueue([NewUrl("https://e.org/slow", "page", 1, source.id), NewUrl("https://e.org/gone", "page", 1,
                                                                                   source.id)])
        for url, retryable in (("https://e.org/slow", True), ("https://e.org/gone", False)):
            store.record(PageRecord(url_id=store.url_row(url)["id"], state="failed", reason="x", retryable=retryable))
        for _ in range(2):
            store.start_run("crawl", [source.id])
            assert store.url_row("https://e.org/slow")["state"] == "queued"
            assert store.url_row("https://e.org/gone")["state"] == "failed"
            store.record(PageRecord(url_id=store.url_row("https://e.org/slow")["id"], state="failed", reason="x",
                                    retryable=True))
        store.start_run("crawl", [source.id])  # three attempts: given up
        assert store.url_row("https://e.org/slow")["state"] == "failed"


# ------------------------------------------------------------------------------------------- annotations, export


def test_annotations_and_export(tmp_path):
    with Store(tmp_path / "b.db") as store:
        first = _page(store, "https://a.org/one", "\n\n".join(french_text(5)))
        _page(store, "https://a.org/two", "\n\n".join(french_text(6)))
        annotation = {"id": "https://a.org/one", "text": "…", "labels": ["L1"], "passages": [],
                      "model": {"name": "m", "version": "1"}, "meta": {"k": "v"}}
        store.save_annotation(first.document_id, annotation)
        assert store.annotation(first.document_id) == annotation
        assert [d.key for d in store.unannotated()] == ["https://a.org/two"]
        out = tmp_path / "out" / "export.jsonl"
        assert store.export_jsonl(out) == 2
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert lines[0]["labels"] == ["L1"] and lines[0]["meta"]["k"] == "v" and lines[0]["meta"]["annotated"] is True
    assert lines[1]["id"] == "https://a.org/two" and "labels" not in lines[1]
    assert set(lines[1]) >= {"id", "source", "url", "title", "date", "author", "lang", "text", "meta"}
    assert lines[1]["meta"]["annotated"] is False and not out.with_name("export.jsonl.part").exists()


def test_file_lock_is_exclusive(tmp_path):
    with FileLock(tmp_path / "b.db.lock"), pytest.raises(WatchLockedError):
        FileLock(tmp_path / "b.db.lock").acquire()
    with FileLock(tmp_path / "b.db.lock"):  # released: the next run gets in
        pass


# ------------------------------------------------------------------------------------------- watch


class FakeAnnotated:
    def __init__(self, document: Document) -> None:
        self.document = document

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.document.id, "text": self.document.text, "title": self.document.title,
                "labels": ["gouvernance"], "passages": [], "model": {"name": "fake", "version": "0"}}


class FakeTagger:
    def __init__(self) -> None:
        self.seen: list[str] = []

    def pipe(self, documents):
        for document in documents:
            self.seen.append(document.id)
            yield FakeAnnotated(document)


def test_watch_annotates_only_new_documents(site, tmp_path):
    db, corpus = tmp_path / "w.db", tmp_path / "corpus.jsonl"
    crawl([site.url("/rss.xml")], db, settings=fast())
    tagger = FakeTagger()
    first = watch(db, output=corpus, tagger=tagger, settings=fast())
    assert len(first.annotated) == 2 and first.appended == 2 and len(tagger.seen) == 2
    assert "2 new document(s) annotated" in first.summary() and "[gouvernance]" in first.summary()
    second = watch(db, output=corpus, tagger=tagger, settings=fast())
    assert second.annotated == [] and len(tagger.seen) == 2
    site.rss_items.append("/articles/rss-4.html")
    try:
        third = watch(db, output=corpus, tagger=tagger, settings=fast())
    finally:
        site.rss_items.remove("/articles/rss-4.html")
    assert [d.url for d in third.annotated] == [site.url("/articles/rss-4.html")]
    ids = [json.loads(line)["id"] for line in corpus.read_text(encoding="utf-8").splitlines()]
    assert len(ids) == len(set(ids)) == 3
    with Store(db) as store:
        assert store.stats()["annotated"] == 3


def test_watch_repairs_the_corpus_after_a_kill(site, tmp_path):
    db, corpus = tmp_path / "w.db", tmp_path / "corpus.jsonl"
    crawl([site.url("/atom.xml")], db, settings=fast())
    watch(db, output=corpus, tagger=FakeTagger(), settings=fast())
    good = corpus.read_text(encoding="utf-8")
    corpus.write_text('{"id": "half-written', encoding="utf-8")  # killed while appending, line lost
    report = watch(db, output=corpus, tagger=FakeTagger(), settings=fast())
    assert report.caught_up == 1 and corpus.read_text(encoding="utf-8") == good


def test_watch_refuses_to_overlap(site, tmp_path):
    db = tmp_path / "w.db"
    with FileLock(tmp_path / "w.db.lock"):
        with pytest.raises(WatchLockedError):
            watch(db, tagger=FakeTagger(), settings=fast())
        result = CliRunner().invoke(app, ["watch", "--db", str(db), "--allow-private"])
        assert result.exit_code == 75 and "another balise watch is running" in result.output


def test_watch_reports_a_tagger_failure_and_keeps_the_crawl(site, tmp_path):
    class Broken:
        def pipe(self, documents):
            raise RuntimeError("model exploded")

    db = tmp_path / "w.db"
    crawl([site.url("/atom.xml")], db, settings=fast())
    report = watch(db, tagger=Broken(), settings=fast())
    assert report.annotation_error == "RuntimeError: model exploded"
    with Store(db) as store:
        assert store.count_documents() == 1 and len(store.unannotated()) == 1


@pytest.mark.slow
def test_watch_with_the_real_tagger(site, tmp_path, tagger):
    db, corpus = tmp_path / "w.db", tmp_path / "corpus.jsonl"
    crawl([site.url("/atom.xml")], db, settings=fast())
    report = watch(db, output=corpus, tagger=tagger, settings=fast())
    assert len(report.annotated) == 1
    line = json.loads(corpus.read_text(encoding="utf-8"))
    assert line["id"] == site.url("/articles/atom-1.html") and "passages" in line and "model" in line


# ------------------------------------------------------------------------------------------- the commands


def test_crawl_and_export_commands(site, tmp_path):
    db, out = tmp_path / "c.db", tmp_path / "out.jsonl"
    runner = CliRunner()
    result = runner.invoke(app, ["crawl", site.url("/atom.xml"), "--db", str(db), "--allow-private",
                                 "--delay", "0", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["new_documents"] == 1
    refused = runner.invoke(app, ["crawl", site.url("/atom.xml"), "--db", str(tmp_path / "r.db")])
    assert refused.exit_code == 0 and "refused: 127.0.0.1 is a loopback address" in refused.output
    bad = runner.invoke(app, ["crawl", "ftp://example.org/", "--db", str(tmp_path / "x.db")])
    assert bad.exit_code == 2 and "no valid seed" in bad.output
    exported = runner.invoke(app, ["export", "--db", str(db), "--format", "jsonl", "-o", str(out)])
    assert exported.exit_code == 0, exported.output
    record = json.loads(out.read_text(encoding="utf-8"))
    assert record["url"] == site.url("/articles/atom-1.html") and record["text"]
    assert runner.invoke(app, ["export", "--db", str(db), "--format", "docx", "-o", str(out)]).exit_code == 2
    assert runner.invoke(app, ["export", "--db", str(tmp_path / "none.db"), "-o", str(out)]).exit_code == 1
