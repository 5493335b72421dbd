"""The README's commands run as written, as a newcomer runs them from the clone: every ``motifscan`` line of its
shell blocks, in order (the Quick start writes the demo_hits files that later lines read), in a scratch folder
that holds the clone's examples/, genomes/ and tests/data/ (so that nothing is written into the repository).

Skipped, by what they need: the internet (gene scans without ``--genome``: Ensembl), files that only a user has
(an hg38 genome, ATAC peaks), a Dask cluster, and the Quick start's ``pip install`` (the test runs in an installed
environment already); and the scan of all 1019 CORE matrices without a filter, which the golden test's ``fasta_core``
case runs already (this keeps the test near a minute). The bedtools check runs whole, as a shell block.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
README = ROOT / "README.md"
NEEDS_WHAT_THE_CLONE_LACKS = ("hg38", "gencode", "atac_peaks", "tcp://", "IL6R", "tabix ")


def shell_blocks() -> list[str]:
    return re.findall(r"```sh\n(.*?)```", README.read_text(), re.S)


def readme_commands() -> list[str]:
    """Every ``motifscan ...`` command of the README's shell blocks, comments stripped, in order."""
    commands = []
    for block in shell_blocks():
        for line in block.splitlines():
            command = line.split(" && ")[-1].strip()  # the Quick start chains venv && pip && motifscan
            if not command.startswith("motifscan "):
                continue
            words = shlex.split(command, comments=True)
            commands.append(shlex.join(words))
    return commands


def offline(command: str) -> bool:
    words = shlex.split(command)
    if any(marker in command for marker in NEEDS_WHAT_THE_CLONE_LACKS):
        return False
    if command.endswith("--collection CORE --tax-group vertebrates"):  # run by tests/test_golden.py (fasta_core)
        return False
    return not (words[1] in ("scan", "promoters", "enrich") and "--genome" not in words)  # else: Ensembl


@pytest.fixture(scope="module")
def clone_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("newcomer")
    for name in ("examples", "genomes", "motifs"):
        os.symlink(ROOT / name, folder / name)
    (folder / "tests").mkdir()
    os.symlink(ROOT / "tests" / "data", folder / "tests" / "data")
    return folder


def run_in(folder: Path, command: str) -> subprocess.CompletedProcess:
    words = shlex.split(command)
    executable = [sys.executable, "-m", "motifscan"]  # the `motifscan` script of this environment
    return subprocess.run(executable + words[1:], cwd=folder, capture_output=True, text=True, timeout=600)


def test_the_readme_has_offline_commands_to_run():
    commands = readme_commands()
    assert len([c for c in commands if offline(c)]) >= 12
    qvalue = next(c for c in commands if "--qvalue" in c)
    assert "--pvalue" not in qvalue or float(qvalue.split("--pvalue ")[1].split()[0]) >= \
        float(qvalue.split("--qvalue ")[1].split()[0])  # q at or below the p threshold: exact, no warning
    assert commands[0].startswith("motifscan scan --genome demo")  # the Quick start comes first


def test_every_offline_readme_command_runs_as_written(clone_folder):
    failures = []
    for command in (c for c in readme_commands() if offline(c)):
        done = run_in(clone_folder, command)
        if done.returncode != 0 or "error" in done.stderr:
            failures.append(f"{command}: exit {done.returncode}: {done.stderr.strip()[-300:]}")
    assert failures == []
    assert (clone_folder / "demo_hits.tsv").exists() and (clone_folder / "demo_hits.bed").exists()


def test_the_readme_bedtools_check_works_as_written(clone_folder):
    """The BED section's block, run whole with bash after the Quick start: every site's letters match."""
    if shutil.which("bedtools") is None:
        if os.environ.get("MOTIFSCAN_REQUIRE_BEDTOOLS"):
            pytest.fail("bedtools is required (MOTIFSCAN_REQUIRE_BEDTOOLS is set) but not on PATH")
        pytest.skip("bedtools is not installed (CI installs it and sets MOTIFSCAN_REQUIRE_BEDTOOLS=1)")
    block = next(b for b in shell_blocks() if "bedtools getfasta" in b)
    if not (clone_folder / "demo_hits.bed").exists():
        quick_start = readme_commands()[0]
        assert run_in(clone_folder, quick_start).returncode == 0
    done = subprocess.run(["bash", "-euo", "pipefail", "-c", block], cwd=clone_folder, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    rows = [line for line in (clone_folder / "demo_hits.bed").read_text().splitlines() if not line.startswith("#")]
    assert f"all {len(rows)} sites match" in done.stdout
