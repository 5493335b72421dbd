"""Shared pytest fixtures: the local Ensembl stand-in, a hermetic environment for every test, and the helpers of
the Ensembl fault tests (tests/test_network_faults.py, tests/test_ensembl_checks.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # so that tests can import ensembl_standin

from ensembl_faults import ENSEMBL_RETRIES, STANDIN_GENES, data_rows  # noqa: E402
from ensembl_standin import EnsemblStandin  # noqa: E402

# Real HGNC aliases ("previous symbols" and "alias symbols") of demo genes; the GTF carries none.
DEMO_SYNONYMS = {"FOXC1": ["FKHL7", "FREAC3"], "FOXQ1": ["HFH1"], "FOXF2": ["FKHL6", "FREAC2"]}


@pytest.fixture(autouse=True)
def _hermetic_environment(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Keep tests away from the user's cache directory and from a server named in their environment."""
    monkeypatch.setenv("MOTIFSCAN_CACHE_DIR", str(tmp_path_factory.mktemp("motifscan-cache")))
    for variable in ("MOTIFSCAN_ENSEMBL_URL", "MOTIFSCAN_ENSEMBL_TIMEOUT", "MOTIFSCAN_ENSEMBL_RETRIES",
                     "MOTIFSCAN_ENSEMBL_BACKOFF"):
        monkeypatch.delenv(variable, raising=False)


@pytest.fixture(scope="session")
def _standin_server():
    """One stand-in server per test session (reading the demo genome takes a moment)."""
    with EnsemblStandin(synonyms=DEMO_SYNONYMS) as server:
        yield server


@pytest.fixture
def ensembl_standin(_standin_server: EnsemblStandin) -> EnsemblStandin:
    """The running stand-in with a clean slate: no recorded requests, no faults, real clock, default settings.

    It has ``.url``, ``.requests`` (list of RecordedRequest) and fault setters (``fail_next``, ``fail_every``,
    ``fail_randomly``, ``truncate_next``, ``short_sequence_next``, ``corrupt_next``, ``reset_next``, ``delay_next``);
    ``.rate_limit``, ``.release``, ``.assembly_name`` and ``.clock`` may be changed within a test.
    """
    _standin_server.reset()
    yield _standin_server
    _standin_server.reset()


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The embedded demo genome as a LocalGenomeSource (FASTA index in a temporary cache)."""
    from motifscan.sources.local import LocalGenomeSource

    with LocalGenomeSource.demo(cache_dir=tmp_path_factory.mktemp("cache")) as source:
        yield source


@pytest.fixture(scope="module")
def demo_chromosomes() -> dict[str, str]:
    """The demo genome's sequences read with the standard library only (independent of motifscan): name -> sequence."""
    from oracles import read_fasta_plainly

    from motifscan.resources import demo_genome

    return read_fasta_plainly(demo_genome()[0])


# ------------------------------------------------------------------------------------------------ Ensembl fault tests

@pytest.fixture
def fast_ensembl_client(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """A client that gives up fast: ``ENSEMBL_RETRIES`` retries, 0.01 s backoff, and the timeout in seconds of the
    test module's ``ENSEMBL_TIMEOUT`` (default 2). Modules use it with ``pytestmark =
    pytest.mark.usefixtures("fast_ensembl_client")``."""
    monkeypatch.setenv("MOTIFSCAN_ENSEMBL_TIMEOUT", str(getattr(request.module, "ENSEMBL_TIMEOUT", 2)))
    monkeypatch.setenv("MOTIFSCAN_ENSEMBL_RETRIES", str(ENSEMBL_RETRIES))
    monkeypatch.setenv("MOTIFSCAN_ENSEMBL_BACKOFF", "0.01")


@pytest.fixture(scope="session")
def demo_rows() -> list[str]:
    """The hits of STANDIN_GENES on the embedded demo genome: what the stand-in must give too."""
    from click.testing import CliRunner

    from motifscan.cli import cli

    result = CliRunner().invoke(cli, ["-q", "scan", "--genome", "demo", *STANDIN_GENES, "--pvalue", "1e-3"])
    assert result.exit_code == 0
    rows = data_rows(result.stdout)
    assert len(rows) > 5
    return rows
