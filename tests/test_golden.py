"""Output bytes pinned: every format (TSV, BED, GFF3, FIMO) of four scans compared byte for byte with golden files
made from main before the columnar hit table (see tests/golden_cases.py for the cases and how to regenerate them
after a change of output made on purpose)."""

from __future__ import annotations

import difflib
import re

import pytest
from golden_cases import CASES, golden, prepare, run

# the demo genome's path depends on where motifscan is installed (a clone, a worktree, site-packages)
_DEMO_PATH = re.compile(rb"^(# source_(?:genome|annotation)_file: ).*/(grch37_demo/)", re.MULTILINE)


def _placeless(output: bytes) -> bytes:
    return _DEMO_PATH.sub(rb"\1.../\2", output)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("golden")
    prepare(folder)
    return folder


@pytest.mark.parametrize("case", sorted(CASES))
def test_outputs_are_byte_identical_to_the_golden_files(case, inputs):
    made, expected = run(case, inputs), golden(case)
    made = {name: _placeless(data) for name, data in made.items()}
    expected = {name: _placeless(data) for name, data in expected.items()}
    for name in expected:
        if made[name] != expected[name]:
            diff = difflib.unified_diff(expected[name].decode().splitlines(), made[name].decode().splitlines(),
                                        f"golden/{case}.{name}", "now", lineterm="", n=1)
            pytest.fail(f"{case} {name} differs from its golden file:\n" + "\n".join(list(diff)[:40]))
