"""Hashing in worker processes, surviving a decoder that crashes its process.

One mechanism for every caller that hashes many files (``vigil hash``, triage): items go to
the workers in chunks (one task per chunk keeps inter-process overhead low for many small
files) and come back in submission order. A worker that dies (a native decoder fault on a
hostile file) breaks the whole pool. The chunks it took down then run again one item at a
time in one fresh process, so a crash names its item. An item that kills that process is
tried once more in a process of its own (the process had run other items first, and one of
them may have left it damaged without dying), and then gets the caller's ``fallback`` here,
without decoding anything: its digests still match known material.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Generic, TypeVar

from vigil.processes import in_own_process, process_pool

Item = TypeVar("Item")
Result = TypeVar("Result")


def run_each(function: Callable[[Item], Result], items: list[Item]) -> list[Result]:
    """One chunk, in a worker."""
    return [function(item) for item in items]


@dataclass(frozen=True)
class Pending(Generic[Item, Result]):
    """A chunk handed to a pool: which pool (generation) and its future, or its results."""

    items: list[Item]
    generation: int
    future: Future[list[Result]] | None = None
    done: list[Result] | None = None


class HashPool(Generic[Item, Result]):
    """``workers`` processes running ``function`` over chunks, results in submission order
    (``submit``, then ``result`` in the same order); ``fallback`` for an item that crashes
    every process it runs in.

    With one worker, ``function`` runs in this process: no isolation from a crashing decoder.
    """

    def __init__(
        self,
        workers: int,
        function: Callable[[Item], Result],
        fallback: Callable[[Item], Result],
    ):
        self.workers = workers
        self.function = function
        self.fallback = fallback
        self.generation = 0
        self.pool = process_pool(workers) if workers > 1 else None

    def __enter__(self) -> HashPool[Item, Result]:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def submit(self, items: list[Item]) -> Pending[Item, Result]:
        if self.pool is None:
            return Pending(items, self.generation, done=run_each(self.function, items))
        try:
            future = self.pool.submit(run_each, self.function, items)
        except BrokenProcessPool:
            # A crash broke the pool after earlier chunks were handed out and before their
            # results are read (which is where the pool is otherwise replaced): the chunks
            # already handed out run again when their turn comes, this one goes to a new pool.
            self._renew()
            assert self.pool is not None
            future = self.pool.submit(run_each, self.function, items)
        return Pending(items, self.generation, future=future)

    def result(self, pending: Pending[Item, Result]) -> list[Result]:
        if pending.future is None:
            return pending.done or []
        try:
            return pending.future.result()
        except BrokenProcessPool:
            if pending.generation == self.generation:  # the current pool broke: replace it
                self._renew()
            return self._isolated(pending.items)

    def _renew(self) -> None:
        if self.pool is not None:
            # Not cancelled: the broken pool fails every chunk it still holds, and each one
            # runs again when read (a cancelled one would raise instead).
            self.pool.shutdown(wait=False)
        self.pool = process_pool(self.workers)
        self.generation += 1

    def _isolated(self, items: list[Item]) -> list[Result]:
        """The items of a chunk a crash took down, one at a time in one fresh process: a
        chunk costs one new process, not one per item."""
        results: list[Result] = []
        solo = None
        try:
            for item in items:
                solo = solo or process_pool(1)
                try:
                    results.append(solo.submit(self.function, item).result())
                except BrokenProcessPool:
                    solo.shutdown(wait=False)
                    solo = None
                    results.append(self._alone(item))
        finally:
            if solo is not None:
                solo.shutdown(wait=True)
        return results

    def _alone(self, item: Item) -> Result:
        try:
            return in_own_process(self.function, item)
        except BrokenProcessPool:
            return self.fallback(item)

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
            self.pool = None
