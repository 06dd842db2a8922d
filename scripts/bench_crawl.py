#!/usr/bin/env python
"""Crawl throughput on a local site, politeness off, and extraction cost per page against trafilatura alone.

Serves N generated French article pages on 127.0.0.1, then in the same run measures:

* fetch only — balise's bounded fetcher, N pages, no extraction;
* full crawl — ``balise.crawl.crawl`` into a fresh SQLite store (fetch, extract, MinHash, one transaction a page);
* extraction alone on the same HTML — ``balise.extract.extract_html`` vs ``trafilatura.bare_extraction`` (what it
  wraps) vs ``trafilatura.extract`` (plain text output).

Usage: python scripts/bench_crawl.py [--pages 300] [--concurrency 8]
"""
from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

WORDS = ["association", "coopérative", "habitants", "quartier", "commune", "territoire", "projet", "solidarité", "économie", "sociale", "emploi", "insertion", "jeunes", "aînés", "mobilité", "alimentation", "circuit", "court", "jardin", "partagé", "tiers-lieu", "atelier", "réparation", "énergie", "citoyenne", "logement", "accompagnement", "bénévoles", "gouvernance", "partagée", "décision", "collective", "mairie", "financement", "participatif", "réseau", "partenaires", "usagers", "services", "publics", "innovation", "expérimentation", "impact", "utilité", "médiation", "numérique", "inclusion", "formation", "santé", "prévention", "culture", "transition", "écologique"]


def page(number: int, total: int) -> bytes:
    rng = random.Random(number)
    paragraphs = "\n".join(
        "<p>" + " ".join(" ".join(rng.choice(WORDS) for _ in range(rng.randint(12, 22))).capitalize() + "."
                         for _ in range(4)) + "</p>" for _ in range(8))
    links = "".join(f'<li><a href="/p/{(number * 7 + k) % total}.html">Lire aussi {k}</a></li>' for k in range(5))
    return f"""<!DOCTYPE html><html lang="fr"><head><meta charset="utf-8"><title>Article {number}</title>
<meta name="date" content="2024-05-{1 + number % 28:02d}"></head><body>
<nav><ul><li><a href="/">Accueil</a></li><li><a href="/contact.html">Contact</a></li></ul></nav>
<main><article><h1>Article {number}</h1>{paragraphs}</article><aside><ul>{links}</ul></aside></main>
<footer>© Observatoire — mentions légales</footer></body></html>""".encode()


class Site:
    def __init__(self, total: int) -> None:
        self.pages = {f"/p/{i}.html": page(i, total) for i in range(total)}
        index = "".join(f'<li><a href="/p/{i}.html">Article {i}</a></li>' for i in range(total))
        self.pages["/"] = f"<!DOCTYPE html><html><body><ul>{index}</ul></body></html>".encode()
        pages = self.pages

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                body = pages.get(self.path)
                self.send_response(200 if body else 404)
                body = body or b"not found"
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=300, help="article pages on the local site")
    parser.add_argument("--concurrency", type=int, default=8, help="requests in flight")
    args = parser.parse_args()

    import trafilatura
    from balise.crawl import Fetcher, FetchSettings, SourceOptions, crawl
    from balise.extract import extract_html

    site = Site(args.pages)
    settings = FetchSettings(delay=0.0, respect_robots=False, allow_private=True)
    urls = [f"{site.base}/p/{i}.html" for i in range(args.pages)]

    # warm up imports and lazy initialisations (trafilatura, pypdf, datasketch) outside the timings
    extract_html(site.pages["/p/0.html"], url=urls[0])

    with Fetcher(settings) as fetcher, ThreadPoolExecutor(args.concurrency) as pool:
        start = time.perf_counter()
        results = list(pool.map(lambda u: fetcher.fetch(u, accept={"html"}), urls))
        fetch_seconds = time.perf_counter() - start
    assert all(r.ok for r in results), [r.error for r in results if not r.ok][:3]

    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        report = crawl([site.base + "/"], Path(tmp) / "bench.db", settings=settings,
                       options=SourceOptions(max_pages=args.pages + 10, max_depth=1, discover=False),
                       concurrency=args.concurrency, host_concurrency=args.concurrency)
        crawl_seconds = time.perf_counter() - start
    stored = len(report.new_documents)

    htmls = [r.data for r in results]
    timings: dict[str, list[float]] = {"balise extract_html": [], "trafilatura.bare_extraction": [],
                                       "trafilatura.extract": []}
    runs = {
        "balise extract_html": lambda html, text, url: extract_html(html, url=url),
        "trafilatura.bare_extraction": lambda html, text, url: trafilatura.bare_extraction(
            text, url=url, with_metadata=True, include_comments=False, include_tables=False),
        "trafilatura.extract": lambda html, text, url: trafilatura.extract(text, url=url),
    }
    for url, html in zip(urls, htmls):
        text = html.decode("utf-8")
        for name, run in runs.items():
            start = time.perf_counter()
            run(html, text, url)
            timings[name].append(time.perf_counter() - start)

    print(f"local site: {args.pages} pages, concurrency {args.concurrency}, politeness off (no delay, no robots)")
    print(f"{'stage':34} {'pages':>6} {'seconds':>8} {'pages/s':>8}")
    print(f"{'fetch only (balise Fetcher)':34} {len(results):>6} {fetch_seconds:>8.2f} {len(results) / fetch_seconds:>8.1f}")
    print(f"{'crawl: fetch+extract+store':34} {stored:>6} {crawl_seconds:>8.2f} {stored / crawl_seconds:>8.1f}")
    print()
    print(f"{'extraction, same HTML':34} {'ms/page (median)':>17} {'ms/page (mean)':>15}")
    base = statistics.median(timings["trafilatura.bare_extraction"])
    for name, values in timings.items():
        median, mean = statistics.median(values) * 1000, statistics.fmean(values) * 1000
        print(f"{name:34} {median:>17.2f} {mean:>15.2f}   ×{statistics.median(values) / base:.2f}")
    site.server.shutdown()


if __name__ == "__main__":
    main()
