"""The embedded store of the crawler: sources, the URL queue, documents and their annotations, in one SQLite file.

Why SQLite: an observatory leaves the crawler running for months under cron; the queue must survive a kill at any
moment and two runs must never store a page twice. Each fetched page is recorded in one transaction (its URL state,
its document and the links it adds to the queue), so a run killed between two pages resumes with no duplicate and
no lost document. WAL mode lets ``balise export`` read while a crawl writes.

Exact duplicates (same text hash) are stored once; near-duplicates (a story syndicated on several sites) are stored
and linked to the first copy through MinHash signatures (``datasketch``) and banded LSH keys kept in the database.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import sqlite3
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TextIO

from .errors import BaliseError
from .extract import Document

SCHEMA_VERSION = 1
"""Version of the database layout, kept in ``PRAGMA user_version``; older files are migrated on open."""

URL_STATES = ("queued", "fetched", "failed", "disallowed")
URL_KINDS = ("seed", "page", "pdf", "feed", "sitemap")
SOURCE_KINDS = ("auto", "page", "feed", "sitemap", "pdf")

NUM_PERM = 128
"""MinHash permutations: 128 gives a Jaccard estimate within about ±0.09 (2 sigma)."""
BANDS, ROWS = 32, 4
"""LSH banding: documents sharing one band of 4 values are candidates (50 % chance at Jaccard ≈ 0.42)."""
NEAR_DUPLICATE_THRESHOLD = 0.7
"""Estimated Jaccard similarity of 5-word shingles above which two texts are the same story."""
SHINGLE_WORDS = 5
MIN_SHINGLES = 8
"""Texts shorter than this many shingles are too short to call near-duplicates (only exact ones are caught)."""


class StoreError(BaliseError):
    """The database cannot be opened or used (not a balise store, newer schema, locked…)."""


class WatchLockedError(StoreError):
    """Another ``balise watch`` holds the lock of this database."""


# ------------------------------------------------------------------------------------------------ locations


def default_data_dir() -> Path:
    """``$BALISE_DATA_DIR`` if set, else the platform's user data folder (``~/.local/share/balise`` on Linux)."""
    env = os.environ.get("BALISE_DATA_DIR")
    if env:
        return Path(env).expanduser()
    from platformdirs import user_data_dir

    return Path(user_data_dir("balise", appauthor=False))


def default_db_path() -> Path:
    """Where ``crawl``, ``watch`` and ``export`` keep their store when ``--db`` is not given."""
    return default_data_dir() / "balise.db"


# ------------------------------------------------------------------------------------------------ helpers


def now_iso() -> str:
    """UTC time, second precision, ISO 8601: sortable as text in SQL."""
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


_SPACES = re.compile(r"\s+")


def text_hash(text: str) -> str:
    """SHA-256 of a text with whitespace runs collapsed: the key of exact duplicates."""
    return hashlib.sha256(_SPACES.sub(" ", text).strip().encode("utf-8")).hexdigest()


_WORDS = re.compile(r"\w+", re.UNICODE)


def minhash_signature(text: str) -> bytes | None:
    """MinHash signature (128 × uint32) of the 5-word shingles of ``text``, or ``None`` for very short texts.

    Computed outside any transaction (the crawler calls it in its worker threads): it is the costly part.
    """
    import numpy as np
    from datasketch import MinHash

    words = _WORDS.findall(text.lower())
    shingles = {" ".join(words[i : i + SHINGLE_WORDS]) for i in range(max(0, len(words) - SHINGLE_WORDS + 1))}
    if len(shingles) < MIN_SHINGLES:
        return None
    minhash = MinHash(num_perm=NUM_PERM, seed=1)
    minhash.update_batch([s.encode("utf-8") for s in shingles])
    return minhash.hashvalues.astype(np.uint32).tobytes()


def signature_similarity(a: bytes, b: bytes) -> float:
    """Estimated Jaccard similarity of two MinHash signatures (share of equal values)."""
    import numpy as np

    left, right = np.frombuffer(a, dtype=np.uint32), np.frombuffer(b, dtype=np.uint32)
    if left.shape != right.shape:
        return 0.0
    return float(np.count_nonzero(left == right)) / len(left)


def _band_keys(signature: bytes) -> list[tuple[int, bytes]]:
    width = ROWS * 4
    return [(band, hashlib.blake2b(signature[band * width : (band + 1) * width], digest_size=8).digest())
            for band in range(BANDS)]


# ------------------------------------------------------------------------------------------------ schema

_MIGRATIONS: dict[int, str] = {
    1: """
    CREATE TABLE sources (
        id INTEGER PRIMARY KEY,
        seed TEXT NOT NULL UNIQUE,
        kind TEXT NOT NULL DEFAULT 'auto',
        options TEXT NOT NULL DEFAULT '{}',
        active INTEGER NOT NULL DEFAULT 1,
        added_at TEXT NOT NULL,
        last_run_at TEXT
    );
    CREATE TABLE runs (
        id INTEGER PRIMARY KEY,
        command TEXT NOT NULL,
        started_at TEXT NOT NULL,
        finished_at TEXT,
        stats TEXT
    );
    CREATE TABLE documents (
        id INTEGER PRIMARY KEY,
        key TEXT NOT NULL UNIQUE,
        source_id INTEGER REFERENCES sources(id),
        url TEXT,
        title TEXT,
        author TEXT,
        date TEXT,
        text TEXT NOT NULL,
        content_hash TEXT NOT NULL UNIQUE,
        signature BLOB,
        duplicate_of INTEGER REFERENCES documents(id),
        similarity REAL,
        meta TEXT NOT NULL DEFAULT '{}',
        created_at TEXT NOT NULL,
        run_id INTEGER REFERENCES runs(id)
    );
    CREATE INDEX documents_duplicate_of ON documents(duplicate_of);
    CREATE TABLE urls (
        id INTEGER PRIMARY KEY,
        url TEXT NOT NULL UNIQUE,
        host TEXT NOT NULL,
        source_id INTEGER REFERENCES sources(id),
        kind TEXT NOT NULL,
        hub INTEGER NOT NULL DEFAULT 0,
        depth INTEGER NOT NULL DEFAULT 0,
        state TEXT NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'fetched', 'failed', 'disallowed')),
        reason TEXT,
        retryable INTEGER NOT NULL DEFAULT 0,
        attempts INTEGER NOT NULL DEFAULT 0,
        http_status INTEGER,
        final_url TEXT,
        content_type TEXT,
        content_hash TEXT,
        etag TEXT,
        last_modified TEXT,
        discovered_at TEXT NOT NULL,
        fetched_at TEXT,
        document_id INTEGER REFERENCES documents(id),
        run_id INTEGER REFERENCES runs(id)
    );
    CREATE INDEX urls_queue ON urls(state, source_id, depth, id);
    CREATE INDEX urls_document ON urls(document_id);
    CREATE TABLE minhash_bands (
        band INTEGER NOT NULL,
        key BLOB NOT NULL,
        document_id INTEGER NOT NULL REFERENCES documents(id),
        PRIMARY KEY (band, key, document_id)
    ) WITHOUT ROWID;
    CREATE TABLE annotations (
        document_id INTEGER PRIMARY KEY REFERENCES documents(id),
        data TEXT NOT NULL,
        model TEXT,
        created_at TEXT NOT NULL
    );
    """,
}


# ------------------------------------------------------------------------------------------------ records


@dataclass
class Source:
    """A seed given by the user, with the crawl options recorded for later runs (``watch``)."""

    id: int
    seed: str
    kind: str
    options: dict[str, Any]
    active: bool
    added_at: str
    last_run_at: str | None


@dataclass
class QueuedUrl:
    """One row of the queue, as the crawler needs it to fetch and to judge the links it finds."""

    id: int
    url: str
    host: str
    source_id: int | None
    kind: str
    hub: bool
    depth: int
    attempts: int
    etag: str | None
    last_modified: str | None
    document_id: int | None


@dataclass
class NewUrl:
    """A URL to add to the queue (ignored if the store already knows it)."""

    url: str
    kind: str
    depth: int
    source_id: int | None
    hub: bool = False


@dataclass
class StoredDocument:
    """A document as kept in the store."""

    id: int
    key: str
    source_id: int | None
    url: str | None
    title: str | None
    author: str | None
    date: str | None
    text: str
    content_hash: str
    duplicate_of: int | None
    similarity: float | None
    meta: dict[str, Any]
    created_at: str

    def to_document(self) -> Document:
        """The :class:`~balise.extract.Document` to annotate (its id is the canonical URL)."""
        meta = dict(self.meta)
        if self.duplicate_of is not None:
            meta["duplicate_of"] = self.duplicate_of
        return Document(id=self.key, text=self.text, source=self.url, url=self.url, title=self.title,
                        date=self.date, author=self.author, meta=meta)


@dataclass
class PageRecord:
    """Everything learnt from one fetch, written in one transaction by :meth:`Store.record`."""

    url_id: int
    state: str
    reason: str | None = None
    retryable: bool = False
    http_status: int | None = None
    final_url: str | None = None
    content_type: str | None = None
    content_hash: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    hub: bool | None = None
    document: Document | None = None
    signature: bytes | None = None
    links: list[NewUrl] = field(default_factory=list)
    source_kind: str | None = None


@dataclass
class RecordResult:
    """What :meth:`Store.record` did with the document: ``new``, ``duplicate`` (exact) or nothing."""

    document_id: int | None = None
    status: str | None = None  # "new", "duplicate", "known" (hub page already stored)
    duplicate_of: int | None = None
    similarity: float | None = None
    new_urls: int = 0


# ------------------------------------------------------------------------------------------------ the store


class Store:
    """An open balise database. Use from one thread; several processes may share the file (WAL, busy timeout)."""

    def __init__(self, path: str | Path | None = None, *, timeout: float = 60.0) -> None:
        self.path = Path(path).expanduser() if path is not None else default_db_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.conn = sqlite3.connect(str(self.path), timeout=timeout, isolation_level=None,
                                        check_same_thread=False)
            self.conn.row_factory = sqlite3.Row
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=NORMAL")
            self.conn.execute("PRAGMA foreign_keys=ON")
            self._migrate()
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{self.path}: not a usable balise database ({exc})") from exc

    # -- lifecycle

    def close(self) -> None:
        """Close the connection (the WAL is checkpointed by SQLite)."""
        self.conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _migrate(self) -> None:
        version = self.conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise StoreError(f"{self.path}: schema version {version} is newer than this balise "
                             f"(knows {SCHEMA_VERSION}); upgrade balise")
        if version == 0:
            tables = self.conn.execute("SELECT count(*) FROM sqlite_master WHERE type='table'").fetchone()[0]
            if tables:
                raise StoreError(f"{self.path}: an SQLite file that is not a balise store")
        for target in range(version + 1, SCHEMA_VERSION + 1):
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                for statement in _MIGRATIONS[target].split(";"):
                    if statement.strip():
                        self.conn.execute(statement)
                self.conn.execute(f"PRAGMA user_version = {target}")
                self.conn.execute("COMMIT")
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise

    @property
    def schema_version(self) -> int:
        """The layout version of this file."""
        return int(self.conn.execute("PRAGMA user_version").fetchone()[0])

    def transaction(self) -> _Transaction:
        """``with store.transaction():`` — one atomic write (``BEGIN IMMEDIATE`` … ``COMMIT``)."""
        return _Transaction(self.conn)

    # -- sources

    def add_source(self, seed: str, options: dict[str, Any] | None = None, kind: str = "auto") -> Source:
        """Record a seed (or update its options when it is known) and queue it."""
        options_json = json.dumps(options or {}, sort_keys=True)
        with self.transaction():
            row = self.conn.execute("SELECT id FROM sources WHERE seed = ?", (seed,)).fetchone()
            if row is None:
                cursor = self.conn.execute(
                    "INSERT INTO sources (seed, kind, options, added_at) VALUES (?, ?, ?, ?)",
                    (seed, kind, options_json, now_iso()))
                source_id = int(cursor.lastrowid)  # type: ignore[arg-type]
            else:
                source_id = int(row["id"])
                if options is not None:
                    self.conn.execute("UPDATE sources SET options = ?, active = 1 WHERE id = ?",
                                      (options_json, source_id))
            self._enqueue([NewUrl(seed, "seed", 0, source_id, hub=True)])
            # the seed URL may have been known before as a page of another source: make it a hub of this one
            self.conn.execute("UPDATE urls SET hub = 1 WHERE url = ? AND kind IN ('seed', 'feed', 'sitemap')",
                              (seed,))
        return self.source(source_id)

    def source(self, source_id: int) -> Source:
        """One source by id."""
        row = self.conn.execute("SELECT * FROM sources WHERE id = ?", (source_id,)).fetchone()
        if row is None:
            raise StoreError(f"no source {source_id}")
        return _source(row)

    def sources(self, active_only: bool = True) -> list[Source]:
        """The recorded sources, oldest first."""
        sql = "SELECT * FROM sources" + (" WHERE active = 1" if active_only else "") + " ORDER BY id"
        return [_source(row) for row in self.conn.execute(sql)]

    def set_source_kind(self, source_id: int, kind: str) -> None:
        """Remember what a seed turned out to be (page, feed, sitemap, pdf)."""
        with self.transaction():
            self.conn.execute("UPDATE sources SET kind = ? WHERE id = ?", (kind, source_id))

    # -- runs

    def start_run(self, command: str, source_ids: Iterable[int]) -> int:
        """Open a run: hubs (seeds, feeds, sitemaps) of its sources are queued again to find new items, and
        URLs that failed for a passing reason (timeout, 5xx…) get another chance."""
        ids = list(source_ids)
        with self.transaction():
            cursor = self.conn.execute("INSERT INTO runs (command, started_at) VALUES (?, ?)", (command, now_iso()))
            if ids:
                marks = ",".join("?" * len(ids))
                self.conn.execute(
                    f"UPDATE urls SET state = 'queued' WHERE hub = 1 AND source_id IN ({marks})", ids)
                self.conn.execute(
                    f"UPDATE urls SET state = 'queued' WHERE state = 'failed' AND retryable = 1 "
                    f"AND attempts < ? AND source_id IN ({marks})", [MAX_ATTEMPTS, *ids])
                self.conn.execute(f"UPDATE sources SET last_run_at = ? WHERE id IN ({marks})", [now_iso(), *ids])
        return int(cursor.lastrowid)  # type: ignore[arg-type]

    def finish_run(self, run_id: int, stats: dict[str, Any]) -> None:
        """Close a run with its figures."""
        with self.transaction():
            self.conn.execute("UPDATE runs SET finished_at = ?, stats = ? WHERE id = ?",
                              (now_iso(), json.dumps(stats, sort_keys=True), run_id))

    # -- queue

    def enqueue(self, urls: Iterable[NewUrl]) -> int:
        """Add URLs to the queue; known URLs are left as they are. Returns how many were new."""
        with self.transaction():
            return self._enqueue(urls)

    def _enqueue(self, urls: Iterable[NewUrl]) -> int:
        from urllib.parse import urlsplit

        added = 0
        stamp = now_iso()
        for item in urls:
            host = urlsplit(item.url).netloc.lower()
            cursor = self.conn.execute(
                "INSERT OR IGNORE INTO urls (url, host, source_id, kind, hub, depth, discovered_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (item.url, host, item.source_id, item.kind, int(item.hub), item.depth, stamp))
            added += cursor.rowcount
        return added

    def next_urls(self, source_ids: Iterable[int], limit: int = 200, *, exclude_ids: Iterable[int] = (),
                  exclude_hosts: Iterable[str] = (), exclude_sources: Iterable[int] = (),
                  ) -> list[QueuedUrl]:
        """Queued URLs of these sources, hubs and shallow pages first (breadth-first)."""
        ids = [i for i in source_ids if i not in set(exclude_sources)]
        if not ids:
            return []
        params: list[Any] = list(ids)
        sql = (f"SELECT * FROM urls WHERE state = 'queued' AND source_id IN ({','.join('?' * len(ids))})")
        skip_ids = list(exclude_ids)
        if skip_ids:
            sql += f" AND id NOT IN ({','.join('?' * len(skip_ids))})"
            params += skip_ids
        skip_hosts = list(exclude_hosts)
        if skip_hosts:
            sql += f" AND host NOT IN ({','.join('?' * len(skip_hosts))})"
            params += skip_hosts
        sql += " ORDER BY hub DESC, depth, id LIMIT ?"
        params.append(limit)
        return [_queued(row) for row in self.conn.execute(sql, params)]

    def url_row(self, url: str) -> sqlite3.Row | None:
        """The stored row of a canonical URL (for reports and tests)."""
        return self.conn.execute("SELECT * FROM urls WHERE url = ?", (url,)).fetchone()

    def count_queued(self, source_ids: Iterable[int]) -> int:
        """URLs of these sources still waiting (what a run left for the next one)."""
        ids = list(source_ids)
        if not ids:
            return 0
        return int(self.conn.execute(
            f"SELECT count(*) FROM urls WHERE state = 'queued' AND source_id IN ({','.join('?' * len(ids))})",
            ids).fetchone()[0])

    # -- recording a fetch

    def record(self, page: PageRecord, run_id: int | None = None) -> RecordResult:
        """Write the outcome of one fetch atomically: URL state, document, duplicate links, new URLs."""
        result = RecordResult()
        with self.transaction():
            row = self.conn.execute("SELECT * FROM urls WHERE id = ?", (page.url_id,)).fetchone()
            if row is None:
                raise StoreError(f"no URL {page.url_id} in the store")
            document_id = row["document_id"]
            if page.document is not None:
                result = self._store_document(page, row, run_id)
                document_id = result.document_id if result.document_id is not None else document_id
            stamp = now_iso()
            self.conn.execute(
                "UPDATE urls SET state = ?, reason = ?, retryable = ?, attempts = attempts + 1, "
                "http_status = coalesce(?, http_status), final_url = coalesce(?, final_url), "
                "content_type = coalesce(?, content_type), content_hash = coalesce(?, content_hash), "
                "etag = coalesce(?, etag), last_modified = coalesce(?, last_modified), "
                "hub = coalesce(?, hub), fetched_at = ?, document_id = ?, run_id = ? WHERE id = ?",
                (page.state, page.reason, int(page.retryable), page.http_status, page.final_url,
                 page.content_type, page.content_hash, page.etag, page.last_modified,
                 None if page.hub is None else int(page.hub), stamp, document_id, run_id, page.url_id))
            if page.final_url and page.final_url != row["url"] and page.state == "fetched":
                # the target of a redirect is fetched too: never fetch it again under its own name
                self.conn.execute(
                    "INSERT OR IGNORE INTO urls (url, host, source_id, kind, depth, state, discovered_at, "
                    "fetched_at, http_status, content_type, content_hash, document_id, run_id) "
                    "VALUES (?, ?, ?, ?, ?, 'fetched', ?, ?, ?, ?, ?, ?, ?)",
                    (page.final_url, _host(page.final_url), row["source_id"], row["kind"], row["depth"], stamp,
                     stamp, page.http_status, page.content_type, page.content_hash, document_id, run_id))
                self.conn.execute(
                    "UPDATE urls SET state = 'fetched', fetched_at = ?, document_id = coalesce(?, document_id), "
                    "reason = 'fetched as the target of a redirect', run_id = ? "
                    "WHERE url = ? AND state = 'queued' AND hub = 0", (stamp, document_id, run_id, page.final_url))
            if page.source_kind and row["source_id"] is not None:
                self.conn.execute("UPDATE sources SET kind = ? WHERE id = ?", (page.source_kind, row["source_id"]))
            result.new_urls = self._enqueue(page.links)
        return result

    def _store_document(self, page: PageRecord, row: sqlite3.Row, run_id: int | None) -> RecordResult:
        doc = page.document
        assert doc is not None
        content_hash = text_hash(doc.text)
        existing = self.conn.execute("SELECT id FROM documents WHERE content_hash = ?", (content_hash,)).fetchone()
        if existing is not None:
            return RecordResult(document_id=int(existing["id"]), status="duplicate", duplicate_of=int(existing["id"]))
        key = doc.url or doc.id or row["url"]
        known = self.conn.execute("SELECT id FROM documents WHERE key = ?", (key,)).fetchone()
        if known is not None:
            # a hub page (a home page fetched every run) whose text changed: the first version is kept
            return RecordResult(document_id=int(known["id"]), status="known")
        duplicate_of, similarity = None, None
        if page.signature is not None:
            duplicate_of, similarity = self._near_duplicate(page.signature)
        cursor = self.conn.execute(
            "INSERT INTO documents (key, source_id, url, title, author, date, text, content_hash, signature, "
            "duplicate_of, similarity, meta, created_at, run_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (key, row["source_id"], doc.url, doc.title, doc.author, doc.date, doc.text, content_hash,
             page.signature, duplicate_of, similarity, json.dumps(doc.meta, ensure_ascii=False, sort_keys=True),
             now_iso(), run_id))
        document_id = int(cursor.lastrowid)  # type: ignore[arg-type]
        if page.signature is not None and duplicate_of is None:
            # only first copies are indexed: a later copy is linked to the first one, never to another copy
            self.conn.executemany("INSERT OR IGNORE INTO minhash_bands (band, key, document_id) VALUES (?, ?, ?)",
                                  [(band, k, document_id) for band, k in _band_keys(page.signature)])
        return RecordResult(document_id=document_id, status="new", duplicate_of=duplicate_of,
                            similarity=similarity)

    def _near_duplicate(self, signature: bytes) -> tuple[int | None, float | None]:
        candidates: set[int] = set()
        for band, key in _band_keys(signature):
            candidates.update(r[0] for r in self.conn.execute(
                "SELECT document_id FROM minhash_bands WHERE band = ? AND key = ?", (band, key)))
        best: tuple[int | None, float | None] = (None, None)
        for candidate in sorted(candidates):
            other = self.conn.execute("SELECT signature FROM documents WHERE id = ?", (candidate,)).fetchone()
            if other is None or other[0] is None:
                continue
            similarity = signature_similarity(signature, other[0])
            if similarity >= NEAR_DUPLICATE_THRESHOLD and (best[1] is None or similarity > best[1]):
                best = (candidate, similarity)
        return best

    # -- documents

    def document(self, document_id: int) -> StoredDocument | None:
        """One stored document."""
        row = self.conn.execute("SELECT * FROM documents WHERE id = ?", (document_id,)).fetchone()
        return None if row is None else _document(row)

    def document_by_url(self, url: str) -> StoredDocument | None:
        """The document a canonical URL led to (directly, by redirect or as an exact duplicate)."""
        row = self.conn.execute(
            "SELECT d.* FROM documents d JOIN urls u ON u.document_id = d.id WHERE u.url = ?", (url,)).fetchone()
        if row is None:
            row = self.conn.execute("SELECT * FROM documents WHERE key = ?", (url,)).fetchone()
        return None if row is None else _document(row)

    def documents(self, *, include_duplicates: bool = True, ids: Iterable[int] | None = None,
                  ) -> Iterator[StoredDocument]:
        """Stored documents in the order they were found."""
        sql = "SELECT * FROM documents"
        clauses, params = [], []
        if not include_duplicates:
            clauses.append("duplicate_of IS NULL")
        if ids is not None:
            wanted = list(ids)
            if not wanted:
                return
            clauses.append(f"id IN ({','.join('?' * len(wanted))})")
            params += wanted
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        for row in self.conn.execute(sql + " ORDER BY id", params).fetchall():
            yield _document(row)

    def unannotated(self, *, include_duplicates: bool = False) -> list[StoredDocument]:
        """Documents with no stored annotation: what ``watch`` still has to annotate."""
        sql = ("SELECT d.* FROM documents d LEFT JOIN annotations a ON a.document_id = d.id "
               "WHERE a.document_id IS NULL")
        if not include_duplicates:
            sql += " AND d.duplicate_of IS NULL"
        return [_document(row) for row in self.conn.execute(sql + " ORDER BY d.id")]

    def count_documents(self) -> int:
        """Number of stored documents (near-duplicates included)."""
        return int(self.conn.execute("SELECT count(*) FROM documents").fetchone()[0])

    # -- annotations

    def save_annotation(self, document_id: int, data: dict[str, Any]) -> None:
        """Keep the annotate-format dict of a document (replacing an older one)."""
        model = data.get("model")
        model_name = (f"{model.get('name')}@{model.get('version')}" if isinstance(model, dict) else
                      (str(model) if model else None))
        with self.transaction():
            self.conn.execute(
                "INSERT OR REPLACE INTO annotations (document_id, data, model, created_at) VALUES (?, ?, ?, ?)",
                (document_id, json.dumps(data, ensure_ascii=False), model_name, now_iso()))

    def annotation(self, document_id: int) -> dict[str, Any] | None:
        """The stored annotation of a document, if any."""
        row = self.conn.execute("SELECT data FROM annotations WHERE document_id = ?", (document_id,)).fetchone()
        return None if row is None else json.loads(row[0])

    # -- export

    def export_record(self, document: StoredDocument) -> dict[str, Any]:
        """One line of ``balise export``: the annotation when there is one, else the document fields in the
        same layout (without ``labels``/``passages``), so the line can be fed back to ``balise annotate``."""
        annotation = self.annotation(document.id)
        base = {
            "id": document.key,
            "source": document.url,
            "url": document.url,
            "title": document.title,
            "date": document.date,
            "author": document.author,
            "lang": document.meta.get("language"),
            "text": document.text,
        }
        record: dict[str, Any] = dict(annotation) if annotation is not None else dict(base)
        for key, value in base.items():
            record.setdefault(key, value)
        old_meta = record.get("meta")
        meta: dict[str, Any] = dict(old_meta) if isinstance(old_meta, dict) else {}
        meta.update({k: v for k, v in {
            "sitename": document.meta.get("sitename"),
            "content_type": document.meta.get("content_type"),
            "fetched_at": document.created_at,
            "duplicate_of": self._key_of(document.duplicate_of),
            "similarity": document.similarity,
            "annotated": annotation is not None,
        }.items() if v is not None})
        record["meta"] = meta
        return record

    def _key_of(self, document_id: int | None) -> str | None:
        if document_id is None:
            return None
        row = self.conn.execute("SELECT key FROM documents WHERE id = ?", (document_id,)).fetchone()
        return None if row is None else str(row[0])

    def export_jsonl(self, out: str | Path | TextIO, *, include_duplicates: bool = True) -> int:
        """Write every stored document as JSON Lines (``-`` for stdout). Returns the number of lines."""
        if isinstance(out, (str, Path)) and str(out) != "-":
            path = Path(out)
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(path.name + ".part")
            with tmp.open("w", encoding="utf-8") as handle:
                count = self._write_jsonl(handle, include_duplicates)
            tmp.replace(path)  # a killed export never leaves a half-written file under the final name
            return count
        stream: TextIO = sys.stdout if isinstance(out, (str, Path)) else out
        return self._write_jsonl(stream, include_duplicates)

    def _write_jsonl(self, handle: TextIO, include_duplicates: bool) -> int:
        count = 0
        for document in self.documents(include_duplicates=include_duplicates):
            handle.write(json.dumps(self.export_record(document), ensure_ascii=False) + "\n")
            count += 1
        return count

    # -- figures

    def stats(self) -> dict[str, Any]:
        """Counts by URL state, documents, near-duplicates, annotations: for ``watch`` and tests."""
        states = {state: 0 for state in URL_STATES}
        for row in self.conn.execute("SELECT state, count(*) FROM urls GROUP BY state"):
            states[row[0]] = row[1]
        one = lambda sql: int(self.conn.execute(sql).fetchone()[0])
        return {
            "sources": one("SELECT count(*) FROM sources"),
            "urls": states,
            "documents": one("SELECT count(*) FROM documents"),
            "near_duplicates": one("SELECT count(*) FROM documents WHERE duplicate_of IS NOT NULL"),
            "annotated": one("SELECT count(*) FROM annotations"),
        }


MAX_ATTEMPTS = 3
"""A URL that failed for a passing reason is tried at most this many times over successive runs."""


class _Transaction:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.depth = 0

    def __enter__(self) -> sqlite3.Connection:
        if self.conn.in_transaction:
            self.depth = 1  # nested: the outer transaction commits
            return self.conn
        for attempt in range(50):
            try:
                self.conn.execute("BEGIN IMMEDIATE")
                break
            except sqlite3.OperationalError as exc:  # busy beyond the timeout: another writer holds the file
                if "locked" not in str(exc) or attempt == 49:
                    raise StoreError(f"database is busy ({exc})") from exc
                time.sleep(0.1)
        return self.conn

    def __exit__(self, exc_type: object, *exc: object) -> None:
        if self.depth:
            return
        if exc_type is None:
            self.conn.execute("COMMIT")
        else:
            self.conn.execute("ROLLBACK")


def _host(url: str) -> str:
    from urllib.parse import urlsplit

    return urlsplit(url).netloc.lower()


def _source(row: sqlite3.Row) -> Source:
    return Source(id=row["id"], seed=row["seed"], kind=row["kind"], options=json.loads(row["options"] or "{}"),
                  active=bool(row["active"]), added_at=row["added_at"], last_run_at=row["last_run_at"])


def _queued(row: sqlite3.Row) -> QueuedUrl:
    return QueuedUrl(id=row["id"], url=row["url"], host=row["host"], source_id=row["source_id"], kind=row["kind"],
                     hub=bool(row["hub"]), depth=row["depth"], attempts=row["attempts"], etag=row["etag"],
                     last_modified=row["last_modified"], document_id=row["document_id"])


def _document(row: sqlite3.Row) -> StoredDocument:
    return StoredDocument(id=row["id"], key=row["key"], source_id=row["source_id"], url=row["url"],
                          title=row["title"], author=row["author"], date=row["date"], text=row["text"],
                          content_hash=row["content_hash"], duplicate_of=row["duplicate_of"],
                          similarity=row["similarity"], meta=json.loads(row["meta"] or "{}"),
                          created_at=row["created_at"])


# ------------------------------------------------------------------------------------------------ watch lock


class FileLock:
    """An exclusive, non-blocking lock on ``<db>.lock`` so that two ``balise watch`` runs under cron never
    overlap. The OS releases it when the process dies, so a killed run never leaves a stale lock."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._handle: Any = None

    def acquire(self) -> None:
        """Take the lock or raise :class:`WatchLockedError` at once."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, "a+")  # noqa: SIM115 - kept open while locked
        try:
            if os.name == "nt":  # pragma: no cover - Windows
                import msvcrt

                handle.seek(0)
                msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)  # type: ignore[attr-defined]
            else:
                import fcntl

                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            handle.close()
            raise WatchLockedError(f"another balise watch is running on this store ({self.path} is locked)") from exc
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        self._handle = handle

    def release(self) -> None:
        """Let the next run in."""
        if self._handle is None:
            return
        if os.name == "nt":  # pragma: no cover - Windows
            import msvcrt

            self._handle.seek(0)
            msvcrt.locking(self._handle.fileno(), msvcrt.LK_UNLCK, 1)  # type: ignore[attr-defined]
        else:
            import fcntl

            fcntl.flock(self._handle.fileno(), fcntl.LOCK_UN)
        self._handle.close()
        self._handle = None

    def __enter__(self) -> FileLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
