"""CPU-heavy work (extraction) in a pool of worker processes, awaited from the reactor.

Each worker has one task running and one waiting behind it, so it never idles while the
reactor hands it its next page; more tasks wait outside (back-pressure). A task's timeout
counts from its turn on a worker, not from when it was queued. A worker that crashes or hangs
past the timeout is replaced (the whole pool is restarted, since a process pool cannot kill
one worker); the page it held gets a reason, and the other pages in flight are submitted again.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import multiprocessing.forkserver
import os
import select
import threading
import time
from collections import deque
from concurrent.futures import CancelledError, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Callable

import structlog

from storage.files import process_alive

log = structlog.get_logger()


class WorkerTimeout(Exception):
    pass


class WorkerCrashed(Exception):
    pass


EXTRACTION_PRELOAD = ("crawler.pipeline.worker_preload",)


def start_fork_server(preload: tuple[str, ...] = EXTRACTION_PRELOAD) -> None:
    """Start the fork server the workers are forked from, if it is not running: it imports and
    warms up `preload` on another core while this process goes on (imports, opening the crawl)."""
    multiprocessing.set_forkserver_preload(list(preload))
    multiprocessing.forkserver.ensure_running()


def exit_with_parent(parent: int) -> None:
    """Worker initializer: end this worker when the crawler process that made the pool ends,
    however it ends. A killed crawler would otherwise leave its workers (each holds its own
    task queue open, so it waits forever) and their fork server (kept alive by its children)."""

    def watch() -> None:
        try:
            with open(os.pidfd_open(parent), "rb", buffering=0) as pidfd:
                select.select([pidfd], [], [])  # readable once the process has ended
        except (AttributeError, OSError):  # no pidfd (not Linux >= 5.3): ask every second
            while process_alive(parent):
                time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


class WorkerPool:
    ATTEMPTS = 3
    # A fresh pool's fork server imports the extractor and loads models (1-5 s on a busy
    # 2-core machine) before the first page: that time is not the page's.
    STARTUP_ALLOWANCE = 60.0

    def __init__(self, workers: int, timeout: float, preload: tuple[str, ...] = EXTRACTION_PRELOAD):
        """`preload`: modules the fork server imports once, before it forks each worker."""
        self.workers = workers
        self._context = multiprocessing.get_context("forkserver")
        start_fork_server(preload)  # (already running when the command started it early)
        self.timeout = timeout
        self._generation = 0
        self._slots: asyncio.Semaphore | None = None
        self._busy = 0  # tasks whose turn on a worker has come
        self._turns: deque[asyncio.Future[None]] = deque()  # tasks waiting for their turn, in order
        self._warm_generation = 0
        self._pool = self._new_pool()

    def _new_pool(self) -> ProcessPoolExecutor:
        self._generation += 1
        return ProcessPoolExecutor(
            max_workers=self.workers, mp_context=self._context,
            initializer=exit_with_parent, initargs=(os.getpid(),),
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
        if self._slots is None:
            self._slots = asyncio.Semaphore(2 * self.workers)
        async with self._slots:
            return await self._run(fn, *args, **kwargs)

    def _take_turn(self) -> asyncio.Future[None]:
        """Resolves when a worker is free for the task just submitted. The pool hands tasks to
        workers in submission order, and so do these turns."""
        turn = asyncio.get_running_loop().create_future()
        if self._busy < self.workers:
            self._busy += 1
            turn.set_result(None)
        else:
            self._turns.append(turn)
        return turn

    def _end_turn(self) -> None:
        while self._turns:
            turn = self._turns.popleft()
            if not turn.done():  # (a cancelled waiter is skipped)
                turn.set_result(None)  # the worker passes to the next task
                return
        self._busy -= 1

    async def _run(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        for attempt in range(1, self.ATTEMPTS + 1):
            generation = self._generation
            try:
                future = self._pool.submit(fn, *args, **kwargs)
            except (BrokenProcessPool, RuntimeError):
                self._restart(generation)
                continue
            outcome = asyncio.wrap_future(future)
            turn = self._take_turn()
            try:
                await turn
                warm = self._warm_generation == generation
                result = await asyncio.wait_for(outcome, self.timeout + (0 if warm else self.STARTUP_ALLOWANCE))
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
            finally:
                if turn.done() and not turn.cancelled():
                    self._end_turn()
        raise WorkerCrashed("worker pool could not be started")

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
