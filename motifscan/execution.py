"""Where chunks run: in this process, in local worker processes, or on a Dask cluster.

Every executor takes the same task function and arguments and yields the results as tasks finish, with at most
``in_flight`` tasks submitted and not yet collected, so that memory is bounded by a few chunks whatever the genome.
The order in which results arrive never matters: callers key them by chunk index.

- :class:`SerialExecutor` (``--jobs 1``): no pool at all; the least memory.
- :class:`ProcessExecutor` (``--jobs N``): a ``concurrent.futures`` pool of N processes (spawned, so that no thread
  or lock state of this process is inherited).
- :class:`DaskExecutor` (``--dask-scheduler tcp://HOST:PORT`` or ``local:N``): dask.distributed, an existing cluster
  or a local one of N single-threaded worker processes. The plan (matrices and thresholds) is scattered to every
  worker once; each task then carries only its chunk's letters (uint8 codes), so workers need no shared file system.
"""

from __future__ import annotations

import concurrent.futures
import logging
import multiprocessing
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from motifscan.errors import MotifscanError, UsageError

log = logging.getLogger(__name__)

Task = Callable[..., Any]

CONNECT_TIMEOUT = 10.0
"""Seconds to wait for a Dask scheduler to answer."""


class SerialExecutor:
    """Runs each task here, when its result is asked for."""

    workers = 1

    def map_unordered(self, function: Task, shared: Any, items: Iterable[tuple]) -> Iterator[Any]:
        for item in items:
            yield function(shared, *item)

    def close(self) -> None:
        pass


class ProcessExecutor:
    """A pool of ``workers`` local processes."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._pool = concurrent.futures.ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))

    def map_unordered(self, function: Task, shared: Any, items: Iterable[tuple]) -> Iterator[Any]:
        pending: set[concurrent.futures.Future] = set()
        for item in items:
            pending.add(self._pool.submit(function, shared, *item))
            if len(pending) >= 2 * self.workers:
                done, pending = concurrent.futures.wait(pending, return_when=concurrent.futures.FIRST_COMPLETED)
                yield from (future.result() for future in done)
        for future in concurrent.futures.as_completed(pending):
            yield future.result()

    def close(self) -> None:
        self._pool.shutdown(cancel_futures=True)


def _dask():
    try:
        import distributed
    except ImportError:
        raise UsageError('--dask-scheduler needs dask.distributed: pip install ".[dask]" in the clone') from None
    return distributed


class DaskExecutor:
    """Tasks on a dask.distributed cluster: ``address`` ``tcp://HOST:PORT`` of a running scheduler, or ``local:N``
    for a local cluster of N worker processes started (and stopped) here."""

    def __init__(self, address: str) -> None:
        distributed = _dask()
        self._cluster = None
        if address.startswith("local:"):
            workers = _local_workers(address)
            self._cluster = distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                                     dashboard_address=None, host="127.0.0.1")
            target: Any = self._cluster
        else:
            target = address
        try:
            self._client = distributed.Client(target, timeout=CONNECT_TIMEOUT, set_as_default=False)
        except (OSError, TimeoutError) as error:
            self._close_cluster()
            raise MotifscanError(f"--dask-scheduler {address}: cannot connect ({error})") from None
        self.workers = max(sum(self._client.nthreads().values()), 1)
        log.info("Dask cluster %s: %d worker threads", address, self.workers)

    def map_unordered(self, function: Task, shared: Any, items: Iterable[tuple]) -> Iterator[Any]:
        distributed = _dask()
        shared_future = self._client.scatter(shared, broadcast=True, hash=False)
        queue = distributed.as_completed(loop=self._client.loop)
        for item in items:
            queue.add(self._client.submit(function, shared_future, *item, pure=False))
            if queue.count() >= 2 * self.workers:
                future = next(queue)
                yield future.result()
                future.release()
        for future in queue:
            yield future.result()
            future.release()

    def close(self) -> None:
        self._client.close()
        self._close_cluster()

    def _close_cluster(self) -> None:
        if self._cluster is not None:
            self._cluster.close()
            self._cluster = None


def _local_workers(address: str) -> int:
    text = address.partition(":")[2]
    if not text.isdigit() or int(text) < 1:
        raise UsageError(f"--dask-scheduler {address}: expected local:N with N a positive whole number")
    return int(text)


def executor_for(jobs: int, dask_scheduler: str | None):
    """The executor asked for: Dask when ``dask_scheduler`` is given, else ``jobs`` local processes (1: this one)."""
    if dask_scheduler:
        return DaskExecutor(dask_scheduler)
    if jobs > 1:
        return ProcessExecutor(jobs)
    return SerialExecutor()
