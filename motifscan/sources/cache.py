"""A small persistent key-value cache for the Ensembl client, kept in one SQLite file.

Why SQLite: it is in the standard library, survives a crash mid-write (each batch is one transaction, WAL journal),
and lets a rerun after an interruption pick up every batch stored before it. Values are JSON.

Every entry lives in a *scope* (the server URL, species and assembly, joined by ``|``) and has a *kind* (``"gene"``,
``"symbol"``, ``"transcript"``, ``"xref"``, ``"region"``, ``"chrom"``, ``"meta"``) and a key, so one file serves many
servers and assemblies without mixing them. The file is created readable and writable by its owner only (mode 0600),
in a folder created with mode 0700. An entry that cannot be decoded counts as missing (it is fetched again); a database
that cannot be read is a :class:`CacheError` that names the file and says how to go on (delete it, or
``--no-cache``).
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import time
from pathlib import Path
from typing import Any, Iterable, Mapping

from motifscan.errors import MotifscanError, UsageError

logger = logging.getLogger(__name__)

CACHE_FILE_NAME = "ensembl-cache.sqlite3"
"""Name of the cache file inside the cache directory."""

CACHE_DIR_ENV = "MOTIFSCAN_CACHE_DIR"
"""Environment variable that overrides the user cache directory (tests, shared machines)."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (
    scope TEXT NOT NULL,
    kind TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    stored_at REAL NOT NULL,
    PRIMARY KEY (scope, kind, key)
) WITHOUT ROWID
"""

# SQLite allows at most 999 bound variables per statement in old builds; stay well below.
_CHUNK = 500


def default_cache_dir() -> Path:
    """The directory for motifscan's cache: ``$MOTIFSCAN_CACHE_DIR`` if set, else the platform's user cache dir."""
    override = os.environ.get(CACHE_DIR_ENV)
    if override:
        return Path(override).expanduser()
    import platformdirs  # imported here so that only users of the cache need it

    return Path(platformdirs.user_cache_dir("motifscan"))


class CacheError(MotifscanError):
    """The cache file is damaged or cannot be read (exit code 1); the message says how to get going again."""


def make_private_dirs(directory: str | os.PathLike[str]) -> Path:
    """Create ``directory`` and any missing parents with mode 0700 (user only), and return it.

    Folders that already exist are left as they are: the user may have pointed ``--cache-dir`` at a folder of their
    own; the files motifscan puts there are private anyway.
    """
    directory = Path(directory)
    missing = []
    for folder in (directory, *directory.parents):
        if folder.exists():
            break
        missing.append(folder)
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=0o700)
        except FileExistsError:  # made meanwhile by another process
            continue
        os.chmod(folder, 0o700)  # mkdir's mode is filtered by the umask, which may be wider or narrower
    if not directory.is_dir():
        raise NotADirectoryError(f"not a directory: {directory}")
    return directory


def _create_private(path: Path) -> None:
    """Create ``path`` empty with mode 0600 unless it exists; tighten an existing file's mode too."""
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        os.close(fd)
    except FileExistsError:
        pass
    os.chmod(path, 0o600)  # the umask may have widened nothing, but an older file may be wider


class Cache:
    """A persistent JSON cache in the SQLite file ``directory/ensembl-cache.sqlite3``.

    Parameters
    ----------
    directory : path, optional
        Where the file lives (created with mode 0700 if missing). Default: :func:`default_cache_dir`.

    Raises
    ------
    UsageError
        The directory cannot be created or the file cannot be opened.
    """

    def __init__(self, directory: str | os.PathLike[str] | None = None) -> None:
        folder = Path(directory) if directory is not None else default_cache_dir()
        self.path = folder / CACHE_FILE_NAME
        try:
            make_private_dirs(folder)
            _create_private(self.path)
            # isolation_level=None: we open transactions ourselves, one per stored batch.
            self._db = sqlite3.connect(self.path, timeout=30.0, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise UsageError(f"cannot use the cache {self.path}: {exc}; delete it, choose another --cache-dir, "
                             "or run with --no-cache") from None
        for suffix in ("-wal", "-shm"):  # WAL side files hold cached data too
            side = self.path.with_name(self.path.name + suffix)
            if side.exists():
                os.chmod(side, 0o600)

    def get_many(self, scope: str, kind: str, keys: Iterable[str]) -> dict[str, Any]:
        """The stored values of those ``keys`` that are present, as ``{key: value}``."""
        wanted = list(dict.fromkeys(keys))
        found: dict[str, Any] = {}
        for i in range(0, len(wanted), _CHUNK):
            chunk = wanted[i : i + _CHUNK]
            marks = ",".join("?" * len(chunk))
            rows = self._read(
                f"SELECT key, value FROM entries WHERE scope = ? AND kind = ? AND key IN ({marks})",
                [scope, kind, *chunk],
            )
            for key, value in rows:
                try:
                    found[key] = json.loads(value)
                except ValueError:  # a damaged entry is as good as a missing one: it is fetched again
                    logger.debug("cache %s: unreadable entry %s/%s ignored", self.path, kind, key)
        return found

    def _read(self, sql: str, parameters: Iterable[Any]) -> list[tuple]:
        """Rows of a SELECT; a damaged database becomes a CacheError that says what to do."""
        try:
            return self._db.execute(sql, list(parameters)).fetchall()
        except sqlite3.Error as exc:
            raise CacheError(f"cannot read the cache {self.path} ({exc}); delete it, or run with --no-cache") from None

    def get(self, scope: str, kind: str, key: str, default: Any = None) -> Any:
        """The stored value of one key, or ``default``."""
        return self.get_many(scope, kind, [key]).get(key, default)

    def stored_at(self, scope: str, kind: str, key: str) -> float | None:
        """When (``time.time()``) one key was stored, or None if it is absent."""
        rows = self._read("SELECT stored_at FROM entries WHERE scope = ? AND kind = ? AND key = ?", (scope, kind, key))
        return rows[0][0] if rows and isinstance(rows[0][0], (int, float)) else None

    def put_many(self, scope: str, kind: str, items: Mapping[str, Any]) -> None:
        """Store (or replace) several values in one transaction, so that a batch is kept whole or not at all."""
        if not items:
            return
        now = time.time()
        rows = [(scope, kind, key, json.dumps(value, separators=(",", ":")), now) for key, value in items.items()]
        try:
            with self._transaction():
                self._db.executemany("INSERT OR REPLACE INTO entries VALUES (?, ?, ?, ?, ?)", rows)
        except sqlite3.Error as exc:
            # A cache that cannot be written must not stop a scan: warn and go on without it.
            logger.warning("could not write to the cache %s: %s", self.path, exc)

    def put(self, scope: str, kind: str, key: str, value: Any) -> None:
        """Store (or replace) one value."""
        self.put_many(scope, kind, {key: value})

    def clear_scope(self, scope: str) -> None:
        """Forget everything stored for one scope (e.g. after the server moved to a new Ensembl release)."""
        try:
            with self._transaction():
                self._db.execute("DELETE FROM entries WHERE scope = ?", (scope,))
        except sqlite3.Error as exc:
            raise CacheError(f"cannot update the cache {self.path} ({exc}); delete it, or run with --no-cache") \
                from None

    def close(self) -> None:
        """Close the database connection."""
        self._db.close()

    def _transaction(self) -> "_Transaction":
        return _Transaction(self._db)


class _Transaction:
    """``BEGIN IMMEDIATE`` ... ``COMMIT`` (or ``ROLLBACK`` on error) on an autocommit connection."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, *_: object) -> None:
        self._db.execute("COMMIT" if exc_type is None else "ROLLBACK")


class NullCache:
    """The cache interface, storing nothing: used when caching is switched off."""

    path = None

    def get_many(self, scope: str, kind: str, keys: Iterable[str]) -> dict[str, Any]:
        """Always empty."""
        return {}

    def get(self, scope: str, kind: str, key: str, default: Any = None) -> Any:
        """Always ``default``."""
        return default

    def stored_at(self, scope: str, kind: str, key: str) -> float | None:
        """Always None."""
        return None

    def put_many(self, scope: str, kind: str, items: Mapping[str, Any]) -> None:
        """Does nothing."""

    def put(self, scope: str, kind: str, key: str, value: Any) -> None:
        """Does nothing."""

    def clear_scope(self, scope: str) -> None:
        """Does nothing."""

    def close(self) -> None:
        """Does nothing."""
