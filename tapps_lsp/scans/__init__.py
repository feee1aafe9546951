"""Workspace reviews ("Review all"): their state, the scan, its results, watched files.

- `state.py`: what the server keeps (`ls.scans`): tasks, per-file results, the last scan;
  it imports nothing of the server, which creates it.
- `runner.py`: the scan of workspace folders as a background task.
- `results.py`: scan results of files that are not open, to diagnostics, pushed or pulled.
- `watch.py`: files changed outside the editor, coalesced into one re-review.
"""
