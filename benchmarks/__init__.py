"""tapps-lsp against its peers: `python -m benchmarks.run`, see docs/performance.md."""
