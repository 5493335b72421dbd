"""The bench design (``motifscan design``) against oracles: the genome read with the standard library, primer3's own
calc_tm, windows rescored by brute force with exact p-values (full enumeration of the matrix's words, split in two
halves), and plain string search for 3' end matches and restriction sites."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import numpy as np
import primer3
import pytest
from click.testing import CliRunner
from oracles import reverse_complement, window_score

from motifscan.cli import cli

DEMO_GENES = ["FOXC1", "FOXQ1", "GTPBP6"]


# ------------------------------------------------------------------------------------------------ oracles


def oracle_log_odds(counts: np.ndarray, pseudocount: float, background: np.ndarray) -> np.ndarray:
    """JASPAR/TFBSTools log-odds, written out again: log2(((C + k b) / (N + k)) / b)."""
    counts = np.asarray(counts, dtype=float)
    probs = (counts + pseudocount * background[:, None]) / (counts.sum(axis=0) + pseudocount)
    return np.log2(probs / background[:, None])


class ExactP:
    """Exact P(S >= s) of a matrix under a background: the words of each half of the matrix enumerated, then for
    every left-half score the right-half tail (meet in the middle; exact for any width up to about 16)."""

    def __init__(self, log_odds: np.ndarray, background: np.ndarray) -> None:
        width = log_odds.shape[1]
        half = width // 2
        self.left = self._half(log_odds[:, :half], background)
        right_scores, right_probs = self._half(log_odds[:, half:], background)
        order = np.argsort(right_scores)
        self.right_scores = right_scores[order]
        self.right_tail = np.concatenate([np.cumsum(right_probs[order][::-1])[::-1], [0.0]])

    @staticmethod
    def _half(log_odds: np.ndarray, background: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        scores, probs = np.zeros(1), np.ones(1)
        for j in range(log_odds.shape[1]):
            scores = (scores[:, None] + log_odds[:, j][None, :]).ravel()
            probs = (probs[:, None] * background[None, :]).ravel()
        return scores, probs

    def __call__(self, score: float) -> float:
        left_scores, left_probs = self.left
        at = np.searchsorted(self.right_scores, score - left_scores - 1e-9, side="left")
        return float((left_probs * self.right_tail[at]).sum())


def rescored_windows(sequence: str, changed: list[int], matrices: dict[str, np.ndarray]):
    """(motif id, start, strand, score) of every all-ACGT window of every matrix holding a changed position, both
    strands (the minus strand: the reverse complement of the window scored with the matrix)."""
    for motif_id, table in matrices.items():
        width = table.shape[1]
        for start in range(min(changed) - width + 1, max(changed) + 1):
            if start < 0 or start + width > len(sequence) or not any(start <= c < start + width for c in changed):
                continue
            window = sequence[start:start + width]
            if set(window.upper()) - set("ACGT"):
                continue
            yield motif_id, start, "+", window_score(table, window)
            yield motif_id, start, "-", window_score(table, reverse_complement(window))


def provenance_of(path: Path) -> dict[str, str]:
    facts = {}
    for line in path.read_text().splitlines():
        if line.startswith("# "):
            key, _, value = line[2:].partition(": ")
            facts.setdefault(key, value)
    return facts


def design_rows(path: Path) -> list[dict[str, str]]:
    lines = [line for line in path.read_text().splitlines() if not line.startswith("#")]
    header = lines[0].split("\t")
    return [dict(zip(header, line.split("\t"))) for line in lines[1:]]


# ------------------------------------------------------------------------------------------------ fixtures


@pytest.fixture(scope="module")
def demo_scan(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("scan") / "hits.tsv"
    result = CliRunner().invoke(cli, ["scan", "--genome", "demo", *DEMO_GENES, "-o", str(path)])
    assert result.exit_code == 0, result.output
    return path


@pytest.fixture(scope="module")
def demo_design(demo_scan: Path, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("design") / "design.tsv"
    result = CliRunner().invoke(cli, ["design", str(demo_scan), "--genome", "demo", "--top", "8",
                                      "--enzymes", "HaeIII,KpnI,XhoI", "-o", str(path)])
    assert result.exit_code == 0, result.output
    return path


@pytest.fixture(scope="module")
def scan_matrices(demo_scan: Path):
    """The scan's 22 matrices as log-odds built here from pyjaspar's counts, and their exact p-value functions."""
    from pyjaspar import jaspardb

    facts = provenance_of(demo_scan)
    ids = facts["motifs"].split(": ", 1)[1].split()
    background = np.full(4, 0.25)
    assert facts["background"].startswith("uniform")
    database = jaspardb(release=facts["jaspar_release"])
    matrices, names = {}, {}
    for motif_id in ids:
        motif = database.fetch_motif_by_id(motif_id)
        counts = np.array([motif.counts[letter] for letter in "ACGT"])
        matrices[motif_id] = oracle_log_odds(counts, float(facts["pseudocount"]), background)
        names[motif_id] = motif.name
    exact = {motif_id: ExactP(table, background) for motif_id, table in matrices.items()}
    return matrices, names, exact, float(facts["p_threshold"])


# ------------------------------------------------------------------------------------------------ tests


def test_chip_primers_match_the_genome_and_primer3(demo_design: Path, demo_chromosomes: dict[str, str]) -> None:
    rows = design_rows(demo_design)
    assert len(rows) == 8
    for row in rows:
        genome = demo_chromosomes[row["chrom"]]
        product_start, product_end = int(row["chip_product_start"]), int(row["chip_product_end"])
        left, right = row["chip_left_primer"], row["chip_right_primer"]
        assert left == genome[product_start:product_start + len(left)].upper()
        assert right == reverse_complement(genome[product_end - len(right):product_end].upper())
        assert 60 <= product_end - product_start <= 250
        assert int(row["chip_product_size"]) == product_end - product_start
        assert product_start + len(left) <= int(row["start"]) and int(row["end"]) <= product_end - len(right)
        for primer, column in ((left, "chip_left_tm"), (right, "chip_right_tm")):
            assert 17 <= len(primer) <= 30 and set(primer) <= set("ACGT")
            tm = primer3.calc_tm(primer)  # primer3's own defaults: the conditions the design states
            assert abs(tm - float(row[column])) < 0.006 and 52 <= tm <= 68
        gc = 100 * (left.count("G") + left.count("C")) / len(left)
        assert abs(gc - float(row["chip_left_gc"])) < 0.06


def test_three_prime_end_counts_by_string_search(demo_design: Path, demo_chromosomes: dict[str, str]) -> None:
    texts = [s.upper() for s in demo_chromosomes.values()]
    for row in design_rows(demo_design):
        for primer, column in ((row["chip_left_primer"], "chip_left_3p_matches"),
                               (row["chip_right_primer"], "chip_right_3p_matches")):
            end = primer[-15:]
            probes = {end, reverse_complement(end)}
            found = sum(len(re.findall(f"(?={p})", text)) for text in texts for p in probes)
            assert int(row[column]) == found >= 1
    assert "3'-terminal 15 nt" in provenance_of(demo_design)["primer_uniqueness"]


def test_mutations_destroy_the_site_and_make_no_new_one(demo_design: Path, demo_chromosomes: dict[str, str],
                                                        scan_matrices) -> None:
    matrices, names, exact, p_threshold = scan_matrices
    for row in design_rows(demo_design):
        assert row["mutant_site"], row["notes"]
        genome = demo_chromosomes[row["chrom"]].upper()
        start, end = int(row["start"]), int(row["end"])
        mutant = list(genome)
        changed = []
        for change in row["mutant_genomic_changes"].split(","):
            position, ref, alt = re.fullmatch(r"(\d+)([ACGT])>([ACGT])", change).groups()
            position = int(position)
            assert genome[position] == ref and start <= position < end and ref != alt
            mutant[position] = alt
            changed.append(position)
        assert 1 <= len(changed) <= 4
        mutant_text = "".join(mutant)
        site = mutant_text[start:end]
        assert row["mutant_site"].upper() == (site if row["strand"] == "+" else reverse_complement(site))
        before = {(m, s, strand): score for m, s, strand, score in rescored_windows(genome, changed, matrices)}
        factor = {m for m, name in names.items() if name.casefold() == row["motif_name"].casefold()}
        assert row["motif_id"] in factor
        factor_min = 1.0
        for motif_id, window_start, strand, score in rescored_windows(mutant_text, changed, matrices):
            p = exact[motif_id](score)
            if motif_id in factor:
                assert p >= 0.01, (row["motif_id"], motif_id, window_start, strand, p)
                factor_min = min(factor_min, p)
            if p <= p_threshold:  # only windows that were sites already may still be
                assert exact[motif_id](before[(motif_id, window_start, strand)]) <= p_threshold
            if (motif_id, window_start, strand) == (row["motif_id"], start, row["strand"]):
                assert p == pytest.approx(float(row["mutant_p_value"]), rel=0.011)
        assert factor_min == pytest.approx(float(row["mutant_factor_min_p"]), rel=0.011)


def exact_cut(exact: ExactP, table: np.ndarray, passes) -> float:
    """The smallest score whose exact p-value satisfies ``passes`` (p is monotone in the score), by bisection."""
    low, high = float(table.min(axis=0).sum()) - 1, float(table.max(axis=0).sum()) + 1e-6
    for _ in range(80):
        middle = (low + high) / 2
        low, high = (low, middle) if passes(exact(middle)) else (middle, high)
    return high


def window_scores(codes: np.ndarray, table: np.ndarray, changed: list[int]):
    """Scores of the windows holding a changed position (all-ACGT codes), + and - strands: (starts, plus, minus)."""
    width = table.shape[1]
    starts = np.arange(max(0, min(changed) - width + 1), min(max(changed), codes.size - width) + 1)
    windows = codes[starts[:, None] + np.arange(width)]
    plus = table[windows, np.arange(width)].sum(axis=1)
    minus = table[3 - windows[:, ::-1], np.arange(width)].sum(axis=1)
    return plus, minus


def test_no_mutation_with_fewer_substitutions_exists(demo_design: Path, demo_chromosomes: dict[str, str],
                                                     scan_matrices) -> None:
    """Brute force over every smaller set of substitutions inside the site, for every designed row, with cuts taken
    from the exact p-values (bisection over the score)."""
    matrices, names, exact, p_threshold = scan_matrices
    factor_cuts = {m: exact_cut(exact[m], t, lambda p: p < 0.01) for m, t in matrices.items()}
    site_cuts = {m: exact_cut(exact[m], t, lambda p: p <= p_threshold) for m, t in matrices.items()}
    checked = 0
    for row in design_rows(demo_design):
        size = len(row["mutant_genomic_changes"].split(","))
        genome = demo_chromosomes[row["chrom"]].upper()
        start, end = int(row["start"]), int(row["end"])
        local_start = start - 40
        codes = np.array(["ACGT".index(c) for c in genome[local_start:end + 40]])
        factor = {m for m, name in names.items() if name.casefold() == row["motif_name"].casefold()}
        for smaller in range(1, size):
            for positions in itertools.combinations(range(start - local_start, end - local_start), smaller):
                for letters in itertools.product(*[[b for b in range(4) if b != codes[p]] for p in positions]):
                    mutant = codes.copy()
                    mutant[list(positions)] = letters
                    valid = True
                    for motif_id, table in matrices.items():
                        before = np.concatenate(window_scores(codes, table, list(positions)))
                        after = np.concatenate(window_scores(mutant, table, list(positions)))
                        if motif_id in factor and (after >= factor_cuts[motif_id]).any():
                            valid = False
                        if ((after >= site_cuts[motif_id]) & (before < site_cuts[motif_id])).any():
                            valid = False
                        if not valid:
                            break
                    assert not valid, (row["motif_id"], positions, letters)
        checked += size > 1
    assert checked >= 4


def test_mutagenic_primers(demo_design: Path, demo_chromosomes: dict[str, str]) -> None:
    for row in design_rows(demo_design):
        genome = list(demo_chromosomes[row["chrom"]].upper())
        changed = []
        for change in row["mutant_genomic_changes"].split(","):
            position, _, alt = re.fullmatch(r"(\d+)([ACGT])>([ACGT])", change).groups()
            genome[int(position)] = alt
            changed.append(int(position))
        first, last = int(row["mut_primer_start"]), int(row["mut_primer_end"])
        forward, reverse = row["mut_forward_primer"], row["mut_reverse_primer"]
        assert forward == "".join(genome[first:last])
        assert all(c - first >= 8 and last - 1 - c >= 8 for c in changed)
        assert reverse == reverse_complement(forward)  # the other strand, overlapping over its whole length
        assert first >= int(row["start"]) - 60 and last <= int(row["end"]) + 60
        assert abs(primer3.calc_tm(forward) - float(row["mut_forward_tm"])) < 0.006
        assert abs(primer3.calc_tm(reverse) - float(row["mut_reverse_tm"])) < 0.006


def test_cloning_primers_and_enzymes(demo_design: Path, demo_scan: Path, demo_chromosomes: dict[str, str]) -> None:
    records = {}
    for line in demo_scan.read_text().splitlines():
        match = re.fullmatch(r"# record: (\S+) (\S+):(\d+)-(\d+)\(([+-])\)", line)
        if match:
            records[match[1]] = (int(match[3]) - 1, int(match[4]), match[5])
    sites = {"KpnI": "GGTACC", "XhoI": "CTCGAG", "HaeIII": "GGCC"}
    for row in design_rows(demo_design):
        genome = demo_chromosomes[row["chrom"]].upper()
        window_start, window_end, gene_strand = records[row["seq_name"]]
        stretch = re.search(r"N-free stretch (\d+)-(\d+)", row["notes"])
        if stretch:  # GTPBP6's window is mostly assembly gap
            window_start, window_end = int(stretch[1]), int(stretch[2])
        insert_start, insert_end = int(row["clone_insert_start"]), int(row["clone_insert_end"])
        assert abs(insert_start - window_start) <= 150 and abs(insert_end - window_end) <= 150
        assert insert_start < int(row["start"]) and int(row["end"]) < insert_end
        insert = genome[insert_start:insert_end]
        assert "GGCC" in insert and "HaeIII" in row["notes"]  # the first enzyme cuts: the next two are used
        assert row["clone_enzymes"] == "KpnI,XhoI"
        for enzyme in ("KpnI", "XhoI"):
            assert sites[enzyme] not in insert
        forward, reverse = row["clone_forward_primer"], row["clone_reverse_primer"]
        assert forward.startswith("cgg" + sites["KpnI"].lower()) and reverse.startswith("cgg" + sites["XhoI"].lower())
        forward_binding = "".join(c for c in forward if c.isupper())
        reverse_binding = "".join(c for c in reverse if c.isupper())
        plus_left = insert[:len(forward_binding if gene_strand == "+" else reverse_binding)]
        upstream, downstream = (forward_binding, reverse_binding) if gene_strand == "+" else \
            (reverse_binding, forward_binding)  # forward reads the promoter toward the TSS
        assert upstream == plus_left and downstream == reverse_complement(insert[-len(downstream):])
        assert abs(primer3.calc_tm(forward_binding) - float(row["clone_forward_tm"])) < 0.006


def test_rows_and_top_choose_sites(demo_scan: Path, tmp_path: Path) -> None:
    out = tmp_path / "rows.tsv"
    result = CliRunner().invoke(cli, ["design", str(demo_scan), "--genome", "demo", "--row", "2", "--row", "7",
                                      "-o", str(out)])
    assert result.exit_code == 0, result.output
    hits = design_rows_of_scan(demo_scan)
    rows = design_rows(out)
    assert [(r["motif_id"], r["start"], r["strand"]) for r in rows] == [
        (hits[1]["motif_id"], hits[1]["start"], hits[1]["strand"]),
        (hits[6]["motif_id"], hits[6]["start"], hits[6]["strand"])]
    out = tmp_path / "default.tsv"
    assert CliRunner().invoke(cli, ["design", str(demo_scan), "--genome", "demo", "-o", str(out)]).exit_code == 0
    best = sorted(float(h["p_value"]) for h in hits)[:5]
    assert sorted(float(r["p_value"]) for r in design_rows(out)) == best


def design_rows_of_scan(path: Path) -> list[dict[str, str]]:
    return design_rows(path)


@pytest.mark.parametrize("arguments, message", [
    (["--top", "2", "--row", "1"], "not both"),
    (["--row", "99"], "--row 99"),
    (["--enzymes", "FooI"], "unknown restriction enzyme"),
    (["--enzymes", "KpnI"], "two enzymes"),
    (["--top", "0"], "--top"),
])
def test_usage_errors(demo_scan: Path, tmp_path: Path, arguments: list[str], message: str) -> None:
    result = CliRunner().invoke(cli, ["design", str(demo_scan), "--genome", "demo", *arguments,
                                      "-o", str(tmp_path / "x.tsv")])
    assert result.exit_code == 2 and message in result.output and "Traceback" not in result.output
    assert not (tmp_path / "x.tsv").exists()


def test_fasta_only_genome_and_ensembl(demo_scan: Path, tmp_path: Path, ensembl_standin) -> None:
    """A plain FASTA without annotation serves as --genome; through Ensembl the 3' ends are not counted."""
    from oracles import read_fasta_plainly

    from motifscan.api import design_sites
    from motifscan.resources import demo_genome

    fasta = tmp_path / "genome.fa"
    fasta.write_text("".join(f">{name}\n{seq}\n" for name, seq in read_fasta_plainly(demo_genome()[0]).items()))
    local = design_sites(demo_scan, genome=fasta, top=2)
    assert all(d.chip_matches is not None for d in local)
    remote = design_sites(demo_scan, genome=None, assembly="GRCh37", ensembl_url=ensembl_standin.url, top=2)
    for a, b in zip(local, remote):
        assert a.row_values()["chip_left_primer"] == b.row_values()["chip_left_primer"]
        assert b.chip_matches is None and "not checked" in b.row_values()["notes"]
    assert "not checked" in dict(remote.provenance)["primer_uniqueness"]
