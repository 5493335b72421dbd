"""Network faults through the real command line, against the local Ensembl stand-in (tests/ensembl_standin.py).

Every fault the issue names (timeouts, connection resets, 429 storms, 5xx, truncated or invalid JSON, a proxy's HTML
page, answers trickling in, a sequence shorter than asked for or of the wrong place or letters, redirects, oversized
answers) either heals within the bounded retries, giving exactly the hits of the demo genome, or ends in one error line
naming the genes affected, exit code 1, nothing written and an existing output untouched. Progress stays in the cache:
a rerun after a failure or Ctrl-C asks only for what was missing (checked on the stand-in's request log). User-given
names never change the path requested.

The client's timeout, retry count and backoff come from the environment (``MOTIFSCAN_ENSEMBL_TIMEOUT``,
``MOTIFSCAN_ENSEMBL_RETRIES``, ``MOTIFSCAN_ENSEMBL_BACKOFF``), small here so that the tests are fast.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote

import pytest
from click.testing import CliRunner
from ensembl_faults import ENSEMBL_RETRIES as RETRIES
from ensembl_faults import STANDIN_GENES as GENES
from ensembl_faults import data_rows

from motifscan.cli import cli
from motifscan.sources.cache import CACHE_FILE_NAME
from motifscan.sources.ensembl import EnsemblSource

PROMOTERS = ("FOXC1|ENST00000380874", "GTPBP6|ENST00000326153")
ENSEMBL_TIMEOUT = 0.25  # seconds, read by the fast_ensembl_client fixture
pytestmark = pytest.mark.usefixtures("fast_ensembl_client")  # tests/conftest.py


def scan(standin, tmp_path: Path, *genes: str, out: Path | None = None, quiet: bool = True):
    args = ["scan", "--ensembl-url", standin.url, "--assembly", "GRCh37", "--cache-dir", str(tmp_path / "cache"),
            "--pvalue", "1e-3", *genes]
    if out is not None:
        args += ["-o", str(out)]
    return CliRunner().invoke(cli, (["-q"] if quiet else []) + args)


def error_line(result) -> str:
    assert result.exit_code == 1, (result.exit_code, result.stderr, result.exception)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("motifscan: error: "), result.stderr
    return lines[0]


def paths(standin) -> list[str]:
    return [r.path for r in standin.requests]


def to(standin, prefix: str) -> list:
    return [r for r in standin.requests if r.path.startswith(prefix)]


def shift_ids(payload):
    """The sequence of the asked region, labelled as the region one base to the right."""
    shifted = []
    for item in payload:
        parts = item["id"].split(":")  # chromosome:GRCh37:6:1608681:1611180:1
        parts[3], parts[4] = str(int(parts[3]) + 1), str(int(parts[4]) + 1)
        shifted.append(dict(item, id=":".join(parts)))
    return shifted


def wrong_letters(payload):
    return [dict(item, seq="7" + item["seq"][1:]) for item in payload]


def pad(payload):
    return [dict(item, padding="N" * 2_000_000) for item in payload]


# ---------------------------------------------------------------------------------------------------------------
# faults that heal within the retries


@pytest.mark.parametrize("inject", [
    lambda s: s.fail_next(2, 429, retry_after=0.02),
    lambda s: s.fail_next(2, 503, retry_after=None),
    lambda s: s.fail_next(1, 500, match="lookup/"),
    lambda s: s.fail_next(1, 502, match="sequence/"),
    lambda s: s.fail_next(1, 408, match="info/assembly/"),
    lambda s: s.reset_next(2),
    lambda s: s.truncate_next(1, match="lookup/"),
    lambda s: s.truncate_next(1, match="sequence/"),
    lambda s: s.garbage_next(1, match="info/data"),
    lambda s: s.garbage_next(1, body=b'{"unexpected": "shape"}', content_type="application/json",
                             match="sequence/"),
    lambda s: s.delay_next(1, 3 * ENSEMBL_TIMEOUT, match="lookup/"),
    lambda s: s.trickle_next(1, 8 * ENSEMBL_TIMEOUT, match="lookup/"),
    lambda s: s.short_sequence_next(1),
    lambda s: s.corrupt_next(1, shift_ids, match="sequence/"),
    lambda s: s.corrupt_next(1, wrong_letters, match="sequence/"),
], ids=["429", "503", "500", "502", "408", "reset", "truncated-lookup", "truncated-sequence", "html-page",
        "wrong-shape", "timeout", "trickle", "short-sequence", "wrong-region", "not-bases"])
def test_transient_fault_heals_and_gives_the_demo_hits(ensembl_standin, tmp_path, demo_rows, inject):
    inject(ensembl_standin)
    result = scan(ensembl_standin, tmp_path, *GENES)
    assert result.exit_code == 0, result.stderr
    assert data_rows(result.stdout) == demo_rows
    assert any(r.status != 200 for r in ensembl_standin.requests) or len(ensembl_standin.requests) > 5


# ---------------------------------------------------------------------------------------------------------------
# faults that do not heal: bounded retries, one line naming the genes, nothing written


@pytest.mark.parametrize("endpoint, inject, needles", [
    ("info/data", lambda s: s.fail_next(99, 503, match="info/data"), ["the Ensembl release", "FOXC1, GTPBP6"]),
    ("lookup/", lambda s: s.fail_next(99, 429, retry_after=0.01, match="lookup/"), ["lookup of FOXC1, GTPBP6", "429"]),
    ("lookup/", lambda s: s.truncate_next(99, match="lookup/"), ["lookup of FOXC1, GTPBP6", "invalid JSON"]),
    ("info/assembly/human/X", lambda s: s.reset_next(99, match="info/assembly/human/X"),
     ["chromosome X (needed for GTPBP6)", "ConnectionError"]),
    ("info/assembly/human/X", lambda s: s.delay_next(99, 3 * ENSEMBL_TIMEOUT, match="info/assembly/human/X"),
     ["chromosome X (needed for GTPBP6)", "Timeout"]),
    ("sequence/", lambda s: s.short_sequence_next(99), [*PROMOTERS, "2499 bases instead of 2500"]),
    ("sequence/", lambda s: s.garbage_next(99, match="sequence/"), [*PROMOTERS, "invalid JSON"]),
    ("sequence/", lambda s: s.fail_next(99, 500, match="sequence/"), [*PROMOTERS, "HTTP 500"]),
], ids=["release-503", "lookup-429-storm", "lookup-truncated", "length-reset", "length-timeout",
        "short-sequence", "sequence-html", "sequence-500"])
def test_persistent_fault_fails_cleanly_naming_the_genes(ensembl_standin, tmp_path, endpoint, inject, needles):
    out = tmp_path / "hits.tsv"
    out.write_text("previous results\n")
    inject(ensembl_standin)
    line = error_line(scan(ensembl_standin, tmp_path, *GENES, out=out))
    for needle in needles:
        assert needle in line, (needle, line)
    assert f"after {RETRIES + 1} attempts" in line
    assert len(to(ensembl_standin, endpoint)) == RETRIES + 1  # bounded
    assert out.read_text() == "previous results\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache", "hits.tsv"]


def test_long_retry_after_fails_at_once(ensembl_standin, tmp_path):
    ensembl_standin.fail_next(1, 429, retry_after=3600, match="lookup/")
    line = error_line(scan(ensembl_standin, tmp_path, *GENES))
    assert "wait 3600 s" in line and "lookup of FOXC1, GTPBP6" in line
    assert len(to(ensembl_standin, "lookup/")) == 1


def test_random_failures_never_exceed_the_retry_bound(ensembl_standin, tmp_path, demo_rows):
    ensembl_standin.fail_randomly(0.3, status=503, seed=3)
    result = scan(ensembl_standin, tmp_path, *GENES)
    if result.exit_code == 0:
        assert data_rows(result.stdout) == demo_rows
    else:
        assert "after 3 attempts" in error_line(result)
    # no request was tried more often than the bound allows
    attempts: dict[tuple, int] = {}
    for request in ensembl_standin.requests:
        key = (request.method, request.path, str(request.body))
        attempts[key] = attempts.get(key, 0) + 1
    assert max(attempts.values()) <= RETRIES + 1


@pytest.mark.parametrize("inject, needles", [
    (lambda s: s.corrupt_next(99, pad, match="sequence/"), ["too large", *PROMOTERS]),
    (lambda s: s.redirect_next(1, "http://example.org/elsewhere"), ["redirected", "example.org"]),
    (lambda s: setattr(s, "assembly_name", "GRCh38"), ["assembly GRCh38", "GRCh37 was asked"]),
    (lambda s: s.fail_next(1, 403), ["403"]),
], ids=["oversized", "redirect", "other-assembly", "forbidden"])
def test_answers_that_cannot_be_used_are_refused_at_once(ensembl_standin, tmp_path, inject, needles):
    inject(ensembl_standin)
    line = error_line(scan(ensembl_standin, tmp_path, *GENES))
    for needle in needles:
        assert needle in line, (needle, line)
    assert len(ensembl_standin.requests) <= 5  # not retried


def test_answer_for_another_gene_is_never_used(ensembl_standin, tmp_path):
    def swap(payload):
        return {symbol: dict(gene, display_name="FOXQ1") for symbol, gene in payload.items()}

    ensembl_standin.corrupt_next(99, swap, match="lookup/symbol")
    line = error_line(scan(ensembl_standin, tmp_path, "FOXC1"))
    assert "asked for FOXC1, got 'FOXQ1'" in line


# ---------------------------------------------------------------------------------------------------------------
# progress kept in the cache: a rerun resumes


def test_rerun_after_failure_midway_asks_only_for_what_was_missing(ensembl_standin, tmp_path, demo_rows):
    ensembl_standin.reset_next(99, match="info/assembly/human/X")  # fails after the lookups and chromosome 6
    error_line(scan(ensembl_standin, tmp_path, *GENES))
    assert "lookup/symbol/human" in paths(ensembl_standin) and "info/assembly/human/6" in paths(ensembl_standin)
    ensembl_standin.reset()
    result = scan(ensembl_standin, tmp_path, *GENES)
    assert result.exit_code == 0 and data_rows(result.stdout) == demo_rows
    assert paths(ensembl_standin) == ["info/assembly/human/X", "sequence/region/human"]


def test_rerun_after_sequence_failure_fetches_only_sequence(ensembl_standin, tmp_path, demo_rows):
    ensembl_standin.fail_next(99, 503, match="sequence/")
    error_line(scan(ensembl_standin, tmp_path, *GENES))
    ensembl_standin.reset()
    result = scan(ensembl_standin, tmp_path, *GENES)
    assert result.exit_code == 0 and data_rows(result.stdout) == demo_rows
    assert paths(ensembl_standin) == ["sequence/region/human"]
    ensembl_standin.reset()
    again = scan(ensembl_standin, tmp_path, *GENES)  # everything is cached now
    assert data_rows(again.stdout) == demo_rows and ensembl_standin.requests == []


def test_ctrl_c_midway_writes_nothing_and_the_rerun_resumes(ensembl_standin, tmp_path, monkeypatch, demo_rows):
    def interrupted(self, regions):
        raise KeyboardInterrupt

    out = tmp_path / "hits.tsv"
    with monkeypatch.context() as patch:
        patch.setattr(EnsemblSource, "fetch_sequences", interrupted)
        result = scan(ensembl_standin, tmp_path, *GENES, out=out)
    assert result.exit_code == 130 and "interrupted" in result.stderr and "Traceback" not in result.stderr
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["cache"]
    ensembl_standin.reset()
    assert scan(ensembl_standin, tmp_path, *GENES, out=out).exit_code == 0
    assert data_rows(out.read_text()) == demo_rows
    assert paths(ensembl_standin) == ["sequence/region/human"]


def test_damaged_cache_is_a_clear_error(ensembl_standin, tmp_path):
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / CACHE_FILE_NAME).write_bytes(b"this is not a database" * 100)
    result = scan(ensembl_standin, tmp_path, *GENES)
    assert result.exit_code == 2 and "Traceback" not in result.stderr
    (line,) = result.stderr.splitlines()
    assert CACHE_FILE_NAME in line and "delete it" in line and "--no-cache" in line


# ---------------------------------------------------------------------------------------------------------------
# user-given names in URLs


def test_gene_names_never_change_the_path_requested(ensembl_standin, tmp_path):
    names = ["../../info/data", "FOO?x=1", "A B", "..", ".", "%2e%2e", "a#b", "x/../../lookup/id", "FOXC1"]
    result = scan(ensembl_standin, tmp_path, *names, quiet=False)
    assert result.exit_code == 0, result.stderr
    assert "8 gene(s) not found" in result.stderr
    endpoints = ("/info/data", "/lookup/symbol/human", "/xrefs/symbol/human/", "/info/assembly/human/",
                 "/sequence/region/human")
    for request in ensembl_standin.requests:
        assert request.raw_path.startswith(endpoints) and request.status == 200, request
    assert paths(ensembl_standin).count("info/data") == 1
    xrefs = [r.raw_path for r in to(ensembl_standin, "xrefs/symbol/")]
    segments = [p.split("/") for p in xrefs]
    assert all(len(s) == 5 for s in segments)  # "", "xrefs", "symbol", "human", one name
    asked = [unquote(s[4]) for s in segments]
    assert asked == [n for n in names[:-1] if n not in ("..", ".")]  # no gene is called "." or ".."
    assert all(r.query == {"object_type": ["gene"]} for r in to(ensembl_standin, "xrefs/symbol/"))


def test_bad_client_settings_are_usage_errors(ensembl_standin, tmp_path, monkeypatch):
    monkeypatch.setenv("MOTIFSCAN_ENSEMBL_RETRIES", "many")
    result = scan(ensembl_standin, tmp_path, *GENES)
    assert result.exit_code == 2 and "MOTIFSCAN_ENSEMBL_RETRIES" in result.stderr
    monkeypatch.setenv("MOTIFSCAN_ENSEMBL_RETRIES", "2")
    monkeypatch.setenv("MOTIFSCAN_ENSEMBL_TIMEOUT", "-1")
    result = scan(ensembl_standin, tmp_path, *GENES)
    assert result.exit_code == 2 and "MOTIFSCAN_ENSEMBL_TIMEOUT" in result.stderr
