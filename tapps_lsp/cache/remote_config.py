"""The team cache's configuration: from the user's own sources only (docs/team-cache.md).

`TAPPS_LSP_REMOTE_CACHE`, the editor's user settings (`remoteCache`) or
`check --remote-cache URL`; a workspace cannot set it (config.USER_ONLY).
The signing key comes from `TAPPS_LSP_CACHE_KEY`; without it the tier is off.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from tapps_lsp.settings_merge import flatten

ENV_URL = "TAPPS_LSP_REMOTE_CACHE"
ENV_KEY = "TAPPS_LSP_CACHE_KEY"
ENV_TTL = "TAPPS_LSP_REMOTE_CACHE_TTL_DAYS"
ENV_AUTH = "REDISCLI_AUTH"

DEFAULT_TTL_DAYS = 30.0
DEFAULT_BUDGET_MS = 20


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
