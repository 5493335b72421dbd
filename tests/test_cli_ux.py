"""The command line as a shell user meets it: pipes, closed streams, signals, output paths, global options.

These run the real ``motifscan`` entry point in a subprocess wherever the behaviour depends on the process
(file descriptors, signals, exit status), and click's CliRunner elsewhere.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from motifscan.cli import cli

EXAMPLE = Path(__file__).parent.parent / "examples" / "promoters.fa"


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def motifscan(*args, **kwargs) -> subprocess.Popen:
    """The real console entry point (``python -m motifscan``) in a child process."""
    return subprocess.Popen([sys.executable, "-m", "motifscan", *map(str, args)], **kwargs)


def error_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


# --- item 5: an output that is an input ---------------------------------------------------------------------------


def test_output_that_is_the_input_is_refused_and_the_input_kept(tmp_path):
    fasta = tmp_path / "in.fa"
    fasta.write_bytes(EXAMPLE.read_bytes())
    result = run("-q", "fasta", fasta, "-o", fasta)
    assert result.exit_code == 2
    assert "-o/--output" in result.stderr and "input FASTA" in result.stderr
    assert fasta.read_bytes() == EXAMPLE.read_bytes()


@pytest.mark.parametrize("link", ["symlink", "hardlink"])
def test_output_that_is_the_input_through_a_link_is_refused(tmp_path, link):
    fasta = tmp_path / "in.fa"
    fasta.write_bytes(EXAMPLE.read_bytes())
    alias = tmp_path / "alias.tsv"
    (os.symlink if link == "symlink" else os.link)(fasta, alias)
    result = run("-q", "fasta", fasta, "--motif", "MA0605.3", "--bed", alias)
    assert result.exit_code == 2 and "--bed" in result.stderr
    assert fasta.read_bytes() == EXAMPLE.read_bytes()


def test_plot_output_that_is_its_input_is_refused(tmp_path):
    hits = tmp_path / "hits.tsv"
    assert run("fasta", EXAMPLE, "--motif", "MA0605.3", "-o", hits).exit_code == 0
    before = hits.read_bytes()
    link = tmp_path / "hits.png"
    os.symlink(hits, link)
    result = run("-q", "plot", hits, "-o", link)
    assert result.exit_code == 2 and "input HITS.tsv" in result.stderr
    assert hits.read_bytes() == before


def test_motif_file_as_output_is_refused(tmp_path):
    motif = tmp_path / "atf3.jaspar"
    motif.write_bytes((Path(__file__).parent / "data" / "atf3_MA0605.3.jaspar").read_bytes())
    result = run("-q", "fasta", EXAMPLE, "--motif-file", motif, "--gff3", motif)
    assert result.exit_code == 2 and "--motif-file" in result.stderr


# --- item 8: empty names, broken pipes ------------------------------------------------------------------------------


@pytest.mark.parametrize("option", ["-o", "--bed", "--gff3", "--fimo"])
def test_empty_output_name_is_a_usage_error(option, tmp_path):
    result = run("-q", "fasta", EXAMPLE, "--motif", "MA0605.3", "-o", tmp_path / "x.tsv", option, "")
    assert result.exit_code == 2 and "empty file name" in result.stderr
    assert not (tmp_path / "x.tsv").exists()


def test_a_reader_that_stops_early_is_no_error(tmp_path):
    """``motifscan fasta ... | head -1``: exit 0 and nothing on stderr, with an output much larger than a pipe."""
    child = motifscan("-q", "fasta", EXAMPLE, "--collection", "CORE", "--tax-group", "vertebrates",
                      "--pvalue", "1e-2", stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    first = child.stdout.readline()
    child.stdout.close()  # as `head -1` does
    stderr = child.stderr.read()
    assert child.wait(timeout=300) == 0
    assert first.startswith(b"# motifscan")
    assert stderr == b""


# --- item 7: closed stdout, SIGTERM -------------------------------------------------------------------------------


@pytest.mark.parametrize("args", [["fasta", EXAMPLE, "--motif", "MA0605.3", "-o", "-"], ["motifs", "ATF3"]])
def test_closed_stdout_is_a_one_line_failure(args):
    child = motifscan(*args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                      preexec_fn=lambda: os.close(1))  # `motifscan ... >&-`
    _, stderr = child.communicate(timeout=120)
    assert child.returncode == 1
    assert error_lines(stderr.decode()) == [
        "motifscan: error: cannot write standard output: it is closed (give a file with -o)"]


def test_sigterm_while_outputs_are_staged_leaves_no_temporary_file(tmp_path):
    """SIGTERM arrives while the second of two outputs is being written to its temporary file: both temporary
    files go, and the existing targets keep their contents (as with Ctrl-C)."""
    first, second = tmp_path / "a.tsv", tmp_path / "b.bed"
    first.write_text("old a\n")
    second.write_text("old b\n")
    script = textwrap.dedent(f"""
        import os, signal
        from motifscan import cli, writers
        cli._treat_sigterm_as_sigint()

        def lines():
            yield "new line 1\\n"
            os.kill(os.getpid(), signal.SIGTERM)
            yield "new line 2\\n"

        try:
            writers.write_outputs([({str(first)!r}, ["new a\\n"]), ({str(second)!r}, lines())])
        except KeyboardInterrupt as error:
            raise SystemExit(type(error).__name__)
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.stderr.strip() == "_Terminated" and done.returncode == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.tsv", "b.bed"]
    assert (first.read_text(), second.read_text()) == ("old a\n", "old b\n")


def test_sigterm_during_a_run_exits_143_with_one_line(tmp_path):
    """The real command, blocked reading its input from a FIFO, gets SIGTERM: one line, exit 143 (128 + 15),
    no output file."""
    fifo = tmp_path / "in.fa"
    os.mkfifo(fifo)
    out = tmp_path / "hits.tsv"
    child = motifscan("fasta", fifo, "--motif", "MA0605.3", "-o", out, stderr=subprocess.PIPE)
    writer = os.open(fifo, os.O_WRONLY)  # returns once motifscan has opened its input: its handlers are set
    try:
        os.write(writer, b">seq1\nACGT")
        child.send_signal(signal.SIGTERM)
        _, stderr = child.communicate(timeout=120)
    finally:
        os.close(writer)
    assert child.returncode == 143
    assert error_lines(stderr.decode()) == ["motifscan: error: terminated (SIGTERM); no output written"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.fa"]


# --- item 17: -v and -q after the subcommand ------------------------------------------------------------------------


def test_quiet_after_the_subcommand(tmp_path):
    before = run("fasta", EXAMPLE, "--motif", "MA0605.3", "-o", tmp_path / "a.tsv")
    assert "hits" in before.stderr
    for args in (["-q", "fasta", EXAMPLE], ["fasta", EXAMPLE, "-q"], ["fasta", "-q", EXAMPLE]):
        result = run(*args, "--motif", "MA0605.3", "-o", tmp_path / "b.tsv")
        assert result.exit_code == 0 and result.stderr == "", args


def test_verbose_after_the_subcommand_adds_the_traceback(tmp_path):
    bad = tmp_path / "bad.fa"
    bad.write_text(">a\nACGT\n>a\nACGT\n")
    quiet = run("fasta", bad, "--motif", "MA0605.3")
    loud = run("fasta", bad, "--motif", "MA0605.3", "-v")
    assert quiet.exit_code == loud.exit_code == 1
    assert "Traceback" not in quiet.stderr and "Traceback" in loud.stderr


def test_global_options_are_listed_in_every_subcommand_help():
    for command in ("fasta", "scan", "promoters", "motifs", "plot", "logo"):
        text = run(command, "--help").output
        assert "-v, --verbose" in text and "-q, --quiet" in text, command


# --- item 21: "1 hits" --------------------------------------------------------------------------------------------


def test_one_hit_is_singular(tmp_path):
    fasta = tmp_path / "one.fa"
    fasta.write_text(">s\nAAAAAAAAAATGACGTCATAAAAAAAAAA\n")  # one ATF3 site, palindromic: one per strand
    result = run("fasta", fasta, "--motif", "MA0605.3", "--max-strand", "-o", tmp_path / "one.tsv")
    assert result.exit_code == 0
    assert "motifscan: info: 1 hit" in result.stderr.splitlines()


# --- item 24: the distribution's name -------------------------------------------------------------------------------

ROOT = Path(__file__).parent.parent


def test_distribution_is_not_named_like_pypis_motifscan():
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["name"] != "motifscan"  # PyPI's and Bioconda's motifscan is MotifScan 1.3.0, another project
    assert project["scripts"] == {"motifscan": "motifscan.cli:main"}


def test_every_install_hint_installs_from_the_clone():
    """No hint may say ``pip install "motifscan[...]"``: outside a clone that installs PyPI's MotifScan."""
    import re

    files = [*ROOT.joinpath("motifscan").rglob("*.py"), ROOT / "README.md", *ROOT.joinpath("examples").iterdir()]
    offending = [f"{path.relative_to(ROOT)}: {match}"
                 for path in files if path.suffix in (".py", ".md", ".ipynb", ".sh")
                 for match in re.findall(r"pip install [\"']?motifscan\b[^\s\"']*", path.read_text())]
    assert offending == []
    from motifscan.plots import MISSING_MESSAGE

    assert 'pip install ".[plot]"' in MISSING_MESSAGE


@pytest.mark.parametrize("chosen, expected", [(None, 0), ("1", 1)])
def test_the_command_asks_numpy_for_no_huge_pages_unless_the_user_chose(chosen, expected):
    # numpy reads NUMPY_MADVISE_HUGEPAGE once, at its import: what the command sets must reach it (the command's
    # first import of numpy comes after main() starts), and a user's own setting wins
    env = {k: v for k, v in os.environ.items() if k != "NUMPY_MADVISE_HUGEPAGE"}
    if chosen is not None:
        env["NUMPY_MADVISE_HUGEPAGE"] = chosen
    code = textwrap.dedent("""
        import atexit, sys
        from motifscan import cli
        def report():
            import numpy._core.multiarray as multiarray
            sys.stderr.write(f"hugepage={int(multiarray._get_madvise_hugepage())}\\n")
        atexit.register(report)
        sys.argv = ["motifscan", "motifs", "--help"]
        cli.main()
    """)
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert f"hugepage={expected}" in done.stderr
