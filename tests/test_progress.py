"""Progress bars: drawn only where reporting is on, and cleared afterwards."""

from __future__ import annotations

import io
from pathlib import Path

from click.testing import CliRunner

from motifscan.api import scan_fasta
from motifscan.cli import cli
from motifscan.progress import report_to, task

EXAMPLE = Path(__file__).parent.parent / "examples" / "promoters.fa"


def test_task_draws_and_clears_when_reporting_is_on():
    stream = io.StringIO()
    with report_to(stream, delay=0.0), task("scanning", 4) as progress:
        progress.advance(2)
        progress.update(4, 4)
    text = stream.getvalue()
    assert "scanning" in text and " 50.0%" in text and "100.0%" in text
    assert text.endswith("\r")  # the line is wiped at the end


def test_nothing_is_drawn_without_reporting_or_for_quick_steps():
    quiet = io.StringIO()
    with report_to(quiet, delay=60.0), task("scanning", 2) as progress:
        progress.advance(2)
    assert quiet.getvalue() == ""
    with task("scanning", 2) as progress:  # no report_to: the library is silent
        progress.advance(2)


def test_a_scan_reports_its_chunks():
    stream = io.StringIO()
    with report_to(stream, delay=0.0):
        scan_fasta(EXAMPLE)
    assert "scanning" in stream.getvalue() and "100.0%" in stream.getvalue()


def test_cli_draws_no_bar_when_stderr_is_not_a_terminal(tmp_path):
    result = CliRunner().invoke(cli, ["fasta", str(EXAMPLE), "-o", str(tmp_path / "out.tsv")])
    assert result.exit_code == 0 and "\r" not in result.output
