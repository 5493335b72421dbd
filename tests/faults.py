"""Real file-system faults for tests: permissions that hold even when the tests run as root."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def unprivileged(*owned: Path) -> Iterator[None]:
    """Run the block without the power to ignore file permissions: as root, with the effective user ``nobody``
    (``owned`` paths handed to it, the temporary folders above them made traversable); as anyone else, as is."""
    if os.geteuid() != 0:
        yield
        return
    nobody = 65534
    opened = []
    for path in owned:
        for folder in [path, *path.parents]:
            if folder == Path("/"):
                break
            mode = folder.stat().st_mode & 0o777
            if not mode & 0o001:
                opened.append((folder, mode))
                folder.chmod(mode | 0o001)
        for item in [path, *path.rglob("*")] if path.is_dir() else [path]:
            os.chown(item, nobody, nobody)
    os.setegid(nobody)
    os.seteuid(nobody)
    try:
        yield
    finally:
        os.seteuid(0)
        os.setegid(0)
        for folder, mode in opened:
            folder.chmod(mode)
