"""The review engine: pure Python, no LSP imports. The CLI and the server share it."""
