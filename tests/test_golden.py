"""Output bytes pinned: every format (TSV, BED, GFF3, FIMO) of four scans compared byte for byte with golden files
made from main before the columnar hit table (see tests/golden_cases.py for the cases and how to regenerate them
after a change of output made on purpose)."""

from __future__ import annotations

import difflib
import re

import pytest
from golden_cases import CASES, golden, prepare, run


_FILE_LINE = re.compile(rb"^(# source_(?:genome|annotation)_file: ).*$", re.MULTILINE)


def _normalised(content: bytes) -> bytes:
    """The bytes with the demo genome's file paths masked: they name the checkout the tests run in."""
    return _FILE_LINE.sub(rb"\1<path>", content)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("golden")
    prepare(folder)
    return folder


@pytest.mark.parametrize("case", sorted(CASES))
def test_outputs_are_byte_identical_to_the_golden_files(case, inputs):
    made = {k: _normalised(v) for k, v in run(case, inputs).items()}
    expected = {k: _normalised(v) for k, v in golden(case).items()}
    for name in expected:
        if made[name] != expected[name]:
            diff = difflib.unified_diff(expected[name].decode().splitlines(), made[name].decode().splitlines(),
                                        f"golden/{case}.{name}", "now", lineterm="", n=1)
            pytest.fail(f"{case} {name} differs from its golden file:\n" + "\n".join(list(diff)[:40]))
