"""A small persistent key-value cache for the Ensembl client, kept in one SQLite file.

Why SQLite: it is in the standard library, survives a crash mid-write (each batch is one transaction, WAL journal),
and lets a rerun after an interruption pick up every batch stored before it. Values are JSON.

Every entry lives in a *scope* (the server URL, species and assembly, joined by ``|``) and has a *kind* (``"gene"``,
``"symbol"``, ``"transcript"``, ``"xref"``, ``"region"``, ``"chrom"``, ``"meta"``) and a key, so one file serves many
servers and assemblies without mixing them. The file is created readable and writable by its owner only (mode 0600),
in a folder created with mode 0700. :meth:`Cache.get_checked` hands back entries that cannot be decoded, or that fail
the caller's check, as damaged (the Ensembl client fetches them again, or refuses them offline); a database that
cannot be read is a :class:`CacheError` that names the file and says how to go on (delete it, or ``--no-cache``).

A cache that cannot be written (a read-only folder or file, a shared cache of someone else's) is read all the same:
opened read-only, it answers what it holds and keeps nothing new (a warning says so); ``read_only=True`` (offline use)
opens it that way from the start and never creates it.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import stat
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote

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
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:  # an older file may be readable by others: take their rights away, add none
            os.chmod(path, mode & 0o700)


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

    def __init__(self, directory: str | os.PathLike[str] | None = None, read_only: bool = False) -> None:
        folder = Path(directory) if directory is not None else default_cache_dir()
        self.path = folder / CACHE_FILE_NAME
        self.read_only = read_only
        self._db: sqlite3.Connection | None = None
        if read_only:
            try:
                present = self.path.is_file()
            except OSError as exc:  # a folder we may not enter
                raise CacheError(f"cannot read the cache {self.path} ({exc.strerror or exc}); run without "
                                 "--offline, or with another --cache-dir") from None
            if present:
                self._db = self._open_read_only()
            return
        try:
            make_private_dirs(folder)
            _create_private(self.path)
            # isolation_level=None: we open transactions ourselves, one per stored batch.
            self._db = sqlite3.connect(self.path, timeout=30.0, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            if self._db is not None:
                self._db.close()
                self._db = None
            # A file that is no database stays an error; a file or folder we may not write is read all the same.
            damaged = isinstance(exc, sqlite3.DatabaseError) and not isinstance(exc, sqlite3.OperationalError)
            if damaged or not self.path.is_file():
                raise UsageError(f"cannot use the cache {self.path}: {exc}; delete it, choose another --cache-dir, "
                                 "or run with --no-cache") from None
            self._db = self._open_read_only()  # a cache we may not write is still worth reading
            self.read_only = True
            logger.warning("the cache %s cannot be written (%s): reading it only, new answers are not kept",
                           self.path, getattr(exc, "strerror", None) or exc)
            return
        for suffix in ("-wal", "-shm"):  # WAL side files hold cached data too
            side = self.path.with_name(self.path.name + suffix)
            if side.exists():
                os.chmod(side, 0o600)

    def _open_read_only(self) -> sqlite3.Connection:
        """The cache opened read-only. A WAL database in a folder we cannot write needs ``immutable=1`` (SQLite can
        create no ``-shm`` file there); the last writer's clean close has folded the WAL into the file."""
        uri = f"file:{quote(str(self.path.resolve()))}?mode=ro"
        last: sqlite3.Error | None = None
        for extra in ("", "&immutable=1"):
            try:
                db = sqlite3.connect(uri + extra, uri=True, timeout=30.0, isolation_level=None,
                                     check_same_thread=False)
                db.execute("SELECT count(*) FROM entries").fetchone()
                return db
            except sqlite3.Error as exc:
                last = exc
        raise CacheError(f"cannot read the cache {self.path} ({last}); delete it, or run with --no-cache")

    def get_many(self, scope: str, kind: str, keys: Iterable[str]) -> dict[str, Any]:
        """The stored values of those ``keys`` that are present and can be decoded, as ``{key: value}`` (see
        :meth:`get_checked` to learn about the others)."""
        return self.get_checked(scope, kind, keys, lambda key, value: None)[0]

    def get_checked(self, scope: str, kind: str, keys: Iterable[str],
                    check: Callable[[str, Any], str | None]) -> tuple[dict[str, Any], dict[str, str]]:
        """``(values, damaged)``: the stored values of those ``keys`` that are present and pass ``check(key, value)``
        (which returns None, or what is wrong), and ``{key: what is wrong}`` for those that do not (or that are not
        JSON at all)."""
        values: dict[str, Any] = {}
        damaged: dict[str, str] = {}
        for key, text in self._rows(scope, kind, keys):
            try:
                value = json.loads(text)
            except (ValueError, RecursionError) as exc:
                damaged[key] = f"not valid JSON ({type(exc).__name__})"
                continue
            problem = check(key, value)
            if problem is None:
                values[key] = value
            else:
                damaged[key] = problem
        return values, damaged

    def _rows(self, scope: str, kind: str, keys: Iterable[str]) -> list[tuple[str, str]]:
        wanted = list(dict.fromkeys(keys))
        rows: list[tuple[str, str]] = []
        for i in range(0, len(wanted), _CHUNK):
            chunk = wanted[i : i + _CHUNK]
            marks = ",".join("?" * len(chunk))
            rows += self._read(f"SELECT key, value FROM entries WHERE scope = ? AND kind = ? AND key IN ({marks})",
                               [scope, kind, *chunk])
        return rows

    def _read(self, sql: str, parameters: Iterable[Any]) -> list[tuple]:
        """Rows of a SELECT; a damaged database becomes a CacheError that says what to do."""
        if self._db is None:  # read-only, and there is no file yet: nothing is cached
            return []
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
        if not items or self._db is None or self.read_only:
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
        if self._db is None or self.read_only:
            return
        try:
            with self._transaction():
                self._db.execute("DELETE FROM entries WHERE scope = ?", (scope,))
        except sqlite3.Error as exc:
            raise CacheError(f"cannot update the cache {self.path} ({exc}); delete it, or run with --no-cache") \
                from None

    def close(self) -> None:
        """Close the database connection."""
        if self._db is not None:
            self._db.close()

    def _transaction(self) -> _Transaction:
        assert self._db is not None  # callers return early without a database
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

    def get_checked(self, scope: str, kind: str, keys: Iterable[str],
                    check: Callable[[str, Any], str | None]) -> tuple[dict[str, Any], dict[str, str]]:
        """Always empty."""
        return {}, {}

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
