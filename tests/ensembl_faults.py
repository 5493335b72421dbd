"""Helpers shared by the Ensembl fault tests (tests/test_network_faults.py, tests/test_ensembl_checks.py); their
fixtures (``fast_ensembl_client``, ``demo_rows``) are in tests/conftest.py."""

from __future__ import annotations

STANDIN_GENES = ("FOXC1", "GTPBP6")  # chromosome 6, + strand; chromosome X, - strand
"""The genes the Ensembl fault tests ask the stand-in for."""

ENSEMBL_RETRIES = 2
"""The client's retry count in the Ensembl fault tests (set by the ``fast_ensembl_client`` fixture)."""


def data_rows(text: str) -> list[str]:
    """The lines of an output that are not ``#`` comments (the header and the rows)."""
    return [line for line in text.splitlines() if not line.startswith("#")]
