"""FASTA records are scanned in overlapping chunks (issue 9 item 23: memory follows the chunk, not the record): a
scan in small chunks, many chunks per scanner pass, must give exactly the scan of each record whole, and both must
agree with the brute-force oracle (every window summed directly, tests/oracles.py).

Records are several chunks long; windows cross chunk edges, N runs cross them, lowercase letters are masked or not,
``--background auto`` counts every record whole, and the files are plain, gzip and bgzip.
"""

from __future__ import annotations

import gzip

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from oracles import read_fasta_plainly, reverse_complement, window_score

from motifscan import engine
from motifscan.api import scan_fasta
from motifscan.background import background_from_counts
from motifscan.motifs import log_odds

MOTIFS = ["MA0605.3", "MA0018.5"]  # ATF3 (10 columns) and CREB1 (12): two widths, so the overlap is the wider's

_RECORD = st.lists(st.tuples(st.sampled_from(["ACGT", "acgt", "N", "ACGTN"]), st.integers(1, 60)), min_size=1,
                   max_size=12)


def _sequence(runs, rng) -> str:
    return "".join("".join(rng.choice(list(letters), size)) for letters, size in runs)


def _write(path, records, kind: str, width: int = 37) -> None:
    text = "".join(f">{name} x\n" + "".join(seq[i : i + width] + "\n" for i in range(0, len(seq), width))
                   for name, seq in records)
    if kind == "plain":
        path.write_text(text)
    elif kind == "gzip":
        path.write_bytes(gzip.compress(text.encode()))
    else:
        import pysam

        with pysam.BGZFile(str(path), "wb") as handle:
            handle.write(text.encode())


@settings(max_examples=25, deadline=None)
@given(st.lists(_RECORD, min_size=1, max_size=3), st.integers(1, 40), st.sampled_from(["plain", "gzip", "bgzip"]),
       st.booleans(), st.sampled_from(["uniform", "auto"]), st.integers(0, 2**32 - 1))
def test_chunked_scan_is_the_whole_record_scan(tmp_path_factory, records, chunk_size, kind, mask, background, seed):
    rng = np.random.default_rng(seed)
    entries = [(f"r{i}", _sequence(runs, rng)) for i, runs in enumerate(records)]
    path = tmp_path_factory.mktemp("fa") / "in.fa"
    _write(path, entries, kind)
    options = dict(p_threshold=0.02, mask_lowercase=mask, background=background)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(engine, "BATCH_LETTERS", 50)  # several scanner passes, each of a few chunks
        chunked = scan_fasta(path, MOTIFS, chunk_size=chunk_size, **options)
        chunked_q = scan_fasta(path, MOTIFS, chunk_size=chunk_size, q_threshold=0.9, **options)
    whole = scan_fasta(path, MOTIFS, chunk_size=10**6, **options)
    whole_q = scan_fasta(path, MOTIFS, chunk_size=10**6, q_threshold=0.9, **options)
    assert chunked.to_tsv() == whole.to_tsv()
    assert chunked_q.to_tsv() == whole_q.to_tsv()  # the same tests (m) behind every q
    assert chunked.scored_windows == whole.scored_windows
    assert chunked.records == whole.records

    # the oracle: every window of every record summed directly, against the background counted over whole records
    sequences = read_fasta_plainly(path)
    letters = "".join(sequences.values())
    scorable = letters if not mask else "".join(c for c in letters if c in "ACGTN")
    counts = np.array([scorable.upper().count(c) for c in "ACGT"], dtype=np.float64)
    expected_background = background_from_counts(counts) if background == "auto" else np.full(4, 0.25)
    np.testing.assert_allclose(chunked.provenance.background, expected_background, rtol=0, atol=0)
    found = {(h.seq_name, h.motif_id, h.start, h.strand): h for h in chunked}
    for motif in chunked.motifs:
        matrix = log_odds(motif.counts, 0.8, expected_background)
        threshold = min((h.score for h in chunked if h.motif_id == motif.id), default=np.inf)
        for name, sequence in sequences.items():
            for start in range(len(sequence) - motif.width + 1):
                window = sequence[start : start + motif.width]
                if any(c not in "ACGT" + ("" if mask else "acgt") for c in window):
                    continue
                for strand, text in (("+", window.upper()), ("-", reverse_complement(window.upper()))):
                    score = window_score(matrix, text)
                    hit = found.get((name, motif.id, start, strand))
                    if hit is not None:
                        assert hit.score == pytest.approx(score, abs=1e-9)
                        assert hit.matched_sequence == (window if strand == "+" else reverse_complement(window))
                    else:  # hits are the windows above a score (p falls with the score): none may be missing
                        assert score < threshold + 1e-9, (name, motif.id, start, strand)
    n_windows = {m.id: 2 * sum(sum(1 for s in range(len(seq) - m.width + 1)
                                   if all(c in "ACGT" + ("" if mask else "acgt") for c in seq[s : s + m.width]))
                               for seq in sequences.values()) for m in chunked.motifs}
    assert chunked.scored_windows == n_windows
