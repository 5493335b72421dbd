"""The linter and the type checker, as CI runs them: zero findings.

Configuration lives in pyproject.toml (``[tool.ruff]``, ``[tool.mypy]``); both tools are in the ``test`` extra. They run
from the repository root, through this interpreter (``sys.executable -m``), so the virtualenv's versions are the ones
used.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, timeout=600)


def test_ruff_finds_nothing():
    result = _run("ruff", "check", "--no-cache", "motifscan", "tests", "benchmarks")
    assert result.returncode == 0, f"ruff check found problems:\n{result.stdout}{result.stderr}"


def test_mypy_finds_nothing():
    result = _run("mypy", "--cache-dir", "/dev/null", "motifscan")  # tests write nothing outside tmp_path
    assert result.returncode == 0, f"mypy found problems:\n{result.stdout}{result.stderr}"
