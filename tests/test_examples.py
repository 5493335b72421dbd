"""The examples run: the demo notebook (executed with nbclient) and the gene-list shell script."""

from __future__ import annotations

import base64
import csv
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from motifscan.writers import TSV_COLUMNS

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
NOTEBOOK = EXAMPLES / "demo.ipynb"
SCRIPT = EXAMPLES / "scan_gene_list.sh"
DEMO_GENES = {"FOXC1", "FOXQ1", "GTPBP6", "PPP2R3B"}
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _environment() -> dict[str, str]:
    """This interpreter's scripts directory first on PATH, so that `motifscan` is the one under test."""
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env["MPLBACKEND"] = "Agg"
    return env


def test_committed_notebook_has_no_outputs():
    import nbformat

    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(notebook)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code and all(not cell.outputs and cell.execution_count is None for cell in code)


def test_notebook_runs(tmp_path, monkeypatch):
    import nbformat
    from nbclient import NotebookClient

    copy = tmp_path / NOTEBOOK.name
    shutil.copy(NOTEBOOK, copy)
    shutil.copy(EXAMPLES / "demo_variants.vcf", tmp_path)  # beside the notebook, as in examples/
    notebook = nbformat.read(copy, as_version=4)
    monkeypatch.setenv("PATH", _environment()["PATH"])  # the kernel inherits the environment (and the test cache)
    client = NotebookClient(notebook, timeout=120, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}})
    client.execute()

    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    errors = [output for cell in code for output in cell.outputs if output.output_type == "error"]
    assert not errors, errors
    assert all(cell.execution_count for cell in code)

    by_tag = {tag: cell for cell in code for tag in cell.metadata.get("tags", [])}
    for tag in ("promoter-map", "logo", "variant-map"):
        images = [output.data["image/png"] for output in by_tag[tag].outputs if "image/png" in output.get("data", {})]
        assert len(images) == 1, tag
        assert base64.b64decode(images[0])[:8] == PNG_MAGIC
    table = next(cell for cell in code if "result = motifscan.scan_genes" in cell.source)
    html = "".join(output.data.get("text/html", "") for output in table.outputs if "data" in output)
    assert "motifscan:" in html and "<table>" in html
    summary = next(cell for cell in code if "crosstab" in cell.source)
    assert any("text/html" in output.get("data", {}) for output in summary.outputs)
    variants = "".join(output.data.get("text/html", "") for output in by_tag["variants"].outputs if "data" in output)
    assert "motifscan variants:" in variants and "demo_creb_site" in variants and "lost" in variants
    changes = "".join(output.data.get("text/html", "") for output in by_tag["variants-table"].outputs
                      if "data" in output)
    assert "demo_insertion" in changes and "gained" in changes


def _read_tsv(path: Path) -> list[dict[str, str]]:
    lines = path.read_text().splitlines()
    body = [line for line in lines if not line.startswith("#")]
    assert body[0].split("\t") == list(TSV_COLUMNS)
    return list(csv.DictReader(body, delimiter="\t"))


def test_gene_list_script_runs_from_another_directory(tmp_path):
    done = subprocess.run(["bash", str(SCRIPT)], cwd=tmp_path, env=_environment(), capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    rows = _read_tsv(tmp_path / "hits.tsv")
    assert rows and {row["gene_name"] for row in rows} <= DEMO_GENES
    assert all(float(row["p_value"]) <= 1e-4 for row in rows)
    assert all(int(row["tss_rel_start"]) <= int(row["tss_rel_end"]) for row in rows)
    bed = [line.split("\t") for line in (tmp_path / "hits.bed").read_text().splitlines()
           if line and not line.startswith(("#", "track"))]
    assert len(bed) == len(rows)
    assert all(len(fields) == 6 and int(fields[1]) < int(fields[2]) and fields[5] in "+-" for fields in bed)
    assert f"wrote {len(rows)} sites" in done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hits.bed", "hits.tsv"]


def test_gene_list_file_names_the_demo_genes():
    from motifscan.genes import read_gene_file

    assert set(read_gene_file(EXAMPLES / "genes.txt")) == DEMO_GENES


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_gene_list_script_fails_loudly(tmp_path):
    """set -euo pipefail: a failing motifscan stops the script with its exit code."""
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "motifscan").write_text("#!/bin/sh\necho 'motifscan: error: boom' >&2\nexit 2\n")
    (fake / "motifscan").chmod(0o755)
    env = _environment()
    env["PATH"] = os.pathsep.join([str(fake), env["PATH"]])
    done = subprocess.run(["bash", str(SCRIPT)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "boom" in done.stderr and "wrote" not in done.stderr
