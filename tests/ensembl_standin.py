"""A local stand-in for Ensembl's REST server (the GRCh37 one), serving the demo genome, for tests.

It speaks the parts of the API that motifscan uses, with Ensembl's field names, limits and errors (see
``shared/reference/ensembl-rest.md``): ``lookup/symbol``, ``lookup/id`` (GET and POST), ``xrefs/symbol``,
``sequence/region`` (GET and POST), ``info/assembly`` and ``info/data``. Coordinates on the wire are Ensembl's:
1-based, inclusive, strand 1/-1.

It deliberately imports nothing from motifscan: it reads ``genomes/grch37_demo/genome.fa.gz`` and ``genes.gtf.gz`` with
its own small parsers, so that a bug in motifscan's readers cannot hide behind the same bug here.

Faults can be injected per instance (429 with Retry-After, 5xx, truncated JSON, short sequences, connection resets,
slow answers, answers trickling in, non-JSON bodies such as a proxy's HTML page, redirects, arbitrary corruption) and
its own per-second rate limiter answers the 16th request within any second
with 429, as Ensembl does. Every request is recorded (monotonic time, method, path, query, body, and the path as
it came over the wire).

Extending it: :meth:`EnsemblStandin.add_route` registers another endpoint (a handler taking the ``*`` path segments
and ``query=``/``body=`` keywords, returning JSON-able data or raising :class:`ApiError` for Ensembl's
``{"error": ...}`` answers). Added routes are checked before the built-in ones, survive :meth:`~EnsemblStandin.reset`
and see the same rate limiting, faults and recording as every other endpoint.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gzip
import json
import random
import re
import socket
import struct
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

DEMO_DIR = Path(__file__).resolve().parent.parent / "genomes" / "grch37_demo"

SPECIES_ALIASES = {"homo_sapiens": "homo_sapiens", "human": "homo_sapiens", "hsap": "homo_sapiens"}
MAX_POST_IDS = 1000
MAX_POST_REGIONS = 50
MAX_SLICE_LENGTH = 10_000_000
MAX_OVERLAP_LENGTH = 5_000_000  # overlap/region: "A maximum of 5Mb is allowed to be requested at any one time"
HOURLY_LIMIT = 55_000
_COMPLEMENT = str.maketrans("ACGTNacgtn", "TGCANtgcan")
_REGION_RE = re.compile(r"^(?P<chrom>[^:]+):(?P<start>\d+)(?:\.\.|-)(?P<end>\d+)(?::(?P<strand>-?1))?$")
_VERSIONED_RE = re.compile(r"^(?P<id>[A-Za-z0-9_]+?)(?:\.(?P<version>\d+))?$")


# ----------------------------------------------------------------------------------------------------------------
# Independent readers of the demo genome


def read_fasta_gz(path: Path) -> dict[str, str]:
    """All records of a (b)gzipped FASTA as ``{name: sequence}``; the name is the header's first word."""
    records: dict[str, list[str]] = {}
    current: list[str] | None = None
    with gzip.open(path, "rt", encoding="ascii") as handle:
        for line in handle:
            line = line.rstrip("\r\n")
            if line.startswith(">"):
                current = records.setdefault(line[1:].split()[0], [])
            elif current is not None:
                current.append(line)
    return {name: "".join(parts) for name, parts in records.items()}


def _gtf_attributes(text: str) -> dict[str, Any]:
    attrs: dict[str, Any] = {"tag": []}
    for match in re.finditer(r'(\w+) "([^"]*)"', text):
        key, value = match.groups()
        if key == "tag":
            attrs["tag"].append(value)
        else:
            attrs[key] = value
    return attrs


def read_gtf_gz(path: Path) -> dict[str, dict[str, Any]]:
    """Genes of a gzipped Ensembl GTF: ``{gene_id: gene}``; a gene holds ``transcripts`` (``{transcript_id: tx}``),
    each with ``exons`` and ``cds`` lists. Coordinates stay as in the GTF: 1-based, closed."""
    genes: dict[str, dict[str, Any]] = {}
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        for line in handle:
            if line.startswith("#") or not line.strip():
                continue
            cols = line.rstrip("\n").split("\t")
            chrom, source, feature, start, end, strand, attrs = (
                cols[0], cols[1], cols[2], int(cols[3]), int(cols[4]), cols[6], _gtf_attributes(cols[8]))
            where = {"chrom": chrom, "start": start, "end": end, "strand": 1 if strand == "+" else -1}
            if feature == "gene":
                genes[attrs["gene_id"]] = {
                    "id": attrs["gene_id"], "version": int(attrs.get("gene_version", 1)), "source": source,
                    "name": attrs.get("gene_name", ""), "biotype": attrs.get("gene_biotype", ""),
                    "transcripts": {}, **where}
            elif feature == "transcript":
                genes[attrs["gene_id"]]["transcripts"][attrs["transcript_id"]] = {
                    "id": attrs["transcript_id"], "version": int(attrs.get("transcript_version", 1)),
                    "gene_id": attrs["gene_id"], "source": source, "name": attrs.get("transcript_name", ""),
                    "biotype": attrs.get("transcript_biotype", ""),
                    "canonical": "Ensembl_canonical" in attrs["tag"], "exons": [], "cds": [], **where}
            elif feature in ("exon", "CDS"):
                tx = genes[attrs["gene_id"]]["transcripts"][attrs["transcript_id"]]
                part = {"start": start, "end": end, "id": attrs.get("exon_id") or attrs.get("protein_id"),
                        "version": int(attrs.get("exon_version") or attrs.get("protein_version") or 1)}
                tx["exons" if feature == "exon" else "cds"].append(part)
    return genes


@lru_cache(maxsize=4)
def load_demo(directory: Path = DEMO_DIR) -> tuple[dict[str, str], dict[str, dict[str, Any]]]:
    """(FASTA records, GTF genes) of the demo genome, read once per process."""
    return read_fasta_gz(directory / "genome.fa.gz"), read_gtf_gz(directory / "genes.gtf.gz")


def reverse_complement(seq: str) -> str:
    """Reverse complement of an ACGTN string."""
    return seq.translate(_COMPLEMENT)[::-1]


# ----------------------------------------------------------------------------------------------------------------
# Request records and faults


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the stand-in saw it. ``time`` is the stand-in's clock (``time.monotonic`` unless replaced)."""

    time: float
    method: str
    path: str  # without the leading slash, percent-decoded, e.g. "lookup/symbol/human/FOXC1"
    query: dict[str, list[str]]
    body: Any  # decoded JSON, or the raw text when it is not JSON, or None
    status: int = 0  # filled in once answered (0 = connection reset or not answered)
    raw_path: str = ""  # the request target as sent, before percent-decoding, without the query, e.g. "/xrefs/..."


@dataclass
class _Fault:
    kind: str  # "status", "truncate", "short_sequence", "reset", "delay", "corrupt", "garbage", "trickle", "redirect"
    remaining: int
    match: str | None = None  # only requests whose path starts with this
    status: int = 503
    retry_after: float | None = None
    delay: float = 0.0
    corrupt: Callable[[Any], Any] | None = None
    body: bytes = b""  # "garbage": the body to send
    headers: dict[str, str] = field(default_factory=dict)  # "garbage", "redirect": extra headers

    def applies(self, path: str) -> bool:
        return self.remaining > 0 and (self.match is None or path.startswith(self.match))


@dataclass
class _Reply:
    status: int
    payload: Any = None  # JSON-able
    text: str | None = None  # plain text body instead
    headers: dict[str, str] = field(default_factory=dict)
    action: str = ""  # "", "reset", "truncate", "trickle"
    raw: bytes | None = None  # a body sent as it is (neither JSON nor text)
    seconds: float = 0.0  # "trickle": how long sending the body takes


class ApiError(Exception):
    """Raised by an endpoint handler: the stand-in answers ``status`` with Ensembl's ``{"error": message}`` body."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


_ApiError = ApiError  # the built-in endpoints' older name


# ----------------------------------------------------------------------------------------------------------------
# The server


class EnsemblStandin:
    """A local Ensembl REST server for tests. Use as a context manager, or call :meth:`start` and :meth:`stop`.

    Parameters
    ----------
    synonyms : dict, optional
        ``{gene symbol: [aliases]}`` for ``xrefs/symbol`` (the GTF has none), e.g. ``{"FOXC1": ["FKHL7"]}``.
    release : int
        What ``info/data`` reports.
    assembly_name : str
        What every object reports as ``assembly_name``.
    rate_limit : int or None
        Requests admitted within any 1-second window before answering 429 (Ensembl: 15); None switches it off.
    data_dir : path
        Folder with ``genome.fa.gz`` and ``genes.gtf.gz``.
    """

    def __init__(self, synonyms: dict[str, list[str]] | None = None, release: int = 75,
                 assembly_name: str = "GRCh37", rate_limit: int | None = 15, data_dir: Path = DEMO_DIR) -> None:
        self.sequences, self.genes = load_demo(Path(data_dir))
        self.transcripts = {t["id"]: t for g in self.genes.values() for t in g["transcripts"].values()}
        self._initial = {"synonyms": dict(synonyms or {}), "release": release, "assembly_name": assembly_name,
                         "rate_limit": rate_limit}
        self._lock = threading.Lock()
        self._extra_routes: list[tuple[list[str], str, Callable[..., Any]]] = []
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.reset()

    # -- lifecycle -----------------------------------------------------------------------------------------------

    def start(self) -> EnsemblStandin:
        """Start serving on 127.0.0.1 at an ephemeral port, in a background thread."""
        self._stopping.clear()
        self._server = _QuietServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._server.standin = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="ensembl-standin", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port."""
        self._stopping.set()  # wakes handlers sleeping in a "slow response" fault
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> EnsemblStandin:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:41234`` (no trailing slash)."""
        if self._server is None:
            raise RuntimeError("the stand-in is not running")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    # -- configuration and fault injection ----------------------------------------------------------------------

    def reset(self) -> None:
        """Forget recorded requests and faults; restore the constructor's settings and the real clock."""
        with self._lock:
            self._generation = getattr(self, "_generation", 0) + 1  # answers still in flight from before are not
            self.requests: list[RecordedRequest] = []  # recorded into the new list
            self._faults: list[_Fault] = []
            self._every: tuple[int, int, float | None] | None = None
            self._random: tuple[float, int, random.Random] | None = None
            self._counted = 0
            self._window: deque[float] = deque()
            self._admitted = 0
            self.release = self._initial["release"]
            self.assembly_name = self._initial["assembly_name"]
            self.rate_limit = self._initial["rate_limit"]
            self.clock: Callable[[], float] = time.monotonic
            self.set_synonyms(self._initial["synonyms"])

    def set_synonyms(self, synonyms: dict[str, list[str]]) -> None:
        """Replace the synonym table: ``{gene symbol: [aliases]}``."""
        by_name = {g["name"].upper(): g["id"] for g in self.genes.values()}
        index: dict[str, list[str]] = {}
        for symbol, aliases in synonyms.items():
            gene_id = by_name[symbol.upper()]
            for alias in aliases:
                index.setdefault(alias.upper(), []).append(gene_id)
        self._synonyms = index

    def fail_next(self, n: int, status: int = 429, retry_after: float | None = 0.05, match: str | None = None) -> None:
        """Answer the next ``n`` requests (whose path starts with ``match``, if given) with ``status``.

        429 gets a plain-text body and a ``Retry-After`` header (seconds) unless ``retry_after`` is None; other
        statuses get Ensembl's JSON error body (and Retry-After too, when given).
        """
        self._add(_Fault("status", n, match, status=status, retry_after=retry_after))

    def fail_every(self, k: int, status: int = 503, retry_after: float | None = None) -> None:
        """Answer every ``k``-th request from now on with ``status`` (``k=0`` stops it)."""
        with self._lock:
            self._every = (k, status, retry_after) if k else None
            self._counted = 0

    def fail_randomly(self, probability: float, status: int = 500, seed: int = 0) -> None:
        """Answer each request with ``status`` with ``probability`` (seeded, so reproducible); 0 stops it."""
        with self._lock:
            self._random = (probability, status, random.Random(seed)) if probability else None

    def truncate_next(self, n: int = 1, match: str | None = None) -> None:
        """Send only the first half of the next ``n`` JSON bodies (a complete HTTP answer holding invalid JSON)."""
        self._add(_Fault("truncate", n, match))

    def short_sequence_next(self, n: int = 1, missing: int = 1) -> None:
        """Drop the last ``missing`` bases of every sequence in the next ``n`` sequence answers."""
        self._add(_Fault("corrupt", n, "sequence/region", corrupt=lambda p: _shorten(p, missing)))

    def corrupt_next(self, n: int, corrupt: Callable[[Any], Any], match: str | None = None) -> None:
        """Pass the next ``n`` JSON answers through ``corrupt(payload) -> payload`` before sending them."""
        self._add(_Fault("corrupt", n, match, corrupt=corrupt))

    def reset_next(self, n: int = 1, match: str | None = None) -> None:
        """Reset the connection (TCP RST, no answer) for the next ``n`` requests."""
        self._add(_Fault("reset", n, match))

    def delay_next(self, n: int, seconds: float, match: str | None = None) -> None:
        """Wait ``seconds`` before answering the next ``n`` requests (to provoke client timeouts)."""
        self._add(_Fault("delay", n, match, delay=seconds))

    def garbage_next(self, n: int = 1, body: bytes = b"<html><body><h1>502 Bad Gateway</h1></body></html>",
                     status: int = 200, content_type: str = "text/html", match: str | None = None) -> None:
        """Answer the next ``n`` requests with ``status`` and ``body`` as it is (by default a proxy's HTML page
        with status 200: an answer that is not JSON at all)."""
        self._add(_Fault("garbage", n, match, status=status, body=body, headers={"Content-Type": content_type}))

    def trickle_next(self, n: int, seconds: float, match: str | None = None) -> None:
        """Send the next ``n`` answers slowly: headers at once, then the body in small pieces over ``seconds``, so
        that no single wait for bytes is long but the whole answer is."""
        self._add(_Fault("trickle", n, match, delay=seconds))

    def redirect_next(self, n: int, location: str, status: int = 302, match: str | None = None) -> None:
        """Answer the next ``n`` requests with a redirect to ``location``."""
        self._add(_Fault("redirect", n, match, status=status, headers={"Location": location}))

    def add_route(self, method: str, pattern: str, handler: Callable[..., Any]) -> None:
        """Serve another endpoint: ``pattern`` is a path with ``*`` for each variable segment (e.g.
        ``"overlap/region/*/*"``), ``handler(*segments, query=..., body=...)`` returns the JSON-able answer or raises
        :class:`ApiError`. Routes added later win over earlier ones and over the built-in ones; a route added again
        for the same method and pattern replaces the old one. They survive :meth:`reset`."""
        parts = pattern.strip("/").split("/")
        with self._lock:
            self._extra_routes = [r for r in self._extra_routes if (r[0], r[1]) != (parts, method.upper())]
            self._extra_routes.insert(0, (parts, method.upper(), handler))

    def remove_routes(self) -> None:
        """Forget every route added with :meth:`add_route` (the server fixture is shared by a test session)."""
        with self._lock:
            self._extra_routes = []

    def _add(self, fault: _Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    # -- request handling ----------------------------------------------------------------------------------------

    def handle(self, method: str, parts: list[str], query: dict[str, list[str]], body: Any,
               raw_path: str = "") -> tuple[_Reply, tuple[int, int]]:
        """Answer one request for the percent-decoded path segments ``parts``; returns the reply and where its record
        is (for :meth:`record_status`)."""
        path = "/".join(parts)
        with self._lock:
            now = self.clock()
            self.requests.append(RecordedRequest(now, method, path, query, body, raw_path=raw_path))
            index = (self._generation, len(self.requests) - 1)
            limited = self._rate_limited(now)
            fault = None if limited else self._take_fault(path)
        if limited:
            return limited, index
        if fault is not None and fault.kind == "delay":
            self._stopping.wait(fault.delay)
            fault = None
        if fault is not None and fault.kind == "status":
            return _status_reply(fault.status, fault.retry_after), index
        if fault is not None and fault.kind == "reset":
            return _Reply(0, action="reset"), index
        if fault is not None and fault.kind == "garbage":
            return _Reply(fault.status, raw=fault.body, headers=dict(fault.headers)), index
        if fault is not None and fault.kind == "redirect":
            return _Reply(fault.status, raw=b"", headers=dict(fault.headers)), index
        reply = self._dispatch(method, parts, query, body)
        if fault is not None and reply.status == 200:
            if fault.kind == "truncate":
                reply.action = "truncate"
            elif fault.kind == "corrupt" and fault.corrupt is not None:
                reply.payload = fault.corrupt(reply.payload)
            elif fault.kind == "trickle":
                reply.action, reply.seconds = "trickle", fault.delay
        reply.headers.update(self._limit_headers())
        return reply, index

    def record_status(self, index: tuple[int, int], status: int) -> None:
        """Note the status the request ``index`` (as :meth:`handle` gave it) was answered with; a request recorded
        before the last :meth:`reset` (a slow answer outliving its test) is not touched."""
        generation, position = index
        with self._lock:
            if generation == self._generation:
                self.requests[position] = dataclasses.replace(self.requests[position], status=status)

    def _rate_limited(self, now: float) -> _Reply | None:
        """Ensembl-like per-second limiter over a sliding window of admitted requests."""
        while self._window and now - self._window[0] >= 1.0:
            self._window.popleft()
        if self.rate_limit is not None and len(self._window) >= self.rate_limit:
            wait = max(self._window[0] + 1.0 - now, 0.001)
            return _status_reply(429, round(wait, 3))
        self._window.append(now)
        self._admitted += 1
        return None

    def _take_fault(self, path: str) -> _Fault | None:
        for fault in self._faults:
            if fault.applies(path):
                fault.remaining -= 1
                return fault
        if self._every is not None:
            self._counted += 1
            k, status, retry_after = self._every
            if self._counted % k == 0:
                return _Fault("status", 1, status=status, retry_after=retry_after)
        if self._random is not None:
            probability, status, rng = self._random
            if rng.random() < probability:
                return _Fault("status", 1, status=status)
        return None

    def _limit_headers(self) -> dict[str, str]:
        return {"X-RateLimit-Limit": str(HOURLY_LIMIT), "X-RateLimit-Period": "3600",
                "X-RateLimit-Remaining": str(max(HOURLY_LIMIT - self._admitted, 0)), "X-RateLimit-Reset": "3600"}

    def _dispatch(self, method: str, parts: list[str], query: dict[str, list[str]], body: Any) -> _Reply:
        try:
            for pattern, verb, handler in self._routes():
                if verb == method and _route_matches(pattern, parts):
                    args = [p for p, pat in zip(parts, pattern) if pat == "*"]
                    return _Reply(200, handler(*args, query=query, body=body))
            raise _ApiError(404, f"page not found: {'/'.join(parts)}")
        except _ApiError as exc:
            return _Reply(exc.status, {"error": exc.message})

    def _routes(self) -> list[tuple[list[str], str, Callable[..., Any]]]:
        return [
            *self._extra_routes,
            (["lookup", "symbol", "*", "*"], "GET", self._get_symbol),
            (["lookup", "symbol", "*"], "POST", self._post_symbols),
            (["lookup", "id", "*"], "GET", self._get_id),
            (["lookup", "id"], "POST", self._post_ids),
            (["xrefs", "symbol", "*", "*"], "GET", self._xrefs_symbol),
            (["sequence", "region", "*", "*"], "GET", self._get_region),
            (["sequence", "region", "*"], "POST", self._post_regions),
            (["info", "assembly", "*", "*"], "GET", self._info_assembly),
            (["info", "data"], "GET", lambda query, body: {"releases": [self.release]}),
        ] + self._background_routes()

    # -- endpoints -----------------------------------------------------------------------------------------------

    def _get_symbol(self, species: str, symbol: str, query: dict, body: Any) -> dict:
        _species(species)
        gene = self._gene_by_symbol(symbol)
        if gene is None:
            raise _ApiError(400, f"No valid lookup found for symbol {symbol}")
        return self._gene_json(gene, _flag(query, "expand"))

    def _post_symbols(self, species: str, query: dict, body: Any) -> dict:
        _species(species)
        symbols = _post_list(body, "symbols")
        found = {s: self._gene_by_symbol(s) for s in symbols}
        return {s: self._gene_json(g, _flag(query, "expand")) for s, g in found.items() if g is not None}

    def _get_id(self, stable_id: str, query: dict, body: Any) -> dict:
        _optional_species(query)
        obj = self._object_json(stable_id, _flag(query, "expand"))
        if obj is None:
            raise _ApiError(400, f"ID '{stable_id}' not found")
        return obj

    def _post_ids(self, query: dict, body: Any) -> dict:
        _optional_species(query)
        ids = _post_list(body, "ids")
        return {i: self._object_json(i, _flag(query, "expand")) for i in ids}

    def _xrefs_symbol(self, species: str, symbol: str, query: dict, body: Any) -> list:
        _species(species)
        object_type = (query.get("object_type") or [None])[0]
        if object_type not in (None, "gene"):
            return []
        gene_ids = [g["id"] for g in self.genes.values() if g["name"].upper() == symbol.upper()]
        gene_ids += [i for i in self._synonyms.get(symbol.upper(), []) if i not in gene_ids]
        return [{"type": "gene", "id": i} for i in gene_ids]

    def _get_region(self, species: str, region: str, query: dict, body: Any) -> dict:
        _species(species)
        parsed = _parse_region(region)
        if parsed is None:
            raise _ApiError(400, f"Could not decode region {region}")
        return self._region_json(region, *parsed)

    def _post_regions(self, species: str, query: dict, body: Any) -> list:
        _species(species)
        regions = _post_list(body, "regions", MAX_POST_REGIONS)
        answers = []
        for region in regions:
            parsed = _parse_region(region) if isinstance(region, str) else None
            if parsed is None or parsed[0] not in self.sequences:
                continue  # Ensembl drops malformed regions from a POST silently
            answers.append(self._region_json(region, *parsed))
        return answers

    def _info_assembly(self, species: str, region: str, query: dict, body: Any) -> dict:
        _species(species)
        if region not in self.sequences:
            raise _ApiError(400, f"Could not find a region named {region}")
        return {"length": len(self.sequences[region]), "assembly_name": self.assembly_name,
                "coordinate_system": "chromosome", "is_chromosome": 1, "is_circular": 0,
                "assembly_exception_type": "REF"}

    # -- endpoints for enumerating genes (the promoter background of motifscan enrich) -------------------------

    def _background_routes(self) -> list[tuple[list[str], str, Callable[..., Any]]]:
        return [
            (["overlap", "region", "*", "*"], "GET", self._overlap_region),
            (["info", "assembly", "*"], "GET", self._info_assembly_species),
        ]

    def _overlap_region(self, species: str, region: str, query: dict, body: Any) -> list:
        """Genes overlapping a region, as Ensembl's overlap endpoint lists them (at most 5 Mb per request)."""
        _species(species)
        parsed = _parse_region(region)
        if parsed is None:
            raise _ApiError(400, f"Could not decode region {region}")
        chrom, start, end, _ = parsed
        if chrom not in self.sequences:
            raise _ApiError(400, f"No slice found for location {region}")
        if end - start + 1 > MAX_OVERLAP_LENGTH:
            raise _ApiError(400, f"{end - start + 1} is greater than the maximum allowed length of "
                                 f"{MAX_OVERLAP_LENGTH}. Requested region was {region}")
        features = query.get("feature") or []
        if not features:
            raise _ApiError(400, "No feature given. Please specify a feature to retrieve from this service")
        if any(f not in ("gene", "none") for f in features):
            raise _ApiError(400, f"The feature type {features[0]} is not understood")
        if "gene" not in features:
            return []
        biotypes = set(query.get("biotype") or [])
        found = [g for g in self.genes.values() if g["chrom"] == chrom and g["start"] <= end and g["end"] >= start
                 and (not biotypes or g["biotype"] in biotypes)]
        return [{"id": g["id"], "gene_id": g["id"], "feature_type": "gene", "biotype": g["biotype"],
                 "external_name": g["name"], "description": None, "logic_name": f"{g['source']}_gene",
                 "source": g["source"], "seq_region_name": g["chrom"], "start": g["start"], "end": g["end"],
                 "strand": g["strand"], "assembly_name": self.assembly_name, "version": g["version"]}
                for g in sorted(found, key=lambda g: g["start"])]

    def _info_assembly_species(self, species: str, query: dict, body: Any) -> dict:
        _species(species)
        return {"assembly_name": self.assembly_name, "karyotype": sorted(self.sequences),
                "top_level_region": [{"name": n, "length": len(s), "coord_system": "chromosome"}
                                     for n, s in sorted(self.sequences.items())],
                "default_coord_system_version": self.assembly_name}

    # -- JSON builders -------------------------------------------------------------------------------------------

    def _gene_by_symbol(self, symbol: Any) -> dict | None:
        if not isinstance(symbol, str):
            return None
        # Ensembl's MySQL collation makes display-label matching case-insensitive.
        return next((g for g in self.genes.values() if g["name"].upper() == symbol.upper()), None)

    def _object_json(self, stable_id: Any, expand: bool) -> dict | None:
        match = _VERSIONED_RE.match(stable_id) if isinstance(stable_id, str) else None
        if match is None:
            return None
        plain, version = match.group("id"), match.group("version")
        obj = self.genes.get(plain) or self.transcripts.get(plain)
        if obj is None or (version is not None and int(version) != obj["version"]):
            return None
        if plain in self.genes:
            return self._gene_json(obj, expand)
        return self._transcript_json(obj, expand)

    def _location(self, obj: dict) -> dict:
        return {"seq_region_name": obj["chrom"], "start": obj["start"], "end": obj["end"], "strand": obj["strand"],
                "assembly_name": self.assembly_name, "species": "homo_sapiens", "db_type": "core"}

    def _gene_json(self, gene: dict, expand: bool) -> dict:
        canonical = next(t for t in gene["transcripts"].values() if t["canonical"])
        out = {"id": gene["id"], "object_type": "Gene", "version": gene["version"], "display_name": gene["name"],
               "description": None, "biotype": gene["biotype"], "source": gene["source"],
               "logic_name": f"{gene['source']}_gene",
               "canonical_transcript": f"{canonical['id']}.{canonical['version']}",
               **self._location(gene)}
        if expand:
            out["Transcript"] = [self._transcript_json(t, True) for t in gene["transcripts"].values()]
        return out

    def _transcript_json(self, tx: dict, expand: bool) -> dict:
        out = {"id": tx["id"], "object_type": "Transcript", "version": tx["version"], "display_name": tx["name"],
               "biotype": tx["biotype"], "source": tx["source"], "logic_name": f"{tx['source']}_transcript",
               "Parent": tx["gene_id"], "is_canonical": int(tx["canonical"]),
               "length": sum(e["end"] - e["start"] + 1 for e in tx["exons"]), **self._location(tx)}
        if expand:
            out["Exon"] = [{"id": e["id"], "object_type": "Exon", "version": e["version"], **self._location(tx),
                            "start": e["start"], "end": e["end"]} for e in tx["exons"]]
            if tx["cds"]:
                cds_len = sum(c["end"] - c["start"] + 1 for c in tx["cds"])
                out["Translation"] = {"id": tx["cds"][0]["id"], "object_type": "Translation", "Parent": tx["id"],
                                      "start": min(c["start"] for c in tx["cds"]),
                                      "end": max(c["end"] for c in tx["cds"]), "length": cds_len // 3,
                                      **{k: v for k, v in self._location(tx).items() if k not in ("start", "end")}}
        return out

    def _region_json(self, query: str, chrom: str, start: int, end: int, strand: int) -> dict:
        if chrom not in self.sequences:
            raise _ApiError(400, f"No slice found for location {query}")
        length = end - start + 1
        if length > MAX_SLICE_LENGTH:
            raise _ApiError(400, f"{length} is greater than the maximum allowed length of {MAX_SLICE_LENGTH}. "
                                 f"Requested region was {query}")
        if start < 1 or end < start or end > len(self.sequences[chrom]):
            raise _ApiError(400, f"Region {query} is out of range for {chrom}")
        seq = self.sequences[chrom][start - 1 : end]
        if strand == -1:
            seq = reverse_complement(seq)
        return {"id": f"chromosome:{self.assembly_name}:{chrom}:{start}:{end}:{strand}", "molecule": "dna",
                "query": query, "seq": seq}


# ----------------------------------------------------------------------------------------------------------------
# Helpers


def _route_matches(pattern: list[str], parts: list[str]) -> bool:
    return len(pattern) == len(parts) and all(p == "*" or p == q for p, q in zip(pattern, parts))


def _species(name: str) -> str:
    try:
        return SPECIES_ALIASES[name.lower()]
    except KeyError:
        raise _ApiError(400, f"Can not find internal name for species '{name}'") from None


def _optional_species(query: dict[str, list[str]]) -> None:
    """lookup/id takes an optional ``species`` to restrict the search; all the stand-in's objects are human."""
    if query.get("species"):
        _species(query["species"][0])


def _flag(query: dict[str, list[str]], name: str) -> bool:
    return (query.get(name) or ["0"])[0] not in ("0", "", "false")


def _post_list(body: Any, key: str, limit: int = MAX_POST_IDS) -> list:
    if not isinstance(body, dict) or not isinstance(body.get(key), list):
        raise _ApiError(400, f"Cannot find '{key}' key in your POST. Please check the format of your message")
    items = body[key]
    if len(items) > limit:
        raise _ApiError(400, f"POST message too large. You have submitted {len(items)} elements but a limit of "
                             f"{limit} is in place. Please reduce and try again")
    return items


def _parse_region(region: str) -> tuple[str, int, int, int] | None:
    match = _REGION_RE.match(region)
    if match is None:
        return None
    return match["chrom"], int(match["start"]), int(match["end"]), int(match["strand"] or 1)


def _shorten(payload: Any, missing: int) -> Any:
    items = payload if isinstance(payload, list) else [payload]
    for item in items:
        item["seq"] = item["seq"][:-missing]
    return payload


def _status_reply(status: int, retry_after: float | None) -> _Reply:
    headers = {} if retry_after is None else {"Retry-After": f"{retry_after:g}"}
    if status == 429:
        text = "You have exceeded the limit of 15 requests per second; please reduce your concurrent connections"
        return _Reply(429, text=text, headers=headers)
    return _Reply(status, {"error": f"injected fault: HTTP {status}"}, headers=headers)


class _QuietServer(ThreadingHTTPServer):
    """Says nothing when a client hangs up mid-answer (a client that timed out does just that): the traceback
    socketserver prints would land in whatever stream stderr is at the time, such as a test's captured stderr."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        import sys

        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as Ensembl's servers do
    disable_nagle_algorithm = True  # headers and body go out in two writes; Nagle would add ~40 ms to each answer
    server_version = "ensembl-standin"

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        self._handle("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._handle("POST")

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass  # keep test output quiet

    def _handle(self, method: str) -> None:
        standin: EnsemblStandin = self.server.standin  # type: ignore[attr-defined]
        url = urlsplit(self.path)
        parts = [unquote(p) for p in url.path.strip("/").split("/")]  # split first: %2F stays inside a segment
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        reply, index = standin.handle(method, parts, parse_qs(url.query), _decode_body(raw), raw_path=url.path)
        if reply.action == "reset":
            self._reset_connection()
            return
        standin.record_status(index, reply.status)  # before sending, so the client never sees it unrecorded
        self._send(reply)

    def _send(self, reply: _Reply) -> None:
        if reply.raw is not None:
            data, ctype = reply.raw, reply.headers.pop("Content-Type", "application/octet-stream")
        elif reply.text is not None:
            data, ctype = reply.text.encode(), "text/plain"
        else:
            data, ctype = json.dumps(reply.payload).encode(), "application/json"
        if reply.action == "truncate":
            data = data[: len(data) // 2]
        self.send_response(reply.status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()
        if reply.action != "trickle":
            self.wfile.write(data)
            return
        standin: EnsemblStandin = self.server.standin  # type: ignore[attr-defined]
        pieces = 20
        step = max(len(data) // pieces, 1)
        try:
            for offset in range(0, len(data), step):
                self.wfile.write(data[offset : offset + step])
                self.wfile.flush()
                if standin._stopping.wait(reply.seconds / pieces):
                    return
        except OSError:
            pass  # the client gave up, as it should

    def _reset_connection(self) -> None:
        # SO_LINGER with a zero timeout makes close() send a TCP RST instead of a clean FIN.
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True
        self.connection.close()

    def finish(self) -> None:
        with contextlib.suppress(OSError):  # the socket was reset on purpose
            super().finish()


def _decode_body(raw: bytes) -> Any:
    if not raw:
        return None
    text = raw.decode("utf-8", errors="replace")
    try:
        return json.loads(text)
    except ValueError:
        return text


# ----------------------------------------------------------------------------------------------------------------
# Variation endpoints (variants engineer): GET variation/:species/:id and POST variation/:species {"ids": [...]}

MAX_POST_VARIATION_IDS = 200


@dataclass(frozen=True)
class VariationRecord:
    """One variation as the stand-in serves it: Ensembl's wire coordinates (1-based inclusive; an insertion has
    ``start = end + 1``), ``allele_string`` reference first (``"G/A"``, ``"-/CA"``, ``"CA/-"``), strand 1/-1."""

    name: str
    chrom: str
    start: int
    end: int
    allele_string: str
    strand: int = 1
    var_class: str = "SNP"


def serve_variations(standin: EnsemblStandin, records: list[VariationRecord]) -> None:
    """Serve ``records`` from ``variation/:species`` (GET one, POST many) on a running stand-in, with Ensembl's
    shapes: an object per known ID with ``name``, ``var_class``, ``mappings`` (each with ``location``,
    ``seq_region_name``, ``start``, ``end``, ``strand``, ``allele_string``, ``assembly_name``, ``coord_system``);
    POST leaves unknown IDs out; GET of an unknown ID is a 400."""
    table = {r.name: r for r in records}

    def as_json(record: VariationRecord) -> dict:
        mapping = {"location": f"{record.chrom}:{record.start}-{record.end}", "seq_region_name": record.chrom,
                   "start": record.start, "end": record.end, "strand": record.strand,
                   "allele_string": record.allele_string, "assembly_name": standin.assembly_name,
                   "coord_system": "chromosome", "ancestral_allele": record.allele_string.split("/")[0]}
        return {"name": record.name, "var_class": record.var_class, "source": "Variants (stand-in)",
                "mappings": [mapping], "synonyms": [], "evidence": [], "MAF": None, "minor_allele": None}

    def get_one(species: str, name: str, query: dict, body: Any) -> dict:
        _species(species)
        if name not in table:
            raise ApiError(400, f"{name} not found for {_species(species)}")
        return as_json(table[name])

    def post_many(species: str, query: dict, body: Any) -> dict:
        _species(species)
        ids = _post_list(body, "ids", MAX_POST_VARIATION_IDS)
        return {i: as_json(table[i]) for i in ids if isinstance(i, str) and i in table}

    standin.add_route("GET", "variation/*/*", get_one)
    standin.add_route("POST", "variation/*", post_many)
