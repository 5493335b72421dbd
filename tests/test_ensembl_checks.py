"""What the Ensembl client does with bad answers, a damaged or read-only cache, and no network (issue 9, items 3, 4,
10, 12, 21 and 22): the real client and the real command line against the stand-in server on 127.0.0.1, the real
SQLite cache file damaged with SQLite itself, and name resolution failing in the real socket layer.

Every bad answer is retried and then reported in one line (exit 1); a damaged cache entry is fetched again, or
refused by name offline; hits are those of the demo genome whenever the run succeeds.
"""

from __future__ import annotations

import io
import json
import logging
import socket
import sqlite3
import time
import traceback
from pathlib import Path

import pytest
from click.testing import CliRunner
from ensembl_faults import ENSEMBL_RETRIES as RETRIES
from ensembl_faults import STANDIN_GENES as GENES
from ensembl_faults import data_rows
from faults import unprivileged

from motifscan.cli import cli
from motifscan.progress import report_to
from motifscan.sources.cache import CACHE_FILE_NAME
from motifscan.sources.ensembl import EnsemblSource

pytestmark = pytest.mark.usefixtures("fast_ensembl_client")  # tests/conftest.py


def scan(standin, cache: Path, *genes: str, offline: bool = False, quiet: bool = True, url: str | None = None):
    args = ["scan", "--ensembl-url", url or standin.url, "--assembly", "GRCh37", "--cache-dir", str(cache),
            "--pvalue", "1e-3", *genes] + (["--offline"] if offline else [])
    return CliRunner().invoke(cli, (["-q"] if quiet else []) + args)


def one_line(result) -> str:
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    return lines[0]


def tamper(cache: Path, kind: str, value: str, key_like: str = "%") -> int:
    """Replace the stored text of cache entries of ``kind`` (keys LIKE ``key_like``) by ``value``; how many."""
    with sqlite3.connect(cache / CACHE_FILE_NAME) as db:
        changed = db.execute("UPDATE entries SET value = ? WHERE kind = ? AND key LIKE ?",
                             (value, kind, key_like)).rowcount
    assert changed, f"no {kind} entry in the cache"
    return changed


# ---------------------------------------------------------------------------------------------------------------
# item 3: cached answers are checked on reading, as answers are on arrival


@pytest.mark.parametrize("damage", [json.dumps("ACGT"), json.dumps("!" * 2500), "[[[not json", json.dumps(7)])
def test_a_damaged_cached_region_is_fetched_again(ensembl_standin, tmp_path, demo_rows, damage):
    cache = tmp_path / "cache"
    assert scan(ensembl_standin, cache, *GENES).exit_code == 0
    tamper(cache, "region", damage)
    ensembl_standin.reset()
    result = scan(ensembl_standin, cache, *GENES, quiet=False)
    assert result.exit_code == 0, result.stderr
    assert data_rows(result.stdout) == demo_rows
    assert "damaged" in result.stderr and [r.path for r in ensembl_standin.requests] == ["sequence/region/human"]


@pytest.mark.parametrize("kind, damage", [("region", json.dumps("ACGT")), ("region", json.dumps("!" * 2500)),
                                          ("gene", json.dumps([1, 2])), ("gene", json.dumps({"id": 5})),
                                          ("symbol", json.dumps({"gene_ids": "ENSG1", "via": "symbol"})),
                                          ("chrom", json.dumps("long"))])
def test_offline_a_damaged_entry_is_one_line_naming_it(ensembl_standin, tmp_path, kind, damage):
    cache = tmp_path / "cache"
    assert scan(ensembl_standin, cache, *GENES).exit_code == 0
    tamper(cache, kind, damage)
    result = scan(ensembl_standin, cache, *GENES, offline=True)
    assert result.exit_code == 1
    line = one_line(result)
    assert "damaged" in line and f"{kind} '" in line and CACHE_FILE_NAME in line and "--offline" in line


def test_damaged_cached_gene_json_is_fetched_again(ensembl_standin, tmp_path, demo_rows):
    cache = tmp_path / "cache"
    assert scan(ensembl_standin, cache, *GENES).exit_code == 0
    tamper(cache, "gene", json.dumps({"id": "ENSG00000054598", "seq_region_name": "6", "start": "x"}))
    ensembl_standin.reset()
    result = scan(ensembl_standin, cache, *GENES)
    assert result.exit_code == 0, result.stderr
    assert data_rows(result.stdout) == demo_rows
    assert [r.path for r in ensembl_standin.requests] == ["lookup/id"]


# ---------------------------------------------------------------------------------------------------------------
# item 4: IDs and names in answers must match strict patterns (a tab and a newline would plant a row)

EVIL = "ENST00000380874\tchr1\t1\t2\tEVIL\n"


def _evil_transcript(payload):
    for gene in payload.values():
        if gene.get("Transcript"):
            gene["Transcript"][0]["id"] = EVIL
    return payload


def test_an_id_holding_a_tab_and_newline_is_retried_then_refused(ensembl_standin, tmp_path, demo_rows):
    ensembl_standin.corrupt_next(RETRIES + 1, _evil_transcript, match="lookup/symbol")
    result = scan(ensembl_standin, tmp_path / "cache", *GENES)
    assert result.exit_code == 1 and "EVIL" not in result.stdout
    line = one_line(result)
    assert "after 3 attempts" in line and "transcript ID" in line and "a tab" in line
    ensembl_standin.reset()
    ensembl_standin.corrupt_next(1, _evil_transcript, match="lookup/symbol")  # once only: the retry heals it
    result = scan(ensembl_standin, tmp_path / "cache", *GENES)
    assert result.exit_code == 0 and data_rows(result.stdout) == demo_rows


@pytest.mark.parametrize("field, value", [("display_name", "FOX\nC1"), ("seq_region_name", "6\t1"),
                                          ("biotype", "protein coding"), ("id", "ENSG00000054598\x00")])
def test_control_characters_and_spaces_in_gene_fields_are_refused(ensembl_standin, tmp_path, field, value):
    def corrupt(payload):
        for gene in payload.values():
            gene[field] = value
        return payload

    ensembl_standin.corrupt_next(RETRIES + 1, corrupt, match="lookup/symbol")
    result = scan(ensembl_standin, tmp_path / "cache", "FOXC1")
    assert result.exit_code == 1
    assert field in one_line(result) or "gene ID" in one_line(result)


# ---------------------------------------------------------------------------------------------------------------
# item 10: Retry-After: nan, deeply nested JSON, info/data with releases that are not whole numbers


def test_retry_after_nan_falls_back_to_the_backoff(ensembl_standin, tmp_path):
    ensembl_standin.fail_next(1, status=503, retry_after=float("nan"))
    source = EnsemblSource(assembly="GRCh37", base_url=ensembl_standin.url, cache_dir=tmp_path / "cache")
    (lookup,) = source.lookup(["FOXC1"])
    assert lookup.genes[0].id == "ENSG00000054598"
    assert ensembl_standin.requests[0].status == 503


def test_deeply_nested_json_is_a_bad_answer(ensembl_standin, tmp_path, demo_rows):
    nested = b"[" * 200_000 + b"]" * 200_000
    ensembl_standin.garbage_next(RETRIES + 1, body=nested, content_type="application/json", match="info/data")
    result = scan(ensembl_standin, tmp_path / "cache", *GENES)
    assert result.exit_code == 1
    assert "nested too deeply" in one_line(result)
    ensembl_standin.reset()
    ensembl_standin.garbage_next(1, body=nested, content_type="application/json", match="info/data")
    result = scan(ensembl_standin, tmp_path / "cache", *GENES)
    assert result.exit_code == 0 and data_rows(result.stdout) == demo_rows


@pytest.mark.parametrize("releases", [["75", None], [75.5], [], "75", [True]])
def test_info_data_releases_must_be_whole_numbers(ensembl_standin, tmp_path, releases):
    ensembl_standin.corrupt_next(RETRIES + 1, lambda payload: {"releases": releases}, match="info/data")
    result = scan(ensembl_standin, tmp_path / "cache", *GENES)
    assert result.exit_code == 1
    line = one_line(result)
    assert "release" in line and "after 3 attempts" in line
    assert [r.path for r in ensembl_standin.requests] == ["info/data"] * 3


# ---------------------------------------------------------------------------------------------------------------
# item 12: no network: a name that cannot be resolved is not retried; retries are logged for API users too


@pytest.fixture
def unresolvable(monkeypatch) -> list[str]:
    """``ensembl.invalid`` fails name resolution in the real socket layer (as it does on a machine with no network);
    other names resolve as usual. Returns the list of resolution attempts for it."""
    attempts: list[str] = []
    real = socket.getaddrinfo

    def getaddrinfo(host, *args, **kwargs):
        if host == "ensembl.invalid":
            attempts.append(host)
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return attempts


def test_an_unresolvable_server_fails_at_once_with_what_to_do(ensembl_standin, tmp_path, monkeypatch, unresolvable):
    monkeypatch.setenv("MOTIFSCAN_ENSEMBL_RETRIES", "5")
    monkeypatch.setenv("MOTIFSCAN_ENSEMBL_BACKOFF", "1")
    started = time.monotonic()
    result = scan(ensembl_standin, tmp_path / "cache", "IL6R", url="http://ensembl.invalid")
    assert time.monotonic() - started < 5
    assert result.exit_code == 1 and len(unresolvable) == 1
    line = one_line(result)
    assert "could not be reached" in line and "--genome demo" in line and "--offline" in line
    assert "Name or service not known" in line


def test_retries_are_warnings_so_api_users_see_them(ensembl_standin, tmp_path, caplog):
    ensembl_standin.fail_next(1, status=503, retry_after=0.01)
    source = EnsemblSource(assembly="GRCh37", base_url=ensembl_standin.url, cache_dir=tmp_path / "cache")
    with caplog.at_level(logging.WARNING, logger="motifscan"):
        source.lookup(["FOXC1"])
    (record,) = [r for r in caplog.records if "retrying" in r.getMessage()]
    assert record.levelno == logging.WARNING and "HTTP 503" in record.getMessage()


# ---------------------------------------------------------------------------------------------------------------
# item 22: many unknown names: progress for the synonym look-ups, and a stated limit


def test_synonym_lookups_show_progress_and_stop_at_the_stated_limit(ensembl_standin, tmp_path, caplog):
    names = ["FOXC1", "FKHL7", *(f"NOSUCH{n}" for n in range(5))]
    source = EnsemblSource(assembly="GRCh37", base_url=ensembl_standin.url, cache_dir=tmp_path / "cache",
                           max_synonym_lookups=3)
    stream = io.StringIO()
    with report_to(stream, delay=0.0), caplog.at_level(logging.WARNING, logger="motifscan"):
        results = source.lookup(names)
    assert "synonyms" in stream.getvalue() and "100.0%" in stream.getvalue()
    xrefs = [r.path.rsplit("/", 1)[1] for r in ensembl_standin.requests if r.path.startswith("xrefs/")]
    assert xrefs == ["FKHL7", "NOSUCH0", "NOSUCH1"]
    assert results[1].genes[0].name == "FOXC1"  # FKHL7 is a synonym of FOXC1
    assert [r.note for r in results[-3:]] == ["not tried as a synonym: too many names were not current symbols"] * 3
    (warning,) = [r.getMessage() for r in caplog.records if "synonym" in r.getMessage()]
    assert "only the first 3" in warning and "the other 3" in warning
    # the untried names were not cached as unknown: a later look-up tries them
    ensembl_standin.reset()
    again = EnsemblSource(assembly="GRCh37", base_url=ensembl_standin.url, cache_dir=tmp_path / "cache",
                          max_synonym_lookups=10).lookup(names)
    assert [r.path.rsplit("/", 1)[1] for r in ensembl_standin.requests if r.path.startswith("xrefs/")] == \
        ["NOSUCH2", "NOSUCH3", "NOSUCH4"]
    assert again[1].genes == results[1].genes


# ---------------------------------------------------------------------------------------------------------------
# item 21: a read-only cache is read (offline, and online without keeping anything new)


def test_a_read_only_cache_is_read_offline_and_online(ensembl_standin, tmp_path, demo_rows):
    cache = tmp_path / "cache"
    assert scan(ensembl_standin, cache, *GENES).exit_code == 0
    for item in cache.iterdir():
        item.chmod(0o400)
    cache.chmod(0o500)
    ensembl_standin.reset()
    try:
        with unprivileged(cache):
            offline = scan(ensembl_standin, cache, *GENES, offline=True)
            online = scan(ensembl_standin, cache, *GENES, "FOXQ1", quiet=False)
    finally:
        cache.chmod(0o700)
    assert offline.exit_code == 0, (offline.stderr, offline.exc_info and traceback.format_exception(*offline.exc_info))
    assert data_rows(offline.stdout) == demo_rows
    assert online.exit_code == 0, online.stderr
    assert "cannot be written" in online.stderr and "reading it only" in online.stderr
    assert sum("FOXQ1" in row for row in data_rows(online.stdout)) > 0
    assert [r.body for r in ensembl_standin.requests if r.path.startswith("lookup/symbol")] == [{"symbols": ["FOXQ1"]}]


# ---------------------------------------------------------------------------------------------------------------
# the gene enumeration of enrich's promoter background: its cache entries pass the same checks


@pytest.mark.parametrize("kind, damage, path", [
    ("karyotype", json.dumps(["6", "X\tEVIL"]), "info/assembly/human"),
    ("karyotype", json.dumps([]), "info/assembly/human"),
    ("karyotype", "[[[not json", "info/assembly/human"),
    ("overlap_genes", json.dumps(["ENSG1"]), "overlap/region/human/"),
    ("overlap_genes", json.dumps(["ENSG00000054598\n"]), "overlap/region/human/"),
    ("overlap_genes", json.dumps({"ids": []}), "overlap/region/human/"),
])
def test_damaged_gene_enumeration_entries_are_fetched_again(ensembl_standin, tmp_path, caplog, kind, damage, path):
    cache = tmp_path / "cache"
    with EnsemblSource("human", "GRCh37", base_url=ensembl_standin.url, cache_dir=cache) as source:
        chromosomes, ids = source.chromosomes(), source.gene_ids()
    assert ids and chromosomes
    changed = tamper(cache, kind, damage)
    ensembl_standin.reset()
    with caplog.at_level(logging.WARNING), \
            EnsemblSource("human", "GRCh37", base_url=ensembl_standin.url, cache_dir=cache) as source:
        assert source.chromosomes() == chromosomes and source.gene_ids() == ids
    assert "damaged" in caplog.text and f"{kind} '" in caplog.text
    fetched = [r.path for r in ensembl_standin.requests if r.path.startswith(path)]
    assert len(fetched) == (1 if kind == "karyotype" else changed)
    tamper(cache, kind, damage)
    with EnsemblSource("human", "GRCh37", base_url=ensembl_standin.url, cache_dir=cache, offline=True) as source:
        from motifscan.sources.cache import CacheError

        with pytest.raises(CacheError, match=f"damaged entry \\({kind} '"):
            source.gene_ids()


def test_offline_enrich_with_a_damaged_gene_enumeration_is_one_line_naming_it(ensembl_standin, tmp_path):
    cache = tmp_path / "cache"
    args = ["enrich", "--ensembl-url", ensembl_standin.url, "--assembly", "GRCh37", "--cache-dir", str(cache),
            "--upstream", "500", "--downstream", "100", "--motif", "MA0018.5", "FOXC1"]
    first = CliRunner().invoke(cli, ["-q", *args])
    assert first.exit_code == 0, first.stderr
    for entry in (cache / "backgrounds").glob("*.npz"):
        entry.unlink()  # so that the background is enumerated again
    tamper(cache, "karyotype", json.dumps(["6", 7]))
    result = CliRunner().invoke(cli, ["-q", *args, "--offline"])
    assert result.exit_code == 1
    line = one_line(result)
    assert "damaged" in line and "karyotype 'all'" in line and CACHE_FILE_NAME in line and "--offline" in line
