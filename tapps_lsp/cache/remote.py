"""The team cache: a remote `Tier` on Redis or Redis Cluster (docs/team-cache.md).

Its configuration is in `remote_config`, signing in `signing`, the circuit
breaker in `breaker`.

CI machines review a tree once and write the results; every editor and
machine of the team then reads them instead of reviewing the same content
again. What is shared is exactly what the disk tier stores: a `FileResult`
as JSON, keyed by content hash and engine fingerprint. Paths are not part
of a key or a value's identity, but findings' messages are in the values:
the cache is as private as the code.

- Configuration comes from the user only: `TAPPS_LSP_REMOTE_CACHE`, the
  editor's user settings (`remoteCache`), or `check --remote-cache URL`.
  A workspace cannot set it (config.USER_ONLY).
- Every value is signed: HMAC-SHA256 over the key and the JSON with the team
  key `TAPPS_LSP_CACHE_KEY`. An unsigned, badly signed, oversized or
  malformed value is a miss counted as `rejected`, never stored locally.
  Without a key the tier is off.
- Read-only unless `write` is set (CI, a trusted build machine). Entries
  expire after `ttl_days` (30 by default).
- Faults are a miss: one warning, then a circuit breaker that lets one call
  through after a backoff (1 s doubling to 60 s), so a dead Redis costs
  nothing and a restarted one is used again. Writes go through one
  background thread and never hold up the caller.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any
from urllib.parse import urlsplit

from tapps_lsp.cache.breaker import Breaker
from tapps_lsp.cache.remote_config import ENV_AUTH, ENV_KEY, RemoteConfig, config_from, team_key
from tapps_lsp.cache.signing import PREFIX, sign, verify
from tapps_lsp.cache.store import ResultCache
from tapps_lsp.cache.tiers import Found, Stored

# Seconds a scan's round trip may take before it counts as a fault.
TIMEOUT = 2.0
# Write batches waiting for the writer thread; more are dropped (and counted).
_MAX_PENDING_WRITES = 64

_log = logging.getLogger(__name__)

Warn = Callable[[str], None]


# ---- the tier ----------------------------------------------------------------------------------


class RedisTier:
    """The team cache as a `Tier`: MGET (or a cluster's per-slot pipeline) and pipelined SETs."""

    name = "remote"
    remote = True

    def __init__(
        self,
        config: RemoteConfig,
        secret: bytes,
        *,
        warn: Warn | None = None,
        password: str | None = None,
        timeout: float = TIMEOUT,
        breaker: Breaker | None = None,
    ) -> None:
        self.config = config
        self._secret = secret
        self._warn = warn or _log.warning
        self._password = password
        self._timeout = timeout
        self.breaker = breaker or Breaker()
        self._client: Any = None
        self._client_lock = threading.Lock()
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="tapps-remote-write")
        self._pending: set[Future[None]] = set()
        self._warned: set[str] = set()
        self.counts = dict.fromkeys(
            ("hits", "misses", "rejected", "errors", "writes", "writeErrors", "skipped", "late"), 0
        )
        self._closed = False

    # -- connection --

    def _connect(self) -> Any:
        with self._client_lock:
            if self._client is None:
                self._client = self._new_client()
            return self._client

    def _new_client(self) -> Any:
        from redis import Redis
        from redis.backoff import NoBackoff
        from redis.cluster import RedisCluster
        from redis.retry import Retry

        options: dict[str, Any] = {
            "socket_timeout": self._timeout,
            "socket_connect_timeout": self._timeout,
            # No retries of our own inside redis-py: the breaker decides when to try again.
            "retry": Retry(NoBackoff(), 0),
        }
        if self._password and not urlsplit(self.config.url).password:
            options["password"] = self._password
        if self.config.cluster:
            return RedisCluster.from_url(self.config.redis_url(), **options)
        return Redis.from_url(self.config.redis_url(), retry_on_timeout=False, **options)

    def _drop_client(self) -> None:
        with self._client_lock:
            client, self._client = self._client, None
        if client is not None:
            # A broken connection may fail to close; it is dropped anyway.
            with contextlib.suppress(Exception):
                client.close()

    def _say(self, kind: str, message: str, level: int = logging.WARNING) -> None:
        if kind in self._warned:
            _log.debug("%s", message)
            return
        self._warned.add(kind)
        if level >= logging.WARNING:
            self._warn(message)
        else:
            _log.log(level, "%s", message)

    def _fault(self, error: BaseException) -> None:
        self.counts["errors"] += 1
        self.breaker.failure()
        self._drop_client()
        self._warned.discard("recovered")
        self._say(
            "fault",
            f"the team cache {self.config.shown()} is unavailable ({_brief(error)}); "
            "carrying on with the local cache and retrying with backoff",
        )

    def _ok(self) -> None:
        if self.breaker.success():
            self._warned.discard("fault")
            self._say("recovered", f"the team cache {self.config.shown()} answers again", 20)

    def available(self) -> bool:
        """Whether a lookup would go out now (False while the breaker waits)."""
        return not self._closed and self.breaker.ready()

    @property
    def budget(self) -> float:
        """Seconds a save waits for this tier's answer."""
        return self.config.budget_ms / 1000

    def late(self) -> None:
        """Count a save that stopped waiting for the remote answer (stored when it comes)."""
        self.counts["late"] += 1

    # -- Tier --

    def get_many(self, keys: Sequence[str]) -> dict[str, Found]:
        """One round trip for all `keys`; verified entries only."""
        if not keys:
            return {}
        if self._closed or not self.breaker.allow():
            self.counts["skipped"] += len(keys)
            return {}
        names = [PREFIX + key for key in keys]
        try:
            client = self._connect()
            if self.config.cluster:
                values = client.mget_nonatomic(names)
            else:
                values = client.mget(names)
        except Exception as error:  # the network, the server, redis-py: all a miss
            self._fault(error)
            return {}
        self._ok()
        return self._verified(keys, values)

    def _verified(self, keys: Sequence[str], values: Sequence[Any]) -> dict[str, Found]:
        found: dict[str, Found] = {}
        for key, stored in zip(keys, values, strict=False):
            if stored is None:
                continue
            value, blob, why = verify(self._secret, key, bytes(stored))
            if value is None:
                self.counts["rejected"] += 1
                self._say(
                    "rejected",
                    f"ignored a team cache entry that is {why} ({key}); a different "
                    f"{ENV_KEY} than the writers', or a tampered cache",
                )
                continue
            found[key] = Found(value, blob)
        self.counts["hits"] += len(found)
        self.counts["misses"] += len(keys) - len(found)
        return found

    def put_many(self, items: Sequence[Stored]) -> None:
        """Queue a pipelined write (only when writing is on); never waits for it."""
        if not self.config.write or not items or self._closed:
            return
        if len(self._pending) >= _MAX_PENDING_WRITES or not self.breaker.ready():
            self.counts["skipped"] += len(items)
            return
        payload = [(PREFIX + item.key, sign(self._secret, item.key, item.blob)) for item in items]
        future = self._writer.submit(self._write, payload)
        self._pending.add(future)
        future.add_done_callback(self._pending.discard)

    def _write(self, payload: list[tuple[str, bytes]]) -> None:
        if not self.breaker.allow():
            self.counts["skipped"] += len(payload)
            return
        ttl = max(1, int(self.config.ttl_days * 86400))
        try:
            pipe = self._connect().pipeline(transaction=False)
            for name, value in payload:
                pipe.set(name, value, ex=ttl)
            results = pipe.execute(raise_on_error=False)
        except Exception as error:  # the network, the server, redis-py: the write is lost
            self._fault(error)
            return
        self._ok()
        failed = [r for r in results if isinstance(r, Exception)]
        self.counts["writes"] += len(payload) - len(failed)
        if failed:
            self.counts["writeErrors"] += len(failed)
            self._say(
                "write",
                f"the team cache {self.config.shown()} refused {len(failed)} writes "
                f"({_brief(failed[0])}); check its maxmemory and eviction policy",
            )

    def flush(self, timeout: float = 30.0) -> bool:
        """Wait (up to `timeout` s) for the queued writes; True when none is left."""
        deadline = time.monotonic() + timeout
        for future in list(self._pending):
            try:
                future.result(timeout=max(0.0, deadline - time.monotonic()))
            except Exception:  # a timeout: the rest is given up when the process ends
                return False
        return True

    def probe(self) -> dict[str, Any]:
        """One round trip now (`cache stats`): reachable, and how many keys the server holds."""
        try:
            keys = self._connect().dbsize()
        except Exception as error:  # the network, the server, redis-py: reported, not raised
            self._fault(error)
            return {"reachable": False, "problem": _brief(error)}
        self._ok()
        return {"reachable": True, "keys": int(keys)}

    def stats(self) -> dict[str, Any]:
        """Where, how, the counters and the breaker's state."""
        return {
            "enabled": True,
            "url": self.config.shown(),
            "cluster": self.config.cluster,
            "write": self.config.write,
            "ttlDays": self.config.ttl_days,
            "budgetMs": self.config.budget_ms,
            **self.counts,
            "breaker": self.breaker.describe(),
        }

    def clear(self) -> int:
        """The team's cache is not this process's to clear: nothing is removed."""
        return 0

    def close(self) -> None:
        """Let the queued writes finish (bounded by the socket timeout), then disconnect."""
        if self._closed:
            return
        self.flush()
        self._closed = True
        self._writer.shutdown(wait=False, cancel_futures=True)
        self._drop_client()


def _brief(error: BaseException) -> str:
    text = str(error).strip().splitlines()[0] if str(error).strip() else ""
    return f"{type(error).__name__}: {text[:200]}" if text else type(error).__name__


def build(
    config: RemoteConfig | None,
    environ: Mapping[str, str] | None = None,
    *,
    warn: Warn | None = None,
) -> RedisTier | None:
    """The tier for `config`, or None (with one message when a URL is set but no key)."""
    env = os.environ if environ is None else environ
    if config is None:
        return None
    secret = team_key(env)
    if secret is None:
        (warn or _log.warning)(
            f"the team cache {config.shown()} is off: set {ENV_KEY} to the team's signing key"
        )
        return None
    return RedisTier(config, secret, warn=warn, password=env.get(ENV_AUTH) or None)


def open_cache(
    *,
    no_cache: bool = False,
    user: Mapping[str, Any] | None = None,
    url: str | None = None,
    write: bool | None = None,
    ttl_days: float | None = None,
    warn: Warn | None = None,
    environ: Mapping[str, str] | None = None,
) -> ResultCache:
    """A `ResultCache` with the team cache behind it when the user configured one.

    `no_cache` keeps the local cache in memory; the team cache is still read
    (and written) when configured, as `check --no-cache --remote-cache` asks.
    """
    env = os.environ if environ is None else environ
    say = warn or _log.warning
    config, problems = config_from(env, user, url=url, write=write, ttl_days=ttl_days)
    for problem in problems:
        say(problem)
    tier = build(config, env, warn=say)
    extra = [tier] if tier is not None else []
    cache = (
        ResultCache.memory_only(warn=say, extra=extra)
        if no_cache
        else ResultCache(warn=say, extra=extra)
    )
    if config is not None and tier is None:
        cache.remote_note = f"{ENV_KEY} is not set"
    elif config is None and problems:
        cache.remote_note = problems[0]
    return cache
