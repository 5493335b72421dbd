"""Exception classes and the exit codes they map to.

Every error a user can cause is a :class:`MotifscanError`; the CLI prints its message on one line and exits with its
``exit_code``. Anything else reaching the CLI is a bug and is reported as such.
"""

from __future__ import annotations

EXIT_OK = 0
"""Success, zero hits included."""
EXIT_FAILURE = 1
"""Unreadable, empty or malformed input; no gene resolved; network exhausted."""
EXIT_USAGE = 2
"""A bad option or value, a missing input path, an unknown motif, release or background."""


class MotifscanError(Exception):
    """Base class of every error motifscan raises on purpose."""

    exit_code = EXIT_FAILURE


class UsageError(MotifscanError):
    """The user asked for something that cannot be (bad value, unknown name)."""

    exit_code = EXIT_USAGE


class UnknownMotifError(UsageError):
    """A motif ID, TF name or JASPAR release that the database does not hold."""


class InputFileError(MotifscanError):
    """An input file is unreadable, empty or malformed (FASTA, GTF, motif file)."""


class UnsafeTextError(MotifscanError):
    """A text field (ID, name, chromosome) holds a control character that would split a row of a line-based
    output."""


class GenomeError(MotifscanError):
    """A genome or annotation cannot be used (chromosome mismatch, missing sequence)."""


class EnsemblError(MotifscanError):
    """The Ensembl REST server could not answer (after bounded retries) or answered something inconsistent."""


class OfflineCacheMiss(EnsemblError):
    """``--offline`` was asked for, and the cache lacks what is needed."""


class NoGenesError(MotifscanError):
    """None of the requested genes could be resolved (or, with ``strict``, some could not)."""
