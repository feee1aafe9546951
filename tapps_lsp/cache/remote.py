"""The team cache: a remote `Tier` on Redis or Redis Cluster (docs/team-cache.md).

CI machines review a tree once and write the results; every editor and
machine of the team then reads them instead of reviewing the same content
again. What is shared is exactly what the disk tier stores: a `FileResult`
as JSON, keyed by content hash and engine fingerprint. Paths are not part
of a key or a value's identity, but findings' messages are in the values:
the cache is as private as the code.

- Configuration comes from the user only: `TAPPS_LSP_REMOTE_CACHE`, the
  editor's user settings (`remoteCache`), or `check --remote-cache URL`.
  A workspace cannot set it (config.USER_ONLY_KEYS).
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
import hashlib
import hmac
import logging
import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from tapps_lsp.cache.tiers import Found, Stored, decode

ENV_URL = "TAPPS_LSP_REMOTE_CACHE"
ENV_KEY = "TAPPS_LSP_CACHE_KEY"
ENV_TTL = "TAPPS_LSP_REMOTE_CACHE_TTL_DAYS"
ENV_AUTH = "REDISCLI_AUTH"

PREFIX = "tapps-lsp:v1:"
MAGIC = b"T1"
_MAC_BYTES = 32
# A value larger than this was not written by us (the disk tier's largest real
# result is a few hundred KiB; a 1 MiB file with a finding on every line is ~10 MiB).
MAX_ENTRY_BYTES = 16 * 2**20
DEFAULT_TTL_DAYS = 30.0
DEFAULT_BUDGET_MS = 20
# Seconds a scan's round trip may take before it counts as a fault.
TIMEOUT = 2.0
# Write batches waiting for the writer thread; more are dropped (and counted).
_MAX_PENDING_WRITES = 64

_log = logging.getLogger(__name__)

Warn = Callable[[str], None]


# ---- configuration -----------------------------------------------------------------------


@dataclass(frozen=True)
class RemoteConfig:
    """Where the team cache is and how this process uses it."""

    url: str
    write: bool = False
    ttl_days: float = DEFAULT_TTL_DAYS
    budget_ms: int = DEFAULT_BUDGET_MS
    origin: str = ENV_URL

    @property
    def cluster(self) -> bool:
        """The URL asks for a Redis Cluster (`?cluster=1`)."""
        query = dict(parse_qsl(urlsplit(self.url).query))
        return query.get("cluster", "").lower() in ("1", "true", "yes")

    def redis_url(self) -> str:
        """The URL for redis-py: without our own `cluster` parameter."""
        parts = urlsplit(self.url)
        query = [(k, v) for k, v in parse_qsl(parts.query) if k != "cluster"]
        return urlunsplit(parts._replace(query=urlencode(query)))

    def shown(self) -> str:
        """The URL without its password, for messages and stats."""
        parts = urlsplit(self.url)
        host = parts.hostname or ""
        netloc = f"{host}:{parts.port}" if parts.port else host
        if parts.username:
            netloc = f"{parts.username}@{netloc}"
        return urlunsplit(parts._replace(netloc=netloc))


def _user_values(user: Mapping[str, Any] | None) -> dict[str, Any]:
    from tapps_lsp.settings_merge import flatten

    return {k: v for k, v in flatten(user or {}).items() if k.startswith("remoteCache")}


def _number(value: Any, lo: float, hi: float) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and lo <= value <= hi:
        return float(value)
    if isinstance(value, str):
        try:
            return _number(float(value), lo, hi)
        except ValueError:
            return None
    return None


def config_from(
    environ: Mapping[str, str],
    user: Mapping[str, Any] | None = None,
    *,
    url: str | None = None,
    write: bool | None = None,
    ttl_days: float | None = None,
) -> tuple[RemoteConfig | None, list[str]]:
    """The team cache's configuration from the user's sources; (None, problems) when off.

    Later sources win: the environment, the editor's user settings
    (`remoteCache.url`, `.write`, `.ttlDays`, `.budgetMs`), the command line.
    """
    problems: list[str] = []
    values = _user_values(user)
    chosen, origin = environ.get(ENV_URL) or None, ENV_URL
    if isinstance(values.get("remoteCacheUrl"), str) and values["remoteCacheUrl"]:
        chosen, origin = values["remoteCacheUrl"], "remoteCache.url"
    if url:
        chosen, origin = url, "--remote-cache"
    if not chosen:
        return None, problems
    if not _valid_url(chosen):
        problems.append(
            f"{origin}: expected a redis:// or rediss:// URL with a host (and a numeric port); "
            "the team cache is off"
        )
        return None, problems
    days = _number(environ.get(ENV_TTL, DEFAULT_TTL_DAYS), 0.001, 3650)
    days = _number(values.get("remoteCacheTtlDays", days), 0.001, 3650) if days else None
    if ttl_days is not None:
        days = _number(ttl_days, 0.001, 3650)
    if days is None:
        problems.append(f"remote cache TTL: expected 0.001 to 3650 days; using {DEFAULT_TTL_DAYS}")
        days = DEFAULT_TTL_DAYS
    budget = _number(values.get("remoteCacheBudgetMs", DEFAULT_BUDGET_MS), 0, 10_000)
    writing = values.get("remoteCacheWrite") is True if write is None else write
    config = RemoteConfig(
        url=chosen,
        write=writing,
        ttl_days=days,
        budget_ms=int(budget if budget is not None else DEFAULT_BUDGET_MS),
        origin=origin,
    )
    return config, problems


def _valid_url(url: str) -> bool:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        return False
    return parts.scheme in ("redis", "rediss") and bool(parts.hostname)


def team_key(environ: Mapping[str, str]) -> bytes | None:
    """The signing key from `TAPPS_LSP_CACHE_KEY`, or None."""
    key = environ.get(ENV_KEY, "")
    return key.encode() if key else None


# ---- signing -------------------------------------------------------------------------------


def sign(secret: bytes, key: str, blob: bytes) -> bytes:
    """The stored form of a value: MAGIC, HMAC-SHA256(key, value), then the JSON."""
    mac = hmac.new(secret, f"{PREFIX}{key}\n".encode() + blob, hashlib.sha256).digest()
    return MAGIC + mac + blob


def verify(secret: bytes, key: str, stored: bytes) -> tuple[dict[str, Any] | None, bytes, str]:
    """(value, JSON, "") for a good entry, else (None, b"", why it was rejected)."""
    if len(stored) > MAX_ENTRY_BYTES:
        return None, b"", "oversized"
    if len(stored) < len(MAGIC) + _MAC_BYTES or not stored.startswith(MAGIC):
        return None, b"", "unsigned"
    mac, blob = stored[len(MAGIC) : len(MAGIC) + _MAC_BYTES], stored[len(MAGIC) + _MAC_BYTES :]
    expected = hmac.new(secret, f"{PREFIX}{key}\n".encode() + blob, hashlib.sha256).digest()
    if not hmac.compare_digest(mac, expected):
        return None, b"", "badly signed"
    value = decode(blob)
    if value is None:
        return None, b"", "malformed"
    return value, blob, ""


# ---- the circuit breaker ---------------------------------------------------------------------


@dataclass
class Breaker:
    """Closed (calls go through), open (none until `retry_at`), half-open (one trial call)."""

    base: float = 1.0
    cap: float = 60.0
    state: str = "closed"
    failures: int = 0
    retry_at: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def allow(self) -> bool:
        """Whether a call may go out now (an open breaker past its backoff lets one through)."""
        with self._lock:
            if self.state == "closed":
                return True
            if self.state == "open" and time.monotonic() >= self.retry_at:
                self.state = "half-open"
                return True
            return False

    def ready(self) -> bool:
        """`allow` without taking the trial call."""
        return self.state == "closed" or (
            self.state == "open" and time.monotonic() >= self.retry_at
        )

    def success(self) -> bool:
        """Record a call that worked; True when it closed an open breaker."""
        with self._lock:
            reopened = self.state != "closed"
            self.state, self.failures = "closed", 0
            return reopened

    def failure(self) -> None:
        """Record a fault: open, for twice as long as last time (up to `cap`)."""
        with self._lock:
            self.failures += 1
            backoff = min(self.cap, self.base * 2 ** (self.failures - 1))
            self.retry_at = time.monotonic() + backoff
            self.state = "open"

    def describe(self) -> str:
        """The state, with the seconds until the next trial when open."""
        if self.state == "open":
            return f"open (retry in {max(0.0, self.retry_at - time.monotonic()):.1f} s)"
        return self.state


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


__all__ = [
    "Breaker",
    "RedisTier",
    "RemoteConfig",
    "build",
    "open_cache",
    "config_from",
    "sign",
    "team_key",
    "verify",
]


def open_cache(
    *,
    no_cache: bool = False,
    user: Mapping[str, Any] | None = None,
    url: str | None = None,
    write: bool | None = None,
    ttl_days: float | None = None,
    warn: Warn | None = None,
    environ: Mapping[str, str] | None = None,
) -> Any:
    """A `ResultCache` with the team cache behind it when the user configured one.

    `no_cache` keeps the local cache in memory; the team cache is still read
    (and written) when configured, as `check --no-cache --remote-cache` asks.
    """
    from tapps_lsp.cache.store import ResultCache

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
