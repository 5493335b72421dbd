"""Motifs: the one adapter over JASPAR (pyjaspar's bundled SQLite databases), selection, and the scoring matrices.

Data flow: database rows (here) or motif files (:mod:`motifscan.motif_files`) -> :class:`~motifscan.model.Motif`
(a count matrix, rows A, C, G, T) -> :func:`probabilities` -> :func:`log_odds` (bits). Nothing else in motifscan
reads JASPAR.

pyjaspar builds a Biopython object per matrix, which takes about 5 s for the 1019 CORE vertebrate matrices; this
module reads the same SQLite file directly with two queries, which takes a few tens of milliseconds.
"""

from __future__ import annotations

import difflib
import logging
import re
import sqlite3
from collections import defaultdict
from collections.abc import Iterable, Sequence
from functools import cache, cached_property
from pathlib import Path

import numpy as np

from motifscan.errors import UnknownMotifError, UsageError
from motifscan.model import Motif
from motifscan.motif_files import (
    read_motif_file,  # re-exported: motif files are read there
)
from motifscan.resources import data_dir

log = logging.getLogger(__name__)

LETTERS = "ACGT"
DEFAULT_COLLECTION = "CORE"
DEFAULT_TAX_GROUP = "vertebrates"
DEFAULT_SET_FILE = "atf_creb.txt"

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
    """pyjaspar's folder of bundled SQLite releases, found without importing pyjaspar: its ``__init__`` imports
    Biopython's motifs package (about 0.1-0.3 s), and motifscan reads the SQLite files itself."""
    import importlib.util

    spec = importlib.util.find_spec("pyjaspar")
    if spec is not None and spec.submodule_search_locations:
        return Path(next(iter(spec.submodule_search_locations))) / "data"
    import pyjaspar  # an unusual installation (e.g. zipped): ask the package itself

    return Path(pyjaspar.__file__).parent / "data"


def bundled_releases() -> list[str]:
    """JASPAR releases bundled with the installed pyjaspar, oldest first (``["JASPAR2014", ..., "JASPAR2026"]``)."""
    return sorted(p.stem for p in _jaspar_data_dir().glob("JASPAR*.sqlite"))


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
        self._groups: dict[tuple[tuple[str, ...], tuple[str, ...]], frozenset[int]] = {}

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
    def _species(self) -> dict[int, list[tuple[str, str, str]]]:
        """Database key -> [(NCBI taxonomy ID, scientific name, common name)] of the matrix's species, in ID order."""
        rows = self._db.execute(
            "SELECT ms.ID, ms.TAX_ID, COALESCE(t.SPECIES, ''), COALESCE(e.NAME, '') FROM MATRIX_SPECIES ms "
            "LEFT JOIN TAX t ON t.TAX_ID = ms.TAX_ID LEFT JOIN TAX_EXT e ON e.TAX_ID = ms.TAX_ID ORDER BY ms.TAX_ID"
        )
        species: dict[int, list[tuple[str, str, str]]] = defaultdict(list)
        for key, tax_id, scientific, common in rows:
            if str(tax_id or "").strip() and str(tax_id).strip() != "-":
                species[key].append((str(tax_id).strip(), scientific, common))
        return species

    def species_of(self, key: int) -> str:
        """The matrix's species, scientific names ", "-joined (a heterodimer may have two), "" if JASPAR gives none."""
        return ", ".join(scientific or f"taxon {tax_id}" for tax_id, scientific, _ in self._species.get(key, []))

    def _species_matches(self, key: int, species: str) -> bool:
        """Whether ``species`` names one of the matrix's species: its scientific name ("Mus musculus"), NCBI taxonomy
        ID ("10090"), common name ("house mouse") or that name's last word ("mouse"), any case."""
        wanted = species.strip().lower()
        return any(wanted in (tax_id, scientific.lower(), common.lower(), (common.split() or [""])[-1].lower())
                   for tax_id, scientific, common in self._species.get(key, []))

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
        """Build motifs for database keys, in the given order, with one query per 900 keys for all their matrix cells
        (placed by numpy: a Python step per motif, none per cell)."""
        if not keys:
            return []
        wanted = sorted(set(keys))
        parts = []
        for offset in range(0, len(wanted), 900):  # SQLite's bound-parameter limit
            chunk = wanted[offset : offset + 900]
            marks = ",".join("?" * len(chunk))
            parts += self._db.execute(
                f"SELECT ID, instr('{LETTERS}', upper(row)) - 1, col, val FROM MATRIX_DATA WHERE ID IN ({marks})",
                chunk
            ).fetchall()
        key, letter, column, value = (np.array(c) for c in zip(*parts)) if parts else (np.zeros(0, np.int64),) * 4
        if np.any(letter < 0):
            raise ValueError(f"{self.release}: a matrix row other than {', '.join(LETTERS)} in MATRIX_DATA")
        # each matrix's cells in one flat buffer: matrix i's (4, width_i) counts from start[i], rows A, C, G, T
        position = np.searchsorted(wanted, key)
        width = np.zeros(len(wanted), dtype=np.int64)
        np.maximum.at(width, position, column.astype(np.int64))
        start = np.concatenate(([0], np.cumsum(4 * width)))
        cells = np.zeros(int(start[-1]))
        cells[start[position] + letter * width[position] + column - 1] = value
        counts = {k: cells[start[i] : start[i + 1]].reshape(4, int(width[i])) for i, k in enumerate(wanted)}
        return [self._motif(key, counts[key]) for key in keys]

    def _motif(self, key: int, counts: np.ndarray) -> Motif:
        collection, base, version, name = self._matrices[key]
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
            species=self.species_of(key),
        )

    def _in_group(self, key: int, collections: Sequence[str], tax_groups: Sequence[str]) -> bool:
        return key in self._group_keys(tuple(collections), tuple(tax_groups))

    def _group_keys(self, collections: tuple[str, ...], tax_groups: tuple[str, ...]) -> frozenset[int]:
        """Database keys (every version) of the collections (any case) and tax groups (any case; none: all)."""
        cached = self._groups.get((collections, tax_groups))
        if cached is None:
            wanted_collections = {c.upper() for c in collections}
            wanted_tax = {t.lower() for t in tax_groups}
            annotations = self._annotations
            cached = self._groups[(collections, tax_groups)] = frozenset(
                key for key, (collection, _, _, _) in self._matrices.items()
                if collection.upper() in wanted_collections
                and (not wanted_tax or annotations.get(key, {}).get("tax_group", "").lower() in wanted_tax))
        return cached

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

    def latest_version(self, base_id: str) -> str:
        """``BASE.VERSION`` of the newest version of a base ID in this release; unknown -> UnknownMotifError."""
        key = self._key_of(base_id.split(".")[0])
        if key is None:
            raise UnknownMotifError(f"unknown motif ID {base_id!r} in {self.release}")
        _, base, version, _ = self._matrices[key]
        return f"{base}.{version}"

    def by_names(self, names: Sequence[str], collections: Sequence[str], tax_groups: Sequence[str],
                 species: str | None = None) -> list[Motif]:
        """The latest version of every matrix whose name equals one of ``names`` (case-insensitively), within the
        collections and tax groups and, given ``species`` (see :meth:`_species_matches`), of that species; a name
        matching nothing -> UnknownMotifError with close names (or, with ``species``, the species it has).

        Every name that selects matrices of more than one species, or whose matrices are all of another species than
        asked, is logged (INFO) with the matrices and their species."""
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
            listing = ", ".join(f"{self._label(k)} ({self.species_of(k) or 'species unknown'})" for k in found)
            if species:
                of_species = [k for k in found if self._species_matches(k, species)]
                if not of_species:
                    raise UnknownMotifError(f"no matrix named {name!r} of species {species!r} in {self.release}; "
                                            f"{name!r} has: {listing}")
                if len(of_species) < len(found):
                    log.info("TF %r of species %r: %s, of %s", name, species,
                             ", ".join(self._label(k) for k in of_species), listing)
                found = of_species
            elif len({self.species_of(k) for k in found}) > 1:
                log.info("TF %r selects matrices of several species: %s (narrow it with --tf-species, API: "
                         "tf_species)", name, listing)
            keys.extend(found)
        return self._load(keys)

    def _label(self, key: int) -> str:
        _, base, version, name = self._matrices[key]
        return f"{base}.{version} {name}"

    def group(self, collections: Sequence[str], tax_groups: Sequence[str]) -> list[Motif]:
        """The latest version of every base ID in the collections and tax groups (empty tax_groups: all), by ID."""
        self._check_group(collections, tax_groups)
        keys = [k for k in self._latest.values() if self._in_group(k, collections, tax_groups)]
        return self._load(sorted(keys, key=lambda k: self._matrices[k][1]))

    def search(self, query: str | None, collections: Sequence[str], tax_groups: Sequence[str],
               species: str | None = None) -> list[Motif]:
        """The latest matrices of the group whose ID, name, class or family contains ``query`` (case-insensitive),
        of ``species`` if given (see :meth:`_species_matches`)."""
        self._check_group(collections, tax_groups)
        keys = [k for k in self._latest.values() if self._in_group(k, collections, tax_groups)
                and (not species or self._species_matches(k, species))]
        motifs = self._load(sorted(keys, key=lambda k: self._matrices[k][1]))
        if not query:
            return motifs
        needle = query.lower()
        return [
            m for m in motifs
            if any(needle in field.lower() for field in (m.id, m.name, m.tf_class, m.family))
        ]


# --- motif files ------------------------------------------------------------------------------------------------


@cache
def _open_release(release: str) -> JasparDatabase:
    return JasparDatabase(release)


def jaspar_database(release: str | None = None) -> JasparDatabase:
    """The database of a bundled JASPAR release (default: the newest), opened once per process."""
    return _open_release(canonical_release(release))



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
    tf_species: str | None = None,
) -> list[Motif]:
    """The union of every selector, in the order given, each motif once (by ID and source).

    - ``motif_ids``: JASPAR IDs (``MA0605.3``, or ``MA0605`` for its latest version);
    - ``tf_names``: TF names, matched case-insensitively within ``collections`` (default CORE) and ``tax_groups``
      (default vertebrates), and, given ``tf_species``, of that species (``"Homo sapiens"``, ``"human"``, ``"9606"``;
      JASPAR names a factor ``JUN`` in human and ``Jun`` in mouse, and a name matches both);
    - ``motif_files``: JASPAR/MEME/TRANSFAC files;
    - ``collections``/``tax_groups`` given without ``tf_names``: the whole group (latest version of each base ID).

    With no selector at all: the default ATF/CREB set, each base ID in its latest version in ``release`` (under an
    older release, one warning names the versions that changed and the base IDs the release lacks, dropped).
    """
    database = jaspar_database(release)
    group_given = collections is not None or tax_groups is not None
    collections = list(collections or [DEFAULT_COLLECTION])
    tax_groups = list(tax_groups if tax_groups is not None else [DEFAULT_TAX_GROUP])
    chosen: list[Motif] = []
    if not (motif_ids or tf_names or motif_files or group_given):
        chosen = _default_set(database)
    chosen += database.by_ids(motif_ids)
    if tf_species and not tf_names:
        raise UsageError("tf_species (--tf-species) narrows TF names (tf_names, --tf); no TF name was given")
    if tf_names:
        chosen += database.by_names(tf_names, collections, tax_groups, species=tf_species)
    elif group_given:
        chosen += database.group(collections, tax_groups)
    for path in motif_files:
        chosen += read_motif_file(path)
    return _unique(chosen)


def _default_set(database: JasparDatabase) -> list[Motif]:
    """The default set in ``database``'s release: the default set is a set of factors, so each base ID is taken in
    its latest version in that release (``MA0605.3`` is ``MA0605.2`` in JASPAR2020); base IDs the release lacks are
    dropped. One warning names the versions that changed and the IDs dropped."""
    wanted = default_motif_ids()
    chosen_ids, changed, missing = [], [], []
    for motif_id in wanted:
        base = motif_id.split(".")[0]
        if database.has_id(motif_id):
            chosen_ids.append(motif_id)
        elif database.has_id(base):
            in_release = database.latest_version(base)
            chosen_ids.append(in_release)
            changed.append(f"{motif_id} -> {in_release}")
        else:
            missing.append(motif_id)
    if changed or missing:
        log.warning("default motif set in %s: %d of %d matrices in that release's version%s%s",
                    database.release, len(chosen_ids), len(wanted),
                    f"; {len(changed)} changed: {', '.join(changed)}" if changed else "",
                    f"; {len(missing)} not in {database.release}, dropped: {' '.join(missing)}" if missing else "")
    if not chosen_ids:
        raise UnknownMotifError(f"{database.release} holds none of the default motifs; "
                                "choose motifs with --motif or --tf")
    return database.by_ids(chosen_ids)


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
