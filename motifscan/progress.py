"""Progress of long steps (fetching, scanning), drawn as one line on stderr.

The library reports through :func:`task`; nothing is drawn unless a front end turned reporting on with
:func:`report_to` (the CLI does, when stderr is a terminal and ``--quiet`` is not given). A bar appears only once a
step has lasted ``delay`` seconds, so quick runs stay quiet.
"""

from __future__ import annotations

import contextlib
import contextvars
import sys
import time
from collections.abc import Iterator
from typing import TextIO

_target: contextvars.ContextVar[tuple[TextIO | None, float]] = contextvars.ContextVar(
    "motifscan_progress", default=(None, 1.0))


@contextlib.contextmanager
def report_to(stream: TextIO | None, delay: float = 1.0) -> Iterator[None]:
    """Draw progress on ``stream`` (None: nowhere) within the block, for steps lasting over ``delay`` seconds."""
    token = _target.set((stream, delay))
    try:
        yield
    finally:
        _target.reset(token)


class Task:
    """One step of ``total`` units; call :meth:`advance` as units are done."""

    def __init__(self, label: str, total: int, stream: TextIO | None, delay: float = 1.0) -> None:
        self.label, self.total, self.stream, self.delay = label, max(total, 1), stream, delay
        self.done = 0
        self.started = time.monotonic()
        self.drawn = False

    def advance(self, units: int = 1) -> None:
        self.update(self.done + units, self.total)

    def update(self, done: int, total: int) -> None:
        """``done`` of ``total`` units finished (the total may become known only as work starts)."""
        self.done, self.total = done, max(total, 1)
        if self.stream is None or time.monotonic() - self.started < self.delay:
            return
        fraction = min(self.done / self.total, 1.0)
        bar = "#" * int(30 * fraction)
        self.stream.write(f"\r{self.label:<12} [{bar:<30}] {100 * fraction:5.1f}%")
        self.stream.flush()
        self.drawn = True

    def close(self) -> None:
        if self.drawn and self.stream is not None:
            self.stream.write("\r" + " " * 60 + "\r")
            self.stream.flush()


@contextlib.contextmanager
def task(label: str, total: int) -> Iterator[Task]:
    """A progress task for ``total`` units of work, drawn only where reporting is on."""
    stream, delay = _target.get()
    current = Task(label, total, stream, delay)
    try:
        yield current
    finally:
        current.close()


def terminal_stream(quiet: bool) -> TextIO | None:
    """stderr when it is a terminal and not ``quiet``, else None."""
    return sys.stderr if (not quiet and sys.stderr.isatty()) else None
