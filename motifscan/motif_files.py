"""Motif files: JASPAR, PFM (four rows or one row per position), HOMER, cluster-buster, MEME (text and XML) and
TRANSFAC files read into :class:`~motifscan.model.Motif` count matrices.

Formats, told apart by their text (not by the file name); the file may be gzip-compressed (see
:mod:`motifscan.textfiles`, the reader preamble shared with the FASTA readers):

- **MEME XML** (MEME's XML output; a ``<MEME`` element): read by Bio.motifs; counts are the letters of each motif's
  contributing sites. ID: the motif's ``name`` (its consensus); name: its ``alt`` (``MEME-1``). Only DNA. Other XML
  (MAST output, XMS) is refused as not supported.
- **MEME** (minimal MEME format, or MEME's text output; a ``MEME version`` line): ``MOTIF id [alt_name]`` lines, each
  followed by its ``letter-probability matrix: alength= 4 w= W nsites= N`` line and W rows of four probabilities
  (A, C, G, T), one row per position. ID: ``id``; name: ``alt_name``, else ``id``.
- **sites** (JASPAR ``.sites``: ``>`` headers, each followed by one line of letters, the site in capitals): counts
  are the letters of the sites. ID and name: the first header's first two words.
- **TRANSFAC** (a ``P0``/``PO`` line and a ``//`` line): one row of four counts per position after ``P0``.
  ID: ``AC``, else ``ID``; name: ``NA``, else ``ID``. Keys followed by one space or a tab (JASPAR's TRANSFAC
  download) read like TRANSFAC's two spaces.
- **Matrix text** (anything else): JASPAR and four-row PFMs (one row per letter), HOMER ``.motif``, cluster-buster,
  GimmeMotifs/HOCOMOCO ``.pfm`` and four-column PFMs (one row per position), each matrix's layout told by its shape,
  a 4 x 4 one's by its file, its header or its totals, else refused: see :mod:`motifscan.matrix_text`.

Counts rule: MEME probabilities become counts = probability x nsites, exactly (no rounding), with nsites from the
matrix line, else :data:`NSITES_FOR_FREQUENCIES` (20). The other formats give counts, read as written, except that a
matrix whose columns all add up to 1 (within 0.02) is a frequency matrix: counts = frequency / column total x 20
(HOMER's probabilities, GimmeMotifs' frequencies).

Every file is checked line by line, so that what Bio.motifs would reject with a bare message, silently skip or
misread is refused with its line number. Matrix text and MEME text are read by motifscan itself (Bio's MEME reader
rounds frequency x nsites to whole counts; its PFM readers drop rows they cannot place); Bio.motifs parses TRANSFAC
and MEME XML, and its parse of a MEME text file refuses what it cannot read (a missing ``ALPHABET=`` line, ...).
"""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import NamedTuple, NoReturn

import numpy as np

from motifscan import textfiles
from motifscan.errors import InputFileError
from motifscan.matrix_text import (
    SUPPORTED_LAYOUTS,
    MatrixText,
    looks_numeric,
    plain_numbers,
)
from motifscan.model import Motif

log = logging.getLogger(__name__)

NSITES_FOR_FREQUENCIES = 20
"""Counts = frequency x nsites for frequency matrices whose file gives no site count."""
MAX_WIDTH = 100
"""Wider matrices are refused: their exact p-values take seconds per matrix (about 3 s at 100 columns, 100 s at 300)
and no real motif comes near (the widest JASPAR CORE matrix has 33 columns, HOCOMOCO's and CIS-BP's about 30)."""
MAX_BYTES = 64 * 2**20
"""Larger files are refused: no motif file comes near."""

_ROWS = "ACGT"
_MEME_FIELD = re.compile(r"(\w+)=\s*(\S+)")
_TRANSFAC_KEY = re.compile(r"^(\w\w)[ \t]+", re.MULTILINE)
_UNSUPPORTED_SIGNS = {"alignace": r"\AAlignACE \d", "mast": r"^MAST - Motif Alignment and Search Tool"}
_UNSUPPORTED = {"alignace": "AlignACE output", "mast": "MAST output (motif matches, not motifs)"}
_SITES = re.compile(r"\s*(?:>[^\n]*\n\s*[A-Za-z]+[ \t]*(?:\n\s*|\Z))+")  # '>' headers, each with one line of letters


def read_motif_file(path: str | Path) -> list[Motif]:
    """Motifs of a JASPAR, PFM, HOMER, cluster-buster, MEME (text or XML) or TRANSFAC file, plain or gzip, in file
    order (see the module docstring).

    CRLF and CR line ends read like LF; a UTF-8 byte-order mark is ignored.

    Raises
    ------
    InputFileError
        Naming the file, and the line where one applies: an unreadable, empty, binary or over-large (> 64 MiB) file;
        text that is not UTF-8; a count or probability that is not a plain number (``nan``, ``inf``, words) or is
        negative; matrix rows of unequal length; a matrix that is neither four rows (A, C, G, T) nor one row of four
        values per position, or whose layout cannot be told (a 4 x 4 matrix without clues), or a file mixing the two
        layouts; XML other than MEME's, or MEME XML of another alphabet than DNA; a MEME
        matrix whose rows are not four probabilities in [0, 1], whose row count differs from its ``w=``, or whose
        ``nsites=`` is not a positive whole number; a MEME ``MOTIF`` line without a matrix or a matrix without a
        ``MOTIF`` line; a TRANSFAC row without four counts; a matrix without columns; anything else Bio.motifs
        cannot parse.
    """
    path = Path(path)
    return _distinct_ids(path, _read_motifs(path))


def _distinct_ids(path: Path, motifs: list[Motif]) -> list[Motif]:
    """The motifs, each ID once: a repeat of the same matrix is dropped with a warning (Biopython's fourrows.pfm
    gives MA0001.1 twice, in two layouts); another matrix under a used ID is refused (it would be lost later)."""
    first: dict[str, Motif] = {}
    for motif in motifs:
        seen = first.setdefault(motif.id, motif)
        if seen is not motif:
            if seen.counts.shape != motif.counts.shape or not np.allclose(seen.counts, motif.counts):
                raise InputFileError(f"{path}: two different matrices named {motif.id!r}; give them distinct IDs")
            log.warning("%s: motif %s given twice (the same matrix): read once", path, motif.id)
    return list(first.values())


def _read_motifs(path: Path) -> list[Motif]:
    """The file's motifs in file order (see read_motif_file)."""
    text = textfiles.read_text(path, "motif file", MAX_BYTES)
    fmt = _sniff_format(text)
    checked = _MotifLines(path, text.split("\n"))
    if fmt == "minimal":
        matrices = checked.check_meme()
        _parse_with_bio(path, text, fmt)  # refuses what Bio's MEME reader refuses; its rounded counts are not used
        return [_meme_motif(matrix, path) for matrix in matrices]
    if fmt == "transfac":
        checked.check_transfac()
        # Bio wants two spaces after each two-letter key; JASPAR's own TRANSFAC download has one (``AC MA0056.1``)
        # and tabs (``PO<TAB>A<TAB>C...``): same lines, same line numbers, keys spaced as Bio wants
        bio_text = _TRANSFAC_KEY.sub(r"\1  ", text)
        return [_transfac_motif(bio_motif, number, path)
                for number, bio_motif in enumerate(_parse_with_bio(path, bio_text, fmt), 1)]
    if fmt in _UNSUPPORTED:
        raise InputFileError(f"{path}: {_UNSUPPORTED[fmt]} is not a supported motif file (supported: "
                             f"{SUPPORTED_LAYOUTS})")
    if fmt == "sites":
        return [_sites_motif(path, text)]
    if fmt == "meme-xml":
        return _meme_xml_motifs(path, text)
    if fmt == "xml":
        raise InputFileError(f"{path}: an XML file that is not MEME's XML output: not a supported motif file "
                             f"(supported: {SUPPORTED_LAYOUTS})")
    found = MatrixText(path, text).matrices()
    if not found:
        raise InputFileError(f"{path}: no motif found (supported: {SUPPORTED_LAYOUTS})")
    return [Motif(id=motif_id, name=name, counts=_frequencies_to_counts(_checked_counts(counts, path, motif_id)),
                  source=str(path)) for motif_id, name, counts in found]


# --- the text ---------------------------------------------------------------------------------------------------


def _sniff_format(text: str) -> str:
    """The format of a motif file's text (line ends already LF): ``"meme-xml"`` (MEME's XML output), ``"xml"``
    (other XML), ``"minimal"`` (MEME text), ``"transfac"`` or ``"matrix"`` (JASPAR, PFM, HOMER, cluster-buster:
    :mod:`motifscan.matrix_text`)."""
    if text.lstrip().startswith("<"):
        return "meme-xml" if re.search(r"<MEME[\s>]", text[:1 << 16]) and "<motifs>" in text else "xml"
    head = text.lstrip()[:4096]
    for fmt, pattern in _UNSUPPORTED_SIGNS.items():
        if re.search(pattern, head, re.MULTILINE):
            return fmt
    if re.search(r"^MEME version", text, re.MULTILINE):
        return "minimal"
    if _SITES.fullmatch(text):
        return "sites"
    if re.search(r"^(P0|PO)\s", text, re.MULTILINE) and re.search(r"^//", text, re.MULTILINE):
        return "transfac"
    return "matrix"


# --- line checks ------------------------------------------------------------------------------------------------


class _MemeMatrix(NamedTuple):
    """One MEME motif as its lines give it."""

    motif_id: str
    alt_name: str
    nsites: int
    rows: list[list[str]]  # one row of four probabilities (A, C, G, T) per position, as written


class _MotifLines:
    """A motif file's lines (LF, 1-based in messages), checked per format; a problem -> InputFileError with the line.

    The checks catch what Bio.motifs would reject with a bare message, silently skip or misread (Bio's readers stop
    at a NaN, drop a fifth row, accept fewer rows than ``w=``, ...).
    """

    def __init__(self, path: Path, lines: list[str]) -> None:
        self.path = path
        self.lines = lines

    def fail(self, number: int, problem: str) -> NoReturn:
        raise InputFileError(f"{self.path}, line {number}: {problem}")

    def numbers(self, number: int, tokens: Sequence[str], what: str, upper: float | None = None) -> list[float]:
        """The values of line ``number``'s tokens: plain, finite, non-negative numbers, at most ``upper``."""
        return plain_numbers(self.fail, number, tokens, what, upper)

    # -- MEME

    def check_meme(self) -> list[_MemeMatrix]:
        """The MEME motifs, in file order: each ``MOTIF`` line with the letter-probability matrix that follows it
        before the next ``MOTIF`` line."""
        matrices: list[_MemeMatrix] = []
        motif: tuple[int, list[str]] | None = None  # the MOTIF line waiting for its matrix: (line, words)
        number = 0
        while number < len(self.lines):
            line = self.lines[number]
            number += 1
            if line.startswith("MOTIF"):
                if len(line.split()) < 2:
                    self.fail(number, "MOTIF line without an identifier")
                if motif:
                    self.fail(motif[0], "MOTIF line without a letter-probability matrix")
                motif = number, line.split()
            elif line.startswith("letter-probability matrix:"):
                if not motif:
                    self.fail(number, "letter-probability matrix without a MOTIF line")
                nsites, rows = self._meme_matrix(number)
                matrices.append(_MemeMatrix(motif[1][1], (motif[1][2:3] or [""])[0], nsites, rows))
                motif, number = None, number + len(rows)
        if motif:
            self.fail(motif[0], "MOTIF line without a letter-probability matrix")
        return matrices

    def _meme_matrix(self, number: int) -> tuple[int, list[list[str]]]:
        """The nsites (else 20) and the probability rows of the letter-probability matrix on line ``number``."""
        fields = dict(_MEME_FIELD.findall(self.lines[number - 1]))
        self._check_meme_fields(number, fields)
        width = int(fields["w"]) if "w" in fields else None
        rows: list[list[str]] = []
        for row_number in range(number + 1, len(self.lines) + 1):
            tokens = self.lines[row_number - 1].split()
            if not tokens or not looks_numeric(tokens[0]):
                break
            if len(tokens) != 4:
                self.fail(row_number, "a MEME matrix row has 4 probabilities (A, C, G, T); this one has "
                                      f"{len(tokens)}")
            self.numbers(row_number, tokens, "probability", upper=1.001)
            rows.append(tokens)
            if len(rows) == width:
                break
        if not rows:
            self.fail(number, "a matrix without rows: the motif has no columns")
        if width is not None and len(rows) != width:
            self.fail(number, f"w= {fields['w']} but the matrix has {len(rows)} row(s)")
        return int(fields.get("nsites", NSITES_FOR_FREQUENCIES)), rows

    def _check_meme_fields(self, number: int, fields: dict[str, str]) -> None:
        """The ``key= value`` fields of a letter-probability matrix line: whole numbers, alength 4, nsites > 0."""
        for key in ("alength", "w", "nsites"):
            if key in fields and not re.fullmatch(r"\d+", fields[key]):
                self.fail(number, f"{key}= {fields[key]!r} is not a whole number")
        if fields.get("alength", "4") != "4":
            self.fail(number, f"alength= {fields['alength']}: only DNA motifs (A, C, G, T) can be scanned")
        if re.fullmatch(r"0+", fields.get("nsites", "1")):
            self.fail(number, "nsites= 0: a matrix needs at least one site")

    # -- TRANSFAC

    def check_transfac(self) -> None:
        """TRANSFAC matrices: after each ``P0`` line, at least one numbered row with four counts (A, C, G, T)."""
        matrix_line, rows = 0, 0  # the P0 line of the matrix being read, and its rows so far
        for number, raw in enumerate(self.lines, 1):
            tokens = raw.split()
            if not tokens:
                continue
            if matrix_line and re.fullmatch(r"\d+", tokens[0]):
                if len(tokens) < 5:
                    self.fail(number, f"a TRANSFAC matrix row has a count for each of A, C, G, T; this one has "
                                      f"{len(tokens) - 1}")
                self.numbers(number, tokens[1:5], "count")
                rows += 1
                continue
            if matrix_line and not rows:
                self.fail(matrix_line, "a matrix without rows: the motif has no columns")
            matrix_line, rows = (number, 0) if tokens[0] in ("P0", "PO") else (0, 0)
        if matrix_line and not rows:
            self.fail(matrix_line, "a matrix without rows: the motif has no columns")


# --- motifs -----------------------------------------------------------------------------------------------------


def _parse_with_bio(path: Path, text: str, fmt: str, whole_record: bool = False):
    """Bio.motifs' motifs of the text (``whole_record``: the record Bio returns, a list of motifs with the file's
    alphabet); InputFileError (with the line Bio's message quotes) if it cannot parse it or finds no motif."""
    from Bio import (
        motifs as bio_motifs,  # imported here so that `motifscan --version` stays fast
    )

    try:
        record = bio_motifs.parse(io.StringIO(text), fmt)
        parsed = record if whole_record else list(record)
    except Exception as error:  # noqa: BLE001 -- Bio.motifs raises bare ValueErrors, KeyErrors, IndexErrors, ...
        raise InputFileError(f"{path}{_quoted_line(str(error), text)}: not a readable {fmt} motif file ({error})") \
            from None
    if not parsed:
        raise InputFileError(f"{path}: no motif found")
    return parsed


def _quoted_line(message: str, text: str) -> str:
    """``", line N"`` for the first line of the text holding the first quoted snippet of a message, else ``""``."""
    for quoted in re.findall(r'"([^"\n]+)"|\'([^\'\n]+)\'', message):
        snippet = (quoted[0] or quoted[1]).strip()
        found = next((n for n, line in enumerate(text.split("\n"), 1) if snippet and snippet in line), None)
        if found:
            return f", line {found}"
    return ""


def _sites_motif(path: Path, text: str) -> Motif:
    """The motif of a JASPAR ``.sites`` file: ``>ID<TAB>NAME<TAB>n`` headers, each with one site, the site in capitals
    between lowercase flanks; counts are the letters of the sites (ID and name: the first header's)."""
    lines = text.split("\n")
    sites: list[tuple[int, str]] = []
    for number, line in enumerate(lines, 1):
        line = line.strip()
        if not line or line.startswith(">"):
            continue
        capitals = re.findall(r"[A-Z]+", line)
        if len(capitals) != 1:
            raise InputFileError(f"{path}, line {number}: a site is one run of capital letters (the flanks in lower "
                                 f"case); this line has {len(capitals)}")
        site = capitals[0]
        if set(site) - set(_ROWS):
            raise InputFileError(f"{path}, line {number}: a site of letters other than A, C, G, T ({site})")
        if sites and len(site) != len(sites[0][1]):
            raise InputFileError(f"{path}, line {number}: this site has {len(site)} letters, the site on line "
                                 f"{sites[0][0]} has {len(sites[0][1])}")
        sites.append((number, site))
    header = next(line for line in lines if line.strip().startswith(">"))[1:].split()
    motif_id = header[0] if header else path.stem
    letters = np.array([list(site) for _, site in sites])  # (sites, width)
    counts = np.array([(letters == letter).sum(axis=0) for letter in _ROWS], dtype=np.float64)
    return Motif(id=motif_id, name=header[1] if len(header) > 1 else motif_id,
                 counts=_checked_counts(counts, path, motif_id), source=str(path))


def _meme_xml_motifs(path: Path, text: str) -> list[Motif]:
    """The motifs of MEME's XML output, as Bio.motifs reads them: counts are the letters of each motif's
    contributing sites (MEME's text output gives probability x nsites, equal up to MEME's rounding); ID: the motif's
    ``name`` (its consensus, as in ``MOTIF`` lines of MEME's text output), name: its ``alt`` (``MEME-1``)."""
    record = _parse_with_bio(path, text, "meme", whole_record=True)
    alphabet = "".join(sorted(str(getattr(record, "alphabet", "") or "")))
    if alphabet != _ROWS:
        raise InputFileError(f"{path}: a MEME XML file of alphabet {alphabet or 'unknown'!r}: only DNA motifs "
                             "(A, C, G, T) can be scanned")
    motifs = []
    for number, bio_motif in enumerate(record, 1):
        motif_id = str(bio_motif.name or bio_motif.id or f"{path.stem}_{number}")
        counts = _checked_counts(_bio_counts(bio_motif, path, motif_id), path, motif_id)
        motifs.append(Motif(id=motif_id, name=str(bio_motif.alt_id or motif_id), counts=counts, source=str(path)))
    return motifs


def _meme_motif(matrix: _MemeMatrix, path: Path) -> Motif:
    """A MEME motif: counts = probability x nsites, computed on the decimal numbers as written (0.72 x 20 is 14.4)."""
    counts = np.array([[float(Decimal(p) * matrix.nsites) for p in row] for row in matrix.rows]).T
    return Motif(id=matrix.motif_id, name=matrix.alt_name or matrix.motif_id,
                 counts=_checked_counts(np.ascontiguousarray(counts), path, matrix.motif_id), source=str(path))


def _transfac_motif(bio_motif, number: int, path: Path) -> Motif:
    """The ``number``-th motif of a TRANSFAC file, from Bio.motifs' motif (a dict of the file's fields: ``AC``
    accession, JASPAR's matrix ID; ``ID``; ``NA`` name)."""
    motif_id = bio_motif.get("AC") or bio_motif.get("ID") or bio_motif.get("NA") or f"{path.stem}_{number}"
    name = bio_motif.get("NA") or bio_motif.get("ID") or motif_id
    counts = _frequencies_to_counts(_checked_counts(_bio_counts(bio_motif, path, motif_id), path, motif_id))
    return Motif(id=str(motif_id), name=str(name), counts=counts, source=str(path))


def _bio_counts(bio_motif, path: Path, name: str) -> np.ndarray:
    """The count matrix of a Bio.motifs motif, shape (4, width), rows A, C, G, T."""
    try:
        return np.array([list(bio_motif.counts[letter]) for letter in _ROWS], dtype=np.float64)
    except (KeyError, TypeError, ValueError) as error:
        raise InputFileError(f"{path}: motif {name!r} is not a DNA count matrix with rows A, C, G, T ({error})") \
            from None


def _checked_counts(counts: np.ndarray, path: Path, name: str) -> np.ndarray:
    """``counts`` itself; InputFileError for a matrix without columns or with more than :data:`MAX_WIDTH`, with a
    count that is negative or not a finite number, or with a column whose total is 0 or overflows."""
    if counts.ndim != 2 or counts.shape[1] == 0:
        raise InputFileError(f"{path}: motif {name!r} has no columns")
    if counts.shape[1] > MAX_WIDTH:
        raise InputFileError(f"{path}: motif {name!r} has {counts.shape[1]} columns; motifscan scans matrices of at "
                             f"most {MAX_WIDTH} (their exact p-values take seconds per matrix beyond that)")
    if not np.all(np.isfinite(counts)) or (counts < 0).any():
        raise InputFileError(f"{path}: motif {name!r} has negative or non-numeric counts")
    with np.errstate(over="ignore"):
        totals = counts.sum(axis=0)
    if not np.all(np.isfinite(totals)):
        raise InputFileError(f"{path}: motif {name!r} has a column whose counts add up to more than a float can hold")
    if (totals <= 0).any():
        raise InputFileError(f"{path}: motif {name!r} has a column with no counts")
    return counts


def _frequencies_to_counts(counts: np.ndarray) -> np.ndarray:
    """Counts as they are, or frequency / column total x 20 for a frequency matrix (columns adding up to ~1)."""
    totals = counts.sum(axis=0)
    if np.allclose(totals, 1.0, atol=0.02):
        return counts / totals * float(NSITES_FOR_FREQUENCIES)
    return counts
