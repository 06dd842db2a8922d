"""The crawler against a site served on 127.0.0.1: every trap of the test site has its assertion."""
from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections import Counter
from pathlib import Path

import pytest
from balise import crawl as crawl_module
from balise.crawl import (
    USER_AGENT,
    FetchSettings,
    SourceOptions,
    address_refusal,
    canonical_url,
    crawl,
    detect_kind,
    fetch_url,
    parse_feed,
    parse_sitemap,
    read_seeds,
)
from balise.store import Store

sys.path.insert(0, str(Path(__file__).parent))
from crawlsite import CrawlSite, french_text


def fast(**overrides: object) -> FetchSettings:
    """Short timeouts and tiny delays so that the whole file runs in seconds; loopback allowed."""
    values: dict[str, object] = dict(delay=0.0, connect_timeout=1.0, read_timeout=0.5, retries=2, backoff=0.05,
                                     max_backoff=2.0, max_bytes=1_000_000, allow_private=True, max_time=10.0)
    values.update(overrides)
    return FetchSettings(**values)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def site():
    with CrawlSite(slow_seconds=1.5) as running:
        yield running


@pytest.fixture(scope="module")
def crawled(site, tmp_path_factory):
    """One focused crawl of the home page with discovery: the state every case below is read from."""
    db = tmp_path_factory.mktemp("crawl") / "balise.db"
    start = site.mark()
    report = crawl([site.url("/")], db, options=SourceOptions(max_depth=2, exclude=[r"/exclu/"]), settings=fast())
    store = Store(db)
    yield site, store, report, start
    store.close()


def state(store: Store, url: str) -> sqlite3.Row:
    row = store.url_row(url)
    assert row is not None, f"{url} not in the store"
    return row


# ------------------------------------------------------------------------------------------- the focused crawl


def test_crawl_report_counts_every_outcome(crawled):
    _site, store, report, _ = crawled
    assert report.sources == 1
    assert len(report.new_documents) == store.count_documents() == 15
    assert report.near_duplicates == 1 and report.duplicates == 1
    assert report.disallowed == 1
    assert report.failures == 6
    assert report.queued_left == 0
    assert "15 new document(s)" in report.summary()


def test_good_page_is_extracted_with_metadata(crawled):
    site, store, _, _ = crawled
    doc = store.document_by_url(site.url("/articles/bonne-pratique.html"))
    assert doc is not None and doc.title == "Une bonne pratique" and doc.date == "2024-03-14"
    assert site.good_text[0][:60] in doc.text
    assert "mentions légales" not in doc.text  # boilerplate left out
    row = state(store, site.url("/articles/bonne-pratique.html"))
    assert row["state"] == "fetched" and row["http_status"] == 200 and len(row["content_hash"]) == 64
    assert row["fetched_at"] and row["content_type"] == "text/html"


def test_tracking_parameters_are_canonicalised_away(crawled):
    site, store, _, start = crawled
    assert store.conn.execute("SELECT count(*) FROM urls WHERE url LIKE '%utm_%'").fetchone()[0] == 0
    hits = [h for h in site.hits[start:] if h.path.startswith("/articles/bonne-pratique.html")]
    assert len(hits) == 1


def test_robots_disallowed_path_is_never_fetched(crawled):
    site, store, _, _ = crawled
    row = state(store, site.url("/prive/secret.html"))
    assert row["state"] == "disallowed" and row["reason"] == "disallowed by robots.txt"
    assert not site.requests_for("/prive/secret.html")


def test_robots_crawl_delay_is_honoured_and_user_agent_sent(crawled):
    site, _store, _, start = crawled
    hits = [h for h in site.hits[start:] if h.host.startswith("127.0.0.1")]
    assert hits[0].path == "/robots.txt"
    # Crawl-delay: 0.1 although --delay is 0 (the site shares this process: its clock may lag a few ms)
    gaps = [b.time - a.time for a, b in zip(hits[1:], hits[2:])]
    assert min(gaps) >= 0.05, gaps
    assert hits[-1].time - hits[1].time >= 0.1 * (len(hits) - 2) * 0.97
    assert all(h.headers.get("user-agent") == USER_AGENT for h in hits)
    assert USER_AGENT.startswith("balise/") and "(+https://github.com/balise-project/balise)" in USER_AGENT


def test_empty_and_boilerplate_pages_give_no_document(crawled):
    site, store, _, _ = crawled
    for path in ("/vide.html", "/habillage.html"):
        row = state(store, site.url(path))
        assert row["state"] == "fetched" and row["document_id"] is None
        assert row["reason"] == "no main text (empty or boilerplate only)"


def test_home_page_is_followed_not_kept(crawled):
    site, store, _, _ = crawled
    row = state(store, site.url("/"))
    assert row["kind"] == "seed" and row["hub"] == 1 and row["document_id"] is None
    assert store.sources()[0].kind == "page"


def test_latin1_declared_page_is_decoded(crawled):
    site, store, _, _ = crawled
    doc = store.document_by_url(site.url("/latin1.html"))
    assert doc is not None and doc.title == "Économie sociale à Besançon"
    assert "L'économie sociale et solidaire à Besançon" in doc.text and "Ã" not in doc.text


def test_broken_markup_is_still_extracted(crawled):
    site, store, _, _ = crawled
    doc = store.document_by_url(site.url("/casse.html"))
    assert doc is not None and doc.title == "Balisage cassé"
    assert all(paragraph[:60] in doc.text for paragraph in french_text(4))  # unclosed tags lose no text


def test_pdf_report_is_fetched_and_extracted(crawled):
    site, store, _, _ = crawled
    row = state(store, site.url("/rapports/rapport-annuel.pdf"))
    assert row["kind"] == "pdf" and row["state"] == "fetched" and row["content_type"] == "application/pdf"
    doc = store.document(row["document_id"])
    assert doc is not None and doc.title == "Rapport annuel 2023" and doc.date == "2023-11-05"
    assert len(doc.text) > 500 and doc.meta["content_type"] == "application/pdf"


def test_redirect_chain_is_followed_and_target_recorded(crawled):
    site, store, _, _ = crawled
    row = state(store, site.url("/redirection/1"))
    assert row["state"] == "fetched" and row["final_url"] == site.url("/articles/arrivee.html")
    target = state(store, site.url("/articles/arrivee.html"))
    assert target["state"] == "fetched" and target["document_id"] == row["document_id"]
    assert store.document(row["document_id"]).key == site.url("/articles/arrivee.html")
    assert len(site.requests_for("/articles/arrivee.html")) == 1


def test_redirect_loop_fails_with_reason(crawled):
    site, store, _, _ = crawled
    row = state(store, site.url("/boucle/a"))
    assert row["state"] == "failed" and row["reason"].startswith("redirect loop")
    assert len(site.requests_for("/boucle/a")) == 1


def test_not_found_fails_for_good(crawled):
    site, store, _, _ = crawled
    row = state(store, site.url("/absent.html"))
    assert (row["state"], row["reason"], row["http_status"], row["retryable"]) == ("failed", "HTTP 404", 404, 0)


def test_server_error_succeeds_on_retry(crawled):
    site, store, _, _ = crawled
    assert len(site.requests_for("/instable.html")) == 2
    row = state(store, site.url("/instable.html"))
    assert row["state"] == "fetched" and row["document_id"] is not None


def test_slow_response_times_out(crawled):
    site, store, _, _ = crawled
    row = state(store, site.url("/lent.html"))
    assert row["state"] == "failed" and row["reason"] == "read timeout (0.5 s)" and row["retryable"] == 1
    assert len(site.requests_for("/lent.html")) == 1  # a slow server is not hammered again at once


def test_oversized_responses_are_abandoned(crawled):
    site, store, _, _ = crawled
    streamed = state(store, site.url("/enorme.html"))
    assert streamed["state"] == "failed" and streamed["reason"] == "too large (more than 1 000 000 bytes)"
    declared = state(store, site.url("/enorme-declare.html"))
    assert declared["reason"] == "too large (2 000 000 bytes declared, limit 1 000 000 bytes)"


def test_unexpected_content_type_is_refused(crawled):
    site, store, _, _ = crawled
    row = state(store, site.url("/donnees"))
    assert row["state"] == "failed" and row["reason"] == "unsupported content type image/png"


def test_other_host_is_not_crawled(crawled):
    site, store, _, start = crawled
    assert store.url_row(site.other + "/ailleurs.html") is None
    assert not [h for h in site.hits[start:] if h.host.startswith("localhost")]


def test_nofollow_and_exclude_and_depth_limits(crawled):
    site, store, _, _ = crawled
    assert store.url_row(site.url("/articles/suivi.html")) is None  # rel=nofollow
    assert store.url_row(site.url("/exclu/page.html")) is None  # --exclude
    assert state(store, site.url("/articles/niveau-2.html"))["depth"] == 2
    assert store.url_row(site.url("/articles/niveau-3.html")) is None  # --max-depth 2
    assert not site.requests_for("/articles/niveau-3.html")


def test_exact_duplicate_is_stored_once(crawled):
    site, store, _, _ = crawled
    copy = state(store, site.url("/articles/copie.html"))
    original = state(store, site.url("/articles/bonne-pratique.html"))
    assert copy["state"] == "fetched" and copy["document_id"] == original["document_id"]
    count = store.conn.execute("SELECT count(*) FROM documents WHERE title = 'Une bonne pratique'").fetchone()[0]
    assert count == 1


def test_near_duplicate_is_linked_to_first_copy(crawled):
    site, store, _, _ = crawled
    original = store.document_by_url(site.url("/articles/bonne-pratique.html"))
    copy = store.document_by_url(site.url("/articles/reprise.html"))
    assert copy is not None and original is not None
    assert copy.duplicate_of == original.id and copy.similarity is not None and copy.similarity >= 0.7
    others = store.conn.execute("SELECT count(*) FROM documents WHERE duplicate_of IS NOT NULL").fetchone()[0]
    assert others == 1  # distinct articles are never linked


def test_feeds_and_sitemaps_are_discovered_from_the_home_page(crawled):
    site, store, _, _ = crawled
    for path, kind in (("/rss.xml", "feed"), ("/atom.xml", "feed"), ("/sitemap_index.xml", "sitemap"),
                       ("/sitemaps/pages.xml", "sitemap"), ("/sitemaps/news.xml", "sitemap")):
        row = state(store, site.url(path))
        assert row["kind"] == kind and row["hub"] == 1 and row["state"] == "fetched"
    for path in ("/articles/rss-1.html", "/articles/rss-2.html", "/articles/atom-1.html",
                 "/articles/plan-1.html", "/articles/plan-2.html", "/articles/plan-news.html"):
        assert store.document_by_url(site.url(path)) is not None, path


def test_second_run_fetches_only_hubs(crawled):
    site, store, _, _ = crawled
    start = site.mark()
    report = crawl([site.url("/")], store.path, options=SourceOptions(max_depth=2, exclude=[r"/exclu/"]),
                   settings=fast())
    paths = set(site.paths(start))
    retried = {"/lent.html"}  # a passing failure (timeout) gets another chance
    assert paths - retried <= {"/robots.txt", "/", "/rss.xml", "/atom.xml", "/sitemap_index.xml",
                               "/sitemaps/pages.xml", "/sitemaps/news.xml"}
    assert report.new_documents == [] and report.not_modified >= 1  # the RSS feed answers 304 to its ETag


# ------------------------------------------------------------------------------------------- seeds of each kind


def test_feed_seed_fetches_only_new_items(site, tmp_path):
    db = tmp_path / "feed.db"
    first = crawl([site.url("/rss.xml")], db, settings=fast())
    assert len(first.new_documents) == 2
    with Store(db) as store:
        assert store.sources()[0].kind == "feed"
    start = site.mark()
    second = crawl([site.url("/rss.xml")], db, settings=fast())
    assert second.new_documents == [] and set(site.paths(start)) <= {"/robots.txt", "/rss.xml"}
    assert second.not_modified == 1
    site.rss_items.append("/articles/rss-3.html")
    try:
        start = site.mark()
        third = crawl([site.url("/rss.xml")], db, settings=fast())
        assert len(third.new_documents) == 1
        assert sorted(set(site.paths(start)) - {"/robots.txt"}) == ["/articles/rss-3.html", "/rss.xml"]
    finally:
        site.rss_items.remove("/articles/rss-3.html")


def test_atom_seed_is_detected(site, tmp_path):
    report = crawl([site.url("/atom.xml")], tmp_path / "atom.db", settings=fast())
    with Store(tmp_path / "atom.db") as store:
        assert store.sources()[0].kind == "feed"
        assert store.document_by_url(site.url("/articles/atom-1.html")) is not None
    assert len(report.new_documents) == 1


def test_sitemap_index_seed_gives_its_pages_without_following_links(site, tmp_path):
    start = site.mark()
    report = crawl([site.url("/sitemap_index.xml")], tmp_path / "sm.db", settings=fast())
    assert len(report.new_documents) == 3
    with Store(tmp_path / "sm.db") as store:
        assert store.sources()[0].kind == "sitemap"
    assert "/articles/niveau-1.html" not in site.paths(start)  # sitemap pages link to it: not followed


def test_max_pages_leaves_the_rest_for_the_next_run(site, tmp_path):
    db = tmp_path / "budget.db"
    options = SourceOptions(max_pages=15, max_depth=1, discover=False)
    first = crawl([site.url("/serie/")], db, options=options, settings=fast())
    assert len(first.new_documents) == 15 and first.queued_left == site.serie_size - 15
    second = crawl([site.url("/serie/")], db, options=options, settings=fast())
    assert len(second.new_documents) == 15
    with Store(db) as store:
        assert store.count_documents() == 30


def test_include_pattern_limits_the_crawl(site, tmp_path):
    options = SourceOptions(max_depth=1, include=[r"/serie/p0[0-4]\.html$"], discover=False)
    report = crawl([site.url("/serie/")], tmp_path / "inc.db", options=options, settings=fast())
    assert len(report.new_documents) == 5


def test_seed_file_and_rejected_seeds(site, tmp_path):
    seeds = tmp_path / "seeds.txt"
    seeds.write_text(f"# sources\n{site.url('/atom.xml')}\n\nftp://example.org/\n", encoding="utf-8")
    parsed = list(read_seeds([f"@{seeds}", "@/nonexistent/seeds.txt", "example.org/blog"]))
    assert parsed[0] == (site.url("/atom.xml"), None)
    assert parsed[1][1] == "unsupported scheme 'ftp' (http and https only)"
    assert parsed[2][1].startswith("cannot read seed file")
    assert parsed[3] == ("https://example.org/blog", None)
    report = crawl([f"@{seeds}"], tmp_path / "seeds.db", settings=fast())
    assert report.sources == 1 and len(report.rejected_seeds) == 1 and len(report.new_documents) == 1


# ------------------------------------------------------------------------------------------- fetcher limits


def test_private_addresses_are_refused_without_allow_private(site, tmp_path):
    result = fetch_url(site.url("/"), settings=fast(allow_private=False))
    assert not result.ok and result.error.startswith("refused: 127.0.0.1 is a loopback address")
    assert not result.retryable
    local = fetch_url(site.other + "/ailleurs.html", settings=fast(allow_private=False))
    assert local.error.startswith("refused: localhost: ")
    report = crawl([site.url("/")], tmp_path / "refused.db", settings=fast(allow_private=False))
    assert report.failures == 1 and next(iter(report.failed)).startswith("refused: 127.0.0.1")


def test_every_redirect_hop_is_checked(site, monkeypatch):
    original = crawl_module.address_refusal
    monkeypatch.setattr(crawl_module, "address_refusal",
                        lambda ip: None if ip == "127.0.0.1" else original(ip))
    start = site.mark()
    result = fetch_url(site.url("/vers-prive"), settings=fast(allow_private=False))
    assert result.error == ("refused: 127.0.0.2 is a loopback address (allow_private / --allow-private to crawl "
                            "it) (redirect hop 1)")
    assert site.paths(start) == ["/robots.txt", "/vers-prive"]


def test_address_classes():
    assert address_refusal("10.1.2.3") == "10.1.2.3 is a private address"
    assert address_refusal("169.254.169.254") == "169.254.169.254 is a link-local address"
    assert address_refusal("::1") == "::1 is a loopback address"
    assert address_refusal("224.0.0.1") == "224.0.0.1 is a multicast address"
    assert address_refusal("::ffff:192.168.1.1") == "::ffff:192.168.1.1 is a private address"
    assert address_refusal("240.0.0.1") is not None and address_refusal("0.0.0.0") is not None
    assert address_refusal("8.8.8.8") is None and address_refusal("2001:4860:4860::8888") is None


def test_retry_after_is_honoured_and_bounded(site):
    start = time.monotonic()
    result = fetch_url(site.url("/quota.html"), settings=fast())
    assert result.ok and result.status == 200 and time.monotonic() - start >= 0.95
    assert len(site.requests_for("/quota.html")) == 2
    long = fetch_url(site.url("/quota-long.html"), settings=fast())
    assert long.error == "HTTP 503 (Retry-After 3600 s is above the 2 s limit)" and long.retryable
    assert len(site.requests_for("/quota-long.html")) == 1


def test_too_many_redirects_and_unsupported_scheme(site):
    result = fetch_url(site.url("/redirection/1"), settings=fast(max_redirects=1))
    assert result.error == "too many redirects (more than 1)"
    assert fetch_url("ftp://example.org/x", settings=fast()).error == "unsupported scheme 'ftp'"


def test_content_kind_must_match_what_was_expected(site):
    result = fetch_url(site.url("/rss.xml"), settings=fast(), accept={"html", "pdf"})
    assert result.error == "unexpected content (feed; expected html or pdf)"


def test_robots_can_be_ignored_when_politeness_is_off(site):
    result = fetch_url(site.url("/prive/secret.html"), settings=fast(respect_robots=False))
    assert result.ok and result.kind == "html"


# ------------------------------------------------------------------------------------------- helpers


def test_canonical_url():
    assert canonical_url("HTTP://Example.ORG:80/a/../b/c.html?utm_source=x&b=2&a=1&fbclid=z#part") == \
        "http://example.org/b/c.html?a=1&b=2"
    assert canonical_url("https://example.org:443") == "https://example.org/"
    assert canonical_url("https://user:pw@example.org:8443/été") == "https://example.org:8443/%C3%A9t%C3%A9"
    assert canonical_url("../p.html", base="https://example.org/a/b/") == "https://example.org/a/p.html"
    assert canonical_url("https://bücher.example/") == "https://xn--bcher-kva.example/"
    assert canonical_url("mailto:x@example.org") is None and canonical_url("javascript:void(0)") is None


def test_detect_kind():
    assert detect_kind(b"%PDF-1.7 ...", "application/octet-stream") == "pdf"
    assert detect_kind(b'<?xml version="1.0"?><rss version="2.0">', "text/xml") == "feed"
    assert detect_kind(b'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom">', "") == "feed"
    assert detect_kind(b'<?xml version="1.0"?><sitemapindex xmlns="x">', "application/xml") == "sitemap"
    assert detect_kind(b"https://e.org/a\nhttps://e.org/b\n", "text/plain") == "sitemap"
    assert detect_kind(b"<!DOCTYPE html><html>", "text/html") == "html"
    assert detect_kind(b"<p>hello", "") == "html"


def test_feed_and_sitemap_parsers():
    rss = ('<?xml version="1.0"?><rss><channel><link>https://e.org/</link>'
           '<item><link>https://e.org/a.html?utm_campaign=x</link></item>'
           '<item><link>https://autre.org/b.html</link></item></channel></rss>')
    assert parse_feed(rss, "https://e.org/feed.xml") == ["https://e.org/a.html", "https://autre.org/b.html"]
    assert parse_feed(rss, "https://e.org/feed.xml", same_host=True) == ["https://e.org/a.html"]
    index = ('<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
             '<sitemap><loc>https://e.org/s1</loc></sitemap><sitemap><loc>https://x.org/s.xml</loc></sitemap>'
             '</sitemapindex>')
    assert parse_sitemap(index, "https://e.org/sitemap.xml") == ([], ["https://e.org/s1"])
    urlset = ('<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
              '<url><loc>https://e.org/p1</loc></url><url><loc>https://www.e.org/r.pdf</loc></url></urlset>')
    assert parse_sitemap(urlset, "https://e.org/sitemap.xml") == (["https://e.org/p1", "https://www.e.org/r.pdf"], [])


# ------------------------------------------------------------------------------------------- kill and resume

_CHILD = textwrap.dedent("""
    import sys
    from balise.crawl import FetchSettings, SourceOptions, crawl
    settings = FetchSettings(delay=0.05, connect_timeout=1, read_timeout=2, retries=0, allow_private=True)
    crawl([sys.argv[1]], sys.argv[2], options=SourceOptions(max_depth=1, discover=False), settings=settings,
          concurrency=2)
""")


def test_killed_crawl_resumes_without_duplicate_or_loss(site, tmp_path):
    db = tmp_path / "killed.db"
    seed = site.url("/serie/")
    start = site.mark()
    child = subprocess.Popen([sys.executable, "-c", _CHILD, seed, str(db)], env={**os.environ})
    try:
        deadline = time.monotonic() + 20
        stored = 0
        while time.monotonic() < deadline:
            time.sleep(0.05)
            if db.exists():
                try:
                    with sqlite3.connect(db, timeout=1) as conn:
                        stored = conn.execute("SELECT count(*) FROM documents").fetchone()[0]
                except sqlite3.OperationalError:
                    continue
                if stored >= 5:
                    break
        os.kill(child.pid, signal.SIGKILL)
        child.wait(5)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == -signal.SIGKILL
    with Store(db) as store:
        before = store.count_documents()
        assert 5 <= before < site.serie_size  # killed mid-run
        assert store.count_queued([1]) > 0
    report = crawl([seed], db, options=SourceOptions(max_depth=1, discover=False), settings=fast())
    with Store(db) as store:
        keys = [r[0] for r in store.conn.execute("SELECT key FROM documents")]
        assert len(keys) == len(set(keys)) == site.serie_size
        assert sorted(keys) == [site.url(f"/serie/p{i:02d}.html") for i in range(site.serie_size)]
        assert store.count_queued([1]) == 0
        assert store.stats()["urls"]["failed"] == 0
    assert len(report.new_documents) == site.serie_size - before
    fetched = Counter(site.paths(start))
    for i in range(site.serie_size):
        assert 1 <= fetched[f"/serie/p{i:02d}.html"] <= 2  # only a page in flight at the kill is fetched again
