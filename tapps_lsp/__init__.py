"""tapps-lsp: a code-review language server for Python."""

__version__ = "0.1.0"
