"""The hit table: every hit of a scan as equal-length numpy columns, with small lookup tables.

One hit type flows from the scanner to the files. :func:`motifscan.engine.scan_targets` builds a :class:`HitTable`
from the scanner's candidates (p- and q-values become columns), gene scans add their annotation columns
(:func:`motifscan.genes` does that with ``searchsorted``-style array operations, never a loop over hits), and the
writers (:mod:`motifscan.writers`) format whole columns in chunks. A :class:`Hit` is a lazy view of one row, for
notebooks: ``table[i]``, iteration and ``repr`` work, nothing is copied until a field is read.

Columns (all shape ``(n,)``, row ``i`` is hit ``i``; rows are in output order: seq_name, start, motif_id, strand)
-------------------------------------------------------------------------------------------------------------------
``motif``        int32   index into ``motifs`` (:class:`MotifTable`)
``target``       int32   index into ``targets`` (:class:`TargetTable`): the scanned record
``start``        int64   0-based first base, in ``chrom`` coordinates (genomic for gene scans, record positions for
                         FASTA scans)
``end``          int64   0-based one past the last base (half-open); ``end - start`` is the motif's width
``strand``       <U1     ``"+"`` or ``"-"``, relative to ``chrom`` (a field, never a sign on a coordinate)
``score``        float64 log-odds score, bits (exact)
``rel_score``    float64 (score - min) / (max - min) of the matrix, in [0, 1]
``p_value``      float64 exact-within-1% p-value of the window's score (:mod:`motifscan.pvalues`)
``q_value``      float64 Benjamini-Hochberg q-value per motif (the tests: ``ScanResult.scored_windows``)

Gene scans add (``genes`` is then not None):

``gene``         int32   index into ``genes`` (:class:`GeneTable`)
``tss_rel_start``, ``tss_rel_end``  int64  first and last base relative to the TSS of the site's first transcript
                         (EPD: +1 = TSS base, -1 = the base upstream, no 0; gene orientation)
``transcripts``  int32   index into ``transcript_sets``: the IDs of the transcripts whose own window holds the site

``letters``  (optional, (n, widest) uint8): each site's letters as the scan cut them (5'->3' on the hit's strand, in
the source's letter case, zero-padded past its width): scans keep them, since a streamed record is not kept whole.
``matched``  (optional, object array of str): the matched sequences, kept when the table was read from a file.
Without either, :meth:`HitTable.matched_sequences` cuts them from ``targets.sequences``.

Lookup tables
-------------
:class:`MotifTable` (``ids``, ``names``, ``widths``), :class:`TargetTable` (per scanned record: ``names`` = seq_name,
``chroms``, ``offsets`` of the record's first base on ``chrom``, ``strands`` = the record's orientation,
``sequences`` forward strand or None), :class:`GeneTable` (``ids``, ``names``, ``strands``), and
``transcript_sets`` (a tuple of tuples of transcript IDs).

String columns for many rows at once: :meth:`HitTable.strings` (``"motif_id"``, ``"motif_name"``, ``"seq_name"``,
``"chrom"``, ``"gene_id"``, ``"gene_name"``) gives an object array. Sub-tables: ``table[mask]``, ``table[rows]``,
``table[a:b]`` (:meth:`HitTable.take`) share the lookup tables. ``to_pandas()`` builds a DataFrame from the columns.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, fields, replace
from typing import Any

import numpy as np
import numpy.typing as npt

from motifscan.encoding import reverse_complement_bytes

STRAND_DTYPE = np.dtype("<U1")

TSV_COLUMNS = (
    "motif_id", "motif_name", "seq_name", "chrom", "start", "end", "strand", "score", "rel_score", "p_value",
    "q_value", "matched_sequence", "gene_id", "gene_name", "transcript_ids", "tss_rel_start", "tss_rel_end",
)
"""The columns of the TSV and of :meth:`HitTable.to_pandas`, in order (one schema, in one place)."""

TSV_DTYPES = {
    "motif_id": "str", "motif_name": "str", "seq_name": "str", "chrom": "str", "start": "int64", "end": "int64",
    "strand": "str", "score": "float64", "rel_score": "float64", "p_value": "float64", "q_value": "float64",
    "matched_sequence": "str", "gene_id": "str", "gene_name": "str", "transcript_ids": "str",
    "tss_rel_start": "Int64", "tss_rel_end": "Int64",
}
"""The pandas dtype of each TSV column, whatever the rows hold: text columns are strings (pandas' ``str``: object
in pandas 2, the string dtype in pandas 3; ``chrom`` "6", never int64; an empty gene field is "", not NaN),
``start``/``end`` int64 (0-based half-open), TSS-relative positions the nullable Int64 (<NA> on FASTA scans)."""


def _strings(values: Sequence[str]) -> np.ndarray:
    array = np.empty(len(values), dtype=object)
    array[:] = list(values)
    return array


@dataclass(frozen=True)
class MotifTable:
    """The scan's motifs, in the scanner's order: ``ids``, ``names`` (tuples of str), ``widths`` (int64, (m,))."""

    ids: tuple[str, ...]
    names: tuple[str, ...]
    widths: np.ndarray

    @classmethod
    def of(cls, motifs) -> MotifTable:
        """From :class:`~motifscan.model.Motif` objects."""
        return cls(tuple(m.id for m in motifs), tuple(m.name for m in motifs),
                   np.array([m.width for m in motifs], dtype=np.int64))

    def __len__(self) -> int:
        return len(self.ids)


@dataclass(frozen=True)
class TargetTable:
    """The scanned records. ``names``: seq_name; ``chroms``: the chromosome (or record) hits are placed on;
    ``offsets`` (int64, (t,)): 0-based position of the record's first base on its chrom; ``strands``: the record's
    orientation (the gene's, for promoters; ``"+"`` for FASTA records); ``sequences``: the forward-strand sequences
    scanned (None when the table was read from a file); ``genes`` (int32, (t,)): gene index of each record, or None."""

    names: tuple[str, ...]
    chroms: tuple[str, ...]
    offsets: np.ndarray
    strands: tuple[str, ...]
    sequences: tuple[str, ...] | None = None
    genes: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.names)


@dataclass(frozen=True)
class GeneTable:
    """The genes of a gene scan: ``ids`` (unversioned Ensembl IDs), ``names`` (symbols, "" if none), ``strands``."""

    ids: tuple[str, ...]
    names: tuple[str, ...]
    strands: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.ids)


_COLUMNS = ("motif", "target", "start", "end", "strand", "score", "rel_score", "p_value", "q_value")
_GENE_COLUMNS = ("gene", "tss_rel_start", "tss_rel_end", "transcripts")
_DTYPES: dict[str, npt.DTypeLike] = {
    "motif": np.int32, "target": np.int32, "start": np.int64, "end": np.int64, "strand": STRAND_DTYPE,
    "score": np.float64, "rel_score": np.float64, "p_value": np.float64, "q_value": np.float64,
    "gene": np.int32, "tss_rel_start": np.int64, "tss_rel_end": np.int64, "transcripts": np.int32,
}


@dataclass(frozen=True, eq=False)
class HitTable:
    """Hits as columns; see the module docstring for each column's meaning, dtype and coordinates."""

    motifs: MotifTable
    targets: TargetTable
    motif: np.ndarray
    target: np.ndarray
    start: np.ndarray
    end: np.ndarray
    strand: np.ndarray
    score: np.ndarray
    rel_score: np.ndarray
    p_value: np.ndarray
    q_value: np.ndarray
    genes: GeneTable | None = None
    gene: np.ndarray | None = None
    tss_rel_start: np.ndarray | None = None
    tss_rel_end: np.ndarray | None = None
    transcripts: np.ndarray | None = None
    transcript_sets: tuple[tuple[str, ...], ...] = ()
    matched: np.ndarray | None = field(default=None)
    letters: np.ndarray | None = field(default=None)

    def __post_init__(self) -> None:
        n = len(self.motif)
        names = _COLUMNS + (_GENE_COLUMNS if self.genes is not None else ())
        for name in names:
            column = getattr(self, name)
            if column is None:
                raise ValueError(f"hit table: column {name} missing")
            column = np.asarray(column, dtype=_DTYPES[name])
            if column.shape != (n,):
                raise ValueError(f"hit table: column {name} has shape {column.shape}, expected ({n},)")
            object.__setattr__(self, name, column)
        if self.matched is not None and len(self.matched) != n:
            raise ValueError("hit table: column matched has the wrong length")
        if self.letters is not None and (self.letters.ndim != 2 or len(self.letters) != n):
            raise ValueError("hit table: column letters must have shape (n_hits, widest)")

    # ------------------------------------------------------------------------------------------------- construction

    @classmethod
    def empty(cls, motifs: MotifTable, targets: TargetTable, genes: GeneTable | None = None) -> HitTable:
        """A table without rows (gene columns present when ``genes`` is given)."""
        columns: dict[str, Any] = {name: np.zeros(0, _DTYPES[name]) for name in _COLUMNS}
        if genes is not None:
            columns.update({name: np.zeros(0, _DTYPES[name]) for name in _GENE_COLUMNS})
        return cls(motifs, targets, genes=genes, **columns)

    def take(self, rows: Any) -> HitTable:
        """The sub-table of ``rows`` (an index array, a boolean mask or a slice), sharing the lookup tables."""
        names = _COLUMNS + (_GENE_COLUMNS if self.genes is not None else ())
        taken = {name: getattr(self, name)[rows] for name in names}
        for name in ("matched", "letters"):
            if getattr(self, name) is not None:
                taken[name] = getattr(self, name)[rows]
        return replace(self, **taken)

    def with_columns(self, **columns: Any) -> HitTable:
        """A copy with some columns (or lookup tables) replaced or added, e.g. the gene columns."""
        return replace(self, **columns)

    # ------------------------------------------------------------------------------------------------------- access

    def __len__(self) -> int:
        return len(self.motif)

    def __getitem__(self, index):
        if isinstance(index, (int, np.integer)):
            n = len(self)
            if not -n <= index < n:
                raise IndexError(f"hit index {index} out of range for {n} hits")
            return Hit(self, int(index) % n)
        return self.take(index)

    def __iter__(self) -> Iterator[Hit]:
        return (Hit(self, i) for i in range(len(self)))

    def __repr__(self) -> str:
        return f"<HitTable: {len(self)} hits, {len(self.motifs)} motifs, {len(self.targets)} records>"

    @property
    def has_genes(self) -> bool:
        return self.genes is not None

    def strings(self, name: str) -> np.ndarray:
        """An object array of str, one per hit: ``motif_id``, ``motif_name``, ``seq_name``, ``chrom``, ``gene_id``,
        ``gene_name`` ("" for FASTA scans), ``transcript_ids`` (comma-joined) or ``matched_sequence``."""
        if name == "motif_id":
            return _strings(self.motifs.ids)[self.motif]
        if name == "motif_name":
            return _strings(self.motifs.names)[self.motif]
        if name == "seq_name":
            return _strings(self.targets.names)[self.target]
        if name == "chrom":
            return _strings(self.targets.chroms)[self.target]
        if name in ("gene_id", "gene_name"):
            if self.genes is None:
                return _strings([""] * len(self))
            table = self.genes.ids if name == "gene_id" else self.genes.names
            return _strings(table)[self.gene]
        if name == "transcript_ids":
            if self.genes is None:
                return _strings([""] * len(self))
            return _strings([",".join(s) for s in self.transcript_sets])[self.transcripts]
        if name == "matched_sequence":
            return self.matched_sequences()
        raise KeyError(f"no string column {name!r}")

    def matched_sequences(self) -> np.ndarray:
        """The sites' letters, 5'->3' on each hit's strand, in the source's case: object array of str, (n,)."""
        if self.matched is not None:
            return self.matched
        out = np.empty(len(self), dtype=object)
        if not len(self):
            return out
        matrix, width = self.matched_letters()
        for w in np.unique(width):
            rows = np.flatnonzero(width == w)
            site = np.ascontiguousarray(matrix[rows, :w])
            out[rows] = np.char.decode(site.view(f"S{w}").ravel(), "ascii")
        return out

    def matched_letters(self) -> tuple[np.ndarray, np.ndarray]:
        """The sites' letters as bytes: a (n, widest) uint8 matrix whose row i holds hit i's ``end - start`` letters
        (5'->3' on its strand, in the source's case) from column 0, and those widths (int64, (n,)).

        Cut from the targets' sequences in one 2-D gather (minus-strand rows read backwards and complemented); from
        the ``matched`` strings when the table was read from a file."""
        width = (self.end - self.start).astype(np.int64)
        widest = int(width.max()) if len(self) else 0
        if self.matched is not None:
            from motifscan.text_columns import StringTable

            distinct, which = np.unique(self.matched.astype(str), return_inverse=True)
            return StringTable.of(distinct.tolist()).field(which.ravel()), width
        if self.letters is not None:
            return self.letters, width
        if not len(self):
            return np.zeros((0, 0), dtype=np.uint8), width
        if self.targets.sequences is None:
            raise ValueError("hit table without sequences: matched sequences unknown")
        joined, first = _joined_letters(self.targets.sequences)
        local = self.start - self.targets.offsets[self.target] + first[self.target]
        return cut_sites(joined, local, width, self.strand == "-", widest), width

    def tss_rel(self, rows: Any = slice(None)) -> tuple[np.ndarray, np.ndarray] | None:
        """(tss_rel_start, tss_rel_end) of ``rows``, or None for FASTA scans."""
        if self.tss_rel_start is None or self.tss_rel_end is None:
            return None
        return self.tss_rel_start[rows], self.tss_rel_end[rows]

    # ------------------------------------------------------------------------------------------------------- pandas

    def to_pandas(self):
        """A pandas DataFrame with the TSV columns (:data:`TSV_COLUMNS`), built from the columns: ``start``/``end``
        int64 (0-based half-open), ``score``/``rel_score``/``p_value``/``q_value`` float64, ``tss_rel_start``/
        ``tss_rel_end`` nullable Int64 (NA for FASTA scans), every text column (``chrom`` included) str."""
        try:
            import pandas as pd
        except ImportError:
            raise ImportError('to_pandas() needs pandas: pip install ".[pandas]" in the motifscan clone '
                              "(or pip install pandas)") from None
        n = len(self)
        data: dict[str, Any] = {}
        for name in TSV_COLUMNS:
            if name in ("start", "end", "score", "rel_score", "p_value", "q_value"):
                data[name] = getattr(self, name)
            elif name == "strand":
                data[name] = self.strand.astype(object)
            elif name in ("tss_rel_start", "tss_rel_end"):
                column = getattr(self, name)
                data[name] = (pd.array(column, dtype="Int64") if column is not None
                              else pd.array([None] * n, dtype="Int64"))
            else:
                data[name] = self.strings(name)
        return pd.DataFrame(data, columns=list(TSV_COLUMNS))


def cut_sites(letters: np.ndarray, first: np.ndarray, width: np.ndarray, minus: np.ndarray, widest: int
              ) -> np.ndarray:
    """The letters of sites, 5'->3' on each site's strand, in one 2-D gather: ``letters`` (L,) uint8 ASCII;
    per site (shape (n,)) ``first`` (index of its leftmost letter in ``letters``), ``width``, ``minus`` (bool).
    Returns (n, widest) uint8: row i holds site i's ``width[i]`` letters from column 0 (a minus-strand site read
    backwards and complemented, case kept), then zeros. Besides the result, temporaries of n values only (the
    clearing past each width goes a block of :data:`CUT_ROWS` rows at a time: millions of sites in a hit table)."""
    width = np.asarray(width, dtype=np.int64)
    first = np.asarray(first, dtype=np.int64)
    if not len(first):
        return np.zeros((0, widest), dtype=np.uint8)
    # every run of `widest` letters as a row of a strided view (zeros beyond both ends): a site is one row, copied
    # whole; a minus-strand site is the row ending at its last letter, reversed
    padded = np.concatenate((np.zeros(widest, np.uint8), letters, np.zeros(widest, np.uint8)))
    rows = np.lib.stride_tricks.sliding_window_view(padded, widest)
    matrix = rows[np.where(minus, first + width, first + widest)]
    if minus.any():
        on_minus = np.flatnonzero(minus)
        matrix[on_minus] = reverse_complement_bytes(matrix[on_minus])  # reversed and complemented, case kept
    columns = np.arange(widest)
    for begin in range(0, len(first), CUT_ROWS):  # zeros past each site's width (a product: no boolean setitem)
        end = begin + CUT_ROWS
        matrix[begin:end] *= columns < width[begin:end, None]
    return matrix


CUT_ROWS = 1 << 16
""":func:`cut_sites` clears past the sites' widths this many rows at a time (a bounded (rows, widest) mask)."""


_LETTERS_CACHE: dict[int, tuple[tuple[str, ...], np.ndarray, np.ndarray]] = {}


def _joined_letters(sequences: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    """The sequences' ASCII letters in one uint8 array and each sequence's first index in it (cached per tuple)."""
    cached = _LETTERS_CACHE.get(id(sequences))
    if cached is not None and cached[0] is sequences:
        return cached[1], cached[2]
    lengths = np.fromiter((len(s) for s in sequences), dtype=np.int64, count=len(sequences))
    first = np.zeros(len(sequences), dtype=np.int64)
    if len(sequences) > 1:
        first[1:] = np.cumsum(lengths)[:-1]
    joined = np.frombuffer("".join(sequences).encode("ascii", "replace"), dtype=np.uint8)
    _LETTERS_CACHE.clear()  # one scan's letters at a time
    _LETTERS_CACHE[id(sequences)] = (sequences, joined, first)
    return joined, first


class Hit:
    """One row of a :class:`HitTable`, read lazily: the fields of a hit as attributes.

    ``start``/``end``: 0-based half-open, in ``chrom`` coordinates (genomic for gene scans, record positions for FASTA
    scans). ``strand``: ``"+"``/``"-"`` relative to ``chrom``. ``matched_sequence``: the site read 5'->3' on its own
    strand, in the source's letter case. ``tss_rel_start``/``tss_rel_end``: first and last base relative to the TSS,
    +1 = TSS base, -1 = the base just upstream, no zero (None for FASTA scans). Two hits are equal when all their
    fields are.
    """

    __slots__ = ("_row", "_table")

    FIELDS = TSV_COLUMNS

    def __init__(self, table: HitTable, row: int) -> None:
        self._table = table
        self._row = row

    @property
    def motif_id(self) -> str:
        return self._table.motifs.ids[self._table.motif[self._row]]

    @property
    def motif_name(self) -> str:
        return self._table.motifs.names[self._table.motif[self._row]]

    @property
    def seq_name(self) -> str:
        return self._table.targets.names[self._table.target[self._row]]

    @property
    def chrom(self) -> str:
        return self._table.targets.chroms[self._table.target[self._row]]

    @property
    def start(self) -> int:
        return int(self._table.start[self._row])

    @property
    def end(self) -> int:
        return int(self._table.end[self._row])

    @property
    def strand(self) -> str:
        return str(self._table.strand[self._row])

    @property
    def score(self) -> float:
        return float(self._table.score[self._row])

    @property
    def rel_score(self) -> float:
        return float(self._table.rel_score[self._row])

    @property
    def p_value(self) -> float:
        return float(self._table.p_value[self._row])

    @property
    def q_value(self) -> float:
        return float(self._table.q_value[self._row])

    @property
    def matched_sequence(self) -> str:
        return str(self._table.take(slice(self._row, self._row + 1)).matched_sequences()[0])

    @property
    def gene_id(self) -> str:
        table = self._table
        return "" if table.genes is None or table.gene is None else table.genes.ids[table.gene[self._row]]

    @property
    def gene_name(self) -> str:
        table = self._table
        return "" if table.genes is None or table.gene is None else table.genes.names[table.gene[self._row]]

    @property
    def transcript_ids(self) -> tuple[str, ...]:
        table = self._table
        if table.transcripts is None:
            return ()
        return table.transcript_sets[table.transcripts[self._row]]

    @property
    def tss_rel_start(self) -> int | None:
        column = self._table.tss_rel_start
        return None if column is None else int(column[self._row])

    @property
    def tss_rel_end(self) -> int | None:
        column = self._table.tss_rel_end
        return None if column is None else int(column[self._row])

    def as_dict(self) -> dict[str, Any]:
        """The hit's fields by TSV column name."""
        return {name: getattr(self, name) for name in self.FIELDS}

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Hit):
            return NotImplemented
        return self.as_dict() == other.as_dict()

    def __hash__(self) -> int:
        return hash(tuple(self.as_dict().values()))

    def __repr__(self) -> str:
        shown = {k: v for k, v in self.as_dict().items()
                 if not (k in ("gene_id", "gene_name", "transcript_ids", "tss_rel_start", "tss_rel_end")
                         and v in ("", (), None))}
        return "Hit(" + ", ".join(f"{k}={v!r}" for k, v in shown.items()) + ")"


def concatenate(tables: Sequence[HitTable]) -> HitTable:
    """The rows of several tables sharing the same lookup tables, in order."""
    first = tables[0]
    names = [f.name for f in fields(HitTable) if isinstance(getattr(first, f.name), np.ndarray)]
    columns: dict[str, Any] = {name: np.concatenate([getattr(t, name) for t in tables]) for name in names}
    return replace(first, **columns)
