"""Genes and genome sequence from Ensembl's REST API.

:class:`EnsemblSource` resolves gene symbols, gene IDs and transcript IDs to :class:`~motifscan.model.Gene` records and
cuts genomic sequence, with batched POSTs (at most 1000 IDs or 50 regions per request), a self-imposed throttle (at most
15 requests in any 1-second window, Ensembl's limit), bounded retries with exponential backoff that honour
``Retry-After``, and checks on everything that comes back (shape, assembly, IDs and names against
:mod:`motifscan.identifiers`' strict patterns, sequence lengths and letters). An answer failing a check is retried like
a failed request, then reported in one line. Answers are kept in a persistent SQLite cache
(:mod:`motifscan.sources.cache`) so that reruns need no network and ``offline=True`` works; what is read back from
the cache passes the very same checks (a damaged entry is fetched again, or, offline, refused by name).

A server whose name cannot be resolved (no network) is not retried: the error says so at once and names the ways to
go on without Ensembl. Each retry is logged as a warning, so that API users see a slow server too.

Coordinates: Ensembl speaks 1-based closed intervals with strand 1/-1; everything this module returns or accepts is
0-based half-open with strand ``"+"``/``"-"`` (:mod:`motifscan.model`). The conversion happens here and only here:
``start - 1``, ``end`` unchanged (:func:`gene_from_json`, :func:`region_query`).
"""

from __future__ import annotations

import errno
import json
import logging
import math
import os
import re
import socket
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from typing import Any
from urllib.parse import quote

import requests

from motifscan import __version__
from motifscan.encoding import first_non_sequence
from motifscan.errors import EnsemblError, OfflineCacheMiss, UsageError
from motifscan.identifiers import name_problem, unversioned
from motifscan.model import Gene, GeneLookup, Region, Transcript
from motifscan.progress import task
from motifscan.sources.cache import Cache, CacheError, NullCache

logger = logging.getLogger(__name__)

SERVERS = {"GRCh38": "https://rest.ensembl.org", "GRCh37": "https://grch37.rest.ensembl.org"}
"""Ensembl's public REST server for each human assembly."""
URL_ENV = "MOTIFSCAN_ENSEMBL_URL"
"""Environment variable naming another server (a mirror, a test stand-in); it wins over the assembly's server."""
TIMEOUT_ENV = "MOTIFSCAN_ENSEMBL_TIMEOUT"
"""Environment variable: default ``timeout`` in seconds (120)."""
RETRIES_ENV = "MOTIFSCAN_ENSEMBL_RETRIES"
"""Environment variable: default ``max_retries`` (5)."""
BACKOFF_ENV = "MOTIFSCAN_ENSEMBL_BACKOFF"
"""Environment variable: default ``backoff`` in seconds (1)."""
DEFAULT_TIMEOUT, DEFAULT_RETRIES, DEFAULT_BACKOFF = 120.0, 5, 1.0
ANSWER_TIME_FACTOR = 4
"""An answer must arrive whole within this many ``timeout`` s (``timeout`` alone bounds each wait for bytes, so a
server trickling bytes could otherwise hold a request for ever); a slower answer counts as a timeout and is retried."""

MAX_POST_IDS = 1000  # Ensembl's limit for lookup POSTs
MAX_POST_REGIONS = 50  # Ensembl's limit for sequence/region POSTs
MAX_REGION_BP = 10_000_000  # Ensembl's limit per region; longer regions are split
MAX_OVERLAP_BP = 5_000_000  # Ensembl's limit per overlap/region request ("a maximum of 5Mb")
MAX_BATCH_BP = 10_000_000  # our limit per sequence POST, so that one answer stays ~10 MB
MAX_JSON_BYTES = 256 * 2**20  # no lookup answer is allowed to grow beyond this (1000 expanded genes are far less)
RATE_LIMIT = 15  # requests ...
RATE_PERIOD = 1.0  # ... per this many seconds, in any window
MAX_SYNONYM_LOOKUPS = 100
"""Names that are no current symbol are tried as synonyms, one GET each (Ensembl has no batch endpoint for it), for at
most this many names per lookup; the rest are reported as not found, with a message saying so."""
OFFLINE_NOTE = "not in the cache (offline)"
CACHE_FORMAT = "v2"
"""Part of every cache scope: entries written by a release of motifscan that stored other shapes are not read."""
NO_NETWORK_HINT = ("without a network, use --genome demo, a local genome (--genome FASTA --annotation GTF), or "
                   "--offline to answer from the cache")

_GENE_ID = re.compile(r"^(ENS[A-Z]*G\d{6,})(?:\.(\d+))?$", re.IGNORECASE)
_TRANSCRIPT_ID = re.compile(r"^(ENS[A-Z]*T\d{6,})(?:\.(\d+))?$", re.IGNORECASE)
_STRANDS = {1: "+", -1: "-"}
# the fields of Ensembl's gene and transcript objects that motifscan uses, and caches (in Ensembl's own shape)
_GENE_FIELDS = ("id", "object_type", "version", "display_name", "biotype", "seq_region_name", "start", "end",
                "strand", "assembly_name", "canonical_transcript")
_TRANSCRIPT_FIELDS = ("id", "object_type", "version", "biotype", "seq_region_name", "start", "end", "strand",
                      "assembly_name", "Parent", "is_canonical")
_HEADERS = {"Content-Type": "application/json", "Accept": "application/json",
            "User-Agent": f"motifscan/{__version__} (+python-requests)"}


class _ClientError(EnsemblError):
    """Ensembl answered 4xx: the request itself was refused (for lookups, often "not found").

    ``detail`` is Ensembl's own error text; the message also names the server and what was asked.
    """

    def __init__(self, status: int, detail: str, message: str) -> None:
        super().__init__(message)
        self.status, self.detail = status, detail


class _TooLarge(Exception):
    """An answer longer than allowed: refused unread, never retried (the server would send it again)."""


class _BadResponse(Exception):
    """An answer that cannot be used (invalid JSON, wrong length, wrong ID): worth another try."""


class _Unreachable(Exception):
    """The server's name cannot be resolved, or there is no route to any network: retrying cannot help."""


class _Throttle:
    """At most ``limit`` requests in any window of ``period`` seconds.

    A request's time is taken when it *ends*, so that the server, which sees it earlier, never counts more than
    ``limit`` in a window even when network latency varies. Meant for one thread issuing requests one at a time.
    """

    def __init__(self, limit: int, period: float, clock: Callable[[], float], sleep: Callable[[float], None]) -> None:
        self.limit, self.period = limit, period
        self._clock, self._sleep = clock, sleep
        self._times: deque[float] = deque(maxlen=limit)

    def wait(self) -> None:
        """Sleep until one more request fits in the window."""
        while len(self._times) == self.limit:
            pause = self._times[0] + self.period - self._clock()
            if pause <= 0:
                return
            self._sleep(pause)

    def record(self) -> None:
        """Count one request as done now."""
        self._times.append(self._clock())


class EnsemblSource:
    """Genes and sequence from an Ensembl REST server; a :class:`~motifscan.sources.GeneSource`.

    All coordinates it returns or accepts are 0-based half-open with strand ``"+"``/``"-"``.

    Parameters
    ----------
    species : str
        Ensembl species name or alias (``"human"``, ``"homo_sapiens"``).
    assembly : str
        ``"GRCh38"`` or ``"GRCh37"``; picks the server unless ``base_url`` or ``$MOTIFSCAN_ENSEMBL_URL`` is given,
        and every answer's ``assembly_name`` must match it. Other names are accepted only with an explicit server.
    base_url : str, optional
        Server to use instead of Ensembl's (mirror, test stand-in). Default: ``$MOTIFSCAN_ENSEMBL_URL``, else the
        assembly's public server.
    cache_dir : path, optional
        Folder of the persistent cache. Default: the user cache directory (``$MOTIFSCAN_CACHE_DIR`` overrides it).
    use_cache : bool
        False: keep nothing on disk.
    offline : bool
        Answer from the cache only, never touching the network.
    timeout : float, optional
        Seconds to wait for a connection or for the next bytes of an answer (a whole answer gets
        :data:`ANSWER_TIME_FACTOR` times as long). Default: ``$MOTIFSCAN_ENSEMBL_TIMEOUT``, else 120.
    max_retries : int, optional
        Further attempts after a failed one (429, 5xx, 408, connection error, timeout, unusable answer). Default:
        ``$MOTIFSCAN_ENSEMBL_RETRIES``, else 5.
    backoff : float, optional
        First pause between attempts in seconds when the server gives no ``Retry-After``; doubles each time (at
        most 60 s). Default: ``$MOTIFSCAN_ENSEMBL_BACKOFF``, else 1.
    max_wait : float
        Longest ``Retry-After`` honoured; a longer one (Ensembl's hourly limit) ends in :class:`EnsemblError`.
    max_synonym_lookups : int
        At most this many names per lookup are tried as synonyms (one request each); see
        :data:`MAX_SYNONYM_LOOKUPS`.
    release_ttl : float
        Seconds for which a cached Ensembl release is trusted before ``info/data`` is asked again; when the release
        changed, everything cached for this server, species and assembly is dropped.
    session : requests.Session, optional
        Session to use (not closed by :meth:`close`).
    clock, sleep : callable
        Monotonic clock and sleep function, replaceable in tests of the throttle and retries.

    Raises
    ------
    UsageError
        Unknown assembly without an explicit server, ``offline`` without the cache, or a bad timeout, retry count or
        backoff (given or from the environment).
    """

    def __init__(self, species: str = "human", assembly: str = "GRCh38", *, base_url: str | None = None,
                 cache_dir: str | os.PathLike[str] | None = None, use_cache: bool = True, offline: bool = False,
                 timeout: float | None = None, max_retries: int | None = None, backoff: float | None = None,
                 max_wait: float = 120.0, max_synonym_lookups: int = MAX_SYNONYM_LOOKUPS,
                 release_ttl: float = 86_400.0, session: requests.Session | None = None,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep) -> None:
        self.species = _normalise_species(species)
        self.base_url, self.assembly = _pick_server(assembly, base_url, self.species)
        if offline and not use_cache:
            raise UsageError("offline mode answers from the cache, so it cannot be combined with no cache")
        self.offline = offline
        self.timeout = _setting("timeout", timeout, TIMEOUT_ENV, DEFAULT_TIMEOUT, float, minimum=1e-3)
        self.max_retries = _setting("max_retries", max_retries, RETRIES_ENV, DEFAULT_RETRIES, int, maximum=100)
        self.backoff = _setting("backoff", backoff, BACKOFF_ENV, DEFAULT_BACKOFF, float, maximum=3600)
        self.max_wait = max_wait
        self.max_synonym_lookups = max_synonym_lookups
        self.release_ttl = release_ttl
        self._cache: Cache | NullCache = Cache(cache_dir, read_only=offline) if use_cache else NullCache()
        self._scope = f"{self.base_url}|{self.species}|{self.assembly}|{CACHE_FORMAT}"
        self._own_session = session is None
        self._session = session or requests.Session()
        self._sleep = sleep
        self._throttle = _Throttle(RATE_LIMIT, RATE_PERIOD, clock, sleep)
        self._release: str | None = None
        self._genes_on: dict[str, list[str]] = {}  # chromosome -> labels of the genes looked up there, for messages

    # ------------------------------------------------------------------------------------------------------------
    # The GeneSource interface

    def lookup(self, queries: Sequence[str]) -> list[GeneLookup]:
        """Resolve symbols (any case), gene IDs and transcript IDs (versioned or not), one GeneLookup per query.

        Symbols Ensembl does not know are tried as synonyms (``xrefs/symbol``), and ``note`` says so. Unknown queries
        give a GeneLookup without genes; in offline mode so do queries the cache lacks (note ``"not in the cache
        (offline)"``). Gene coordinates are 0-based half-open.

        Raises
        ------
        EnsemblError
            The server failed after the retries, or answered for another assembly or another ID.
        """
        self._ensure_release(f"to look up {_names(q.strip() for q in queries)}")
        parsed = [_classify(q) for q in queries]
        symbols = _unique(key for kind, key, _ in parsed if kind == "symbol")
        transcript_ids = _unique(key for kind, key, _ in parsed if kind == "transcript")
        by_symbol, genes = self._resolve_symbols(symbols)
        parents = self._resolve_transcripts(transcript_ids)
        wanted = [key for kind, key, _ in parsed if kind == "gene"]
        wanted += [p["gene_id"] for p in parents.values() if p]
        genes.update(self._genes_by_id(_unique(w for w in wanted if w not in genes)))
        results = [self._make_lookup(q, kind, key, version, by_symbol, parents, genes)
                   for q, (kind, key, version) in zip(queries, parsed)]
        for result in results:
            for gene in result.genes:
                labels = self._genes_on.setdefault(gene.chrom, [])
                if gene.label not in labels:
                    labels.append(gene.label)
        return results

    def chrom_length(self, chrom: str) -> int:
        """Length in bp of chromosome ``chrom`` (Ensembl's name, e.g. ``"6"``), from ``info/assembly``; cached.

        Raises
        ------
        OfflineCacheMiss
            Offline, and the cache does not hold it.
        EnsemblError
            Ensembl does not know the chromosome, or failed.
        """
        cached = self._cached("chrom", [chrom], lambda key, value: _length_problem(value)).get(chrom)
        if cached is not None:
            return cached
        needed = self._genes_on.get(chrom)
        needed_for = f" (needed for {_names(needed)})" if needed else ""
        if self.offline:
            raise OfflineCacheMiss(f"the length of chromosome {chrom}{needed_for} is {OFFLINE_NOTE}")
        self._ensure_release(f"for the length of chromosome {chrom}{needed_for}")
        if not _path_safe(chrom):
            raise EnsemblError(f"Ensembl ({self.base_url}) named a chromosome {chrom!r}{needed_for}, which cannot "
                               "be asked for")
        path = f"info/assembly/{_q(self.species)}/{_q(chrom)}"
        try:
            answer = self._request("GET", path, what=f"the length of chromosome {chrom}{needed_for}",
                                   validate=_expect_length)
        except _ClientError as exc:
            raise EnsemblError(f"Ensembl ({self.base_url}) knows no chromosome {chrom!r}{needed_for} for "
                               f"{self.species} {self.assembly}: {exc.detail}") from None
        self._check_assembly(answer.get("assembly_name"), f"chromosome {chrom}")
        length = answer["length"]
        self._cache.put(self._scope, "chrom", chrom, length)
        return length

    def fetch_sequences(self, regions: Sequence[Region]) -> list[str]:
        """The forward-strand (+) sequence of each region ``[start, end)`` (0-based half-open), whatever
        ``region.strand`` says, as Ensembl gives it (upper case; N where there is no sequence).

        Regions longer than 10 Mb are fetched in pieces; each piece is cached as soon as its batch arrives.

        Raises
        ------
        OfflineCacheMiss
            Offline, and the cache lacks some regions (they are named).
        EnsemblError
            The server failed after the retries, refused a region, or sent a sequence of the wrong length or place.
        """
        pieces = {r: _split(r.chrom, r.start, r.end) for r in regions}
        keys = _unique(_piece_key(p) for ps in pieces.values() for p in ps)
        have: dict[str, str] = self._cached("region", keys, _cached_sequence_problem)
        missing = [k for k in keys if k not in have]
        if missing and self.offline:
            lacking = [r for r, ps in pieces.items() if any(_piece_key(p) not in have for p in ps)]
            raise OfflineCacheMiss(f"the sequence of {_names(_region_label(r) for r in lacking)} is {OFFLINE_NOTE}")
        if missing:
            owners = _owners(pieces, set(missing))
            self._ensure_release(f"for the sequence of {_names(_unique(n for k in missing for n in owners[k]))}")
            batches = _sequence_batches([_parse_piece_key(k) for k in missing])
            with task("fetching", len(batches)) as progress:
                for batch in batches:
                    have.update(self._fetch_batch(batch, owners))
                    progress.advance()
        return ["".join(have[_piece_key(p)] for p in pieces[r]) for r in regions]

    def provenance(self) -> dict[str, str]:
        """Facts for output headers: source, server, species, assembly and the Ensembl release (``info/data``)."""
        self._ensure_release("")
        release = self._release or self._cached_release() or "unknown"
        return {"source": "ensembl", "server": self.base_url, "species": self.species, "assembly": self.assembly,
                "ensembl_release": str(release)}

    def close(self) -> None:
        """Close the HTTP session (if this object made it) and the cache."""
        if self._own_session:
            self._session.close()
        self._cache.close()

    def __enter__(self) -> EnsemblSource:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # ------------------------------------------------------------------------------------------------------------
    # Release: cached answers are only good for the release they came from

    def _ensure_release(self, needed_for: str) -> None:
        """Learn the server's Ensembl release (cached for ``release_ttl``); ``needed_for`` ends the error message."""
        if self._release is not None or self.offline:
            return
        stored = self._cached_release()
        stored_at = self._cache.stored_at(self._scope, "meta", "release")
        if stored is not None and stored_at is not None and time.time() - stored_at < self.release_ttl:
            self._release = stored
            return
        what = f"the Ensembl release{' (asked first, ' + needed_for + ')' if needed_for else ''}"
        answer = self._request("GET", "info/data", what=what, validate=_expect_releases)
        release = str(max(answer["releases"]))
        if stored is not None and stored != release:
            logger.info("Ensembl moved from release %s to %s: dropping the cached answers", stored, release)
            self._cache.clear_scope(self._scope)
        self._cache.put(self._scope, "meta", "release", release)
        self._release = release

    def _cached_release(self) -> str | None:
        return self._cached("meta", ["release"], lambda key, value: _release_problem(value)).get("release")

    # ------------------------------------------------------------------------------------------------------------
    # The cache: what is read back passes the checks that answers pass

    def _cached(self, kind: str, keys: Sequence[str], check: Callable[[str, Any], str | None]) -> dict[str, Any]:
        """The cached values of ``keys`` that pass ``check``. Damaged entries count as missing (they are fetched
        again, with a warning); offline, the first one is a :class:`CacheError` naming it."""
        values, damaged = self._cache.get_checked(self._scope, kind, keys, check)
        if damaged:
            listed = "; ".join(f"{kind} {key!r}: {problem}" for key, problem in list(damaged.items())[:3])
            more = f" and {len(damaged) - 3} more" if len(damaged) > 3 else ""
            if self.offline:
                raise CacheError(f"the cache {self._cache.path} holds a damaged entry ({listed}{more}); run without "
                                 "--offline to fetch it again, or delete the cache")
            logger.warning("the cache %s holds %d damaged entr%s (%s%s); fetching %s again", self._cache.path,
                           len(damaged), "y" if len(damaged) == 1 else "ies", listed, more,
                           "it" if len(damaged) == 1 else "them")
        return values

    # ------------------------------------------------------------------------------------------------------------
    # Lookups

    def _resolve_symbols(self, symbols: list[str]) -> tuple[dict[str, dict], dict[str, Gene | None]]:
        """``({SYMBOL: {"gene_ids": [...], "via": "symbol"|"synonym"}}, {gene_id: Gene})``; symbols absent from the
        first dict are offline misses. Symbol keys are upper case (Ensembl matches symbols case-insensitively)."""
        keys = {s.upper(): s for s in symbols}
        found: dict[str, dict] = self._cached("symbol", list(keys), lambda key, value: _symbol_entry_problem(value))
        genes: dict[str, Gene | None] = {}
        todo = [keys[k] for k in keys if k not in found]
        if todo and not self.offline:
            for batch in _chunks(todo, MAX_POST_IDS):
                hits, batch_genes = self._post_symbols(batch)
                found.update(hits)
                genes.update(batch_genes)
            unresolved = [s for s in todo if s.upper() not in found]
            synonym_hits, synonym_genes = self._resolve_synonyms(unresolved, genes)
            found.update(synonym_hits)
            genes.update(synonym_genes)
        wanted = _unique(i for hit in found.values() for i in hit["gene_ids"] if i not in genes)
        genes.update(self._genes_by_id(wanted))
        return found, genes

    def _post_symbols(self, symbols: list[str]) -> tuple[dict[str, dict], dict[str, Gene]]:
        """One ``POST lookup/symbol`` with expand=1; caches and returns the direct hits (misses are left out)."""
        answer = self._request("POST", f"lookup/symbol/{_q(self.species)}", params={"expand": 1},
                               body={"symbols": symbols}, what=f"the lookup of {_names(symbols)}",
                               validate=_expect_symbols(symbols))
        hits, genes, kept = {}, {}, {}
        for symbol, obj in answer.items():
            gene = self._gene_from_answer(obj, symbol)
            genes[gene.id] = gene
            kept[gene.id] = _stripped_gene(obj)
            hits[symbol.upper()] = {"gene_ids": [gene.id], "via": "symbol"}
        # Genes first: a symbol entry must never point at a gene the cache lacks.
        self._cache.put_many(self._scope, "gene", kept)
        self._cache.put_many(self._scope, "symbol", hits)
        return hits, genes

    def _resolve_synonyms(self, symbols: list[str],
                          known: dict[str, Gene | None]) -> tuple[dict[str, dict], dict[str, Gene | None]]:
        """Try symbols Ensembl's lookup missed as synonyms: ``xrefs/symbol``, then the genes by ID (except the
        ``known`` ones). Cached synonym answers cost nothing; beyond :attr:`max_synonym_lookups` names that need a
        request, the rest are left untried (``"via": "untried"``, not cached) and a warning says so."""
        cached = self._cached("xref", [s.upper() for s in symbols], lambda key, value: _xrefs_problem(value))
        need = [s for s in symbols if s.upper() not in cached]
        tried, untried = need[: self.max_synonym_lookups], need[self.max_synonym_lookups :]
        if untried:
            logger.warning("%d names are not current Ensembl symbols; synonym look-ups take one request each, so only "
                           "the first %d were tried as synonyms: the other %d (%s) are reported as not found (give "
                           "them as Ensembl gene IDs or current symbols)", len(need), len(tried), len(untried),
                           _names(untried))
        xrefs = {s: _xref_gene_ids(cached[s.upper()]) for s in symbols if s.upper() in cached}
        with task("synonyms", len(tried)) as progress:
            for symbol in tried:
                xrefs[symbol] = self._xref_gene_ids(symbol)
                progress.advance()
        genes = dict(known)
        genes.update(self._genes_by_id(_unique(i for ids in xrefs.values() for i in ids if i not in known)))
        hits = {}
        for symbol, ids in xrefs.items():
            found = _prefer_primary([gene for gene in (genes.get(i) for i in ids) if gene is not None])
            hits[symbol.upper()] = {"gene_ids": [g.id for g in found], "via": "synonym"}
        self._cache.put_many(self._scope, "symbol", hits)
        hits.update({s.upper(): {"gene_ids": [], "via": "untried"} for s in untried})
        return hits, genes

    def _xref_gene_ids(self, symbol: str) -> list[str]:
        """Gene IDs whose name, synonym or external reference is ``symbol``, asked of Ensembl; the answer's gene
        entries are cached per symbol."""
        if not _path_safe(symbol):
            return []  # "." or "..": no gene is called that, and no URL can carry it as one path segment
        path = f"xrefs/symbol/{_q(self.species)}/{_q(symbol)}"
        try:
            answer = self._request("GET", path, params={"object_type": "gene"}, what=f"the synonyms of {symbol}",
                                   validate=_expect_xrefs)
        except _ClientError:
            answer = []  # Ensembl answers some unknown names with 400/404: nothing found
        kept = [{"type": "gene", "id": x["id"]} for x in answer if x.get("type", "gene") == "gene"]
        self._cache.put(self._scope, "xref", symbol.upper(), kept)
        return _xref_gene_ids(kept)

    def _resolve_transcripts(self, transcript_ids: list[str]) -> dict[str, dict | None]:
        """``{transcript_id: {"gene_id": ..., "version": ...} or None (unknown)}``; absent = offline miss."""
        cached = self._cached("transcript", transcript_ids, _cached_transcript_problem)
        found = {t: _transcript_parent(obj) for t, obj in cached.items()}
        todo = [t for t in transcript_ids if t not in found]
        if todo and not self.offline:
            for batch in _chunks(todo, MAX_POST_IDS):
                answer = self._post_ids(batch, expand=False)
                for transcript_id, obj in answer.items():
                    if obj is not None:
                        self._check_assembly(obj.get("assembly_name"), transcript_id)
                kept = {t: None if obj is None else _stripped(obj, _TRANSCRIPT_FIELDS) for t, obj in answer.items()}
                self._cache.put_many(self._scope, "transcript", kept)
                found.update({t: _transcript_parent(obj) for t, obj in kept.items()})
        return found

    def _genes_by_id(self, gene_ids: list[str]) -> dict[str, Gene | None]:
        """``{gene_id: Gene or None (unknown to Ensembl)}``; IDs absent from the result are offline misses."""
        records = self._cached("gene", gene_ids, _cached_gene_problem)
        genes = {i: (None if r is None else gene_from_json(r)) for i, r in records.items()}
        todo = [i for i in gene_ids if i not in genes]
        if todo and not self.offline:
            for batch in _chunks(todo, MAX_POST_IDS):
                answer = self._post_ids(batch, expand=True)
                fetched = {i: (None if obj is None else self._gene_from_answer(obj, i)) for i, obj in answer.items()}
                self._cache.put_many(self._scope, "gene", {i: None if obj is None else _stripped_gene(obj)
                                                           for i, obj in answer.items()})
                genes.update(fetched)
        return genes

    def _post_ids(self, ids: list[str], expand: bool) -> dict[str, dict | None]:
        """One ``POST lookup/id``; checks that every ID came back, for itself (``null`` when unknown)."""
        # species= keeps IDs of other species (which lookup/id would otherwise find) out: they count as unknown.
        kind = "Gene" if expand else "Transcript"  # genes are looked up expanded, transcripts (for their gene) not
        return self._request("POST", "lookup/id", params={"expand": int(expand), "species": self.species},
                             body={"ids": ids},
                             what=f"the lookup of {_names(ids)}", validate=_expect_ids(ids, kind))

    def _gene_from_answer(self, obj: dict, asked: str) -> Gene:
        """A checked answer (see :func:`_feature_problem`) as a Gene, once its assembly is the one asked for."""
        self._check_assembly(obj.get("assembly_name"), asked)
        return gene_from_json(obj)

    def _make_lookup(self, query: str, kind: str, key: str, version: int | None, by_symbol: dict[str, dict],
                     parents: dict[str, dict | None], genes: dict[str, Gene | None]) -> GeneLookup:
        if kind == "none":
            return GeneLookup(query)
        if kind == "symbol":
            return _symbol_lookup(query, by_symbol.get(key.upper()), genes)
        if kind == "gene":
            return _gene_lookup(query, key, version, genes)
        return self._transcript_lookup(query, key, version, parents, genes)

    def _transcript_lookup(self, query: str, tid: str, version: int | None, parents: dict[str, dict | None],
                           genes: dict[str, Gene | None]) -> GeneLookup:
        if tid not in parents:
            return GeneLookup(query, note=OFFLINE_NOTE)
        parent = parents[tid]
        if parent is None:
            return GeneLookup(query)
        if parent["gene_id"] not in genes:
            return GeneLookup(query, note=OFFLINE_NOTE)
        gene = genes[parent["gene_id"]]
        if gene is None or all(t.id != tid for t in gene.transcripts):
            raise EnsemblError(f"Ensembl names {parent['gene_id']} as the gene of {tid}, but that gene does not "
                               "list the transcript")
        return GeneLookup(query, (gene,), transcript_id=tid, note=_version_note(query, tid, version,
                                                                                parent.get("version")))

    # ------------------------------------------------------------------------------------------------------------
    # Sequence

    def _fetch_batch(self, batch: list[tuple[str, int, int]], owners: dict[str, list[str]]) -> dict[str, str]:
        """One ``POST sequence/region`` for pieces ``(chrom, start, end)`` (0-based half-open); checked, cached."""
        queries = {region_query(*p): p for p in batch}
        names = _names(_unique(n for p in batch for n in owners[_piece_key(p)]))
        expected = sum(end - start for _, start, end in batch)
        answer = self._request("POST", f"sequence/region/{_q(self.species)}", body={"regions": list(queries)},
                               what=f"the sequence of {names}", validate=_expect_sequences(queries),
                               max_bytes=2 * expected + 4096 * len(batch) + 65536)
        for item in answer:
            self._check_assembly(item["id"].split(":")[1], names)
        seqs = {_piece_key(queries[item["query"]]): item["seq"] for item in answer}
        self._cache.put_many(self._scope, "region", seqs)  # kept at once, so an interrupted run resumes here
        return seqs

    # ------------------------------------------------------------------------------------------------------------
    # Enumerating genes (the promoter background of ``motifscan enrich``)

    def chromosomes(self) -> list[str]:
        """The assembly's chromosomes (``karyotype`` of ``info/assembly/:species``, else its top-level regions of
        coordinate system "chromosome"); cached."""
        cached = self._cached("karyotype", ["all"], _cached_chromosomes_problem).get("all")
        if cached is not None:
            return cached
        if self.offline:
            raise OfflineCacheMiss(f"the chromosomes of {self.species} {self.assembly} are {OFFLINE_NOTE}")
        self._ensure_release("for the list of chromosomes")
        answer = self._request("GET", f"info/assembly/{_q(self.species)}", what="the list of chromosomes",
                               validate=_expect(dict))
        self._check_assembly(answer.get("assembly_name"), "the list of chromosomes")
        names = answer.get("karyotype")
        if not isinstance(names, list) or not names:
            regions = answer.get("top_level_region") or []
            names = [r.get("name") for r in regions if isinstance(r, dict) and r.get("coord_system") == "chromosome"]
        if _chromosomes_problem(names):
            raise EnsemblError(f"Ensembl ({self.base_url}) gave no usable list of chromosomes for {self.species} "
                               f"{self.assembly}")
        self._cache.put(self._scope, "karyotype", "all", names)
        return names

    def gene_ids(self, biotype: str = "protein_coding") -> list[str]:
        """IDs of every gene of ``biotype`` on the assembly's chromosomes, in genomic order: ``overlap/region`` per
        chromosome in pieces of at most :data:`MAX_OVERLAP_BP` (Ensembl's limit for that endpoint), throttled and
        retried like every request, each piece cached as it arrives (so an interrupted run resumes)."""
        pieces = []
        for chrom in self.chromosomes():
            length = self.chrom_length(chrom)
            pieces += [(chrom, s, min(s + MAX_OVERLAP_BP, length)) for s in range(0, length, MAX_OVERLAP_BP)]
        keys = [f"{_piece_key(p)}|{biotype}" for p in pieces]
        have = self._cached("overlap_genes", keys, _cached_gene_ids_problem)
        missing = [(k, p) for k, p in zip(keys, pieces) if k not in have]
        if missing and self.offline:
            raise OfflineCacheMiss(f"the {biotype} genes of {len(missing)} stretches of {self.species} "
                                   f"{self.assembly} are {OFFLINE_NOTE}")
        with task("genes", len(missing)) as progress:
            for key, (chrom, start, end) in missing:
                region = f"{chrom}:{start + 1}-{end}"
                answer = self._request("GET", f"overlap/region/{_q(self.species)}/{_q(region)}",
                                       params={"feature": "gene", "biotype": biotype},
                                       what=f"the {biotype} genes of {region}", validate=_expect(list))
                ids = []
                for item in answer:
                    if not isinstance(item, dict) or not isinstance(item.get("id"), str) \
                            or not _GENE_ID.fullmatch(item["id"]):
                        raise EnsemblError(f"Ensembl ({self.base_url}) answered the genes of {region} with an "
                                           f"entry that is not a gene: {str(item)[:80]}")
                    self._check_assembly(item.get("assembly_name"), f"the genes of {region}")
                    if item.get("biotype", biotype) == biotype:
                        ids.append(unversioned(item["id"]))
                self._cache.put(self._scope, "overlap_genes", key, ids)
                have[key] = ids
                progress.advance()
        return _unique(i for k in keys for i in have[k])

    # ------------------------------------------------------------------------------------------------------------
    # HTTP

    def _request(self, method: str, path: str, *, what: str, params: dict | None = None, body: Any = None,
                 validate: Callable[[Any], None] | None = None, max_bytes: int | None = None) -> Any:
        """Send one request with throttling and bounded retries; return the decoded, validated JSON.

        Raises
        ------
        _ClientError
            Ensembl answered 400/404 (the caller decides whether that means "not found").
        EnsemblError
            Every attempt failed, Ensembl blocked us (403), or asked to wait longer than ``max_wait``.
        """
        url = f"{self.base_url}/{path}"
        max_bytes = max_bytes or MAX_JSON_BYTES
        problem, retry_after = "", None
        for attempt in range(self.max_retries + 1):
            if attempt:
                self._pause(attempt, problem, retry_after, what)
            try:
                status, headers, raw = self._send(method, url, params, body, max_bytes)
            except (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError,
                    requests.exceptions.ContentDecodingError) as exc:
                if _unreachable(exc):
                    raise EnsemblError(f"Ensembl ({self.base_url}) could not be reached for {what}: "
                                       f"{_connection_problem(exc)}; {NO_NETWORK_HINT}") from None
                problem, retry_after = _connection_problem(exc), None
                continue
            except _TooLarge as exc:
                raise EnsemblError(f"Ensembl ({self.base_url}) answered {what} with a body too large ({exc}); "
                                   "refused") from None
            except requests.RequestException as exc:  # a bad URL and the like: another attempt cannot help
                raise EnsemblError(f"cannot ask Ensembl ({self.base_url}) for {what}: {type(exc).__name__}: "
                                   f"{exc}") from None
            if 300 <= status < 400:
                raise EnsemblError(f"Ensembl ({self.base_url}) redirected the request for {what} to "
                                   f"{headers.get('Location', '?')}; give the server's final address with "
                                   "--ensembl-url")
            answer, problem = self._judge(status, raw, validate, what)
            if not problem:
                return answer
            retry_after = _retry_after(headers)
        raise EnsemblError(f"Ensembl ({self.base_url}) did not answer {what} after {self.max_retries + 1} "
                           f"attempts; last problem: {problem}")

    def _send(self, method: str, url: str, params: dict | None, body: Any,
              max_bytes: int) -> tuple[int, Any, bytes]:
        """One throttled HTTP exchange; returns status, headers and at most ``max_bytes`` of (decoded) body."""
        self._throttle.wait()
        logger.debug("%s %s %s", method, url, params or "")
        try:
            data = None if body is None else json.dumps(body)
            deadline = time.monotonic() + ANSWER_TIME_FACTOR * self.timeout
            with self._session.request(method, url, params=params, data=data, timeout=self.timeout, stream=True,
                                       headers=_HEADERS, allow_redirects=False) as resp:
                return resp.status_code, resp.headers, _read_bounded(resp, max_bytes, url, deadline)
        finally:
            self._throttle.record()

    def _judge(self, status: int, raw: bytes, validate: Callable[[Any], None] | None,
               what: str) -> tuple[Any, str]:
        """``(answer, "")`` for a usable answer, ``(None, why)`` when another attempt may help; raises when
        retrying is futile."""
        if status in (408, 429) or status >= 500:
            return None, f"HTTP {status} {_error_text(raw)}".strip()
        if status == 403:
            raise EnsemblError(f"Ensembl ({self.base_url}) refused {what} (HTTP 403): too many requests from this "
                               "address; wait a while before trying again")
        if status >= 400:
            detail = _error_text(raw) or f"HTTP {status}"
            raise _ClientError(status, detail, f"Ensembl ({self.base_url}) refused {what}: {detail}")
        try:
            answer = json.loads(raw)
            if validate is not None:
                validate(answer)
        except ValueError as exc:  # json.JSONDecodeError is a ValueError
            return None, f"invalid JSON ({exc})"
        except RecursionError:
            return None, "JSON nested too deeply"
        except _BadResponse as exc:
            return None, str(exc)
        return answer, ""

    def _pause(self, attempt: int, problem: str, retry_after: float | None, what: str) -> None:
        """Wait before attempt number ``attempt + 1``: the server's Retry-After, else exponential backoff."""
        delay = retry_after if retry_after is not None else min(self.backoff * 2 ** (attempt - 1), 60.0)
        if delay > self.max_wait:
            raise EnsemblError(f"Ensembl ({self.base_url}) asks to wait {delay:.0f} s before the next request, for "
                               f"{what} ({problem}); try again later")
        # a warning, not info: API users (whose logging shows warnings only) learn why a call is slow
        logger.warning("Ensembl (%s): %s; retrying in %.2f s (attempt %d of %d)", self.base_url, problem, delay,
                       attempt + 1, self.max_retries + 1)
        self._sleep(delay)

    def _check_assembly(self, name: Any, what: str) -> None:
        """Refuse answers for another assembly (e.g. GRCh37 data when GRCh38 was asked)."""
        if name is None:
            return
        if str(name).split(".")[0].lower() != self.assembly.split(".")[0].lower():
            raise EnsemblError(f"{self.base_url} answered {what} for assembly {name}, but {self.assembly} was asked; "
                               "choose the matching assembly or server")


# ----------------------------------------------------------------------------------------------------------------
# Conversions (the one place where Ensembl's 1-based closed coordinates become 0-based half-open)


def gene_from_json(obj: dict) -> Gene:
    """A :class:`Gene` from Ensembl's gene JSON (``expand=1`` for transcripts).

    Ensembl's ``start``/``end`` are 1-based closed; the Gene's are 0-based half-open (``start - 1``, ``end``).
    Transcripts are sorted by ID. The canonical one is the transcript flagged ``is_canonical``; if none carries the
    flag (older servers), the gene's ``canonical_transcript``.
    """
    gene_id = unversioned(obj["id"])
    raw = obj.get("Transcript") or []
    flagged = any("is_canonical" in t for t in raw)
    canonical = unversioned(obj.get("canonical_transcript") or "")
    transcripts = [_transcript_from_json(t, gene_id, bool(t.get("is_canonical")) if flagged
                                         else unversioned(t["id"]) == canonical) for t in raw]
    return Gene(id=gene_id, name=obj.get("display_name") or "", chrom=str(obj["seq_region_name"]),
                start=int(obj["start"]) - 1, end=int(obj["end"]), strand=_STRANDS[int(obj["strand"])],
                biotype=obj.get("biotype") or "", transcripts=tuple(sorted(transcripts, key=lambda t: t.id)),
                version=_int_or_none(obj.get("version")))


def _transcript_from_json(obj: dict, gene_id: str, is_canonical: bool) -> Transcript:
    """A :class:`Transcript` from Ensembl JSON: 1-based closed ``start``/``end`` become 0-based half-open."""
    return Transcript(id=unversioned(obj["id"]), gene_id=gene_id, chrom=str(obj["seq_region_name"]),
                      start=int(obj["start"]) - 1, end=int(obj["end"]), strand=_STRANDS[int(obj["strand"])],
                      biotype=obj.get("biotype") or "", is_canonical=is_canonical,
                      version=_int_or_none(obj.get("version")))


def region_query(chrom: str, start: int, end: int) -> str:
    """Ensembl's region string (1-based closed) for the forward strand of ``[start, end)`` (0-based half-open):
    ``chrom:start+1..end:1``."""
    return f"{chrom}:{start + 1}..{end}:1"


def _stripped(obj: dict, fields: Sequence[str]) -> dict:
    """Ensembl's object with only the fields motifscan uses: what the cache keeps, still in Ensembl's shape, so that
    it is checked on reading as an answer is checked on arrival."""
    return {k: obj[k] for k in fields if k in obj}


def _stripped_gene(obj: dict) -> dict:
    kept = _stripped(obj, _GENE_FIELDS)
    if "Transcript" in obj:
        kept["Transcript"] = [_stripped(t, _TRANSCRIPT_FIELDS) for t in obj["Transcript"]]
    return kept


def _transcript_parent(obj: dict | None) -> dict | None:
    """``{"gene_id": ..., "version": ...}`` of a checked transcript object, None for an unknown transcript."""
    if obj is None:
        return None
    return {"gene_id": unversioned(obj["Parent"]), "version": obj.get("version")}


# ----------------------------------------------------------------------------------------------------------------
# Building GeneLookups


def _symbol_lookup(query: str, hit: dict | None, genes: dict[str, Gene | None]) -> GeneLookup:
    if hit is not None and hit["via"] == "untried":
        return GeneLookup(query, note="not tried as a synonym: too many names were not current symbols")
    if hit is None or any(i not in genes for i in hit["gene_ids"]):
        return GeneLookup(query, note=OFFLINE_NOTE)
    found = tuple(g for g in (genes[i] for i in hit["gene_ids"]) if g is not None)
    if hit["via"] != "synonym" or not found:
        return GeneLookup(query, found)
    if len(found) == 1:
        note = f"{query} resolved to {found[0].label} ({found[0].id}) via Ensembl synonyms"
    else:
        listed = ", ".join(f"{g.label} ({g.id})" for g in found)
        note = f"{query} matches {len(found)} genes via Ensembl synonyms: {listed}"
    return GeneLookup(query, found, note=note)


def _gene_lookup(query: str, gene_id: str, version: int | None, genes: dict[str, Gene | None]) -> GeneLookup:
    if gene_id not in genes:
        return GeneLookup(query, note=OFFLINE_NOTE)
    gene = genes[gene_id]
    if gene is None:
        return GeneLookup(query)
    return GeneLookup(query, (gene,), note=_version_note(query, gene_id, version, gene.version))


def _version_note(query: str, stable_id: str, asked: int | None, served: int | None) -> str:
    if asked is None or served is None or asked == served:
        return ""
    return f"{query}: Ensembl serves version {served} of {stable_id}"


# ----------------------------------------------------------------------------------------------------------------
# Checks. Each ``*_problem`` function says what is wrong with a piece of an answer (None: nothing); the ``_expect*``
# validators raise _BadResponse (worth a retry) for server answers, and the cache applies the same functions to what
# it reads back (:meth:`EnsemblSource._cached`).


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _feature_problem(obj: Any, kind: str) -> str | None:
    """What is wrong with Ensembl's JSON for a ``kind`` (``"Gene"`` or ``"Transcript"``): its ID, name and biotype
    against the strict patterns of :mod:`motifscan.identifiers`, its place (1-based closed, strand 1/-1), its version,
    and for a gene each of its transcripts."""
    if not isinstance(obj, dict):
        return f"not a {kind.lower()} object: {str(obj)[:80]!r}"
    feature_id = obj.get("id")
    problem = name_problem("id", feature_id)
    if problem:
        return f"the {kind.lower()} ID {feature_id!r} {problem}"
    if obj.get("object_type", kind) != kind:
        return f"{feature_id} is a {obj.get('object_type')!r}, not a {kind.lower()}"
    for field, check in (("display_name", "name"), ("biotype", "biotype"), ("Parent", "id"),
                         ("canonical_transcript", "id")):
        value = obj.get(field)
        if value not in (None, "") and name_problem(check, value):
            return f"{feature_id}: the {field} {value!r} {name_problem(check, value)}"
    chrom, start, end, strand = (obj.get(k) for k in ("seq_region_name", "start", "end", "strand"))
    if name_problem("chromosome", chrom):
        return f"{feature_id}: the seq_region_name {chrom!r} {name_problem('chromosome', chrom)}"
    if not (isinstance(start, int) and isinstance(end, int) and _is_int(start) and _is_int(end)
            and 1 <= start <= end):
        return f"{feature_id}: bad start/end {start!r}/{end!r}"
    if not _is_int(strand) or strand not in _STRANDS:
        return f"{feature_id}: bad strand {strand!r}"
    if obj.get("version") is not None and not (_is_int(obj["version"]) and obj["version"] >= 0):
        return f"{feature_id}: bad version {obj['version']!r}"
    if obj.get("is_canonical") not in (None, 0, 1):  # True and False are 1 and 0
        return f"{feature_id}: bad is_canonical {obj['is_canonical']!r}"
    transcripts = obj.get("Transcript", [])
    if kind == "Gene":
        if not isinstance(transcripts, list):
            return f"{feature_id}: Transcript is not a list"
        for transcript in transcripts:
            problem = _feature_problem(transcript, "Transcript")
            if problem:
                return f"{feature_id}: {problem}"
    return None


def _expect(kind: type[dict] | type[list], *fields: str) -> Callable[[Any], None]:
    def check(answer: Any) -> None:
        if not isinstance(answer, kind) or any(f not in answer for f in fields):
            raise _BadResponse(f"unexpected answer shape: {str(answer)[:200]}")
    return check


def _release_problem(value: Any) -> str | None:
    return None if isinstance(value, str) and value.isdigit() and value.isascii() else f"bad release {value!r}"


def _expect_releases(answer: Any) -> None:
    """An info/data answer: ``{"releases": [int, ...]}``, at least one."""
    _expect(dict, "releases")(answer)
    releases = answer["releases"]
    if not isinstance(releases, list) or not releases or not all(_is_int(r) and r > 0 for r in releases):
        raise _BadResponse(f"info/data gave no release as a whole number: {str(releases)[:100]}")


def _length_problem(length: Any) -> str | None:
    return None if _is_int(length) and length > 0 else f"bad chromosome length {length!r}"


def _expect_length(answer: Any) -> None:
    """An info/assembly/SPECIES/CHROM answer: ``{"length": int > 0, ...}``."""
    _expect(dict, "length")(answer)
    problem = _length_problem(answer["length"])
    if problem:
        raise _BadResponse(problem)


def _xrefs_problem(answer: Any) -> str | None:
    """An xrefs/symbol answer: a list of objects; those of type gene carry a valid gene ID."""
    if not isinstance(answer, list):
        return f"not a list: {str(answer)[:80]!r}"
    for item in answer:
        if not isinstance(item, dict) or not isinstance(item.get("type", "gene"), str):
            return f"not an xref object: {str(item)[:80]!r}"
        if item.get("type", "gene") == "gene" and name_problem("id", item.get("id")):
            return f"the gene ID {item.get('id')!r} {name_problem('id', item.get('id'))}"
    return None


def _expect_xrefs(answer: Any) -> None:
    problem = _xrefs_problem(answer)
    if problem:
        raise _BadResponse(problem)


def _xref_gene_ids(answer: list[dict]) -> list[str]:
    """The unversioned gene IDs of a checked xrefs/symbol answer."""
    return _unique(unversioned(x["id"]) for x in answer if x.get("type", "gene") == "gene")


def _expect_symbols(asked: list[str]) -> Callable[[Any], None]:
    """A lookup/symbol answer: an object keyed by symbols we sent, each a gene object of that name (Ensembl matches
    display names case-insensitively)."""
    sent = set(asked)

    def check(answer: Any) -> None:
        _expect(dict)(answer)
        stray = [k for k in answer if k not in sent]
        if stray:
            raise _BadResponse(f"answer for names that were not asked: {_names(repr(k) for k in stray)}")
        for symbol, obj in answer.items():
            problem = _feature_problem(obj, "Gene")
            if problem:
                raise _BadResponse(f"the answer for {symbol}: {problem}")
            if str(obj.get("display_name", "")).upper() != symbol.upper():
                raise _BadResponse(f"asked for {symbol}, got {obj.get('display_name')!r} ({obj.get('id')})")
    return check


def _expect_ids(asked: list[str], kind: str) -> Callable[[Any], None]:
    """A lookup/id answer: every ID we sent, mapped to null or to a ``kind`` object with that very ID."""
    def check(answer: Any) -> None:
        _expect(dict)(answer)
        missing = [i for i in asked if i not in answer]
        if missing:
            raise _BadResponse(f"no answer for {_names(missing)}")
        for stable_id in asked:
            obj = answer[stable_id]
            if obj is None:
                continue
            problem = _feature_problem(obj, kind)
            if problem:
                raise _BadResponse(f"the answer for {stable_id}: {problem}")
            if unversioned(obj["id"]) != stable_id:
                raise _BadResponse(f"asked for {stable_id}, got {obj['id']!r}")
            if kind == "Transcript" and not obj.get("Parent"):
                raise _BadResponse(f"the answer for {stable_id} names no gene (Parent)")
    return check


def _symbol_entry_problem(entry: Any) -> str | None:
    """A cached symbol entry: ``{"gene_ids": [valid IDs], "via": "symbol" | "synonym"}``."""
    if not isinstance(entry, dict) or entry.get("via") not in ("symbol", "synonym") \
            or not isinstance(entry.get("gene_ids"), list):
        return f"not a symbol entry: {str(entry)[:80]!r}"
    bad = next((i for i in entry["gene_ids"] if name_problem("id", i)), None)
    return None if bad is None else f"the gene ID {bad!r} {name_problem('id', bad)}"


def _chromosomes_problem(names: Any) -> str | None:
    """A list of chromosome names (an answer's, or a cached one): non-empty, each a valid chromosome name
    (:func:`motifscan.identifiers.name_problem`) that can travel as a URL path segment."""
    if not isinstance(names, list) or not names:
        return f"not a list of chromosome names: {str(names)[:80]!r}"
    for name in names:
        problem = name_problem("chromosome", name) or (None if _path_safe(name) else "is not a name")
        if problem:
            return f"the chromosome {str(name)[:80]!r} {problem}"
    return None


def _cached_chromosomes_problem(key: str, value: Any) -> str | None:
    return _chromosomes_problem(value)


def _cached_gene_ids_problem(key: str, value: Any) -> str | None:
    """A cached piece of ``overlap/region``: a list of gene IDs, each as the answer's were checked on arrival."""
    if not isinstance(value, list):
        return f"not a list of gene IDs: {str(value)[:80]!r}"
    bad = next((i for i in value if not isinstance(i, str) or not _GENE_ID.fullmatch(i)), None)
    return None if bad is None else f"{str(bad)[:80]!r} is not a gene ID"


def _cached_gene_problem(key: str, value: Any) -> str | None:
    """A cached gene: None (unknown to Ensembl) or Ensembl's gene JSON for that very ID."""
    if value is None:
        return None
    problem = _feature_problem(value, "Gene")
    if problem is None and unversioned(value["id"]) != key:
        problem = f"the entry is for {value['id']!r}"
    return problem


def _cached_transcript_problem(key: str, value: Any) -> str | None:
    """A cached transcript: None (unknown to Ensembl) or Ensembl's transcript JSON for that ID, naming its gene."""
    if value is None:
        return None
    problem = _feature_problem(value, "Transcript")
    if problem is None and unversioned(value["id"]) != key:
        problem = f"the entry is for {value['id']!r}"
    if problem is None and not value.get("Parent"):
        problem = "it names no gene (Parent)"
    return problem


def _expect_sequences(queries: dict[str, tuple[str, int, int]]) -> Callable[[Any], None]:
    """A sequence/region answer: one object per region sent, each with the right place and length."""
    def check(answer: Any) -> None:
        _expect(list)(answer)
        by_query = {}
        for item in answer:
            if not isinstance(item, dict) or not isinstance(item.get("seq"), str) or item.get("query") not in queries:
                raise _BadResponse(f"a sequence for a region that was not asked: {str(item)[:200]}")
            by_query[item["query"]] = item
        missing = [q for q in queries if q not in by_query]
        if missing:
            raise _BadResponse(f"no sequence for {_names(missing)}")
        for query, (chrom, start, end) in queries.items():
            _check_sequence(query, by_query[query], chrom, start, end)
    return check


def _sequence_problem(sequence: Any, length: int) -> str | None:
    """What is wrong with a sequence that should hold ``length`` bases (its length, or a character that is no
    sequence letter: :func:`motifscan.encoding.first_non_sequence`)."""
    if not isinstance(sequence, str):
        return f"not a sequence: {str(sequence)[:80]!r}"
    if len(sequence) != length:
        return f"{len(sequence)} bases instead of {length}"
    bad = first_non_sequence(sequence)
    if bad is not None:
        return f"the sequence holds {sequence[bad]!r} at base {bad + 1}, which is not a base"
    return None


def _cached_sequence_problem(key: str, value: Any) -> str | None:
    _, start, end = _parse_piece_key(key)
    return _sequence_problem(value, end - start)


def _check_sequence(query: str, item: dict, chrom: str, start: int, end: int) -> None:
    """``item`` must hold ``end - start`` bases and an ID ``coord_system:assembly:chrom:start+1:end:1``."""
    problem = _sequence_problem(item["seq"], end - start)
    if problem:
        raise _BadResponse(f"{query}: {problem}")
    parts = str(item.get("id", "")).split(":")
    if len(parts) < 6 or parts[2:] != [chrom, str(start + 1), str(end), "1"]:
        raise _BadResponse(f"{query}: the answer is for {item.get('id')!r}")


# ----------------------------------------------------------------------------------------------------------------
# Small helpers


def _connection_problem(exc: Exception) -> str:
    """A short account of a failed connection: its innermost cause ("connection refused", "Name or service not
    known", "read timed out"), not urllib3's nested representation."""
    cause: BaseException = exc
    while True:
        inner = cause.__cause__ or cause.__context__
        if inner is None:
            break
        cause = inner
    reason = getattr(cause, "strerror", None) or str(cause).split(": ")[-1].strip(" ')\"") or type(cause).__name__
    return f"{type(exc).__name__} ({reason})"


def _unreachable(exc: BaseException) -> bool:
    """Whether a failed connection means that the server cannot be reached at all: its name did not resolve (no
    network, no DNS, a mistyped host) or no network route exists. Retrying those only makes the user wait."""
    seen: set[int] = set()
    todo: list[Any] = [exc]
    while todo:
        cause = todo.pop()
        if cause is None or id(cause) in seen:
            continue
        seen.add(id(cause))
        if isinstance(cause, socket.gaierror) or type(cause).__name__ == "NameResolutionError":
            return True
        if isinstance(cause, OSError) and cause.errno == errno.ENETUNREACH:
            return True
        if isinstance(cause, BaseException):
            todo += [cause.__cause__, cause.__context__, getattr(cause, "reason", None),
                     *(a for a in cause.args if isinstance(a, BaseException))]
    return False


def _pick_server(assembly: str, base_url: str | None, species: str = "homo_sapiens") -> tuple[str, str]:
    """(server URL without trailing slash, canonical assembly name). Human assemblies pick their server (GRCh37 has
    its own); another species' assembly (e.g. GRCm39 for mouse) is served by the main server."""
    canonical = next((a for a in SERVERS if a.lower() == assembly.strip().lower()), None)
    url = base_url or os.environ.get(URL_ENV) or None
    human = species in ("human", "homo_sapiens")
    if canonical is None and url is None and human:
        raise UsageError(f"unknown human assembly {assembly!r}: choose one of {', '.join(SERVERS)} "
                         "(or give a server URL)")
    if not human and canonical is not None:
        raise UsageError(f"{assembly} is a human assembly; give --assembly for {species} (e.g. GRCm39 for mouse)")
    if url is not None and not re.match(r"^https?://", url):
        raise UsageError(f"the Ensembl server URL must start with http:// or https://, not {url!r}")
    return (url or SERVERS[canonical or "GRCh38"]).rstrip("/"), canonical or assembly.strip()


def _normalise_species(species: str) -> str:
    name = species.strip().lower().replace(" ", "_")
    if not re.match(r"^[a-z0-9_]+$", name):
        raise UsageError(f"not a species name: {species!r}")
    return name


def _classify(query: str) -> tuple[str, str, int | None]:
    """(kind, key, version): kind ``"gene"``/``"transcript"`` with the upper-case unversioned ID, ``"symbol"``
    with the name as typed, or ``"none"`` for a blank query."""
    text = query.strip()
    if not text:
        return "none", "", None
    for kind, pattern in (("gene", _GENE_ID), ("transcript", _TRANSCRIPT_ID)):
        match = pattern.match(text)
        if match:
            return kind, match.group(1).upper(), _int_or_none(match.group(2))
    return "symbol", text, None


def _prefer_primary(genes: list[Gene]) -> list[Gene]:
    """Drop genes on patches and haplotypes (Ensembl names them ``CHR_...``) when a primary-assembly gene exists."""
    primary = [g for g in genes if not g.chrom.upper().startswith("CHR_")]
    return primary or genes


def _split(chrom: str, start: int, end: int) -> list[tuple[str, int, int]]:
    """``[start, end)`` (0-based half-open) cut into pieces of at most :data:`MAX_REGION_BP`."""
    return [(chrom, s, min(s + MAX_REGION_BP, end)) for s in range(start, end, MAX_REGION_BP)]


def _piece_key(piece: tuple[str, int, int]) -> str:
    """Cache key of a piece: ``chrom:start-end``, 0-based half-open."""
    chrom, start, end = piece
    return f"{chrom}:{start}-{end}"


def _parse_piece_key(key: str) -> tuple[str, int, int]:
    chrom, _, span = key.rpartition(":")
    start, end = span.split("-")
    return chrom, int(start), int(end)


def _owners(pieces: dict[Region, list[tuple[str, int, int]]], keys: set[str]) -> dict[str, list[str]]:
    """For error messages: the labels of the regions that need each missing piece."""
    owners: dict[str, list[str]] = {k: [] for k in keys}
    for region, region_pieces in pieces.items():
        for piece in region_pieces:
            if _piece_key(piece) in owners:
                owners[_piece_key(piece)].append(_region_label(region))
    return owners


def _sequence_batches(pieces: list[tuple[str, int, int]]) -> list[list[tuple[str, int, int]]]:
    """Group pieces into POSTs of at most 50 regions and :data:`MAX_BATCH_BP` bases."""
    batches: list[list[tuple[str, int, int]]] = [[]]
    size = 0
    for piece in pieces:
        length = piece[2] - piece[1]
        if batches[-1] and (len(batches[-1]) == MAX_POST_REGIONS or size + length > MAX_BATCH_BP):
            batches.append([])
            size = 0
        batches[-1].append(piece)
        size += length
    return [b for b in batches if b]


def _region_label(region: Region) -> str:
    """A region's name, else ``chrom:start-end`` in 1-based closed coordinates (as people read them)."""
    return region.name or f"{region.chrom}:{region.start + 1}-{region.end}"


def _read_bounded(resp: requests.Response, max_bytes: int, url: str, deadline: float | None = None) -> bytes:
    """The (decompressed) body, refusing more than ``max_bytes`` so that a runaway answer cannot exhaust memory, and
    raising :class:`requests.Timeout` (retried) when it is still coming at ``deadline`` (``time.monotonic()``)."""
    declared = resp.headers.get("Content-Length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise _TooLarge(f"{declared} bytes from {url}; the limit is {max_bytes}")
    chunks, total = [], 0
    for chunk in _body_pieces(resp):
        total += len(chunk)
        if total > max_bytes:
            raise _TooLarge(f"more than {max_bytes} bytes from {url}; the limit is {max_bytes}")
        chunks.append(chunk)
        if deadline is not None and time.monotonic() > deadline:
            raise requests.Timeout(f"the answer from {url} was still arriving after the time allowed")
    return b"".join(chunks)


def _body_pieces(resp: requests.Response) -> Iterable[bytes]:
    """The decoded body in pieces as they arrive (``read1``: one network read each, so that the caller sees a
    trickling answer piece by piece; ``iter_content`` waits for 64 KiB). urllib3's errors become requests' ones."""
    raw = getattr(resp, "raw", None)
    if raw is None or not hasattr(raw, "read1"):  # urllib3 < 2
        yield from resp.iter_content(chunk_size=1 << 16)
        return
    import urllib3.exceptions as url_errors

    while True:
        try:
            piece = raw.read1(1 << 16, decode_content=True)
        except url_errors.ReadTimeoutError as exc:
            raise requests.exceptions.ReadTimeout(str(exc)) from None
        except url_errors.DecodeError as exc:
            raise requests.exceptions.ContentDecodingError(str(exc)) from None
        except url_errors.ProtocolError as exc:
            raise requests.exceptions.ChunkedEncodingError(str(exc)) from None
        except (url_errors.HTTPError, OSError) as exc:
            raise requests.ConnectionError(f"{type(exc).__name__}: {exc}") from None
        if not piece:
            return
        yield piece


def _retry_after(headers: Any) -> float | None:
    """``Retry-After`` in seconds (Ensembl sends a number, possibly fractional), or None."""
    value = headers.get("Retry-After") if headers is not None else None
    try:
        seconds = float(value) if value is not None else None
    except ValueError:
        return None
    if seconds is None or not math.isfinite(seconds):  # "nan", "inf": no usable advice, so the usual backoff
        return None
    return max(seconds, 0.0)


def _error_text(raw: bytes) -> str:
    """Ensembl's ``{"error": ...}`` message, or the start of a plain-text body."""
    text = raw[:2000].decode("utf-8", errors="replace").strip()
    try:
        decoded = json.loads(text)
    except (ValueError, RecursionError):
        return text[:300]
    return str(decoded.get("error", text))[:300] if isinstance(decoded, dict) else text[:300]


def _names(items: Iterable[str], limit: int = 5) -> str:
    """``"A, B, C"`` or ``"A, B, C, D, E and 7 more"`` for messages."""
    listed = list(items)
    shown = ", ".join(listed[:limit])
    return shown if len(listed) <= limit else f"{shown} and {len(listed) - limit} more"


def _q(segment: str) -> str:
    """A user-given name made safe as one URL path segment (``/``, ``?``, ``#``, ``%``, spaces... percent-encoded).

    ``.`` and ``..`` cannot be made safe (HTTP clients resolve them even percent-encoded): callers check
    :func:`_path_safe` first."""
    if not _path_safe(segment):
        raise ValueError(f"{segment!r} cannot be one URL path segment")
    return quote(segment, safe="")


def _path_safe(segment: str) -> bool:
    """Whether ``segment`` can travel as one URL path segment: not empty, not ``.`` or ``..``."""
    return segment.strip(".") != ""


def _setting(name: str, given: Any, env: str, default: Any, kind: type, minimum: float = 0,
             maximum: float = float("inf")) -> Any:
    """A client setting: ``given``, else the environment variable ``env``, else ``default``; checked."""
    value, origin = given, name
    if value is None:
        value, origin = os.environ.get(env, "").strip() or default, f"${env}"
    try:
        number = kind(value)
        if isinstance(value, float) and kind is int and number != value:
            raise ValueError
    except (TypeError, ValueError):
        raise UsageError(f"{origin} must be {'a whole number' if kind is int else 'a number'}, not {value!r}") from None
    if not (minimum <= number <= maximum):  # also refuses NaN
        raise UsageError(f"{origin} must be between {minimum:g} and {maximum:g}, not {value!r}")
    return number


def _int_or_none(value: Any) -> int | None:
    try:
        return None if value is None else int(value)
    except (TypeError, ValueError):
        return None


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))


def _chunks(items: list[str], size: int) -> list[list[str]]:
    return [items[i : i + size] for i in range(0, len(items), size)]
