"""Motifs: the one adapter over JASPAR (pyjaspar's bundled SQLite databases) and Bio.motifs' file parsers.

Data flow: database rows or motif files -> :class:`~motifscan.model.Motif` (a count matrix, rows A, C, G, T) ->
:func:`probabilities` -> :func:`log_odds` (bits). Nothing else in motifscan reads JASPAR or motif files.

pyjaspar builds a Biopython object per matrix, which takes about 5 s for the 1019 CORE vertebrate matrices; this
module reads the same SQLite file directly with two queries, which takes a few tens of milliseconds.
"""

from __future__ import annotations

import difflib
import io
import logging
import re
import sqlite3
from collections import defaultdict
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from motifscan.errors import InputFileError, UnknownMotifError, UsageError
from motifscan.model import Motif
from motifscan.resources import data_dir

log = logging.getLogger(__name__)

LETTERS = "ACGT"
DEFAULT_COLLECTION = "CORE"
DEFAULT_TAX_GROUP = "vertebrates"
DEFAULT_PSEUDOCOUNT = 0.8
DEFAULT_SET_FILE = "atf_creb.txt"
NSITES_FOR_FREQUENCIES = 20
"""Counts = frequency x nsites for frequency matrices whose file gives no site count."""

_ID_RE = re.compile(r"^([A-Z]{2}\d{4})(?:\.(\d+))?$", re.IGNORECASE)


# --- matrices ---------------------------------------------------------------------------------------------------


def probabilities(counts: np.ndarray, pseudocount: float, background: np.ndarray) -> np.ndarray:
    """Letter probabilities with a total pseudocount per column, spread by the background.

    Parameters
    ----------
    counts : ndarray, shape (4, width)
        Count matrix, rows A, C, G, T.
    pseudocount : float
        Total pseudocount ``k`` added to each column.
    background : ndarray, shape (4,)
        Background letter probabilities ``b`` (sum 1).

    Returns
    -------
    ndarray, shape (4, width)
        ``(C + k*b) / (N + k)`` where ``N`` is the column total.
    """
    counts = np.asarray(counts, dtype=np.float64)
    totals = counts.sum(axis=0, keepdims=True)
    return (counts + pseudocount * background[:, None]) / (totals + pseudocount)


def log_odds(counts: np.ndarray, pseudocount: float, background: np.ndarray) -> np.ndarray:
    """Log-odds scores in bits: ``log2(prob / b)``; shape (4, width), rows A, C, G, T."""
    return np.log2(probabilities(counts, pseudocount, background) / background[:, None])


def reverse_complement_matrix(matrix: np.ndarray) -> np.ndarray:
    """The matrix of the opposite strand: columns reversed, rows complemented (A<->T, C<->G); shape (4, width)."""
    return np.ascontiguousarray(matrix[::-1, ::-1])


# --- JASPAR -----------------------------------------------------------------------------------------------------


def _jaspar_data_dir() -> Path:
    import pyjaspar  # imported here so that `motifscan --version` stays fast

    return Path(pyjaspar.__file__).parent / "data"


def bundled_releases() -> list[str]:
    """JASPAR releases bundled with the installed pyjaspar, oldest first (``["JASPAR2014", ..., "JASPAR2026"]``)."""
    return sorted(p.stem for p in _jaspar_data_dir().glob("JASPAR*.sqlite"))


def newest_release() -> str:
    """The newest bundled JASPAR release: the default of ``--jaspar-release``."""
    return bundled_releases()[-1]


def canonical_release(release: str | None) -> str:
    """The bundled release's exact name for ``release`` (any case; None: the newest); unknown -> UnknownMotifError."""
    releases = bundled_releases()
    if not release:
        return releases[-1]
    match = {r.upper(): r for r in releases}.get(release.strip().upper())
    if match is None:
        raise UnknownMotifError(
            f"unknown JASPAR release {release!r}{_suggest(release, releases)}; bundled: {', '.join(releases)}"
        )
    return match


def _suggest(word: str, candidates: Iterable[str], n: int = 3) -> str:
    """' (did you mean X, Y?)' or '' — close matches, case-insensitively."""
    by_upper: dict[str, str] = {}
    for candidate in candidates:
        by_upper.setdefault(candidate.upper(), candidate)
    close = difflib.get_close_matches(word.upper(), list(by_upper), n=n, cutoff=0.6)
    return f" (did you mean {', '.join(by_upper[c] for c in close)}?)" if close else ""


class JasparDatabase:
    """Read-only access to one release of pyjaspar's bundled JASPAR database.

    Only the latest version of a base ID is returned where a base ID is given without version or a whole group is
    selected; ``MA0605.3`` selects exactly that version.
    """

    def __init__(self, release: str | None = None) -> None:
        self.release = canonical_release(release)
        path = _jaspar_data_dir() / f"{self.release}.sqlite"
        self._db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)

    @cached_property
    def _matrices(self) -> dict[int, tuple[str, str, int, str]]:
        """Database key -> (collection, base ID, version, name) for every matrix."""
        rows = self._db.execute("SELECT ID, COLLECTION, BASE_ID, VERSION, NAME FROM MATRIX")
        return {key: (coll, base, int(version), name) for key, coll, base, version, name in rows}

    @cached_property
    def _annotations(self) -> dict[int, dict[str, str]]:
        rows = self._db.execute(
            "SELECT ID, TAG, VAL FROM MATRIX_ANNOTATION WHERE TAG IN ('tax_group', 'class', 'family')"
        )
        annotations: dict[int, dict[str, str]] = defaultdict(dict)
        for key, tag, value in rows:
            # a few matrices carry two classes or families: keep both, joined
            previous = annotations[key].get(tag)
            annotations[key][tag] = f"{previous}::{value}" if previous and previous != value else value
        return annotations

    @cached_property
    def _latest(self) -> dict[str, int]:
        """Base ID -> database key of its newest version."""
        latest: dict[str, tuple[int, int]] = {}
        for key, (_, base, version, _) in self._matrices.items():
            if base not in latest or version > latest[base][0]:
                latest[base] = (version, key)
        return {base: key for base, (_, key) in latest.items()}

    def _key_of(self, motif_id: str) -> int | None:
        match = _ID_RE.match(motif_id.strip())
        if not match:
            return None
        base, version = match.group(1).upper(), match.group(2)
        if version is None:
            return self._latest.get(base)
        return next(
            (k for k, (_, b, v, _) in self._matrices.items() if b == base and v == int(version)),
            None,
        )

    def _load(self, keys: Sequence[int]) -> list[Motif]:
        """Build motifs for database keys, in the given order, with one query for all their matrix cells."""
        if not keys:
            return []
        cells: dict[int, list[tuple[str, int, float]]] = defaultdict(list)
        wanted = sorted(set(keys))
        for offset in range(0, len(wanted), 900):  # SQLite's bound-parameter limit
            chunk = wanted[offset : offset + 900]
            marks = ",".join("?" * len(chunk))
            for key, row, col, val in self._db.execute(
                f"SELECT ID, row, col, val FROM MATRIX_DATA WHERE ID IN ({marks})", chunk
            ):
                cells[key].append((row, col, val))
        return [self._motif(key, cells[key]) for key in keys]

    def _motif(self, key: int, cells: list[tuple[str, int, float]]) -> Motif:
        collection, base, version, name = self._matrices[key]
        width = max(col for _, col, _ in cells)
        counts = np.zeros((4, width))
        for row, col, val in cells:
            counts[LETTERS.index(row.upper()), col - 1] = val
        annotation = self._annotations.get(key, {})
        return Motif(
            id=f"{base}.{version}",
            name=name,
            counts=counts,
            source=self.release,
            collection=collection,
            tax_group=annotation.get("tax_group", ""),
            tf_class=annotation.get("class", ""),
            family=annotation.get("family", ""),
        )

    def _in_group(self, key: int, collections: Sequence[str], tax_groups: Sequence[str]) -> bool:
        collection = self._matrices[key][0]
        tax_group = self._annotations.get(key, {}).get("tax_group", "")
        return collection.upper() in {c.upper() for c in collections} and (
            not tax_groups or tax_group.lower() in {t.lower() for t in tax_groups}
        )

    def _check_group(self, collections: Sequence[str], tax_groups: Sequence[str]) -> None:
        known_collections = {c for c, _, _, _ in self._matrices.values()}
        known_tax = {a.get("tax_group", "") for a in self._annotations.values()} - {""}
        for collection in collections:
            if collection.upper() not in {c.upper() for c in known_collections}:
                raise UnknownMotifError(
                    f"unknown JASPAR collection {collection!r} in {self.release}"
                    f"{_suggest(collection, known_collections)}"
                )
        for tax_group in tax_groups:
            if tax_group.lower() not in {t.lower() for t in known_tax}:
                raise UnknownMotifError(
                    f"unknown JASPAR tax group {tax_group!r} in {self.release}{_suggest(tax_group, known_tax)}"
                )

    def by_ids(self, motif_ids: Sequence[str]) -> list[Motif]:
        """Motifs by JASPAR ID (``MA0605.3``, or ``MA0605`` for the latest version); unknown -> UnknownMotifError."""
        keys = []
        for motif_id in motif_ids:
            key = self._key_of(motif_id)
            if key is None:
                known = [f"{b}.{v}" for _, b, v, _ in self._matrices.values()]
                raise UnknownMotifError(
                    f"unknown motif ID {motif_id!r} in {self.release}{_suggest(motif_id, known)}"
                )
            keys.append(key)
        return self._load(keys)

    def has_id(self, motif_id: str) -> bool:
        return self._key_of(motif_id) is not None

    def by_names(self, names: Sequence[str], collections: Sequence[str], tax_groups: Sequence[str]) -> list[Motif]:
        """The latest version of every matrix whose name equals one of ``names`` (case-insensitively), within the
        collections and tax groups; a name matching nothing -> UnknownMotifError with close names."""
        self._check_group(collections, tax_groups)
        keys = []
        latest = set(self._latest.values())
        for name in names:
            found = sorted(
                (k for k in latest if self._matrices[k][3].upper() == name.upper()
                 and self._in_group(k, collections, tax_groups)),
                key=lambda k: self._matrices[k][1],
            )
            if not found:
                pool = {self._matrices[k][3] for k in latest if self._in_group(k, collections, tax_groups)}
                raise UnknownMotifError(
                    f"no {'/'.join(collections)} {'/'.join(tax_groups) or 'any tax group'} motif named "
                    f"{name!r} in {self.release}{_suggest(name, pool)}"
                )
            keys.extend(found)
        return self._load(keys)

    def group(self, collections: Sequence[str], tax_groups: Sequence[str]) -> list[Motif]:
        """The latest version of every base ID in the collections and tax groups (empty tax_groups: all), by ID."""
        self._check_group(collections, tax_groups)
        keys = [k for k in self._latest.values() if self._in_group(k, collections, tax_groups)]
        return self._load(sorted(keys, key=lambda k: self._matrices[k][1]))

    def search(self, query: str | None, collections: Sequence[str], tax_groups: Sequence[str]) -> list[Motif]:
        """The latest matrices of the group whose ID, name, class or family contains ``query`` (case-insensitive)."""
        motifs = self.group(collections, tax_groups)
        if not query:
            return motifs
        needle = query.lower()
        return [
            m for m in motifs
            if any(needle in field.lower() for field in (m.id, m.name, m.tf_class, m.family))
        ]


# --- motif files ------------------------------------------------------------------------------------------------


@lru_cache(maxsize=None)
def _open_release(release: str) -> JasparDatabase:
    return JasparDatabase(release)


def jaspar_database(release: str | None = None) -> JasparDatabase:
    """The database of a bundled JASPAR release (default: the newest), opened once per process."""
    return _open_release(canonical_release(release))


def _sniff_format(text: str) -> str:
    """The Bio.motifs format name of a motif file's text (line ends already LF): ``"minimal"`` (MEME),
    ``"transfac"``, ``"jaspar"`` (a ``>`` header first) or ``"pfm-four-rows"`` (bare rows)."""
    if re.search(r"^MEME version", text, re.MULTILINE):
        return "minimal"
    if re.search(r"^(P0|PO)\s", text, re.MULTILINE) and re.search(r"^//", text, re.MULTILINE):
        return "transfac"
    if text.lstrip().startswith(">"):
        return "jaspar"
    return "pfm-four-rows"


def _counts_from_bio(bio_motif, path: Path) -> np.ndarray:
    """The (4, width) count matrix of a Bio.motifs motif, rows A, C, G, T; frequency matrices (columns summing to
    1) become counts = frequency x nsites (nsites from the file, else 20). InputFileError for a matrix without
    columns, with a count that is negative or not a finite number, or with a column whose total is 0 or overflows."""
    import math

    name = getattr(bio_motif, "name", "") or ""
    try:
        counts = np.array([list(bio_motif.counts[letter]) for letter in LETTERS], dtype=np.float64)
    except (KeyError, TypeError, ValueError) as error:
        raise InputFileError(f"{path}: motif {name!r} is not a DNA count matrix with rows A, C, G, T ({error})") \
            from None
    if counts.ndim != 2 or counts.shape[1] == 0:
        raise InputFileError(f"{path}: motif {name!r} has no columns")
    if not np.all(np.isfinite(counts)) or (counts < 0).any():
        raise InputFileError(f"{path}: motif {name!r} has negative or non-numeric counts")
    with np.errstate(over="ignore"):
        totals = counts.sum(axis=0)
    if not np.all(np.isfinite(totals)):
        raise InputFileError(f"{path}: motif {name!r} has a column whose counts add up to more than a float can hold")
    if (totals <= 0).any():
        raise InputFileError(f"{path}: motif {name!r} has a column with no counts")
    if np.allclose(totals, 1.0, atol=0.02):  # a frequency matrix
        nsites = getattr(bio_motif, "num_occurrences", None)
        if not (isinstance(nsites, (int, float)) and math.isfinite(nsites) and nsites > 0):
            nsites = NSITES_FOR_FREQUENCIES
        counts = counts / totals * float(nsites)
    return counts


def read_motif_file(path: str | Path) -> list[Motif]:
    """Motifs of a JASPAR (``.jaspar``/``.pfm``), MEME or TRANSFAC file, read through Bio.motifs' parsers.

    Frequency matrices become counts = frequency x nsites (nsites from the file, else 20). CRLF and CR line ends read
    like LF; a UTF-8 byte-order mark is ignored.

    Raises
    ------
    InputFileError
        Naming the file, and the line where one applies: an unreadable, empty, binary or over-large (> 64 MiB) file;
        text that is not UTF-8; a count or probability that is not a plain number (``nan``, ``inf``, words) or is
        negative; matrix rows of unequal length; a JASPAR/PFM matrix without exactly four rows (A, C, G, T); a MEME
        matrix whose rows are not four probabilities in [0, 1], whose row count differs from its ``w=``, or whose
        ``nsites=`` is not a positive whole number; a TRANSFAC row without four counts; a matrix without columns;
        anything else Bio.motifs cannot parse.
    """
    import math

    from Bio import motifs as bio_motifs

    max_bytes = 64 * 2**20
    path = Path(path)
    try:
        with open(path, "rb") as handle:
            data = handle.read(max_bytes + 1)
    except OSError as error:
        raise InputFileError(f"{path}: cannot read motif file ({error.strerror or error})") from None
    if len(data) > max_bytes:
        raise InputFileError(f"{path}: larger than {max_bytes // 2**20} MiB: not a motif file")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise InputFileError(f"{path}, line {line}: binary data or text that is not UTF-8 "
                             f"(byte 0x{data[error.start]:02x}): not a motif file") from None
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    for number, line in enumerate(lines, 1):
        control = re.search(r"[\x00-\x08\x0e-\x1f\x7f]", line)
        if control:
            raise InputFileError(f"{path}, line {number}: binary data (byte 0x{ord(control.group()):02x}): "
                                 "not a motif file")
    if not text.strip():
        raise InputFileError(f"{path}: empty motif file")
    fmt = _sniff_format(text)

    # -- line checks, so that what Bio.motifs would reject with a bare message, silently skip or misread is named
    #    with its line (Bio's readers stop at a NaN, drop a fifth row, accept fewer rows than w=, ...)
    plain_number = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")

    def fail(number: int, problem: str):
        raise InputFileError(f"{path}, line {number}: {problem}")

    def numbers(number: int, tokens: Sequence[str], what: str, upper: float | None = None) -> list[float]:
        values = []
        for token in tokens:
            if not plain_number.fullmatch(token):
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
        return bool(re.match(r"[0-9.+-]", token)) or token.lower().lstrip("+-") in ("nan", "inf", "infinity")

    def check_four_row_matrices(jaspar: bool) -> None:
        rows: list[tuple[int, str | None, list[float]]] = []  # (line, letter or None, values)
        header = 0
        labelled = re.compile(r"([ACGT])\s*\[(.*)\]" if jaspar else r"([ACGTacgt])(?:\s*[\[|]+\s*|\s+)(.*?)[\s\]]*")
        for number, raw in enumerate(lines, 1):
            line = raw.strip()
            if not line:
                continue
            if line.startswith(">"):
                if jaspar and not line[1:].strip():
                    fail(number, "motif header without an identifier")
                if rows:
                    fail(rows[0][0], f"the matrix starting here has {len(rows)} row(s); a count matrix has 4 "
                                     "(A, C, G, T)")
                if header:
                    fail(header, "motif header without a matrix")
                header = number
                continue
            match = labelled.fullmatch(line)
            if not jaspar and match is None and not looks_numeric(line.split()[0]):
                continue  # Bio's PFM reader skips lines that are not matrix rows (titles, "Ent=", comments)
            letter, tokens = (match.group(1).upper(), match.group(2).split()) if match else (None, line.split())
            values = numbers(number, tokens, "count")
            if not values:
                fail(number, "a matrix row without values: the matrix has no columns")
            if rows and len(values) != len(rows[0][2]):
                fail(number, f"this row has {len(values)} values, the row on line {rows[0][0]} has "
                             f"{len(rows[0][2])}")
            if letter is not None and any(letter == r[1] for r in rows):
                fail(number, f"a second row for {letter} in one matrix")
            rows.append((number, letter, values))
            if len(rows) == 4:
                for column, total in enumerate(map(sum, zip(*(r[2] for r in rows))), 1):
                    if not total > 0:
                        fail(rows[0][0], f"column {column} of the matrix starting here has no counts")
                    if not math.isfinite(total):
                        fail(rows[0][0], f"column {column} of the matrix starting here adds up to more than a float "
                                         "can hold")
                rows, header = [], 0
        if rows:
            fail(rows[0][0], f"the matrix starting here has {len(rows)} row(s); a count matrix has 4 (A, C, G, T)")
        if header:
            fail(header, "motif header without a matrix")

    def check_meme() -> None:
        number = 0
        while number < len(lines):
            line = lines[number]
            number += 1
            if line.startswith("MOTIF") and len(line.split()) < 2:
                fail(number, "MOTIF line without an identifier")
            if not line.startswith("letter-probability matrix:"):
                continue
            stats = {key: value for key, value in re.findall(r"(\w+)=\s*(\S+)", line)}
            for key in ("alength", "w", "nsites"):
                if key in stats and not re.fullmatch(r"\d+", stats[key]):
                    fail(number, f"{key}= {stats[key]!r} is not a whole number")
            if stats.get("alength", "4") != "4":
                fail(number, f"alength= {stats['alength']}: only DNA motifs (A, C, G, T) can be scanned")
            if stats.get("nsites") == "0" or re.fullmatch(r"0+", stats.get("nsites", "1")):
                fail(number, "nsites= 0: a matrix needs at least one site")
            start, count = number, 0
            while number < len(lines) and lines[number].split() and looks_numeric(lines[number].split()[0]):
                tokens = lines[number].split()
                number += 1
                if len(tokens) != 4:
                    fail(number, f"a MEME matrix row has 4 probabilities (A, C, G, T); this one has {len(tokens)}")
                numbers(number, tokens, "probability", upper=1.001)
                count += 1
                if "w" in stats and count == int(stats["w"]):
                    break
            if count == 0:
                fail(start, "a matrix without rows: the motif has no columns")
            if "w" in stats and count != int(stats["w"]):
                fail(start, f"w= {stats['w']} but the matrix has {count} row(s)")

    def check_transfac() -> None:
        matrix_line, rows = 0, 0
        for number, raw in enumerate(lines, 1):
            tokens = raw.split()
            if not tokens:
                continue
            if matrix_line and re.fullmatch(r"\d+", tokens[0]):
                if len(tokens) < 5:
                    fail(number, f"a TRANSFAC matrix row has a count for each of A, C, G, T; this one has "
                                 f"{len(tokens) - 1}")
                numbers(number, tokens[1:5], "count")
                rows += 1
                continue
            if matrix_line and not rows:
                fail(matrix_line, "a matrix without rows: the motif has no columns")
            matrix_line, rows = (number, 0) if tokens[0] in ("P0", "PO") else (0, 0)
        if matrix_line and not rows:
            fail(matrix_line, "a matrix without rows: the motif has no columns")

    if fmt == "minimal":
        check_meme()
    elif fmt == "transfac":
        check_transfac()
    else:
        check_four_row_matrices(jaspar=fmt == "jaspar")

    try:
        parsed = list(bio_motifs.parse(io.StringIO(text), fmt))
    except Exception as error:  # Bio.motifs raises bare ValueErrors, KeyErrors, IndexErrors, ...
        where = ""
        for quoted in re.findall(r'"([^"\n]+)"|\'([^\'\n]+)\'', str(error)):
            snippet = (quoted[0] or quoted[1]).strip()
            found = next((n for n, line in enumerate(lines, 1) if snippet and snippet in line), None)
            if found:
                where = f", line {found}"
                break
        raise InputFileError(f"{path}{where}: not a readable {fmt} motif file ({error})") from None
    if not parsed:
        raise InputFileError(f"{path}: no motif found")
    # MEME's "MOTIF id [alt_name]": Bio keeps the ID as the name and drops the alternative name (the TF's)
    alt_names = [(line.split()[2:3] or [""])[0] for line in lines if line.startswith("MOTIF")]
    motifs = []
    for number, bio_motif in enumerate(parsed, 1):
        if fmt == "minimal":
            alt_name = alt_names[number - 1] if len(alt_names) == len(parsed) else ""
            motif_id, name = bio_motif.name or "", getattr(bio_motif, "alt_id", None) or alt_name
        elif fmt == "transfac":  # a dict of the file's fields: AC accession (JASPAR's matrix ID), ID, NA name
            motif_id = bio_motif.get("AC") or bio_motif.get("ID") or ""
            name = bio_motif.get("NA") or bio_motif.get("ID") or ""
        else:
            motif_id = getattr(bio_motif, "matrix_id", None) or getattr(bio_motif, "id", None) or ""
            name = getattr(bio_motif, "name", None) or ""
        motif_id = motif_id or name or f"{path.stem}_{number}"
        motifs.append(Motif(id=str(motif_id), name=str(name or motif_id), counts=_counts_from_bio(bio_motif, path),
                            source=str(path)))
    return motifs


# --- selection --------------------------------------------------------------------------------------------------


def default_motif_ids() -> list[str]:
    """The IDs of the default set (``motifs/atf_creb.txt``): JASPAR2026 CORE vertebrate ATF/CREB factors."""
    lines = (data_dir("motifs") / DEFAULT_SET_FILE).read_text().splitlines()
    return [line.split()[0] for line in lines if line.strip() and not line.lstrip().startswith("#")]


def select_motifs(
    *,
    release: str | None = None,
    motif_ids: Sequence[str] = (),
    tf_names: Sequence[str] = (),
    motif_files: Sequence[str | Path] = (),
    collections: Sequence[str] | None = None,
    tax_groups: Sequence[str] | None = None,
) -> list[Motif]:
    """The union of every selector, in the order given, each motif once (by ID and source).

    - ``motif_ids``: JASPAR IDs (``MA0605.3``, or ``MA0605`` for its latest version);
    - ``tf_names``: TF names, matched case-insensitively within ``collections`` (default CORE) and ``tax_groups``
      (default vertebrates);
    - ``motif_files``: JASPAR/MEME/TRANSFAC files;
    - ``collections``/``tax_groups`` given without ``tf_names``: the whole group (latest version of each base ID).

    With no selector at all: the default ATF/CREB set; under an older release its missing IDs are dropped with one
    warning.
    """
    database = jaspar_database(release)
    group_given = collections is not None or tax_groups is not None
    collections = list(collections or [DEFAULT_COLLECTION])
    tax_groups = list(tax_groups if tax_groups is not None else [DEFAULT_TAX_GROUP])
    chosen: list[Motif] = []
    if not (motif_ids or tf_names or motif_files or group_given):
        wanted = default_motif_ids()
        present = [m for m in wanted if database.has_id(m)]
        if len(present) < len(wanted):
            missing = sorted(set(wanted) - set(present))
            log.warning("%s lacks %d motif(s) of the default set, dropped: %s",
                        database.release, len(missing), " ".join(missing))
        if not present:
            raise UnknownMotifError(f"{database.release} holds none of the default motifs; "
                                    "choose motifs with --motif or --tf")
        chosen = database.by_ids(present)
    chosen += database.by_ids(motif_ids)
    if tf_names:
        chosen += database.by_names(tf_names, collections, tax_groups)
    elif group_given:
        chosen += database.group(collections, tax_groups)
    for path in motif_files:
        chosen += read_motif_file(path)
    return _unique(chosen)


def _unique(motifs: Sequence[Motif]) -> list[Motif]:
    seen: set[tuple[str, str]] = set()
    unique = []
    for motif in motifs:
        if (motif.id, motif.source) not in seen:
            seen.add((motif.id, motif.source))
            unique.append(motif)
    ids = [m.id for m in unique]
    duplicated = sorted({i for i in ids if ids.count(i) > 1})
    if duplicated:
        raise UsageError(f"motif ID(s) {', '.join(duplicated)} come from more than one source; rename them in the file")
    return unique
