"""The language server's reviewer and result cache: built late, warmed up in a thread.

`initialize` must not wait for the cache or the worker processes, so both are
built on first use, or, once the settings are in, by a warm-up thread: importing
the engine, opening the cache and starting the interactive worker take 0.3-1 s, which on
the event loop held up every request of the session's first second.

The warm-up has two steps: building the reviewer (its modules and the cache),
then starting its worker. A cache lookup needs only the first (`lookup_ready`),
so a file opened at start-up whose result is cached does not wait for the worker.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import threading
from collections.abc import Callable, Coroutine, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tapps_lsp.cache import ResultCache
    from tapps_lsp.reviewer import Reviewer

log = logging.getLogger(__name__)

# Scan workers run this much below the server's CPU priority (nice): a background
# "Review all" leaves the cores to the event loop, saves and the user's programs
# first. With the machine otherwise idle it still gets every core.
SCAN_NICENESS = 10


class ReviewerHost:
    """Owns the session's Reviewer and ResultCache from their first use to `close()`.

    `user()` gives the user's own options (environment and initializationOptions:
    the only source of the team cache), `jobs()` the worker count, both read when
    the thing is built; `warn` shows a problem (the cache reports a broken directory);
    `spawn` runs the warm-up as a background task of the server.
    """

    def __init__(
        self,
        user: Callable[[], Mapping[str, Any]],
        jobs: Callable[[], int],
        warn: Callable[[str], None],
        spawn: Callable[[Coroutine[Any, Any, None]], asyncio.Task[Any]],
    ) -> None:
        self._user, self._jobs, self._warn, self._spawn = user, jobs, warn, spawn
        self._cache: ResultCache | None = None
        self._reviewer: Reviewer | None = None
        # The reviewer and cache are built by the warm-up thread or, if needed first, on the
        # loop; the cache has its own lock so that cacheStats need not wait for the worker.
        self._build_lock = threading.RLock()
        self._cache_lock = threading.Lock()
        self._warm_up: asyncio.Future[None] | None = None
        # Set once the warm-up has built the reviewer (or failed to), before its worker starts.
        self._built = asyncio.Event()
        self._closed = False

    @property
    def cache(self) -> ResultCache:
        """The result cache, opened on first use."""
        if self._cache is None:
            with self._cache_lock:
                if self._cache is None:
                    from tapps_lsp.cache.remote import open_cache

                    self._cache = open_cache(user=dict(self._user()), warn=self._warn)
        return self._cache

    @property
    def reviewer(self) -> Reviewer:
        """Built on first use (this may block: async paths await `ready()` instead)."""
        if self._reviewer is None:
            with self._build_lock:
                if self._reviewer is None:
                    from tapps_lsp.reviewer import Reviewer

                    self._reviewer = Reviewer(
                        self.cache,
                        jobs=self._jobs(),
                        scan_niceness=SCAN_NICENESS,
                    )
        return self._reviewer

    @property
    def built(self) -> Reviewer | None:
        """The reviewer if it is built already (the fast path of a cached review), else None."""
        return self._reviewer

    def start_warm_up(self) -> None:
        """Build the reviewer and start its worker process in a thread, once.

        A review asked for meanwhile waits for the warm-up in `ready()`.
        """
        if self._warm_up is None:
            self._warm_up = self._spawn(self._warm())

    @property
    def warm(self) -> bool:
        """Whether the warm-up has ended (the worker started, or failed to)."""
        return self._warm_up is not None and self._warm_up.done()

    async def _warm(self) -> None:
        try:
            await asyncio.to_thread(self._build_in_thread)
        finally:
            self._built.set()
        await asyncio.to_thread(self._warm_in_thread)
        # What start-up imported lives as long as the process: out of the collector's
        # sight, a full collection no longer walks it in the middle of a save.
        gc.freeze()

    def _build_in_thread(self) -> None:
        with self._build_lock:
            if not self._closed:
                self.reviewer  # noqa: B018 - builds it: the modules, the cache

    def _warm_in_thread(self) -> None:
        with self._build_lock:
            if not self._closed:
                self.reviewer.warm_up()

    async def lookup_ready(self) -> Reviewer | None:
        """The reviewer once built, for cache lookups: its worker may still be starting.

        None when building it failed or the host is closed (`ready()` says why).
        """
        self.start_warm_up()
        await self._built.wait()
        return None if self._closed else self._reviewer

    async def warmed(self) -> None:
        """Wait until the warm-up (started now if it was not) has ended, however it ended."""
        self.start_warm_up()
        assert self._warm_up is not None
        if not self._warm_up.done():
            await asyncio.wait([self._warm_up])

    async def ready(self) -> Reviewer:
        """The reviewer, once the warm-up thread is done with it.

        A review may come before the warm-up was started (the settings of its
        folder are in, other features are still starting): it starts it, since
        building the reviewer on the event loop would hold up every request. Its
        worker pool is created lazily: never from two threads at once.
        """
        await self.warmed()
        return self.reviewer

    def close(self) -> None:
        """Stop the workers and close the cache; a warm-up still running starts nothing."""
        with self._build_lock:
            self._closed = True
            if self._reviewer is not None:
                self._reviewer.shutdown()
                self._reviewer = None
        with self._cache_lock:
            if self._cache is not None:
                self._cache.close()
                self._cache = None
