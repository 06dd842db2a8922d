"""A small web site served on 127.0.0.1 for the crawler tests (and the crawl benchmark).

Every trap a crawler meets in the wild has a page here: robots.txt with a disallowed path and a Crawl-delay,
RSS and Atom feeds, a sitemap index, good/empty/boilerplate-only/latin-1/broken pages, a PDF report, redirect
chains and loops, 404, a 500 that succeeds on retry, a 429 with Retry-After, a response slower than the timeout,
oversized responses, an image where a page was expected, and a link to another host (``localhost``: the same
server under another name, so the tests can prove it was never contacted).
"""
from __future__ import annotations

import hashlib
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

_WORDS = ["association", "coopérative", "habitants", "quartier", "commune", "territoire", "projet", "solidarité", "économie", "sociale", "emploi", "insertion", "jeunes", "aînés", "mobilité", "alimentation", "circuit", "court", "jardin", "partagé", "tiers-lieu", "atelier", "réparation", "énergie", "citoyenne", "logement", "accompagnement", "bénévoles", "salariés", "gouvernance", "partagée", "décision", "collective", "financement", "participatif", "mairie", "département", "région", "fondation", "mécénat", "réseau", "partenaires", "usagers", "services", "publics", "innovation", "expérimentation", "évaluation", "impact", "social", "utilité", "sociale", "médiation", "numérique", "inclusion", "formation", "compétences", "santé", "prévention", "culture", "éducation", "populaire", "transition", "écologique", "recyclage", "réemploi", "ressourcerie", "épicerie", "solidaire", "cantine", "scolaire", "agriculteurs", "producteurs", "locaux", "marché", "transport", "solidaire", "covoiturage", "rural", "village", "hameau", "centre", "social", "maison", "France", "services", "conseil", "citoyen", "budget", "participatif", "assemblée", "coopérative", "entreprise", "adaptée", "chantier", "école", "monnaie", "locale", "banque", "alimentaire", "aide", "domicile", "habitat", "inclusif", "colocation", "intergénérationnelle"]


def french_text(seed: int, paragraphs: int = 5, sentences: int = 4) -> list[str]:
    """Deterministic French-looking paragraphs, different for every seed (no shared 5-word shingles)."""
    rng = random.Random(seed)
    result = []
    for _ in range(paragraphs):
        phrases = []
        for _ in range(sentences):
            words = [rng.choice(_WORDS) for _ in range(rng.randint(12, 20))]
            phrases.append(" ".join(words).capitalize() + ".")
        result.append(" ".join(phrases))
    return result


def article_page(title: str, paragraphs: list[str], *, links: list[str] = (), date: str = "2024-03-14",
                 head: str = "", charset: str = "utf-8") -> str:
    """A realistic article page: navigation, an <article> with the text, a footer."""
    body = "\n".join(f"<p>{p}</p>" for p in paragraphs)
    extra = "\n".join(f'<li><a href="{href}">{href}</a></li>' for href in links)
    return f"""<!DOCTYPE html>
<html lang="fr"><head><meta charset="{charset}"><title>{title}</title>
<meta name="date" content="{date}">{head}</head>
<body>
<nav><ul><li><a href="/">Accueil</a></li><li><a href="/contact.html">Contact</a></li></ul></nav>
<main><article><h1>{title}</h1>
<p class="date">Publié le {date}</p>
{body}
</article>
<aside><ul>{extra}</ul></aside></main>
<footer><p>© Observatoire test — mentions légales</p></footer>
</body></html>"""


def make_pdf(paragraphs: list[str], title: str = "Rapport annuel") -> bytes:
    """A real PDF report with a text layer and a title in its metadata (fpdf2)."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_title(title)
    pdf.set_creation_date(__import__("datetime").datetime(2023, 11, 5, tzinfo=__import__("datetime").timezone.utc))
    pdf.add_page()
    pdf.set_font("Helvetica", size=11)
    for paragraph in paragraphs:
        pdf.multi_cell(0, 6, paragraph)
        pdf.ln(4)
    return bytes(pdf.output())


@dataclass
class Hit:
    """One request the site received."""

    host: str
    path: str
    time: float
    headers: dict[str, str]


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "text/html; charset=utf-8"


Route = Callable[["CrawlSite", dict[str, str]], Response]


class CrawlSite:
    """The test site. ``base`` is ``http://127.0.0.1:PORT``; ``other`` is the same server as ``localhost``."""

    def __init__(self, slow_seconds: float = 2.0, crawl_delay: str = "0.1", big_bytes: int = 2_000_000) -> None:
        self.hits: list[Hit] = []
        self.lock = threading.Lock()
        self.slow_seconds = slow_seconds
        self.crawl_delay = crawl_delay
        self.big_bytes = big_bytes
        self.counters: dict[str, int] = {}
        self.rss_items = ["/articles/rss-1.html", "/articles/rss-2.html"]
        self.serie_size = 40
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"

            def do_GET(self) -> None:
                site._handle(self)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.base = f"http://127.0.0.1:{self.port}"
        self.other = f"http://localhost:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.good_text = french_text(1)
        self.pdf = make_pdf(french_text(50, paragraphs=3), title="Rapport annuel 2023")

    # -- lifecycle

    def start(self) -> CrawlSite:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> CrawlSite:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- what the tests look at

    def url(self, path: str) -> str:
        return self.base + path

    def requests_for(self, path: str, host: str | None = None) -> list[Hit]:
        with self.lock:
            return [h for h in self.hits if h.path == path and (host is None or h.host.startswith(host))]

    def paths(self, since: int = 0) -> list[str]:
        with self.lock:
            return [h.path for h in self.hits[since:]]

    def mark(self) -> int:
        with self.lock:
            return len(self.hits)

    # -- serving

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        path = handler.path
        headers = {k.lower(): v for k, v in handler.headers.items()}
        with self.lock:
            self.hits.append(Hit(headers.get("host", ""), path, time.monotonic(), headers))
            self.counters[path] = self.counters.get(path, 0) + 1
            count = self.counters[path]
        if headers.get("host", "").startswith("localhost"):
            return self._send(handler, Response(200, article_page("Ailleurs", french_text(99)).encode()))
        try:
            response = self._route(path, headers, count)
        except _Stream as stream:
            return self._stream(handler, stream)
        self._send(handler, response)

    def _send(self, handler: BaseHTTPRequestHandler, response: Response) -> None:
        try:
            handler.send_response(response.status)
            if response.content_type:
                handler.send_header("Content-Type", response.content_type)
            for key, value in response.headers.items():
                handler.send_header(key, value)
            if "Content-Length" not in response.headers:
                handler.send_header("Content-Length", str(len(response.body)))
            handler.end_headers()
            handler.wfile.write(response.body)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _stream(self, handler: BaseHTTPRequestHandler, stream: _Stream) -> None:
        try:
            handler.send_response(200)
            handler.send_header("Content-Type", "text/html; charset=utf-8")
            if stream.declared:
                handler.send_header("Content-Length", str(stream.declared))
            handler.end_headers()
            chunk = b"<p>" + b"x" * 65530 + b"</p>"
            sent = 0
            while sent < stream.total:
                handler.wfile.write(chunk)
                sent += len(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _route(self, path: str, headers: dict[str, str], count: int) -> Response:
        base = self.base
        html = lambda text: Response(200, text.encode("utf-8"))
        if path == "/robots.txt":
            return Response(200, (f"User-agent: *\nDisallow: /prive/\nCrawl-delay: {self.crawl_delay}\n\n"
                                  f"Sitemap: {base}/sitemap_index.xml\n").encode(), content_type="text/plain")
        if path == "/":
            links = [
                "/articles/bonne-pratique.html",
                "/articles/bonne-pratique.html?utm_source=lettre&utm_medium=email#haut",
                "/prive/secret.html", "/vide.html", "/habillage.html", "/latin1.html", "/casse.html",
                "/rapports/rapport-annuel.pdf", "/redirection/1", "/boucle/a", "/absent.html", "/instable.html",
                "/lent.html", "/enorme.html", "/enorme-declare.html", "/donnees", f"{self.other}/ailleurs.html",
                "/articles/reprise.html", "/articles/copie.html", "/articles/niveau-1.html", "/exclu/page.html",
            ]
            items = "\n".join(f'<li><a href="{href}">{href}</a></li>' for href in links)
            return html(f"""<!DOCTYPE html><html lang="fr"><head><meta charset="utf-8"><title>Observatoire</title>
<link rel="alternate" type="application/rss+xml" title="RSS" href="/rss.xml">
<link rel="alternate" type="application/atom+xml" title="Atom" href="/atom.xml">
</head><body><h1>Observatoire de l'innovation sociale</h1><ul>{items}</ul>
<a href="/articles/suivi.html" rel="nofollow">suivi</a></body></html>""")
        if path == "/articles/bonne-pratique.html" or path == "/articles/copie.html":
            return html(article_page("Une bonne pratique", self.good_text))
        if path == "/articles/reprise.html":
            return html(article_page("Une bonne pratique (reprise)",
                                     ["Article repris avec l'accord de l'Observatoire test, publié le 14 mars."]
                                     + self.good_text))
        if path == "/prive/secret.html":
            return html(article_page("Secret", french_text(7)))
        if path == "/vide.html":
            return html("<!DOCTYPE html><html><head><title>Vide</title></head><body></body></html>")
        if path == "/habillage.html":
            return html("""<!DOCTYPE html><html><head><title>Menu</title></head><body>
<nav><ul><li><a href="/">Accueil</a></li><li><a href="/contact.html">Contact</a></li></ul></nav>
<div id="cookie-banner" class="cookie">Nous utilisons des cookies. <button>Accepter</button></div>
<footer><p>© 2024 Observatoire — Mentions légales — Plan du site</p></footer></body></html>""")
        if path == "/latin1.html":
            page = article_page("Économie sociale à Besançon",
                                ["L'économie sociale et solidaire à Besançon réunit des coopératives, des "
                                 "associations et des mutuelles qui créent des emplois non délocalisables."]
                                + french_text(3), charset="iso-8859-1")
            return Response(200, page.encode("latin-1", "xmlcharrefreplace"),
                            content_type="text/html; charset=ISO-8859-1")
        if path == "/casse.html":
            paragraphs = french_text(4)
            return html("<html><head><title>Balisage cassé</title><body><div><article><h1>Balisage cassé"
                        + "".join(f"<p>{p}<span><b>" for p in paragraphs) + "</div></td></article>")
        if path == "/rapports/rapport-annuel.pdf":
            return Response(200, self.pdf, content_type="application/pdf")
        if path == "/redirection/1":
            return Response(302, headers={"Location": "/redirection/2"})
        if path == "/redirection/2":
            return Response(301, headers={"Location": f"{base}/articles/arrivee.html"})
        if path == "/articles/arrivee.html":
            return html(article_page("Arrivée après redirections", french_text(5)))
        if path == "/boucle/a":
            return Response(302, headers={"Location": "/boucle/b"})
        if path == "/boucle/b":
            return Response(302, headers={"Location": "/boucle/a"})
        if path == "/instable.html":
            if count == 1:
                return Response(500, b"erreur interne")
            return html(article_page("Instable", french_text(6)))
        if path == "/quota.html":
            if count == 1:
                return Response(429, b"trop de requetes", headers={"Retry-After": "1"})
            return html(article_page("Quota", french_text(8)))
        if path == "/quota-long.html":
            return Response(503, b"maintenance", headers={"Retry-After": "3600"})
        if path == "/lent.html":
            time.sleep(self.slow_seconds)
            return html(article_page("Lent", french_text(9)))
        if path == "/enorme.html":
            raise _Stream(self.big_bytes, declared=None)
        if path == "/enorme-declare.html":
            raise _Stream(self.big_bytes, declared=self.big_bytes)
        if path == "/donnees":
            return Response(200, b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, content_type="image/png")
        if path == "/vers-prive":
            return Response(302, headers={"Location": f"http://127.0.0.2:{self.port}/interne"})
        if path.startswith("/articles/niveau-"):
            level = int(path.rsplit("-", 1)[1].split(".")[0])
            return html(article_page(f"Niveau {level}", french_text(20 + level),
                                     links=[f"/articles/niveau-{level + 1}.html"]))
        if path.startswith("/articles/rss-") or path.startswith("/articles/atom-") \
                or path.startswith("/articles/plan-") or path == "/exclu/page.html":
            seed = int(hashlib.sha1(path.encode()).hexdigest()[:6], 16)
            return html(article_page(path.rsplit("/", 1)[1], french_text(seed), links=["/articles/niveau-1.html"]))
        if path == "/rss.xml":
            return self._rss(headers)
        if path == "/atom.xml":
            return Response(200, f"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Observatoire</title>
<link href="{base}/" /><link rel="self" href="{base}/atom.xml" /><updated>2024-03-14T10:00:00Z</updated>
<entry><title>Atom 1</title><link href="{base}/articles/atom-1.html" rel="alternate" />
<id>{base}/articles/atom-1.html</id><updated>2024-03-14T10:00:00Z</updated></entry>
</feed>""".encode(), content_type="application/atom+xml")
        if path == "/sitemap_index.xml":
            return Response(200, f"""<?xml version="1.0" encoding="UTF-8"?>
<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
<sitemap><loc>{base}/sitemaps/pages.xml</loc></sitemap>
<sitemap><loc>{base}/sitemaps/news.xml</loc></sitemap>
</sitemapindex>""".encode(), content_type="application/xml")
        if path == "/sitemaps/pages.xml":
            return self._urlset(["/articles/plan-1.html", "/articles/plan-2.html"])
        if path == "/sitemaps/news.xml":
            return self._urlset(["/articles/plan-news.html"])
        if path == "/serie/":
            links = "\n".join(f'<li><a href="/serie/p{i:02d}.html">Page {i}</a></li>' for i in range(self.serie_size))
            return html(f"<!DOCTYPE html><html><head><title>Série</title></head><body><ul>{links}</ul></body></html>")
        if path.startswith("/serie/p"):
            number = int(path[len("/serie/p"):].split(".")[0])
            return html(article_page(f"Série {number}", french_text(1000 + number)))
        return Response(404, b"<html><body>introuvable</body></html>")

    def _rss(self, headers: dict[str, str]) -> Response:
        items = "\n".join(f"<item><title>{p}</title><link>{self.base}{p}</link>"
                          f"<pubDate>Thu, 14 Mar 2024 10:00:00 GMT</pubDate></item>" for p in self.rss_items)
        body = f"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Observatoire</title><link>{self.base}/</link>
{items}
</channel></rss>""".encode()
        etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
        if headers.get("if-none-match") == etag:
            return Response(304, b"", headers={"ETag": etag}, content_type="")
        return Response(200, body, headers={"ETag": etag}, content_type="application/rss+xml; charset=utf-8")

    def _urlset(self, paths: list[str]) -> Response:
        urls = "\n".join(f"<url><loc>{self.base}{p}</loc><lastmod>2024-03-14</lastmod></url>" for p in paths)
        return Response(200, f"""<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
{urls}
</urlset>""".encode(), content_type="application/xml")


class _Stream(Exception):
    def __init__(self, total: int, declared: int | None) -> None:
        super().__init__("stream")
        self.total = total
        self.declared = declared
