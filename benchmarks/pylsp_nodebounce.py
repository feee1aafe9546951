"""python-lsp-server without its 500 ms lint debounce, to time its lint itself.

pylsp hard-codes the debounce in a decorator (no setting turns it off), so
this launcher puts the undecorated method back before starting the server.
"""

from pylsp.__main__ import main
from pylsp.python_lsp import PythonLSPServer

PythonLSPServer.lint = PythonLSPServer.lint.__wrapped__  # type: ignore[attr-defined, method-assign, unused-ignore]

if __name__ == "__main__":
    main()
