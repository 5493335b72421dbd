"""Plain-text count matrices in either orientation: JASPAR, four-row PFMs, HOMER, cluster-buster, four-column PFMs.

Two layouts are read, told apart per matrix by its shape, and per file where one matrix's shape cannot tell:

- **four rows** (JASPAR ``.jaspar``/``.pfm``, Biopython's ``pfm-four-rows``): one row per letter, one column per
  position. Rows ``A [ 1 2 ... ]``, ``A | 1 2 ...``, ``A 1 2 ...`` (any letter order) or four bare rows (A, C, G, T);
  a ``>ID name`` header before each matrix or none at all (bare rows, four by four).
- **one row per position** (HOMER ``.motif``, cluster-buster, GimmeMotifs' ``.pfm``, HOCOMOCO, Biopython's
  ``pfm-four-columns``): a ``>`` header, then one row of four values per position, A, C, G, T, unless a letter line
  (``Pos A C G T``, ``T A G C``) before the rows gives another order. A ``Pos`` line allows a leading position number
  (1, 2, ...); a leading consensus letter (IUPAC, as in ENCODE's motifs) is allowed and ignored.

A matrix of more or fewer than 4 rows of 4 values is one row per position; 4 rows of another width are four rows.
A 4 x 4 matrix reads either way: it takes the layout of the file's other matrices (a file holds one layout); in a file
without others, a HOMER header (``>CONSENSUS<TAB>name<TAB>threshold``) or a letter line says one row per position;
else its totals decide where they can (the rows of a count matrix in one-row-per-position layout add up to the same
site count, the columns of a four-row one do); else it is refused, saying how to make the layout explicit.

Headers: ``>ID name`` (JASPAR, cluster-buster, GimmeMotifs: ID the first word, name the rest, else the ID); HOMER's
``>CONSENSUS<TAB>name<TAB>log-odds threshold...``: ID and name the HOMER name (``AP-1(bZIP)/ThioMac-PU.1-.../Homer``),
its threshold not used (motifscan's thresholds come from p-values). CIS-BP's ``Gene X`` / ``Motif Y`` lines name the
matrix that follows (ID Y, else X; name X). A matrix without a name is ``<file stem>_<n>``. ``#`` lines (cluster-buster
``# WEIGHT:`` lines too), blank lines and other text between matrices are skipped, as Biopython does.

Values are checked as written (plain, finite, non-negative numbers; equal row lengths; every position with some
counts); a problem -> :class:`~motifscan.errors.InputFileError` naming the file and the line.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn

import numpy as np

from motifscan.errors import InputFileError

LETTERS = "ACGT"
FOUR_ROWS = "four rows"
ONE_ROW_PER_POSITION = "one row per position"
SUPPORTED_LAYOUTS = (
    "JASPAR/four-row PFM (rows A, C, G, T; one column per position), "
    "HOMER/cluster-buster/four-column PFM (one row of A, C, G, T values per position), "
    "MEME (text or XML) and TRANSFAC"
)

_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_LABELLED_ROW = re.compile(r"([ACGTacgt])\s*(?:\[(.*?)\]?|\|(.*)|\s(.*))")
_BRACKETED = re.compile(r"[ACGTacgt]\s*[\[|]")
_CONSENSUS_LETTER = re.compile(r"[ACGTURYSWKMBDHVN]", re.IGNORECASE)


@dataclass
class RawMatrix:
    """One block of matrix rows as the file gives it, before its layout is decided."""

    header: int  # the line of its header, 0 if none
    motif_id: str
    name: str
    order: str | None  # a letter line's order for one-row-per-position rows, None if none was given
    homer: bool = False
    rows: list[list[float]] = field(default_factory=list)  # the values as written, one list per line
    row_lines: list[int] = field(default_factory=list)
    letters: list[str] | None = None  # each row's letter label (A, C, G, T or a consensus letter), None if bare
    bracketed: bool = False  # ``A [ ... ]`` or ``A | ...`` rows: JASPAR's four-row labels, never a consensus
    layouts: set[str] = field(default_factory=set)  # the layouts its shape allows

    @property
    def line(self) -> int:
        """The line of its first row."""
        return self.row_lines[0]

    @property
    def shape(self) -> tuple[int, int]:
        """(rows, values per row)."""
        return len(self.rows), len(self.rows[0])


def plain_numbers(fail: Callable[[int, str], NoReturn], number: int, tokens: Sequence[str], what: str,
                  upper: float | None = None) -> list[float]:
    """The values of line ``number``'s tokens: plain, finite, non-negative numbers, at most ``upper``; else
    ``fail(number, problem)``."""
    values = []
    for token in tokens:
        if not _PLAIN_NUMBER.fullmatch(token):
            fail(number, f"{token!r} is not a number (a {what} was expected)")
        value = float(token)
        if not math.isfinite(value):
            fail(number, f"{token} is too large for a {what}")
        if value < 0:
            fail(number, f"negative {what} {token}")
        if upper is not None and value > upper:
            fail(number, f"{what} {token} is greater than 1")
        values.append(value)
    return values


def looks_numeric(token: str) -> bool:
    """Whether a token is meant as a number (a matrix row's first token), plain or not (``-1``, ``.5``, ``NaN``)."""
    return bool(re.match(r"[0-9.+-]", token)) or token.lower().lstrip("+-") in ("nan", "inf", "infinity")


class MatrixText:
    """A matrix text file's lines (LF; 1-based in messages) -> count matrices, shape (4, width), rows A, C, G, T."""

    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self.lines = text.split("\n")

    def fail(self, number: int, problem: str) -> NoReturn:
        raise InputFileError(f"{self.path}, line {number}: {problem}")

    def numbers(self, number: int, tokens: list[str], what: str = "count") -> list[float]:
        return plain_numbers(self.fail, number, tokens, what)

    def matrices(self) -> list[tuple[str, str, np.ndarray]]:
        """(ID, name, counts) of every matrix, in file order; counts shape (4, width), rows A, C, G, T, as written
        (frequencies are not rescaled here)."""
        blocks = self._blocks()
        file_layout = self._file_layout(blocks)
        result: list[tuple[str, str, np.ndarray]] = []
        for block in blocks:
            layout = self._layout(block, file_layout)
            for matrix in self._split(block) if layout == FOUR_ROWS else [block]:
                number = len(result) + 1
                motif_id = matrix.motif_id or f"{self.path.stem}_{number}"
                result.append((motif_id, matrix.name or motif_id, self._counts(matrix, layout)))
        return result

    # -- reading the lines

    def _blocks(self) -> list[RawMatrix]:
        """The runs of matrix rows, each with the header, name and letter order before it."""
        found: list[RawMatrix] = []
        pending = _Pending()  # what the next block takes
        current: RawMatrix | None = None
        for number, raw in enumerate(self.lines, 1):
            line = raw.strip()
            if line.startswith("#"):
                continue  # comments, also inside a matrix (cluster-buster's ``# WEIGHT:`` lines)
            tokens = line.split()
            order = self._letter_line(tokens) if tokens else None
            is_text = not tokens or line.startswith(">") or order or tokens[0].endswith("=")
            row = None if is_text else self._row(number, line, tokens, current)
            if row is not None:
                if current is None:
                    current = RawMatrix(pending.header, pending.motif_id, pending.name, pending.order,
                                        pending.homer)
                    found.append(current)
                    pending = _Pending(order=pending.order)
                self._add_row(current, number, *row)
                continue
            if current is not None:  # any other line ends a run of rows: check its shape now, in file order
                current.layouts = self._possible_layouts(current)
                current = None
            if line.startswith(">"):
                if pending.header:
                    self.fail(pending.header, "motif header without a matrix")
                pending = self._header(number, line[1:])
            elif not line:
                if not pending.header:
                    pending.order = None
            elif order:
                pending.order = order
            elif tokens[0] in ("Gene", "Motif") and len(tokens) == 2:  # CIS-BP: Gene X, then Motif Y
                if tokens[0] == "Gene" or not pending.header:
                    pending = _Pending(header=number, motif_id=tokens[1], name=tokens[1], order=pending.order)
                else:
                    pending.motif_id = tokens[1]
            # else: other text (``base 1 2 3``, ``Ent=``, notes) is skipped, as Bio.motifs does
        if current is not None:
            current.layouts = self._possible_layouts(current)
        if pending.header:
            self.fail(pending.header, "motif header without a matrix")
        return found

    def _header(self, number: int, text: str) -> _Pending:
        """A ``>`` header's ID and name (HOMER's tab-separated one, or ``ID name``)."""
        fields = text.split("\t")
        if len(fields) >= 3 and _PLAIN_NUMBER.fullmatch(fields[2].strip()) and fields[1].strip():
            name = fields[1].strip()
            return _Pending(header=number, motif_id=name, name=name, homer=True)
        words = text.strip().split(None, 1)
        if not words:
            self.fail(number, "motif header without an identifier")
        return _Pending(header=number, motif_id=words[0], name=words[1].strip() if len(words) > 1 else words[0])

    @staticmethod
    def _letter_line(tokens: list[str]) -> str | None:
        """The letter order of a ``Pos A C G T`` / ``A C G T`` / ``T A G C`` line, else None."""
        letters = tokens[1:] if tokens[0].lower() == "pos" else tokens
        upper = [t.upper() for t in letters]
        return "".join(upper) if sorted(upper) == list(LETTERS) else None

    def _row(self, number: int, line: str, tokens: list[str], current: RawMatrix | None):
        """(letter or None, values, bracketed) of a matrix row; None for a line that is not one."""
        if looks_numeric(tokens[0]):
            return None, self.numbers(number, tokens), False
        match = _LABELLED_ROW.fullmatch(line)
        if match:
            body = next(g for g in match.groups()[1:] if g is not None)
            values = self.numbers(number, body.replace("]", " ").split())
            if not values:
                self.fail(number, "a matrix row without values: the matrix has no columns")
            return match.group(1).upper(), values, bool(_BRACKETED.match(line))
        if _CONSENSUS_LETTER.fullmatch(tokens[0]) and len(tokens) == 5 and all(map(looks_numeric, tokens[1:])):
            return tokens[0].upper(), self.numbers(number, tokens[1:]), False  # ENCODE: consensus, then A C G T
        if current is not None and any(map(looks_numeric, tokens[1:])):
            self.fail(number, f"{tokens[0]!r} is not a number (a count was expected)")
        return None

    def _add_row(self, current: RawMatrix, number: int, letter: str | None, values: list[float],
                 bracketed: bool) -> None:
        if current.rows and (letter is None) != (current.letters is None):
            self.fail(number, "rows with and without a letter label in one matrix")
        if current.rows and len(values) != len(current.rows[0]):
            self.fail(number, f"this row has {len(values)} values, the row on line {current.row_lines[0]} has "
                              f"{len(current.rows[0])}")
        if letter is not None:
            current.letters = (current.letters or []) + [letter]
        current.bracketed |= bracketed
        current.rows.append(values)
        current.row_lines.append(number)

    # -- layouts

    def _possible_layouts(self, block: RawMatrix) -> set[str]:
        """The layouts that the block's shape allows (both for a 4 x 4 block); impossible shapes are refused."""
        count, width = block.shape
        if block.order or block.homer:
            if width not in (4, 5) or (width == 5 and not block.order):
                self.fail(block.line, f"a matrix with one row per position has 4 values (A, C, G, T) per row; this "
                                      f"one has {width}")
            return {ONE_ROW_PER_POSITION}
        if block.letters is not None:
            permutations = count % 4 == 0 and all(
                sorted(block.letters[i:i + 4]) == list(LETTERS) for i in range(0, count, 4))
            if permutations and (count == 4 or not block.header):
                return {FOUR_ROWS, ONE_ROW_PER_POSITION} if width == 4 and not block.bracketed else {FOUR_ROWS}
            if width == 4 and not block.bracketed:
                return {ONE_ROW_PER_POSITION}  # the letters are a consensus column (ENCODE's motifs)
            for start in range(0, count, 4):
                group = block.letters[start:start + 4]
                for offset, letter in enumerate(group):
                    if letter in group[:offset]:
                        self.fail(block.row_lines[start + offset], f"a second row for {letter} in one matrix")
            self.fail(block.line, f"the matrix starting here has {count} row(s); a count matrix has 4 (A, C, G, T)")
        if width == 4 and (count == 4 or (count % 4 == 0 and not block.header)):
            return {FOUR_ROWS, ONE_ROW_PER_POSITION}
        if width == 4:
            return {ONE_ROW_PER_POSITION}
        if count == 4 or (count % 4 == 0 and not block.header):
            return {FOUR_ROWS}
        if not block.header and count > 4:
            start = count - count % 4
            self.fail(block.row_lines[start], f"the matrix starting here has {count % 4} row(s); a count matrix has "
                                              "4 (A, C, G, T)")
        self.fail(block.line, f"the matrix starting here has {count} row(s) of {width} values, which is neither "
                              f"layout: {SUPPORTED_LAYOUTS}")

    def _file_layout(self, blocks: list[RawMatrix]) -> str | None:
        """The one layout of the blocks whose shape tells (None when none tells); two layouts in one file: refused."""
        decided: dict[str, RawMatrix] = {}  # layout -> the first block that tells it
        for block in blocks:
            if len(block.layouts) == 1:
                decided.setdefault(next(iter(block.layouts)), block)
        if len(decided) > 1:
            first, second = sorted(decided.values(), key=lambda m: m.line)
            self.fail(second.line, f"this matrix has {_describe(second)} but the one on line {first.line} has "
                                   f"{_describe(first)}: a file holds one layout ({SUPPORTED_LAYOUTS})")
        return next(iter(decided), None)

    def _layout(self, block: RawMatrix, file_layout: str | None) -> str:
        """The block's layout: its shape's, else the file's, else the one its totals allow (see the module)."""
        if len(block.layouts) == 1:
            return next(iter(block.layouts))
        if file_layout:
            return file_layout
        if block.shape == (4, 4):
            rows = np.array(block.rows)
            row_totals_equal, column_totals_equal = _all_close(rows.sum(axis=1)), _all_close(rows.sum(axis=0))
            if row_totals_equal != column_totals_equal:
                return ONE_ROW_PER_POSITION if row_totals_equal else FOUR_ROWS
        self.fail(block.line, f"{block.shape[0]} rows of 4 values read as positions or as letters: label the rows "
                              "(A [ ... ], C [ ... ], ...) for four rows, or put a 'Pos A C G T' line before them for "
                              f"one row per position (supported layouts: {SUPPORTED_LAYOUTS})")

    def _split(self, block: RawMatrix) -> list[RawMatrix]:
        """A header-less run of 4k four-row rows: k matrices (as Bio's pfm-four-rows reads them)."""
        if len(block.rows) == 4:
            return [block]
        return [RawMatrix(0, "", "", None, rows=block.rows[i:i + 4], row_lines=block.row_lines[i:i + 4],
                          letters=block.letters[i:i + 4] if block.letters else None, bracketed=block.bracketed)
                for i in range(0, len(block.rows), 4)]

    def _counts(self, matrix: RawMatrix, layout: str) -> np.ndarray:
        """The matrix as counts, shape (4, width), rows A, C, G, T; every column with some counts."""
        rows = np.array(matrix.rows, dtype=np.float64)
        if layout == FOUR_ROWS:
            letters = matrix.letters or list(LETTERS)
            counts = np.ascontiguousarray(rows[[letters.index(letter) for letter in LETTERS]])
            lines = [matrix.line] * counts.shape[1]
            what = "column {} of the matrix starting here"
        else:
            if rows.shape[1] == 5:  # rows after a ``Pos A C G T`` line: the position number first
                if not np.array_equal(rows[:, 0], np.arange(1, len(rows) + 1)):
                    self.fail(matrix.line, "the rows after a 'Pos' line start with their position: 1, 2, 3, ...")
                rows = rows[:, 1:]
            order = matrix.order or LETTERS
            counts = np.ascontiguousarray(rows.T[[order.index(letter) for letter in LETTERS]])
            lines = matrix.row_lines
            what = "position {} of the matrix (this row)"
        with np.errstate(over="ignore"):
            totals = counts.sum(axis=0)
        for column, total in enumerate(totals):
            if not math.isfinite(total):
                self.fail(lines[column], f"{what.format(column + 1)} adds up to more than a float can hold")
            if not total > 0:
                self.fail(lines[column], f"{what.format(column + 1)} has no counts")
        return counts


@dataclass
class _Pending:
    """What the next run of rows takes from the lines before it."""

    header: int = 0
    motif_id: str = ""
    name: str = ""
    order: str | None = None
    homer: bool = False


def _describe(block: RawMatrix) -> str:
    return "four rows (A, C, G, T)" if block.layouts == {FOUR_ROWS} else "one row of 4 values per position"


def _all_close(totals: np.ndarray) -> bool:
    """Whether totals are equal within 1% of their mean (frequencies rounded to 3 decimals add up to 0.999-1.001)."""
    return bool(np.all(np.abs(totals - totals.mean()) <= 0.01 * abs(totals.mean())))
