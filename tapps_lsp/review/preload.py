"""What the fork server imports before it forks a worker: the engine, warmed up, then frozen.

Workers are forked from the fork server and share its pages until they write
to them. A collection in a worker writes to every object it visits, so each
worker would soon hold its own copy of all the modules the fork server
imported. Frozen, those objects are out of the collector's sight for good,
and their pages stay shared.
"""

from __future__ import annotations

import gc

from tapps_lsp.review import engine, worker  # noqa: F401 - shared with the workers

engine.warm_up()
gc.freeze()
