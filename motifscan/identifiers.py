"""Names and identifiers: what a gene ID, transcript ID, gene name, biotype or chromosome name may look like, how an
Ensembl version is split off an ID, and how chromosome names map between Ensembl and UCSC styles.

One home for each of these, used by every source (GTF, Ensembl answers, the cache, FASTA headers), so that text from
outside reaches the hit tables and files only after one strict check: no control characters (a tab or newline in an
ID would split a TSV row and plant a fake one), no white space, no quotes, nothing a format uses as a separator.

* IDs (gene and transcript): letters, digits and ``_ . : + - | / @ ~ ^ ! ? $ * ( ) [ ]``; not ``,`` (it separates
  transcript IDs in the hit tables), ``;``, ``=``, ``&``, ``%``, ``#``, quotes or back-slashes.
* Gene names: the same, plus ``'`` (Drosophila and some Ensembl names use it).
* Biotypes: letters, digits, ``_ . -``.
* Chromosome names: the SAM specification's reference-name pattern (v1, section 1.2.1), minus a leading ``#`` (a BED
  line starting with ``#`` is a comment).

All at most 255 characters, ASCII only.
"""

from __future__ import annotations

import re
import unicodedata

MAX_LENGTH = 255

_PATTERNS = {
    "id": re.compile(r"[0-9A-Za-z_][0-9A-Za-z_.:+|/@~^!?$*()\[\]-]*"),
    "name": re.compile(r"[0-9A-Za-z_][0-9A-Za-z_.:+|/@~^!?$*()\[\]'-]*"),
    "biotype": re.compile(r"[0-9A-Za-z_][0-9A-Za-z_.-]*"),
    "chromosome": re.compile(r"[0-9A-Za-z!$%&+./:;?@^_|~-][0-9A-Za-z!#$%&*+./:;=?@^_|~-]*"),
}
KINDS = tuple(_PATTERNS)
"""What :func:`name_problem` can check: ``"id"``, ``"name"``, ``"biotype"``, ``"chromosome"``."""

_VERSIONED_ID = re.compile(r"(?P<base>[^.]+)\.(?P<version>\d+)(?P<suffix>_PAR_Y)?")


def describe_character(char: str) -> str:
    """How a message names one character: ``'x'``, ``a tab``, ``a control character (U+0007)``."""
    named = {"\t": "a tab", "\n": "a newline", "\r": "a carriage return", " ": "a space"}
    if char in named:
        return named[char]
    if unicodedata.category(char).startswith("C"):
        return f"a control character (U+{ord(char):04X})"
    if not char.isascii():
        return f"the non-ASCII character {char!r} (U+{ord(char):04X})"
    return repr(char)


def name_problem(kind: str, text: object) -> str | None:
    """What is wrong with ``text`` as a ``kind`` (see :data:`KINDS`), as a phrase for a message, or None if it is fine.

    An empty name is never fine: callers that allow a missing name (a gene without a symbol) skip the check.
    """
    if not isinstance(text, str):
        return f"is not text ({type(text).__name__})"
    if not text:
        return "is empty"
    if len(text) > MAX_LENGTH:
        return f"is longer than {MAX_LENGTH} characters"
    pattern = _PATTERNS[kind]
    if pattern.fullmatch(text):
        return None
    for i, char in enumerate(text):
        if not pattern.fullmatch(char if i == 0 else "A" + char):  # "A" is a valid first character of every kind
            return f"{'starts with' if i == 0 else 'holds'} {describe_character(char)}"
    return "is malformed"  # not reached: a text whose every character passes matches the pattern


def checked_name(kind: str, text: object, what: str) -> str:
    """``text`` if it passes :func:`name_problem`, else ValueError saying ``what`` (e.g. ``"the gene ID 'X\\tY'"``)
    is wrong and why. Sources turn the ValueError into their own error type, with the file and line or the server."""
    problem = name_problem(kind, text)
    if problem is not None:
        raise ValueError(f"{what} {problem}")
    return text  # type: ignore[return-value]


# --------------------------------------------------------------------------------------------------------------------
# Ensembl ID versions


def split_version(identifier: str) -> tuple[str, int | None]:
    """``"ENSG00000054598.8"`` -> ``("ENSG00000054598", 8)``; ``"ENSG….14_PAR_Y"`` keeps its ``_PAR_Y`` suffix on the
    ID; an ID without a numeric version comes back unchanged with None."""
    match = _VERSIONED_ID.fullmatch(identifier)
    if match is None:
        return identifier, None
    return match["base"] + (match["suffix"] or ""), int(match["version"])


def unversioned(identifier: str) -> str:
    """The ID without its version: ``"ENST00000380874.2"`` -> ``"ENST00000380874"`` (see :func:`split_version`)."""
    return split_version(identifier)[0]


# --------------------------------------------------------------------------------------------------------------------
# Chromosome names: Ensembl style ("6", "X", "MT") and UCSC style ("chr6", "chrX", "chrM")


def ucsc_name(chrom: str) -> str:
    """UCSC-style chromosome name: ``"6"`` -> ``"chr6"``, ``"MT"`` -> ``"chrM"``; names already prefixed stay."""
    if chrom.startswith("chr"):
        return chrom
    return "chrM" if chrom == "MT" else f"chr{chrom}"


def chromosome_aliases(name: str) -> list[str]:
    """Names that differ from ``name`` only by the ``chr`` prefix (``chrM`` <-> ``MT`` included), in order."""
    if name.startswith("chr"):
        bare = name[3:]
        return [bare, "MT"] if bare == "M" else [bare]
    return [f"chr{name}", "chrM"] if name == "MT" else [f"chr{name}"]
