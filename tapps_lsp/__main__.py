"""`python -m tapps_lsp`: the command line (tapps_lsp.cli).

Start it as `python -I -m tapps_lsp` (or the `tapps-lsp` script), from a folder that is
not the workspace: without `-I`/`-P`, `python -m` puts the current directory first on
sys.path, and a `tapps_lsp/` folder there would be run instead of this package before any
of our code could object. What follows only narrows what is left for a start without them.
"""

import os
import sys

# Every Python we start leaves its current directory off sys.path (the worker processes also
# start as `python -I` outside the workspace: review/worker_process.py).
os.environ["PYTHONSAFEPATH"] = "1"

# Without -I/-P, sys.path[0] is the current directory. An editor that starts us from the
# workspace folder would let that folder's files (an `ast.py`, a `yaml/`) replace the modules
# we import from here on.
if sys.path and sys.path[0] and os.path.realpath(sys.path[0]) == os.path.realpath(os.getcwd()):
    del sys.path[0]

from tapps_lsp.cli import main  # noqa: E402

raise SystemExit(main())
