"""Property-based tests (Hypothesis) of the parsers and coordinate transforms, and a fixed-budget fuzz run of the FASTA,
GTF and motif parsers.

Parsers: what is written in a valid format reads back unchanged (FASTA, GTF, JASPAR/PFM/TRANSFAC/MEME), whatever the
line ends, compression or line width. Coordinates: promoter windows, TSS-relative positions and Ensembl's 1-based
closed coordinates against brute force over the bases themselves.

Fuzz: random bytes and mutated valid files. The only acceptable outcomes are a parse or an
:class:`~motifscan.errors.InputFileError`; a motif file that parses gives a matrix the scanner can use. The runs are
derandomized (the same examples on every run, so CI is reproducible) and bounded (``FUZZ_EXAMPLES`` each).
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from motifscan.errors import InputFileError
from motifscan.fasta import read_fasta
from motifscan.model import Transcript
from motifscan.motifs import log_odds, read_motif_file
from motifscan.promoters import promoter_window, tss_relative
from motifscan.sources import ensembl
from motifscan.sources.ensembl import gene_from_json, region_query
from motifscan.sources.local import read_gtf

DATA = Path(__file__).parent / "data"
FUZZ_EXAMPLES = 300

PROPERTY = settings(max_examples=60, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
FUZZ = settings(max_examples=FUZZ_EXAMPLES, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                       HealthCheck.data_too_large])

LINE_ENDS = st.sampled_from(["\n", "\r\n", "\r"])


def write(path: Path, data: bytes, compress: bool = False) -> Path:
    path.write_bytes(gzip.compress(data, mtime=0) if compress else data)
    return path


# ---------------------------------------------------------------------------------------------------------------
# FASTA

NAMES = st.from_regex(r"[A-Za-z0-9_.|:\-]{1,15}", fullmatch=True)
SEQUENCES = st.text(alphabet="ACGTNacgtnRYSWKMBDHVryswkmbdhv-*.", max_size=300)


@PROPERTY
@given(records=st.lists(st.tuples(NAMES, SEQUENCES, st.sampled_from(["", "desc", "a b  c"])), min_size=1,
                        max_size=6, unique_by=lambda r: r[0]),
       width=st.integers(1, 100), end=LINE_ENDS, bom=st.booleans(), compress=st.booleans(),
       blank_lines=st.booleans(), inner_spaces=st.booleans())
def test_fasta_round_trip(tmp_path, records, width, end, bom, compress, blank_lines, inner_spaces):
    parts = ["\ufeff"] if bom else []
    for name, sequence, description in records:
        parts.append(f">{name} {description}".rstrip() + end)
        for i in range(0, len(sequence), width):
            line = sequence[i : i + width]
            parts.append((" ".join(line) if inner_spaces else line) + end)
        if blank_lines:
            parts.append(end)
    path = write(tmp_path / "in.fa", "".join(parts).encode(), compress)
    got = read_fasta(path)
    assert [(r.name, r.sequence, r.description) for r in got] == records


@PROPERTY
@given(sequence=st.text(alphabet="ACGTN", min_size=1, max_size=5000), width=st.integers(1, 120))
def test_fasta_line_width_and_line_ends_do_not_matter(tmp_path, sequence, width):
    wrapped = "".join(sequence[i : i + width] + "\n" for i in range(0, len(sequence), width))
    single = read_fasta(write(tmp_path / "one.fa", f">s\n{sequence}\n".encode()))
    for end in ("\r\n", "\r"):
        other = read_fasta(write(tmp_path / "other.fa", (">s\n" + wrapped).replace("\n", end).encode()))
        assert other == single


# ---------------------------------------------------------------------------------------------------------------
# GTF


@st.composite
def gtf_genes(draw):
    """Genes as (gene_id, name, chrom, strand, [(transcript_id, start, end, tags)]) with 1-based closed spans."""
    genes = []
    for number in range(draw(st.integers(1, 5))):
        chrom = draw(st.sampled_from(["1", "chr2", "X", "MT", "GL000192.1"]))
        strand = draw(st.sampled_from("+-"))
        transcripts = []
        canonical = draw(st.integers(-1, 3))
        for t in range(draw(st.integers(1, 4))):
            start = draw(st.integers(1, 10**9))
            end = start + draw(st.integers(0, 10**6))
            tags = ["basic"] + (["Ensembl_canonical"] if t == canonical else [])
            transcripts.append((f"ENST{number:05d}{t:06d}", start, end, tags))
        name = draw(st.sampled_from(["", f"GENE{number}", f"Gene-{number}.a"]))
        genes.append((f"ENSG{number:011d}", name, chrom, strand, transcripts))
    return genes


def gtf_text(genes, versions: bool, gene_lines: bool, extra: bool, line_end: str) -> str:
    lines = ["#!genome-build test", "#comment line"]
    for gene_id, name, chrom, strand, transcripts in genes:
        gid = f"{gene_id}.3" if versions else gene_id
        named = f' gene_name "{name}";' if name else ""
        span = (min(t[1] for t in transcripts), max(t[2] for t in transcripts))
        if gene_lines:
            lines.append(f'{chrom}\tsrc\tgene\t{span[0]}\t{span[1]}\t.\t{strand}\t.\tgene_id "{gid}";{named} '
                         f'gene_biotype "protein_coding";')
        for tid, start, end, tags in transcripts:
            tid = f"{tid}.7" if versions else tid
            tag_text = "".join(f' tag "{tag}";' for tag in tags)
            more = ' level 2; exon_number 1; note "a;b";' if extra else ""
            attributes = f'gene_id "{gid}"; transcript_id "{tid}";{named}{tag_text}{more}'
            lines.append(f"{chrom}\tsrc\ttranscript\t{start}\t{end}\t.\t{strand}\t.\t{attributes}")
            lines.append(f"{chrom}\tsrc\texon\t{start}\t{end}\t.\t{strand}\t.\t{attributes}")
    return "".join(line + line_end for line in lines)


@PROPERTY
@given(genes=gtf_genes(), versions=st.booleans(), gene_lines=st.booleans(), extra=st.booleans(), end=LINE_ENDS,
       compress=st.booleans())
def test_gtf_round_trip_converts_to_zero_based(tmp_path, genes, versions, gene_lines, extra, end, compress):
    path = write(tmp_path / "in.gtf", gtf_text(genes, versions, gene_lines, extra, end).encode(), compress)
    got = {g.id: g for g in read_gtf(path)}
    assert list(got) == [g[0] for g in genes]
    for gene_id, name, chrom, strand, transcripts in genes:
        gene = got[gene_id]
        assert (gene.name, gene.chrom, gene.strand) == (name, chrom, strand)
        assert (gene.start, gene.end) == (min(t[1] for t in transcripts) - 1, max(t[2] for t in transcripts))
        assert gene.version == (3 if versions else None)
        assert {t.id: (t.start, t.end) for t in gene.transcripts} == {tid: (s - 1, e) for tid, s, e, _ in transcripts}
        for t, (_, s, e, _) in zip(sorted(gene.transcripts, key=lambda t: t.id), sorted(transcripts)):
            assert t.end - t.start == e - s + 1  # GTF spans are closed
            assert t.tss == (s - 1 if strand == "+" else e - 1)  # 0-based TSS = 1-based start (+) or end (-) - 1
        flagged = [t.id for t in gene.transcripts if t.is_canonical]
        assert len(flagged) == 1
        tagged = [tid for tid, _, _, tags in transcripts if "Ensembl_canonical" in tags]
        if tagged:
            assert flagged == tagged


# ---------------------------------------------------------------------------------------------------------------
# motif files

COUNT_MATRICES = st.integers(1, 30).flatmap(
    lambda width: st.lists(st.lists(st.integers(0, 5000), min_size=4, max_size=4).filter(lambda c: sum(c) > 0),
                           min_size=width, max_size=width)).map(lambda columns: np.array(columns, float).T)


def jaspar_text(counts, labelled: bool) -> str:
    rows = [(f"{letter} [ " + " ".join(f"{v:g}" for v in row) + " ]") if labelled else " ".join(f"{v:g}" for v in row)
            for letter, row in zip("ACGT", counts)]
    return ">MA9999.1 TEST\n" + "\n".join(rows) + "\n"


def pfm_text(counts, labelled: bool) -> str:
    return "".join((f"{letter} | " if labelled else "") + "\t".join(f"{v:g}" for v in row) + "\n"
                   for letter, row in zip("ACGT", counts))


def transfac_text(counts) -> str:
    rows = "".join(f"{i:02d}  " + "  ".join(f"{v:g}" for v in column) + "\n" for i, column in enumerate(counts.T, 1))
    return f"AC  MA9999.1\nXX\nID  TEST\nXX\nP0      A      C      G      T\n{rows}XX\n//\n"


def meme_text(counts) -> str:
    nsites = int(counts.sum(axis=0)[0])
    rows = "".join(" ".join(f"{v / column.sum():.8f}" for v in column) + "\n" for column in counts.T)
    return ("MEME version 4\n\nALPHABET= ACGT\n\nstrands: + -\n\nBackground letter frequencies\n"
            "A 0.25 C 0.25 G 0.25 T 0.25\n\nMOTIF MA9999.1 TEST\n"
            f"letter-probability matrix: alength= 4 w= {counts.shape[1]} nsites= {nsites} E= 0\n{rows}\n")


@PROPERTY
@given(counts=COUNT_MATRICES, fmt=st.sampled_from(["jaspar", "jaspar-plain", "pfm", "pfm-labelled", "transfac"]),
       end=LINE_ENDS)
def test_count_matrix_files_round_trip(tmp_path, counts, fmt, end):
    text = {"jaspar": lambda: jaspar_text(counts, True), "jaspar-plain": lambda: jaspar_text(counts, False),
            "pfm": lambda: pfm_text(counts, False), "pfm-labelled": lambda: pfm_text(counts, True),
            "transfac": lambda: transfac_text(counts)}[fmt]()
    if np.allclose(counts.sum(axis=0), 1.0, atol=0.02):
        return  # a count matrix with 1 site per column reads as a frequency matrix (x 20 sites): documented
    path = write(tmp_path / "m.txt", text.replace("\n", end).encode())
    (motif,) = read_motif_file(path)
    np.testing.assert_array_equal(motif.counts, counts)


@st.composite
def site_matrices(draw):
    """Count matrices whose columns all add up to the same number of sites (as MEME's frequencies x nsites do)."""
    nsites = draw(st.integers(2, 5000))
    columns = []
    for _ in range(draw(st.integers(1, 30))):
        cuts = sorted(draw(st.lists(st.integers(0, nsites), min_size=3, max_size=3)))
        columns.append([cuts[0], cuts[1] - cuts[0], cuts[2] - cuts[1], nsites - cuts[2]])
    return np.array(columns, float).T


@PROPERTY
@given(counts=site_matrices())
def test_meme_frequencies_round_trip_to_counts(tmp_path, counts):
    (motif,) = read_motif_file(write(tmp_path / "m.meme", meme_text(counts).encode()))
    assert motif.id == "MA9999.1" and motif.name == "TEST"
    np.testing.assert_allclose(motif.counts, counts, atol=0.5 + 1e-9)


# ---------------------------------------------------------------------------------------------------------------
# coordinate transforms


def window_bases(tss: int, strand: str, upstream: int, downstream: int, length: int) -> set[int]:
    """The 0-based bases of a promoter window, from their definition: ``upstream`` bases before the TSS base and
    ``downstream`` bases from it on, in the transcript's direction, within the chromosome."""
    direction = 1 if strand == "+" else -1
    bases = {tss + direction * k for k in range(-upstream, downstream)}
    return {b for b in bases if 0 <= b < length}


@PROPERTY
@given(length=st.integers(1, 10**6), data=st.data(), strand=st.sampled_from("+-"),
       upstream=st.integers(0, 5000), downstream=st.integers(0, 5000))
def test_promoter_window_against_brute_force(length, data, strand, upstream, downstream):
    if upstream + downstream == 0:
        upstream = 1
    start = data.draw(st.integers(0, length - 1))
    end = data.draw(st.integers(start + 1, length))
    transcript = Transcript("ENST1", "ENSG1", "1", start, end, strand)
    window, clipped = promoter_window(transcript, upstream, downstream, length)
    bases = window_bases(transcript.tss, strand, upstream, downstream, length)
    assert set(range(window.start, window.end)) == bases
    assert 0 <= window.start <= window.end <= length
    assert clipped == (len(bases) != upstream + downstream)
    assert window.strand == strand and window.name == "ENST1"
    if downstream:
        assert window.start <= transcript.tss < window.end


@PROPERTY
@given(tss=st.integers(0, 10**6), strand=st.sampled_from("+-"), offset=st.integers(-3000, 3000),
       width=st.integers(1, 40))
def test_tss_relative_against_brute_force(tss, strand, offset, width):
    start = max(tss + offset, 0)
    end = start + width

    def relative(base: int) -> int:  # EPD: +1 = TSS base, -1 = the base upstream, no 0
        distance = base - tss if strand == "+" else tss - base
        return distance + 1 if distance >= 0 else distance

    got = tss_relative(tss, strand, start, end)
    expected = sorted(relative(b) for b in range(start, end))
    assert got == (expected[0], expected[-1])
    assert 0 not in got and got[0] <= got[1]
    assert tss_relative(tss, strand, tss, tss + 1) == (1, 1)
    upstream_base = tss - 1 if strand == "+" else tss + 1
    if upstream_base >= 0:
        assert tss_relative(tss, strand, upstream_base, upstream_base + 1) == (-1, -1)


@st.composite
def ensembl_gene_json(draw):
    chrom = draw(st.sampled_from(["6", "X", "HG1_PATCH", "CHR_HSCHR6_MHC_COX_CTG1"]))
    strand = draw(st.sampled_from([1, -1]))
    transcripts = []
    for n in range(draw(st.integers(0, 4))):
        start = draw(st.integers(1, 10**8))
        transcripts.append({"id": f"ENST{n:011d}.{n + 1}", "seq_region_name": chrom, "start": start,
                            "end": start + draw(st.integers(0, 10**5)), "strand": strand,
                            "biotype": "protein_coding", "is_canonical": int(n == 0), "version": n + 1})
    if transcripts:
        start, end = min(t["start"] for t in transcripts), max(t["end"] for t in transcripts)
    else:
        start = draw(st.integers(1, 10**8))
        end = start + draw(st.integers(0, 10**5))
    return {"id": "ENSG00000000001", "version": 2, "display_name": "GENE", "seq_region_name": chrom, "start": start,
            "end": end, "strand": strand, "biotype": "protein_coding", "Transcript": transcripts,
            "canonical_transcript": transcripts[0]["id"] if transcripts else None}


@PROPERTY
@given(obj=ensembl_gene_json())
def test_ensembl_coordinates_round_trip(obj):
    gene = gene_from_json(obj)
    assert (gene.start, gene.end) == (obj["start"] - 1, obj["end"])
    assert gene.end - gene.start == obj["end"] - obj["start"] + 1
    assert gene.strand == {1: "+", -1: "-"}[obj["strand"]]
    # back to Ensembl's 1-based closed coordinates, as the sequence request asks for them
    assert region_query(gene.chrom, gene.start, gene.end) == f"{obj['seq_region_name']}:{obj['start']}..{obj['end']}:1"
    by_id = {t.id: t for t in gene.transcripts}
    for raw in obj["Transcript"]:
        t = by_id[raw["id"].split(".")[0]]
        assert (t.start, t.end, t.version) == (raw["start"] - 1, raw["end"], raw["version"])
        assert t.tss + 1 == (raw["start"] if raw["strand"] == 1 else raw["end"])  # 1-based TSS as Ensembl gives it
        assert t.is_canonical == bool(raw["is_canonical"])
    # the sequence check accepts exactly the answer for the region asked (its first bases, to keep strings short)
    end = min(gene.end, gene.start + 1000)
    query = region_query(gene.chrom, gene.start, end)
    answer = {"id": f"chromosome:GRCh37:{gene.chrom}:{obj['start']}:{end}:1", "seq": "A" * (end - gene.start),
              "query": query}
    ensembl._check_sequence(query, answer, gene.chrom, gene.start, end)
    for wrong in (dict(answer, seq=answer["seq"][1:]), dict(answer, seq=answer["seq"][:-1] + "1"),
                  dict(answer, id=f"chromosome:GRCh37:{gene.chrom}:{obj['start'] + 1}:{end}:1")):
        with pytest.raises(ensembl._BadResponse):
            ensembl._check_sequence(query, wrong, gene.chrom, gene.start, end)


@PROPERTY
@given(chrom=st.sampled_from(["1", "X", "HSCHR6_MHC_COX", "chr7:alt"]), start=st.integers(0, 10**9),
       length=st.integers(1, 3 * 10**7))
def test_region_pieces_round_trip(chrom, start, length):
    pieces = ensembl._split(chrom, start, start + length)
    assert pieces[0][1] == start and pieces[-1][2] == start + length
    assert all(a[2] == b[1] for a, b in zip(pieces, pieces[1:]))
    assert all(0 < end - begin <= ensembl.MAX_REGION_BP for _, begin, end in pieces)
    assert all(ensembl._parse_piece_key(ensembl._piece_key(p)) == p for p in pieces)


# ---------------------------------------------------------------------------------------------------------------
# fuzz: random bytes and mutated valid files; a parse or an InputFileError, nothing else

INTERESTING = [b"\x00", b"\r", b"\n", b"\r\n", b"\t", b" ", b">", b">>", b"-1", b"nan", b"inf", b"1e999", b'"', b";",
               b"\xff", b"\xef\xbb\xbf", b"\x1f\x8b", b"ACGT", b"MOTIF", b"P0", b"//", b"[", b"]", b"|", b"0",
               b"letter-probability matrix: alength= 4 w= 2", b"99999999999999999999", b"\xc3\xa9", b"\x85"]


@st.composite
def mutated(draw, seeds: list[bytes]) -> bytes:
    """A seed file with a few random edits, sometimes gzip-compressed (and then maybe cut short or bit-flipped)."""
    data = bytearray(draw(st.sampled_from(seeds)))
    for _ in range(draw(st.integers(0, 8))):
        position = draw(st.integers(0, len(data)))
        operation = draw(st.sampled_from(["replace", "insert", "delete", "duplicate"]))
        if operation == "replace" and data:
            data[min(position, len(data) - 1)] = draw(st.integers(0, 255))
        elif operation == "insert":
            data[position:position] = draw(st.sampled_from(INTERESTING) | st.binary(max_size=8))
        elif operation == "delete":
            del data[position : position + draw(st.integers(1, 40))]
        else:
            data[position:position] = data[position : position + draw(st.integers(1, 200))]
    data = bytes(data)
    if draw(st.integers(0, 5)) == 0:
        data = gzip.compress(data, mtime=0)
        if draw(st.booleans()):
            cut = draw(st.integers(0, len(data)))
            data = data[:cut] + draw(st.binary(max_size=4)) + data[cut + 1 :]
    return data


def fuzz_inputs(seeds: list[bytes]):
    return st.one_of(st.binary(max_size=3000), mutated(seeds))


def parses_or_input_error(parse, path: Path):
    try:
        return parse(path)
    except InputFileError as error:
        assert str(path) in str(error)  # every message names the file
        assert "\n" not in str(error)  # and fits on one line
        return None


FASTA_SEEDS = [
    b">seq1 first record\nACGTACGTNNRYKM\nacgtn\n\n>seq2\nGGGG\n>empty\n",
    b">a x\r\nACGT\r\nTT\r\n>b\r\nGG\r\n",
    Path(__file__).resolve().parent.parent.joinpath("examples", "promoters.fa").read_bytes()[:3000],
]


@FUZZ
@given(data=fuzz_inputs(FASTA_SEEDS))
def test_fuzz_fasta_reader(tmp_path, data):
    records = parses_or_input_error(read_fasta, write(tmp_path / "fuzz.fa", data))
    if records is not None:
        assert records and len({r.name for r in records}) == len(records)
        assert all(r.name and not any(c.isspace() for c in r.name) for r in records)
        allowed = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz*.-")
        assert all(set(r.sequence) <= allowed for r in records)


GTF_SEEDS = [(DATA / "local_gencode_style.gtf").read_bytes(), (DATA / "local_chr7_alt_subset.gtf").read_bytes()[:6000]]


@FUZZ
@given(data=fuzz_inputs(GTF_SEEDS))
def test_fuzz_gtf_reader(tmp_path, data):
    genes = parses_or_input_error(read_gtf, write(tmp_path / "fuzz.gtf", data))
    if genes is not None:
        for gene in genes:
            assert gene.id and 0 <= gene.start < gene.end and gene.strand in "+-"
            assert sum(t.is_canonical for t in gene.transcripts) == (1 if gene.transcripts else 0)
            assert all(0 <= t.start < t.end and t.strand == gene.strand for t in gene.transcripts)


MOTIF_SEEDS = [(DATA / name).read_bytes() for name in
               ("atf3_MA0605.3.jaspar", "atf3_MA0605.3.transfac", "creb1_MA0018.5.meme")] + [
    b"A | 1 2 3\nC | 4 5 6\nG | 7 8 9\nT | 1 1 1\n",
    b"0.25 0.5 0.1\n0.25 0.2 0.1\n0.25 0.2 0.1\n0.25 0.1 0.7\n",
    b">M1 one\nA [ 1 2 ]\nC [ 3 4 ]\nG [ 5 6 ]\nT [ 7 8 ]\n>M2 two\n1 2\n3 4\n5 6\n7 8\n",
]


@FUZZ
@given(data=fuzz_inputs(MOTIF_SEEDS))
def test_fuzz_motif_reader(tmp_path, data):
    motifs = parses_or_input_error(read_motif_file, write(tmp_path / "fuzz.motif", data))
    if motifs is not None:
        uniform = np.full(4, 0.25)
        for motif in motifs:
            assert motif.counts.shape[0] == 4 and motif.counts.shape[1] >= 1
            assert np.all(np.isfinite(motif.counts)) and np.all(motif.counts >= 0)
            assert np.all(motif.counts.sum(axis=0) > 0)
            with np.errstate(all="ignore"):
                assert np.all(np.isfinite(log_odds(motif.counts, 0.8, uniform)))  # the scanner can use it
