"""CPU-heavy work (extraction) in a pool of worker processes, awaited from the reactor.

A worker that crashes or hangs past the timeout is replaced (the whole pool is restarted,
since a process pool cannot kill one worker); the page it held gets a reason, and the
other pages that were in flight are submitted again once.
"""

from __future__ import annotations

import asyncio
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Callable

import structlog

log = structlog.get_logger()


class WorkerTimeout(Exception):
    pass


class WorkerCrashed(Exception):
    pass


def _warm_up() -> None:
    import crawler.extraction  # noqa: F401  (import cost paid once per worker)


class WorkerPool:
    def __init__(self, workers: int, timeout: float):
        self.workers = workers
        self.timeout = timeout
        self._generation = 0
        self._pool = self._new_pool()

    def _new_pool(self) -> ProcessPoolExecutor:
        self._generation += 1
        return ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=multiprocessing.get_context("forkserver"),
            initializer=_warm_up,
        )

    def _restart(self, generation: int) -> None:
        if generation != self._generation:
            return  # another task already restarted it
        old = self._pool
        for proc in list(getattr(old, "_processes", {}).values()):
            proc.kill()
        old.shutdown(wait=False, cancel_futures=True)
        self._pool = self._new_pool()
        log.warning("worker_pool_restarted", generation=self._generation)

    async def run(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        for attempt in (1, 2):
            generation = self._generation
            try:
                future = self._pool.submit(fn, *args, **kwargs)
            except (BrokenProcessPool, RuntimeError):
                self._restart(generation)
                continue
            try:
                return await asyncio.wait_for(asyncio.wrap_future(future), self.timeout)
            except asyncio.TimeoutError:
                self._restart(generation)
                raise WorkerTimeout(f"no result after {self.timeout:g} s") from None
            except BrokenProcessPool:
                self._restart(generation)
                if attempt == 2:
                    raise WorkerCrashed("worker process died twice on this page") from None
        raise WorkerCrashed("worker pool could not be started")

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
