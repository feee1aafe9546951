"""LSP features: one module per concern, each wired to the server by `setup.py`."""
