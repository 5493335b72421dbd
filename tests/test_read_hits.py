"""``motifscan.read_hits``: a TSV back as a DataFrame with fixed dtypes, and the README's pandas recipe, both safe
against a ``#`` inside a row."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

import motifscan
from motifscan.hits import TSV_COLUMNS, TSV_DTYPES

README = Path(__file__).parent.parent / "README.md"
SITE = "TGACGTCA"  # ATF3's consensus (MA0605.3), a palindrome


@pytest.fixture()
def hash_named(tmp_path) -> Path:
    """A FASTA whose record IDs hold '#' (as 'site#3' did in the trial) and look like numbers."""
    fasta = tmp_path / "named.fa"
    fasta.write_text(f">site#3\nCCCCCC{SITE}CCCCCCCCCC{SITE}CCCCCC\n>6\nCCCCCC{SITE}CCCCCC\n")
    return fasta


def dtypes(frame) -> dict[str, str]:
    """Column -> dtype, text columns as "str" (pandas 2 calls them object, pandas 3 str)."""
    text = str(pd.Series(["x"]).astype(str).dtype)
    return {c: "str" if str(t) == text else str(t) for c, t in frame.dtypes.items()}


def test_read_hits_keeps_rows_with_hash_and_fixes_dtypes(hash_named, tmp_path):
    result = motifscan.scan_fasta(hash_named, motifs="MA0605.3")
    out = tmp_path / "hits.tsv"
    result.write_tsv(out)
    frame = motifscan.read_hits(out)
    assert len(frame) == len(result) == 6  # 3 sites x 2 strands
    assert list(frame.columns) == list(TSV_COLUMNS)
    assert dtypes(frame) == TSV_DTYPES
    assert sorted(set(frame["seq_name"])) == ["6", "site#3"]
    assert all(isinstance(v, str) for v in frame["chrom"])  # "6", not 6
    assert frame["gene_name"].tolist() == [""] * 6
    assert frame["tss_rel_start"].isna().all()
    assert ("input", str(hash_named)) in frame.attrs["provenance"]
    # the same frame as to_pandas(), floats to the TSV's 6 significant digits
    direct = result.to_pandas()
    assert dtypes(direct) == TSV_DTYPES
    pd.testing.assert_frame_equal(frame, direct, check_exact=False, rtol=1e-5)


def test_read_hits_of_a_gene_scan_has_string_chromosomes_and_integer_tss_positions(tmp_path):
    result = motifscan.scan_genes(["FOXC1", "GTPBP6"], genome="demo", p_threshold=1e-3, cache_dir=tmp_path / "c")
    out = tmp_path / "genes.tsv"
    result.write_tsv(out)
    frame = motifscan.read_hits(out)
    assert set(frame["chrom"]) == {"6", "X"} and len(frame) == len(result)
    assert str(frame["tss_rel_start"].dtype) == "Int64" and not frame["tss_rel_start"].isna().any()
    assert frame["tss_rel_start"].tolist() == [h.tss_rel_start for h in result]


def test_read_hits_refuses_a_file_that_is_not_a_motifscan_tsv(tmp_path):
    other = tmp_path / "other.tsv"
    other.write_text("a\tb\n1\t2\n")
    with pytest.raises(motifscan.errors.InputFileError, match="not a motifscan TSV header"):
        motifscan.read_hits(other)


def test_the_readme_pandas_recipe_keeps_every_row(hash_named, tmp_path, monkeypatch):
    """The recipe in the README, run as written (in a folder holding its demo_hits.tsv)."""
    block = next(b for b in re.findall(r"```python\n(.*?)```", README.read_text(), re.S) if "read_csv" in b)
    assert 'comment="#"' not in block
    result = motifscan.scan_fasta(hash_named, motifs="MA0605.3")
    monkeypatch.chdir(tmp_path)
    result.write_tsv(tmp_path / "demo_hits.tsv")
    namespace: dict = {}
    exec(block, namespace)
    hits = namespace["hits"]
    assert len(hits) == len(result)
    assert sorted(set(hits["seq_name"])) == ["6", "site#3"]
    assert hits["chrom"].map(type).eq(str).all()
    assert hits["start"].tolist() == [h.start for h in result]
