"""The messages between the server (or a `check` run) and its worker processes.

Each message is one JSON object in UTF-8 (lone surrogates, which paths and
undecodable text may hold, pass as such), after its length as 4 bytes,
big-endian. Nothing that
crosses a pipe is ever executed or unpickled: a request names one of two fixed
operations, and results are the dicts the cache stores (`FileResult.to_dict`).

Requests (owner -> worker), each with an `id`:
- `{"op": "analyze", "text", "path", "settings"}`: `engine.analyze` of one text;
  answered by `{"id", "result"}`.
- `{"op": "chunk", "paths", "settings"}`: `worker.analyze_chunk`; answered by one
  `{"id", "item"}` per file as soon as it is analysed, then `{"id", "done": true}`.
A failure of the operation itself is `{"id", "error": repr}`. Log records travel
as `{"log": {...}}` (worker_logs.py) between the others.
"""

from __future__ import annotations

import dataclasses
import json
import os
import select
import struct
from typing import Any

from tapps_lsp.config import Settings

_HEADER = struct.Struct(">I")
# Texts over maxFileSize (at most 64 MiB) are not sent, and results keep at most 1,000
# findings: anything far larger is a broken stream, not a message.
MAX_MESSAGE = 512 << 20
_READ_SIZE = 1 << 20

Message = dict[str, Any]


class Timeout(Exception):
    """No message came within the time asked for."""


def encode(message: Message) -> bytes:
    """One framed message."""
    body = json.dumps(message, ensure_ascii=False, separators=(",", ":"))
    data = body.encode("utf-8", "surrogatepass")
    return _HEADER.pack(len(data)) + data


def write_all(fd: int, data: bytes) -> None:
    """Write every byte of `data` to the pipe `fd` (a pipe may take less at a time)."""
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


class Inbox:
    """The messages arriving on a pipe, one at a time."""

    def __init__(self, fd: int) -> None:
        """Read from `fd`, which this object closes at the end of the stream."""
        self.fd = fd
        self._buffer = bytearray()

    def next(self, timeout: float | None = None) -> Message:
        """The next message. EOFError at the end of the stream (or a broken one),
        Timeout when none is complete within `timeout` seconds of waiting."""
        while True:
            message = self._take()
            if message is not None:
                return message
            if timeout is not None:
                ready, _, _ = select.select([self.fd], [], [], max(timeout, 0.0))
                if not ready:
                    raise Timeout
            data = os.read(self.fd, _READ_SIZE)
            if not data:
                raise EOFError("the pipe was closed")
            self._buffer += data

    def _take(self) -> Message | None:
        if len(self._buffer) < _HEADER.size:
            return None
        (length,) = _HEADER.unpack_from(self._buffer)
        if length > MAX_MESSAGE:
            raise EOFError(f"a message of {length} bytes: the stream is broken")
        end = _HEADER.size + length
        if len(self._buffer) < end:
            return None
        body = self._buffer[_HEADER.size : end].decode("utf-8", "surrogatepass")
        del self._buffer[:end]
        message = json.loads(body)
        if not isinstance(message, dict):
            raise EOFError("a message that is not an object: the stream is broken")
        return message

    def close(self) -> None:
        """Close the pipe."""
        try:
            os.close(self.fd)
        except OSError:
            pass


def settings_to_dict(settings: Settings) -> dict[str, Any]:
    """Settings as JSON values; `settings_from_dict` gives back an equal Settings."""
    return dataclasses.asdict(settings)


def settings_from_dict(data: dict[str, Any]) -> Settings:
    """The Settings `settings_to_dict` wrote (every field is a JSON scalar, list or dict)."""
    return Settings(**data)


def analyze_request(text: str, path: str, settings: Settings) -> Message:
    """The request to review one text as the file `path`."""
    return {"op": "analyze", "text": text, "path": path, "settings": settings_to_dict(settings)}


def chunk_request(paths: list[str], settings: dict[str, Any]) -> Message:
    """The request to read and review the files `paths` (`settings` as `settings_to_dict`)."""
    return {"op": "chunk", "paths": paths, "settings": settings}
