import os
import sys

# `python -m` puts the current directory first on sys.path. An editor that starts
# us from the workspace folder (Neovim does by default) would let that folder's
# files (an `ast.py`, a `yaml/`) replace the modules we import, here and in the
# worker processes, which inherit our sys.path.
if sys.path and sys.path[0] and os.path.realpath(sys.path[0]) == os.path.realpath(os.getcwd()):
    del sys.path[0]

from tapps_lsp.cli import main  # noqa: E402

raise SystemExit(main())
