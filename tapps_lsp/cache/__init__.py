"""Content-hash result cache: a memory tier in front of a hardened diskcache."""

from tapps_lsp.cache.keys import content_hash, fingerprint, make_key, name_facts
from tapps_lsp.cache.store import ResultCache, StatIndex, default_directory

__all__ = [
    "ResultCache",
    "StatIndex",
    "content_hash",
    "default_directory",
    "fingerprint",
    "make_key",
    "name_facts",
]
