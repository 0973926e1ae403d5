"""CPU-heavy work (extraction) in a pool of worker processes, awaited from the reactor.

A worker that crashes or hangs past the timeout is replaced (the whole pool is restarted,
since a process pool cannot kill one worker); the page it held gets a reason, and the
other pages that were in flight are submitted again once.
"""

from __future__ import annotations

import asyncio
import multiprocessing
from concurrent.futures import CancelledError, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Callable

import structlog

log = structlog.get_logger()


class WorkerTimeout(Exception):
    pass


class WorkerCrashed(Exception):
    pass


class WorkerPool:
    ATTEMPTS = 3
    # A fresh pool's fork server imports the extractor and loads models (1-5 s on a busy
    # 2-core machine) before the first page: that time is not the page's.
    STARTUP_ALLOWANCE = 60.0

    def __init__(self, workers: int, timeout: float, preload: tuple[str, ...] = ("crawler.worker_preload",)):
        """`preload`: modules the fork server imports once, before it forks each worker."""
        self.workers = workers
        self._context = multiprocessing.get_context("forkserver")
        self._context.set_forkserver_preload(list(preload))
        self.timeout = timeout
        self._generation = 0
        self._slots: asyncio.Semaphore | None = None
        self._warm_generation = 0
        self._pool = self._new_pool()

    def _new_pool(self) -> ProcessPoolExecutor:
        self._generation += 1
        return ProcessPoolExecutor(max_workers=self.workers, mp_context=self._context)

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
        if self._slots is None:
            # At most one task per worker is submitted, so a task's time is its own work,
            # not time spent queued behind others: the timeout measures the page itself.
            self._slots = asyncio.Semaphore(self.workers)
        async with self._slots:
            return await self._run(fn, *args, **kwargs)

    async def _run(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        for attempt in range(1, self.ATTEMPTS + 1):
            generation = self._generation
            try:
                future = self._pool.submit(fn, *args, **kwargs)
            except (BrokenProcessPool, RuntimeError):
                self._restart(generation)
                continue
            warm = self._warm_generation == generation
            try:
                result = await asyncio.wait_for(
                    asyncio.wrap_future(future), self.timeout + (0 if warm else self.STARTUP_ALLOWANCE))
                self._warm_generation = generation
                return result
            except asyncio.TimeoutError:
                if generation != self._generation:
                    continue  # our worker was killed because another page hung: try again
                self._restart(generation)
                raise WorkerTimeout(f"no result after {self.timeout:g} s") from None
            except (BrokenProcessPool, asyncio.CancelledError, CancelledError):
                # The pool died under this page (a crash here, or a restart for another page).
                self._restart(generation)
                if attempt == self.ATTEMPTS:
                    raise WorkerCrashed(f"worker process died {attempt} times on this page") from None
        raise WorkerCrashed("worker pool could not be started")

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
