"""Stage 1 for observatories — fetch and crawl the web: feeds, sitemaps, focused crawls of a site, PDF reports.

Built on trafilatura's own modules: :mod:`trafilatura.feeds` finds feeds in a home page and reads their links,
:mod:`trafilatura.sitemaps` reads sitemaps (XML, text, hreflang), :mod:`courlan` cleans URLs (tracking parameters,
spam and structural links) and extraction goes through :func:`balise.extract.extract_html` (trafilatura, with
htmldate for publication dates). What they lack for a crawler that is left running for months is added here:

* a bounded fetcher (http/https only; private, loopback, link-local, multicast and reserved addresses refused on
  every redirect hop and again once connected; robots.txt and its Crawl-delay; per-host delay and concurrency;
  connect/read timeouts and a total time limit; retries with exponential backoff on 429 and 5xx honouring a
  bounded Retry-After; a maximum size, enforced while streaming; a maximum number of redirects and loop
  detection; content-type checks);
* a crawler whose queue lives in the :class:`~balise.store.Store`, so that a second run fetches only new URLs
  (for feeds and sitemaps: new items, with conditional requests) and a killed run resumes where it stopped.

Errors never escape a batch: every URL ends ``fetched``, ``failed`` (with the reason) or ``disallowed``.
"""
from __future__ import annotations

import gzip
import hashlib
import io
import ipaddress
import json
import logging
import re
import socket
import threading
import time
import zlib
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote, urljoin, urlsplit, urlunsplit
from urllib.robotparser import RobotFileParser

import urllib3
from courlan import is_navigation_page, is_valid_url
from courlan.clean import clean_query, scrub_url
from courlan.filters import extension_filter, is_not_crawlable, type_filter
from trafilatura.feeds import BLACKLIST as COMMENT_FEED
from trafilatura.feeds import FeedParameters, determine_feed, find_links
from trafilatura.sitemaps import DETECT_SITEMAP_LINK, SitemapObject, extract_robots_sitemaps

from . import __version__
from .errors import BaliseError, UnreadableDocumentError
from .extract import Document, decode_html, extract_html, extract_pdf
from .store import (
    FileLock,
    NewUrl,
    PageRecord,
    QueuedUrl,
    RecordResult,
    Source,
    Store,
    StoredDocument,
    default_db_path,
    minhash_signature,
)

log = logging.getLogger(__name__)

USER_AGENT = f"balise/{__version__} (+https://github.com/balise-project/balise)"
"""Sent with every request so that site owners know who crawls them and where to read about it."""
ROBOTS_AGENT = "balise"
"""The product token matched against ``User-agent`` lines of robots.txt."""

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504, 520, 521, 522, 523, 524})
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
MAX_ROBOTS_BYTES = 512 * 1024
MAX_FEEDS_DISCOVERED = 3

HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
PDF_TYPES = frozenset({"application/pdf", "application/x-pdf", "application/acrobat"})
FEED_TYPES = frozenset({
    "application/rss+xml", "application/atom+xml", "application/rdf+xml", "application/feed+json",
    "application/x-rss+xml", "application/x-atom+xml", "text/rss+xml", "text/atom+xml", "application/rss",
})
XML_TYPES = frozenset({"text/xml", "application/xml"})
GZIP_TYPES = frozenset({"application/gzip", "application/x-gzip", "application/x-gunzip"})
VAGUE_TYPES = frozenset({"", "text/plain", "application/octet-stream", "binary/octet-stream", "application/json",
                         "application/download", "application/force-download"})

KINDS = ("html", "feed", "sitemap", "pdf")
ACCEPT: dict[str, frozenset[str]] = {
    "seed": frozenset(KINDS),
    "page": frozenset({"html", "pdf"}),
    "pdf": frozenset({"pdf"}),
    "feed": frozenset({"feed"}),
    "sitemap": frozenset({"sitemap"}),
}
"""What a URL of each queue kind may turn out to be; anything else fails with the reason."""


# ================================================================================================ URLs


def canonical_url(url: str, base: str | None = None) -> str | None:
    """The canonical form under which a URL is queued and stored, or ``None`` if it is not an http(s) URL.

    Relative links are resolved, courlan scrubs markup rests and drops tracking parameters (``utm_*``,
    ``fbclid``…), the query is sorted, the fragment, default port and credentials go, dot segments are resolved
    and the host is lower-cased (kept in ASCII/punycode so that it can be fetched as is).
    """
    if not url or not isinstance(url, str):
        return None
    url = url.strip()
    if base:
        url = urljoin(base, url)
    try:
        url = scrub_url(url)
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https"):
            return None
        host = parts.hostname
        if not host:
            return None
        try:
            host = host.encode("idna").decode("ascii") if not host.isascii() else host
        except UnicodeError:
            return None
        port = parts.port
        netloc = f"[{host}]" if ":" in host else host
        if port is not None and not (scheme == "http" and port == 80) and not (scheme == "https" and port == 443):
            netloc += f":{port}"
        path = urljoin(f"{scheme}://{netloc}/", parts.path or "/")
        path = quote(urlsplit(path).path, safe="/%!$&'()*+,;=:@~-._")
        query = clean_query(parts.query)
    except (ValueError, AttributeError):
        return None
    return urlunsplit((scheme, netloc, path or "/", query, ""))


def host_key(url: str) -> str:
    """The host of a URL without ``www.`` and port: the scope of a focused crawl."""
    host = (urlsplit(url).hostname or "").lower()
    return host.removeprefix("www.")


def looks_like_pdf(url: str) -> bool:
    """A link whose path ends in ``.pdf``: a report to fetch."""
    return urlsplit(url).path.lower().endswith(".pdf")


def acceptable_link(url: str) -> bool:
    """courlan's filters for links worth fetching: no spam, no login or cart pages, no media files."""
    parts = urlsplit(url)
    if not is_valid_url(url) or is_not_crawlable(url):
        return False
    if looks_like_pdf(url):
        return True
    return type_filter(url, strict=False, with_nav=True) and extension_filter(parts.path)


# ================================================================================================ addresses


def address_refusal(ip: str) -> str | None:
    """Why a peer address must not be contacted (private, loopback…), or ``None`` for a public address."""
    try:
        address = ipaddress.ip_address(ip.split("%", 1)[0])
    except ValueError:
        return f"{ip} is not an IP address"
    mapped = getattr(address, "ipv4_mapped", None)
    if mapped is not None:
        address = mapped
    for test, label in (("is_loopback", "a loopback"), ("is_link_local", "a link-local"),
                        ("is_multicast", "a multicast"), ("is_unspecified", "an unspecified"),
                        ("is_private", "a private"), ("is_reserved", "a reserved")):
        if getattr(address, test):
            return f"{ip} is {label} address"
    if not address.is_global:
        return f"{ip} is not a public address"
    return None


def resolve_refusal(host: str, port: int) -> tuple[str | None, bool]:
    """Resolve ``host`` and refuse it when any of its addresses is not public.

    Returns ``(reason, retryable)``; ``(None, False)`` when the host may be contacted.
    """
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, OSError) as exc:
        return f"DNS lookup failed for {host} ({getattr(exc, 'strerror', None) or exc})", True
    for info in infos:
        refusal = address_refusal(str(info[4][0]))
        if refusal:
            where = refusal if str(info[4][0]) == host else f"{host}: {refusal}"
            return f"refused: {where} (allow_private / --allow-private to crawl it)", False
    return None, False


class _GuardedHTTPConnection(urllib3.connection.HTTPConnection):
    """Checks the address actually connected to, so that DNS rebinding cannot slip past the first check."""

    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        try:
            peer = sock.getpeername()[0]
        except OSError:
            return sock
        refusal = address_refusal(str(peer))
        if refusal:
            sock.close()
            raise urllib3.exceptions.NewConnectionError(self, f"refused: connected to {refusal}")
        return sock


class _GuardedHTTPSConnection(_GuardedHTTPConnection, urllib3.connection.HTTPSConnection):
    pass


class _GuardedHTTPConnectionPool(urllib3.HTTPConnectionPool):
    ConnectionCls = _GuardedHTTPConnection


class _GuardedHTTPSConnectionPool(urllib3.HTTPSConnectionPool):
    ConnectionCls = _GuardedHTTPSConnection


# ================================================================================================ fetching


@dataclass
class FetchSettings:
    """Limits and politeness of the fetcher. Defaults suit a crawler left running on public sites."""

    connect_timeout: float = 10.0
    read_timeout: float = 30.0
    max_time: float = 120.0
    """Whole response, body included: a server dripping bytes cannot hold a worker for ever."""
    max_bytes: int = 5_000_000
    """HTML, feeds and sitemaps above this size are abandoned while streaming."""
    max_pdf_bytes: int = 50_000_000
    max_redirects: int = 5
    retries: int = 2
    """Extra attempts on 429, 5xx and broken connections."""
    backoff: float = 1.0
    """First wait before a retry; doubled each time."""
    max_backoff: float = 60.0
    """A longer Retry-After is not waited for: the URL fails and is tried again by a later run."""
    delay: float = 1.0
    """Seconds between two requests to one host (robots.txt Crawl-delay wins when longer)."""
    max_crawl_delay: float = 60.0
    """A host whose Crawl-delay is longer than this is not crawled (its wish cannot be met in one run)."""
    respect_robots: bool = True
    allow_private: bool = False
    user_agent: str = USER_AGENT


@dataclass
class FetchResult:
    """One fetch, successful or not; ``error`` holds the reason of a failure in a few words."""

    url: str
    final_url: str
    status: int | None = None
    kind: str | None = None  # html, feed, sitemap, pdf, text
    content_type: str | None = None
    charset: str | None = None
    data: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    redirects: list[str] = field(default_factory=list)
    error: str | None = None
    retryable: bool = False
    disallowed: bool = False
    not_modified: bool = False
    elapsed: float = 0.0

    @property
    def ok(self) -> bool:
        """True when a body was received and accepted."""
        return self.error is None and not self.disallowed and not self.not_modified

    def text(self) -> str:
        """The body as text (declared charset, else detection)."""
        try:
            return decode_html(self.data, self.charset)
        except UnreadableDocumentError:
            return self.data.decode("utf-8", "replace")


@dataclass
class _Robots:
    parser: RobotFileParser | None
    delay: float | None = None
    sitemaps: list[str] = field(default_factory=list)
    error: str | None = None


class _Abort(Exception):
    def __init__(self, reason: str, retryable: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable


class Fetcher:
    """A thread-safe, polite and bounded HTTP client (urllib3), shared by the crawler's worker threads."""

    def __init__(self, settings: FetchSettings | None = None) -> None:
        self.settings = settings or FetchSettings()
        headers = urllib3.util.make_headers(accept_encoding=True)
        headers["User-Agent"] = self.settings.user_agent
        headers["Accept"] = ("text/html,application/xhtml+xml,application/rss+xml,application/atom+xml,"
                             "application/xml;q=0.9,application/pdf;q=0.9,*/*;q=0.5")
        headers["Accept-Language"] = "fr,en;q=0.5"
        self._headers = headers
        self.pool = urllib3.PoolManager(num_pools=64, maxsize=8, block=False)
        if not self.settings.allow_private:
            self.pool.pool_classes_by_scheme = {"http": _GuardedHTTPConnectionPool,
                                                "https": _GuardedHTTPSConnectionPool}
        self._lock = threading.Lock()
        self._next_slot: dict[str, float] = {}
        self._robots: dict[str, _Robots] = {}
        self._robots_locks: dict[str, threading.Lock] = {}

    def close(self) -> None:
        """Close pooled connections."""
        self.pool.clear()

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- politeness

    def host_delay(self, url: str) -> float:
        """Seconds to leave between two requests to this URL's host."""
        delay = self.settings.delay
        if self.settings.respect_robots:
            robots = self._robots.get(_origin(url))
            if robots is not None and robots.delay is not None:
                delay = max(delay, robots.delay)
        return delay

    def _wait_turn(self, url: str) -> None:
        netloc = urlsplit(url).netloc.lower()
        delay = self.host_delay(url)
        with self._lock:
            now = time.monotonic()
            slot = max(now, self._next_slot.get(netloc, 0.0))
            self._next_slot[netloc] = slot + delay
        if slot > now:
            time.sleep(slot - now)

    def robots(self, url: str) -> _Robots:
        """The robots.txt rules of the URL's origin, fetched once per fetcher (404 means everything allowed;
        a server error means nothing allowed for now, as RFC 9309 asks)."""
        origin = _origin(url)
        with self._lock:
            cached = self._robots.get(origin)
            if cached is not None:
                return cached
            origin_lock = self._robots_locks.setdefault(origin, threading.Lock())
        with origin_lock:
            cached = self._robots.get(origin)
            if cached is not None:
                return cached
            result = self._fetch(origin + "/robots.txt", accept=None, check_robots=False,
                                 max_bytes=MAX_ROBOTS_BYTES)
            if result.ok and result.status and 200 <= result.status < 300:
                text = result.data.decode("utf-8", "replace")
                parser = RobotFileParser(origin + "/robots.txt")
                parser.parse(text.splitlines())
                robots = _Robots(parser, _crawl_delay(text, ROBOTS_AGENT),
                                 extract_robots_sitemaps(text, origin) if len(text) <= 10000 else
                                 [line.split(":", 1)[1].strip() for line in text.splitlines()
                                  if line.lower().startswith("sitemap:")])
                rate = parser.request_rate(ROBOTS_AGENT)
                if rate and rate.requests:
                    robots.delay = max(robots.delay or 0.0, rate.seconds / rate.requests)
            elif result.status is not None and 400 <= result.status < 500:
                robots = _Robots(None)
            elif result.error and result.error.startswith("refused"):
                robots = _Robots(None, error=result.error)
            else:
                robots = _Robots(None, error=f"robots.txt unreachable ({result.error or result.status})")
            with self._lock:
                self._robots[origin] = robots
            return robots

    def robots_verdict(self, url: str) -> tuple[bool, str | None, bool]:
        """``(allowed, reason, retryable)`` for a URL under robots.txt and the Crawl-delay limit."""
        robots = self.robots(url)
        if robots.error:
            return False, robots.error, True
        if robots.delay is not None and robots.delay > self.settings.max_crawl_delay:
            return False, (f"robots.txt Crawl-delay {robots.delay:g} s is above the "
                           f"{self.settings.max_crawl_delay:g} s limit"), False
        if robots.parser is not None and not robots.parser.can_fetch(ROBOTS_AGENT, url):
            return False, "disallowed by robots.txt", False
        return True, None, False

    def robots_sitemaps(self, url: str) -> list[str]:
        """Sitemaps declared in the robots.txt of the URL's site."""
        return list(self.robots(url).sitemaps)

    # -- fetching

    def fetch(self, url: str, *, accept: Collection[str] | None = KINDS, etag: str | None = None,
              last_modified: str | None = None) -> FetchResult:
        """Fetch one URL within every limit; never raises for network or content problems."""
        return self._fetch(url, accept=accept, etag=etag, last_modified=last_modified, check_robots=True)

    def _fetch(self, url: str, *, accept: Collection[str] | None, check_robots: bool, etag: str | None = None,
               last_modified: str | None = None, max_bytes: int | None = None) -> FetchResult:
        started = time.monotonic()
        result = FetchResult(url=url, final_url=url)
        try:
            self._fetch_into(result, accept, check_robots, etag, last_modified, max_bytes, started)
        except _Abort as abort:
            result.error, result.retryable = abort.reason, abort.retryable
            result.data = b""
        except Exception as exc:  # a fetch must never break a batch
            log.exception("unexpected error fetching %s", url)
            result.error, result.retryable = f"unexpected error ({type(exc).__name__}: {exc})"[:200], True
        result.elapsed = time.monotonic() - started
        return result

    def _fetch_into(self, result: FetchResult, accept: Collection[str] | None, check_robots: bool,
                    etag: str | None, last_modified: str | None, max_bytes: int | None, started: float) -> None:
        settings = self.settings
        current = result.url
        seen = {current}
        for hop in range(settings.max_redirects + 1):
            parts = urlsplit(current)
            if parts.scheme not in ("http", "https"):
                raise _Abort(f"unsupported scheme '{parts.scheme}'" + (" in redirect" if hop else ""))
            if not parts.hostname:
                raise _Abort("no host in URL")
            if not settings.allow_private:
                try:
                    port = parts.port or (443 if parts.scheme == "https" else 80)
                except ValueError:
                    raise _Abort("invalid port in URL") from None
                refusal, retryable = resolve_refusal(parts.hostname, port)
                if refusal:
                    raise _Abort(refusal + (f" (redirect hop {hop})" if hop else ""), retryable)
            if check_robots and settings.respect_robots:
                allowed, reason, retryable = self.robots_verdict(current)
                if not allowed:
                    if reason == "disallowed by robots.txt":
                        result.disallowed = True
                        result.error = reason + (f" (redirect hop {hop})" if hop else "")
                        return
                    raise _Abort(reason or "robots.txt", retryable)
            headers = dict(self._headers)
            if hop == 0 and etag:
                headers["If-None-Match"] = etag
            if hop == 0 and last_modified:
                headers["If-Modified-Since"] = last_modified
            response = self._request(current, headers, started)
            result.status = response.status
            if response.status in REDIRECT_STATUSES:
                location = response.headers.get("Location")
                _discard(response)
                if not location:
                    raise _Abort(f"HTTP {response.status} without a Location header")
                target = urljoin(current, location.strip())
                target = urlunsplit(urlsplit(target)._replace(fragment=""))
                if target in seen:
                    raise _Abort(f"redirect loop ({current} → {target})")
                seen.add(target)
                result.redirects.append(target)
                result.final_url = current = target
                continue
            result.headers = {k.lower(): v for k, v in response.headers.items()}
            if response.status == 304 and (etag or last_modified):
                _discard(response)
                result.not_modified = True
                return
            if not 200 <= response.status < 300:
                _discard(response)
                raise _Abort(f"HTTP {response.status}", response.status in RETRY_STATUSES or response.status == 408)
            self._read_body(result, response, accept, max_bytes, started)
            return
        raise _Abort(f"too many redirects (more than {settings.max_redirects})")

    def _request(self, url: str, headers: dict[str, str], started: float) -> urllib3.BaseHTTPResponse:
        settings = self.settings
        timeout = urllib3.Timeout(connect=settings.connect_timeout, read=settings.read_timeout)
        for attempt in range(settings.retries + 1):
            self._wait_turn(url)
            last = attempt == settings.retries
            try:
                response = self.pool.urlopen("GET", url, headers=headers, redirect=False, retries=False,
                                             preload_content=False, timeout=timeout)
            except urllib3.exceptions.ConnectTimeoutError:
                reason = f"connect timeout ({settings.connect_timeout:g} s)"
            except urllib3.exceptions.ReadTimeoutError:
                # a slow server is slow again at once: do not insist now, a later run tries again
                raise _Abort(f"read timeout ({settings.read_timeout:g} s)", True) from None
            except urllib3.exceptions.NewConnectionError as exc:
                message = str(exc)
                if "refused:" in message:
                    raise _Abort(message[message.index("refused:"):]) from None
                reason = f"connection failed ({_short(exc)})"
            except urllib3.exceptions.SSLError as exc:
                raise _Abort(f"TLS error ({_short(exc)})") from None
            except urllib3.exceptions.LocationParseError:
                raise _Abort("invalid URL") from None
            except (urllib3.exceptions.ProtocolError, urllib3.exceptions.HTTPError, OSError) as exc:
                reason = f"connection broken ({_short(exc)})"
            else:
                if response.status not in RETRY_STATUSES or last:
                    return response
                wait_for = _retry_after(response.headers.get("Retry-After"))
                _discard(response)
                if wait_for is None:
                    wait_for = settings.backoff * (2 ** attempt)
                elif wait_for > settings.max_backoff:
                    raise _Abort(f"HTTP {response.status} (Retry-After {wait_for:g} s is above the "
                                 f"{settings.max_backoff:g} s limit)", True)
                self._sleep_within(min(wait_for, settings.max_backoff), started)
                continue
            if last:
                raise _Abort(reason, True)
            self._sleep_within(min(settings.backoff * (2 ** attempt), settings.max_backoff), started)
        raise _Abort("no response", True)  # not reached: the last attempt returns or raises

    def _sleep_within(self, seconds: float, started: float) -> None:
        if time.monotonic() + seconds - started > self.settings.max_time:
            raise _Abort(f"gave up retrying within the {self.settings.max_time:g} s limit", True)
        time.sleep(seconds)

    def _read_body(self, result: FetchResult, response: urllib3.BaseHTTPResponse, accept: Collection[str] | None,
                   max_bytes: int | None, started: float) -> None:
        settings = self.settings
        mime, charset = _content_type(response.headers.get("Content-Type"))
        result.content_type, result.charset = mime or None, charset
        if accept is not None and not (mime in HTML_TYPES | PDF_TYPES | FEED_TYPES | XML_TYPES | GZIP_TYPES
                                       or mime in VAGUE_TYPES):
            _discard(response)
            raise _Abort(f"unsupported content type {mime}")
        if max_bytes is None:
            pdf_possible = accept is None or "pdf" in accept
            max_bytes = (settings.max_pdf_bytes if mime in PDF_TYPES or (pdf_possible and mime in VAGUE_TYPES)
                         else settings.max_bytes)
        declared = response.headers.get("Content-Length")
        if declared and declared.isdigit() and int(declared) > max_bytes:
            _discard(response)
            raise _Abort(f"too large ({_size(int(declared))} declared, limit {_size(max_bytes)})")
        chunks, total = [], 0
        try:
            for chunk in response.stream(65536, decode_content=True):
                total += len(chunk)
                if total > max_bytes:
                    raise _Abort(f"too large (more than {_size(max_bytes)})")
                if time.monotonic() - started > settings.max_time:
                    raise _Abort(f"too slow (more than {settings.max_time:g} s)", True)
                chunks.append(chunk)
        except _Abort:
            _discard(response)
            raise
        except urllib3.exceptions.ReadTimeoutError:
            _discard(response)
            raise _Abort(f"read timeout ({settings.read_timeout:g} s)", True) from None
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            _discard(response)
            raise _Abort(f"connection broken while reading ({_short(exc)})", True) from None
        response.release_conn()
        data = b"".join(chunks)
        if data[:2] == b"\x1f\x8b":  # a gzipped sitemap (.xml.gz) served as a file
            data = _gunzip(data, max_bytes)
        result.data = data
        if accept is None:
            return
        kind = detect_kind(data, mime)
        result.kind = kind
        if kind not in accept:
            got = kind or mime or "unknown content"
            raise _Abort(f"unexpected content ({got}; expected {' or '.join(sorted(accept))})")


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _discard(response: urllib3.BaseHTTPResponse) -> None:
    """Close a response whose body is not read, so that the connection is not reused half-read."""
    try:
        response.close()
        response.release_conn()
    except Exception:  # pragma: no cover - closing never matters more than the result
        pass


def _size(count: int) -> str:
    return f"{count:,} bytes".replace(",", " ")


def _short(exc: BaseException) -> str:
    reason = getattr(exc, "reason", None)
    args: tuple[Any, ...] = tuple(getattr(exc, "args", ()))
    if reason is None and len(args) == 2 and isinstance(args[1], BaseException):  # urllib3's ProtocolError
        text = f"{str(args[0]).rstrip('.').lower()}: {args[1]}"
    else:
        text = str(reason or exc)
    text = re.sub(r"<[^>]+>:?\s*", "", text)
    return text[:120]


def _retry_after(value: str | None) -> float | None:
    """Seconds asked by a Retry-After header (delta or HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _content_type(header: str | None) -> tuple[str, str | None]:
    if not header:
        return "", None
    mime, _, params = header.partition(";")
    charset = None
    for param in params.split(";"):
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset":
            charset = value.strip().strip("\"'") or None
    return mime.strip().lower(), charset


def _gunzip(data: bytes, limit: int) -> bytes:
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as handle:
            out = handle.read(limit + 1)
    except (OSError, EOFError, zlib.error) as exc:
        raise _Abort(f"broken gzip file ({_short(exc)})") from None
    if len(out) > limit:
        raise _Abort(f"too large once decompressed (more than {_size(limit)})")
    return out


_CRAWL_DELAY_LINE = re.compile(r"^\s*(user-agent|crawl-delay)\s*:\s*([^#]*)", re.IGNORECASE)


def _crawl_delay(text: str, agent: str) -> float | None:
    """Crawl-delay for ``agent`` (its own group first, else ``*``), fractions included: the standard library
    parser ignores values such as ``0.5``."""
    delays: dict[str, float] = {}
    group: list[str] = []
    in_agents = False
    for line in text.splitlines():
        match = _CRAWL_DELAY_LINE.match(line)
        if not match:
            if line.strip() and not line.strip().startswith("#"):
                in_agents = False
            continue
        key, value = match.group(1).lower(), match.group(2).strip()
        if key == "user-agent":
            if not in_agents:
                group = []
            group.append(value.lower())
            in_agents = True
        else:
            in_agents = False
            try:
                seconds = float(value)
            except ValueError:
                continue
            for name in group:
                delays.setdefault(name, seconds)
    for name, seconds in delays.items():
        if name != "*" and name in agent.lower():
            return seconds
    return delays.get("*")


def fetch_url(url: str, settings: FetchSettings | None = None, *, accept: Collection[str] | None = KINDS,
              **overrides: Any) -> FetchResult:
    """Fetch one URL with a one-off :class:`Fetcher`; keyword arguments override :class:`FetchSettings` fields
    (e.g. ``fetch_url(url, allow_private=True, read_timeout=5)``)."""
    settings = settings or FetchSettings()
    if overrides:
        settings = FetchSettings(**{**asdict(settings), **overrides})
    with Fetcher(settings) as fetcher:
        return fetcher.fetch(url, accept=accept)


# ================================================================================================ content


_SITEMAP_ROOT = re.compile(rb"<(?:[\w.-]+:)?(urlset|sitemapindex)\b", re.IGNORECASE)
_FEED_ROOT = re.compile(rb"<(?:[\w.-]+:)?(rss|feed|rdf:rdf)\b", re.IGNORECASE)
_HTML_ROOT = re.compile(rb"<!doctype\s+html|<html|<head\b|<body\b|<p\b|<div\b", re.IGNORECASE)


def detect_kind(data: bytes, content_type: str | None = None) -> str | None:
    """What a response is — ``html``, ``feed``, ``sitemap``, ``pdf`` or ``text`` — from its first bytes,
    helped by the declared content type (servers often send feeds as ``text/xml`` and PDFs as octet-stream)."""
    mime = (content_type or "").lower()
    stripped = data.lstrip()
    if stripped[:5] == b"%PDF-" or mime in PDF_TYPES:
        return "pdf"
    head = stripped[:4096]
    if mime in HTML_TYPES and not (head.startswith(b"<?xml") and (_FEED_ROOT.search(head) or _SITEMAP_ROOT.search(head))):
        return "html"
    if _SITEMAP_ROOT.search(head):
        return "sitemap"
    if _FEED_ROOT.search(head[:1024]):
        return "feed"
    if head.startswith(b"{") and (b"jsonfeed.org" in head or mime == "application/feed+json"):
        return "feed"
    if _HTML_ROOT.search(head):
        return "html"
    if mime in ("text/plain", "") and head:
        lines = [line.strip() for line in head.decode("utf-8", "replace").splitlines() if line.strip()]
        if lines and all(line.startswith(("http://", "https://")) for line in lines[:20]):
            return "sitemap"  # a text sitemap: one URL a line
    if mime in FEED_TYPES:
        return "feed"
    return "text" if head else None


def parse_feed(text: str, url: str, *, same_host: bool = False) -> list[str]:
    """Item links of an RSS, Atom or JSON feed (trafilatura's reader), canonicalised, in feed order."""
    base = _origin(url)
    params = FeedParameters(base, host_key(url), url, external=True)
    links: list[str] = []
    for raw in find_links(text.strip(), params):
        link = canonical_url(raw, base=url)
        if not link or link in links or urlsplit(link).path in ("", "/") or link == canonical_url(url):
            continue  # the channel's own home page and the feed itself are not items
        if same_host and host_key(link) != host_key(url):
            continue
        if acceptable_link(link):
            links.append(link)
    return links


class _SitemapReader(SitemapObject):
    """trafilatura's sitemap reader with balise's URL canonicalisation instead of courlan's domain check
    (which rejects IP addresses and intranet hosts that ``allow_private`` lets through)."""

    def __init__(self, url: str, content: str) -> None:
        super().__init__(_origin(url), host_key(url), [], None, external=False)
        self.current_url = url
        self.content = content

    def handle_link(self, link: str) -> None:
        if link == self.current_url:
            return
        url = canonical_url(link, base=self.current_url)
        if not url or host_key(url) != self.domain or not acceptable_link(url) and not DETECT_SITEMAP_LINK.search(url):
            return
        (self.sitemap_urls if DETECT_SITEMAP_LINK.search(url) else self.urls).append(url)


def parse_sitemap(text: str, url: str) -> tuple[list[str], list[str]]:
    """``(pages, sitemaps)`` listed by an XML or text sitemap or a sitemap index, same host only."""
    reader = _SitemapReader(url, text)
    reader.process()
    pages, sitemaps = list(dict.fromkeys(reader.urls)), list(dict.fromkeys(reader.sitemap_urls))
    root = _SITEMAP_ROOT.search(text[:4096].encode("utf-8", "replace"))
    if root is not None and root.group(1).lower() == b"sitemapindex":
        sitemaps, pages = list(dict.fromkeys(sitemaps + pages)), []
    elif root is not None and root.group(1).lower() == b"urlset":
        pages, sitemaps = list(dict.fromkeys(pages + [s for s in sitemaps if not s.endswith((".xml", ".xml.gz"))])), \
            [s for s in sitemaps if s.endswith((".xml", ".xml.gz"))]
    return pages, sitemaps


def discover_feeds(html: str, url: str) -> list[str]:
    """Feeds announced by a page (``<link rel="alternate">``, else feed-looking links): trafilatura's finder,
    comment feeds left out."""
    params = FeedParameters(_origin(url), host_key(url), url)
    feeds = []
    for link in determine_feed(html, params):
        canonical = canonical_url(link, base=url)
        if canonical and not COMMENT_FEED.search(canonical) and canonical not in feeds:
            feeds.append(canonical)
    return feeds[:MAX_FEEDS_DISCOVERED]


@dataclass
class PageLinks:
    """Links of an HTML page, canonicalised: pages to follow, PDF reports, declared sitemaps."""

    pages: list[str] = field(default_factory=list)
    pdfs: list[str] = field(default_factory=list)
    sitemaps: list[str] = field(default_factory=list)
    anchor_texts: set[str] = field(default_factory=set)
    """Texts of the links, whitespace collapsed: tells a list of links from an article."""

    def link_share(self, text: str) -> float:
        """Share of a text's characters in paragraphs that are just the text of a link (a listing page)."""
        paragraphs = [" ".join(p.split()) for p in text.split("\n\n")]
        total = sum(len(p) for p in paragraphs) or 1
        return sum(len(p) for p in paragraphs if p in self.anchor_texts) / total


def page_links(html: str, url: str) -> PageLinks:
    """Links of a page (``<base href>`` honoured, ``rel=nofollow`` respected), filtered with courlan."""
    import lxml.html

    found = PageLinks()
    try:
        tree = lxml.html.fromstring(html)
    except (ValueError, lxml.etree.ParserError):
        return found
    base = url
    for element in tree.iter("base"):
        if element.get("href"):
            base = urljoin(url, element.get("href"))
            break
    seen: set[str] = set()
    for element in tree.iter("a", "area", "link"):
        href = element.get("href")
        if not href or href.startswith(("#", "javascript:", "mailto:", "tel:", "data:")):
            continue
        rel = (element.get("rel") or "").lower().split()
        if element.tag == "link":
            if "sitemap" in rel:
                link = canonical_url(href, base=base)
                if link:
                    found.sitemaps.append(link)
            continue
        anchor = " ".join(element.text_content().split())
        if anchor:
            found.anchor_texts.add(anchor)
        if "nofollow" in rel:
            continue
        link = canonical_url(href, base=base)
        if not link or link in seen:
            continue
        seen.add(link)
        if looks_like_pdf(link) or (element.get("type") or "").lower() in PDF_TYPES:
            found.pdfs.append(link)
        elif acceptable_link(link):
            found.pages.append(link)
    return found


def pdf_metadata(data: bytes) -> tuple[str | None, str | None]:
    """Title and creation date (``YYYY-MM-DD``) recorded in a PDF, when present."""
    from pypdf import PdfReader

    try:
        meta = PdfReader(io.BytesIO(data), strict=False).metadata
    except Exception:  # metadata is a bonus: a damaged dictionary must not lose the text
        return None, None
    if meta is None:
        return None, None
    title = None
    try:
        title = (meta.title or "").strip() or None
    except Exception as exc:  # a badly encoded title string
        log.debug("unreadable PDF title: %s", exc)
    date = None
    try:
        created = meta.creation_date
        date = created.date().isoformat() if created else None
    except Exception as exc:  # a malformed date string
        log.debug("unreadable PDF creation date: %s", exc)
    return title, date


def _http_date(value: str | None) -> str | None:
    if not value:
        return None
    try:
        return parsedate_to_datetime(value).date().isoformat()
    except (TypeError, ValueError):
        return None


# ================================================================================================ crawling


@dataclass
class SourceOptions:
    """How a seed is crawled; recorded with the source so that ``watch`` crawls it the same way later."""

    max_pages: int = 100
    """New pages and reports fetched per run for this seed (hubs — the seed, feeds, sitemaps — not counted);
    what is left stays queued for the next run."""
    max_depth: int = 3
    """Link hops followed from a page seed (feed and sitemap items are one hop)."""
    include: list[str] = field(default_factory=list)
    """Regular expressions: when given, only page/report URLs matching one of them are queued."""
    exclude: list[str] = field(default_factory=list)
    """Regular expressions: page/report URLs matching one of them are never queued."""
    discover: bool = True
    """Look for feeds and sitemaps announced by a page seed (``<link rel=alternate>``, robots.txt)."""
    pdfs: bool = True
    """Fetch the PDF reports linked from crawled pages."""

    def __post_init__(self) -> None:
        self._include = [re.compile(p) for p in self.include]
        self._exclude = [re.compile(p) for p in self.exclude]

    def allows(self, url: str) -> bool:
        """The include/exclude patterns applied to a page or report URL."""
        if self._include and not any(p.search(url) for p in self._include):
            return False
        return not any(p.search(url) for p in self._exclude)

    def to_dict(self) -> dict[str, Any]:
        """What the store records."""
        return {"max_pages": self.max_pages, "max_depth": self.max_depth, "include": list(self.include),
                "exclude": list(self.exclude), "discover": self.discover, "pdfs": self.pdfs}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SourceOptions:
        """Options recorded with a source (unknown keys ignored, missing ones defaulted)."""
        known = {k: data[k] for k in ("max_pages", "max_depth", "include", "exclude", "discover", "pdfs") if k in data}
        return cls(**known)


@dataclass
class CrawlReport:
    """What a run did, for the summary printed by ``balise crawl`` and ``balise watch``."""

    run_id: int | None = None
    sources: int = 0
    fetched: int = 0
    new_documents: list[int] = field(default_factory=list)
    duplicates: int = 0
    near_duplicates: int = 0
    no_text: int = 0
    not_modified: int = 0
    disallowed: int = 0
    failed: Counter[str] = field(default_factory=Counter)
    new_urls: int = 0
    queued_left: int = 0
    rejected_seeds: list[tuple[str, str]] = field(default_factory=list)
    interrupted: bool = False
    elapsed: float = 0.0

    @property
    def failures(self) -> int:
        """Number of URLs that failed in this run."""
        return sum(self.failed.values())

    def to_dict(self) -> dict[str, Any]:
        """The figures as JSON-ready data (kept with the run in the store)."""
        data = asdict(self)
        data["failed"] = dict(self.failed)
        data["new_documents"] = len(self.new_documents)
        return data

    def summary(self) -> str:
        """A few lines for a terminal."""
        lines = [
            f"{self.sources} source(s), {self.fetched} URL(s) fetched in {self.elapsed:.1f} s: "
            f"{len(self.new_documents)} new document(s), {self.near_duplicates} near-duplicate(s) linked, "
            f"{self.duplicates} exact duplicate(s) not stored, {self.no_text} without main text, "
            f"{self.not_modified} unchanged, {self.disallowed} disallowed by robots.txt, {self.failures} failed.",
        ]
        if self.queued_left:
            lines.append(f"{self.queued_left} URL(s) left in the queue for the next run (--max-pages).")
        for reason, count in self.failed.most_common(8):
            lines.append(f"  failed ×{count}: {reason}")
        for seed, reason in self.rejected_seeds:
            lines.append(f"  seed rejected: {seed}: {reason}")
        if self.interrupted:
            lines.append("Interrupted: what was fetched is stored; run the same command again to resume.")
        return "\n".join(lines)


def read_seeds(seeds: Iterable[str]) -> Iterator[tuple[str, str | None]]:
    """``(seed, None)`` for each valid seed, ``(text, reason)`` for a rejected one; ``@file`` is read one seed a
    line (blank lines and ``#`` comments skipped). A seed without a scheme gets ``https://``."""
    for raw in seeds:
        raw = raw.strip()
        if raw.startswith("@"):
            path = Path(raw[1:]).expanduser()
            try:
                lines = path.read_text(encoding="utf-8-sig").splitlines()
            except (OSError, UnicodeDecodeError) as exc:
                yield raw, f"cannot read seed file ({getattr(exc, 'strerror', None) or type(exc).__name__})"
                continue
            for number, line in enumerate(lines, 1):
                line = line.split("#", 1)[0].strip() if line.lstrip().startswith("#") else line.strip()
                if not line:
                    continue
                if line.startswith("@"):
                    yield f"{path}:{number}", "seed files cannot include other seed files"
                    continue
                seed, reason = _check_seed(line)
                yield (seed, None) if reason is None else (f"{path}:{number}: {line}", reason)
            continue
        seed, reason = _check_seed(raw)
        yield (seed, None) if reason is None else (raw, reason)


def _check_seed(text: str) -> tuple[str, str | None]:
    if not text:
        return text, "empty seed"
    if "://" not in text:
        text = "https://" + text
    scheme = text.split("://", 1)[0].lower()
    if scheme not in ("http", "https"):
        return text, f"unsupported scheme '{scheme}' (http and https only)"
    url = canonical_url(text)
    if url is None:
        return text, "not a valid URL"
    return url, None


class Crawler:
    """Crawls the sources of a :class:`~balise.store.Store`: worker threads fetch and extract, the calling
    thread writes each outcome in one transaction."""

    def __init__(self, store: Store, settings: FetchSettings | None = None, *, concurrency: int = 4,
                 host_concurrency: int = 1, fetcher: Fetcher | None = None,
                 progress: Callable[[str], None] | None = None) -> None:
        self.store = store
        self.settings = settings or FetchSettings()
        self.concurrency = max(1, concurrency)
        self.host_concurrency = max(1, host_concurrency)
        self.fetcher = fetcher or Fetcher(self.settings)
        self.progress = progress
        self._scopes: dict[int, set[str]] = {}
        self._kinds: dict[int, str] = {}
        self._options: dict[int, SourceOptions] = {}

    def add_seeds(self, seeds: Iterable[str], options: SourceOptions | None = None,
                  ) -> tuple[list[Source], list[tuple[str, str]]]:
        """Record seeds as sources (their options updated when known). Returns the sources and rejected seeds."""
        sources, rejected = [], []
        for seed, reason in read_seeds(seeds):
            if reason is not None:
                rejected.append((seed, reason))
                continue
            sources.append(self.store.add_source(seed, (options or SourceOptions()).to_dict()))
        return sources, rejected

    def run(self, sources: Iterable[Source] | None = None, *, command: str = "crawl") -> CrawlReport:
        """Crawl these sources (all active ones by default) until their queues are empty or their page budget
        for this run is spent. Interrupted by Ctrl-C, it returns what was done (all of it stored)."""
        started = time.monotonic()
        chosen = {s.id: s for s in (sources if sources is not None else self.store.sources())}
        report = CrawlReport(sources=len(chosen))
        for source in chosen.values():
            self._options[source.id] = SourceOptions.from_dict(source.options)
            self._kinds[source.id] = source.kind
            scope = {host_key(source.seed)}
            row = self.store.url_row(source.seed)
            if row is not None and row["final_url"]:
                scope.add(host_key(row["final_url"]))
            self._scopes[source.id] = scope
        report.run_id = self.store.start_run(command, chosen)
        budget: Counter[int] = Counter()
        inflight: dict[Future[PageRecord], QueuedUrl] = {}
        busy: Counter[str] = Counter()
        pool = ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="balise-fetch")
        window = self.concurrency * 2
        try:
            while True:
                room = window - len(inflight)
                if room > 0:
                    exhausted = [sid for sid in chosen if budget[sid] >= self._options[sid].max_pages]
                    candidates = self.store.next_urls(
                        chosen, limit=max(4 * room, 64), exclude_ids=[q.id for q in inflight.values()],
                        exclude_hosts=[h for h, n in busy.items() if n >= self.host_concurrency],
                        exclude_sources=exhausted)
                    for item in candidates:
                        if len(inflight) >= window:
                            break
                        sid = item.source_id if item.source_id is not None else -1
                        if busy[item.host] >= self.host_concurrency:
                            continue
                        if not item.hub:
                            if budget[sid] >= self._options.get(sid, SourceOptions()).max_pages:
                                continue
                            budget[sid] += 1
                        inflight[pool.submit(self._process, item)] = item
                        busy[item.host] += 1
                if not inflight:
                    break
                done, _ = wait(list(inflight), return_when=FIRST_COMPLETED)
                for future in done:
                    item = inflight.pop(future)
                    busy[item.host] -= 1
                    try:
                        page = future.result()
                    except Exception as exc:  # a bug in one page must not stop the run
                        log.exception("processing %s failed", item.url)
                        page = PageRecord(url_id=item.id, state="failed", retryable=True,
                                          reason=f"internal error ({type(exc).__name__}: {exc})"[:200])
                    self._record(item, page, report)
        except KeyboardInterrupt:
            report.interrupted = True
            for future in inflight:
                future.cancel()
        finally:
            pool.shutdown(wait=not report.interrupted, cancel_futures=True)
        report.queued_left = self.store.count_queued(chosen)
        report.elapsed = time.monotonic() - started
        self.store.finish_run(report.run_id, report.to_dict())
        return report

    # -- main thread: record

    def _record(self, item: QueuedUrl, page: PageRecord, report: CrawlReport) -> None:
        result: RecordResult = self.store.record(page, report.run_id)
        report.new_urls += result.new_urls
        if page.source_kind and item.source_id is not None:
            self._kinds[item.source_id] = page.source_kind
            if page.final_url:
                self._scopes.setdefault(item.source_id, set()).add(host_key(page.final_url))
        if page.state == "fetched":
            if page.reason and page.reason.startswith("not modified"):
                report.not_modified += 1
            else:
                report.fetched += 1
        elif page.state == "disallowed":
            report.disallowed += 1
        elif page.state == "failed":
            report.failed[page.reason or "unknown"] += 1
        what = page.state
        if result.status == "new":
            report.new_documents.append(result.document_id)  # type: ignore[arg-type]
            if result.duplicate_of is not None:
                report.near_duplicates += 1
                what = f"new document {result.document_id} (near-duplicate of {result.duplicate_of})"
            else:
                what = f"new document {result.document_id}"
        elif result.status == "duplicate":
            report.duplicates += 1
            what = f"exact duplicate of document {result.duplicate_of}"
        elif page.reason:
            what = f"{page.state}: {page.reason}"
            if page.state == "fetched" and page.reason.startswith("no main text"):
                report.no_text += 1
        if self.progress:
            self.progress(f"{what:<40} {item.url}")

    # -- worker threads: fetch and extract

    def _process(self, item: QueuedUrl) -> PageRecord:
        sid = item.source_id if item.source_id is not None else -1
        options = self._options.get(sid, SourceOptions())
        accept = ACCEPT.get(item.kind, ACCEPT["page"])
        result = self.fetcher.fetch(item.url, accept=accept, etag=item.etag if item.hub else None,
                                    last_modified=item.last_modified if item.hub else None)
        final = canonical_url(result.final_url) or result.final_url
        page = PageRecord(url_id=item.id, state="fetched", http_status=result.status,
                          final_url=final if final != item.url else None, content_type=result.content_type)
        if result.disallowed:
            page.state, page.reason = "disallowed", result.error
            return page
        if result.error:
            page.state, page.reason, page.retryable = "failed", result.error, result.retryable
            return page
        if result.not_modified:
            page.reason = "not modified since the last run"
            return page
        page.content_hash = hashlib.sha256(result.data).hexdigest()
        if item.hub:
            page.etag = result.headers.get("etag")
            page.last_modified = result.headers.get("last-modified")
        kind = result.kind
        if item.kind == "seed":
            page.source_kind = {"html": "page", "feed": "feed", "sitemap": "sitemap", "pdf": "pdf"}.get(kind or "")
            if kind == "pdf":
                page.hub = False  # a report given as a seed is fetched once, not at every run
        source_kind = page.source_kind or self._kinds.get(sid, "auto")
        base = final
        try:
            if kind == "feed":
                items = parse_feed(result.text(), base, same_host=source_kind == "page")
                page.links = [NewUrl(u, "pdf" if looks_like_pdf(u) else "page", item.depth + 1, item.source_id)
                              for u in items if options.allows(u)]
            elif kind == "sitemap":
                pages, sitemaps = parse_sitemap(result.text(), base)
                page.links = [NewUrl(u, "sitemap", item.depth, item.source_id, hub=True) for u in sitemaps]
                page.links += [NewUrl(u, "pdf" if looks_like_pdf(u) else "page", item.depth + 1, item.source_id)
                               for u in pages if options.allows(u)]
            elif kind == "pdf":
                self._pdf_document(page, result, base)
            elif kind == "html":
                self._html_page(page, item, result, base, options, source_kind)
        except UnreadableDocumentError as exc:
            page.state, page.reason = "failed", exc.reason
        if page.document is not None:
            page.signature = minhash_signature(page.document.text)
        return page

    def _pdf_document(self, page: PageRecord, result: FetchResult, base: str) -> None:
        text = extract_pdf(result.data, source=base)
        title, date = pdf_metadata(result.data)
        page.document = Document(id=base, text=text, source=base, url=base, title=title,
                                 date=date or _http_date(result.headers.get("last-modified")),
                                 meta={"content_type": "application/pdf"})

    def _html_page(self, page: PageRecord, item: QueuedUrl, result: FetchResult, base: str,
                   options: SourceOptions, source_kind: str) -> None:
        try:
            html = decode_html(result.data, result.charset)
        except UnreadableDocumentError as exc:
            raise UnreadableDocumentError(base, "undecodable HTML") from exc
        sid = item.source_id
        scope = self._scopes.get(sid if sid is not None else -1, {host_key(item.url)})
        links = page_links(html, base)
        follow = source_kind in ("page", "auto") and item.kind in ("seed", "page") and item.depth < options.max_depth
        new: list[NewUrl] = []
        if follow:
            new += [NewUrl(u, "page", item.depth + 1, sid) for u in links.pages
                    if host_key(u) in scope and options.allows(u)]
        if options.pdfs:
            # reports often live on another host (a CDN, a publisher): followed wherever they are
            new += [NewUrl(u, "pdf", item.depth + 1, sid) for u in links.pdfs if options.allows(u)]
        if item.kind == "seed" and options.discover:
            for feed in discover_feeds(html, base):
                if host_key(feed) in scope:
                    new.append(NewUrl(feed, "feed", 0, sid, hub=True))
            sitemaps = links.sitemaps + [s for s in (canonical_url(x) for x in self.fetcher.robots_sitemaps(base)) if s]
            new += [NewUrl(s, "sitemap", 0, sid, hub=True) for s in dict.fromkeys(sitemaps) if host_key(s) in scope]
        page.links = new
        if item.hub and item.document_id is not None:
            return  # a seed fetched again for its links: its text is already stored
        if urlsplit(base).path in ("", "/") and not urlsplit(base).query:
            page.reason = "home page (links followed, text not kept)"
            return
        if is_navigation_page(base) and item.kind != "seed":
            page.reason = "navigation page (links followed, text not kept)"
            return
        document = extract_html(html, url=base)
        if document is None:
            page.reason = "no main text (empty or boilerplate only)"
            return
        if links.link_share(document.text) > 0.5:
            page.reason = "list of links (links followed, text not kept)"
            return
        if document.url and document.url != base:
            document.meta["canonical"] = document.url
        document.id = document.url = document.source = base
        document.meta["content_type"] = result.content_type or "text/html"
        page.document = document


def crawl(seeds: Iterable[str], db: str | Path | None = None, *, options: SourceOptions | None = None,
          settings: FetchSettings | None = None, concurrency: int = 4, host_concurrency: int = 1,
          progress: Callable[[str], None] | None = None) -> CrawlReport:
    """Record the seeds in the store at ``db`` and crawl them (``balise crawl``). Only the given seeds are
    crawled; ``watch`` crawls every recorded source."""
    with Store(db) as store:
        crawler = Crawler(store, settings, concurrency=concurrency, host_concurrency=host_concurrency,
                          progress=progress)
        try:
            sources, rejected = crawler.add_seeds(seeds, options)
            if not sources:
                return CrawlReport(rejected_seeds=rejected)
            report = crawler.run(sources)
            report.rejected_seeds = rejected
            return report
        finally:
            crawler.fetcher.close()


# ================================================================================================ watch


class AnnotatedLike(Protocol):
    """What a tagger yields: an object with ``to_dict()`` giving one line of the annotate output."""

    def to_dict(self) -> dict[str, Any]: ...


class TaggerLike(Protocol):
    """What ``watch`` needs from :func:`balise.load`'s tagger."""

    def pipe(self, documents: Iterable[Document]) -> Iterator[AnnotatedLike]: ...


@dataclass
class NewDocument:
    """One document annotated by a ``watch`` run, for its report."""

    id: int
    url: str | None
    title: str | None
    date: str | None
    labels: list[str]


@dataclass
class WatchReport:
    """What a ``watch`` run found and annotated."""

    crawl: CrawlReport
    annotated: list[NewDocument] = field(default_factory=list)
    appended: int = 0
    caught_up: int = 0
    annotation_error: str | None = None

    def summary(self) -> str:
        """A few lines for a terminal (and cron's mail)."""
        lines = [self.crawl.summary(), f"{len(self.annotated)} new document(s) annotated"
                 + (f", {self.appended} line(s) appended to the corpus" if self.appended else "") + "."]
        if self.caught_up:
            lines.append(f"{self.caught_up} annotation(s) of an interrupted run written to the corpus.")
        for doc in self.annotated:
            labels = ", ".join(doc.labels) if doc.labels else "no marker"
            lines.append(f"  {doc.date or '????-??-??'}  {(doc.title or '(untitled)')[:70]}  <{doc.url}>  [{labels}]")
        if self.annotation_error:
            lines.append(f"Annotation stopped: {self.annotation_error} (the documents left are annotated next run).")
        return "\n".join(lines)


def _load_tagger() -> TaggerLike:
    import balise

    loader = getattr(balise, "load", None)
    if loader is None:
        raise BaliseError("no tagger available in this installation (balise.load is missing)")
    return loader()  # type: ignore[no-any-return]


def _repair_corpus(path: Path) -> set[str]:
    """Ids already in the corpus file; a half-written last line (a killed run) is cut off first."""
    ids: set[str] = set()
    if not path.exists():
        return ids
    with path.open("r+b") as handle:
        data = handle.read()
        if data and not data.endswith(b"\n"):
            cut = data.rfind(b"\n") + 1
            handle.truncate(cut)
            data = data[:cut]
    for line in data.splitlines():
        try:
            record = json.loads(line)
        except (json.JSONDecodeError, UnicodeDecodeError):
            continue
        if isinstance(record, dict) and record.get("id") is not None:
            ids.add(str(record["id"]))
    return ids


def watch(db: str | Path | None = None, *, output: str | Path | None = None, tagger: TaggerLike | None = None,
          settings: FetchSettings | None = None, concurrency: int = 4, host_concurrency: int = 1,
          include_duplicates: bool = False, progress: Callable[[str], None] | None = None) -> WatchReport:
    """Crawl every recorded source, annotate the documents not annotated yet, store their annotations and append
    them to the corpus at ``output``. A lock on ``<db>.lock`` makes a second run at the same time fail at once
    (:class:`~balise.store.WatchLockedError`), so cron never runs two.

    The corpus file is kept complete: annotations stored by a run killed before it appended them are appended
    by the next run. Near-duplicates are not annotated unless ``include_duplicates``.
    """
    path = Path(db).expanduser() if db is not None else default_db_path()
    lock = FileLock(path.with_name(path.name + ".lock"))
    lock.acquire()
    try:
        with Store(path) as store:
            out_path = Path(output) if output is not None else None
            known_ids: set[str] = set()
            caught_up = 0
            if out_path is not None:
                out_path.parent.mkdir(parents=True, exist_ok=True)
                known_ids = _repair_corpus(out_path)
                missing = [d for d in store.documents(include_duplicates=True) if d.key not in known_ids
                           and store.annotation(d.id) is not None]
                if missing:
                    with out_path.open("a", encoding="utf-8") as handle:
                        for doc in missing:
                            handle.write(json.dumps(store.annotation(doc.id), ensure_ascii=False) + "\n")
                            known_ids.add(doc.key)
                    caught_up = len(missing)
            sources = store.sources()
            crawler = Crawler(store, settings, concurrency=concurrency, host_concurrency=host_concurrency,
                              progress=progress)
            try:
                crawl_report = crawler.run(sources, command="watch") if sources else CrawlReport()
            finally:
                crawler.fetcher.close()
            report = WatchReport(crawl=crawl_report, caught_up=caught_up)
            if crawl_report.interrupted:
                return report
            todo = store.unannotated(include_duplicates=include_duplicates)
            if not todo:
                return report
            try:
                tagger = tagger if tagger is not None else _load_tagger()
                _annotate(store, todo, tagger, out_path, known_ids, report)
            except Exception as exc:  # the crawl is stored; annotation is retried by the next run
                log.exception("annotation failed")
                report.annotation_error = f"{type(exc).__name__}: {exc}"[:300]
            return report
    finally:
        lock.release()


def _annotate(store: Store, todo: Sequence[StoredDocument], tagger: TaggerLike, out_path: Path | None,
              known_ids: set[str], report: WatchReport) -> None:
    by_key = {doc.key: doc for doc in todo}
    handle = out_path.open("a", encoding="utf-8") if out_path is not None else None
    try:
        position = 0
        for annotated in tagger.pipe(doc.to_document() for doc in todo):
            data = annotated.to_dict()
            stored = by_key.get(str(data.get("id"))) if data.get("id") is not None else None
            if stored is None:
                stored = todo[min(position, len(todo) - 1)]
            position += 1
            store.save_annotation(stored.id, data)  # stored first: a kill before the append is caught up later
            if handle is not None and stored.key not in known_ids:
                handle.write(json.dumps(data, ensure_ascii=False) + "\n")
                handle.flush()
                known_ids.add(stored.key)
                report.appended += 1
            raw_labels = data.get("labels")
            labels: list[Any] = raw_labels if isinstance(raw_labels, list) else []
            report.annotated.append(NewDocument(stored.id, stored.url, stored.title, stored.date,
                                                [str(label) for label in labels]))
    finally:
        if handle is not None:
            handle.close()
