"""The byte streams under the JSON-RPC layer: framing, stdio and a one-client TCP socket.

pygls's own `start_io` swallows the `SystemExit` that carries `exit`'s status
and keeps reading a stream whose framing is lost, so we run our own read loop:

- a header block that is not `Name: value` lines with a Content-Length means
  the framing is lost: the loop returns EXIT_DESYNC (2) so the editor restarts us;
- the input ending before `shutdown` is an abnormal end (1).

The loop hands each body to the protocol's `parse_and_handle` and knows
nothing else of it; the server is a `Session` (bind_loop, connected, end_session).
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import os
import stat
import sys
import threading
from typing import Any, BinaryIO, Protocol

log = logging.getLogger(__name__)

# Exit status when the byte stream can no longer be framed into messages.
EXIT_DESYNC = 2
# Largest body we accept; a bigger Content-Length is a broken header, not a message.
MAX_BODY = 256 * 1024 * 1024


class FramingError(Exception):
    """The input stream is no longer made of LSP messages."""


class Reader(Protocol):
    """What the read loop needs of a stream (asyncio's StreamReader has it)."""

    async def readline(self) -> bytes:
        """One line, with its newline; b"" at end of input."""

    async def readexactly(self, n: int) -> bytes:
        """`n` bytes (fewer only at end of input)."""


class Handler(Protocol):
    """The JSON-RPC layer as the read loop sees it."""

    @property
    def shut_down(self) -> bool:
        """Whether `shutdown` was answered (the input may end without an error)."""

    def parse_and_handle(self, body: bytes) -> None:
        """Handle one message body."""

    def set_writer(self, writer: Any) -> None:
        """Send the replies to `writer` from now on."""


class Session(Protocol):
    """The server as the transport sees it: told when the loop runs, a client comes, it ends."""

    def bind_loop(self) -> None:
        """Called on the event loop before anything is read."""

    def connected(self) -> None:
        """A client is there."""

    def end_session(self) -> None:
        """The session is over (the loop is still running)."""


async def read_message(reader: Reader) -> bytes | None:
    """One framed body, or None at end of input; raises FramingError when lost."""
    length: int | None = None
    while True:
        line = await reader.readline()
        if not line:
            return None
        if line in (b"\r\n", b"\n"):
            break
        name, sep, value = line.partition(b":")
        if not sep or not line.endswith(b"\n") or not name.strip() or b" " in name.strip():
            raise FramingError(f"not a header line: {line[:80]!r}")
        if name.strip().lower() == b"content-length":
            text = value.strip()
            if not text.isdigit() or int(text) > MAX_BODY:
                raise FramingError(f"bad Content-Length: {text[:40]!r}")
            length = int(text)
    if length is None:
        raise FramingError("a header block without Content-Length")
    body = await reader.readexactly(length)
    if len(body) < length:
        return None
    return body


async def serve(reader: Reader, handler: Handler, stop_event: threading.Event) -> int:
    """Read messages until the input ends or framing is lost; returns an exit status."""
    while not stop_event.is_set():
        try:
            body = await read_message(reader)
        except asyncio.IncompleteReadError:
            body = None
        except FramingError as exc:
            log.error("lost the message framing (%s); exiting so the editor restarts us", exc)
            return EXIT_DESYNC
        if body is None:
            # The client went away: without `shutdown` first, that is an abnormal end.
            return 0 if handler.shut_down else 1
        handler.parse_and_handle(body)
    return 0


# ---- stdio ---------------------------------------------------------------------------


class StdoutWriter:
    """Writes whole messages to stdout's buffer (pygls's interface)."""

    def __init__(self, stdout: BinaryIO):
        self._stdout = stdout

    def close(self) -> None:
        """Close the stream (pygls calls this on `exit`)."""
        self._stdout.close()

    def write(self, data: bytes) -> None:
        """Write one message and flush it."""
        self._stdout.write(data)
        self._stdout.flush()


def claim_stdio() -> tuple[BinaryIO, BinaryIO]:
    """Private copies of stdin/stdout for the protocol; fds 0 and 1 are pointed elsewhere.

    The copies are not inherited, so worker processes and tools cannot read
    our input or write into the protocol stream, and a process left behind
    does not hold the editor's pipes open. Stray prints land on stderr.
    """
    sys.stdout.flush()
    protocol_in = os.fdopen(os.dup(0), "rb")
    protocol_out = os.fdopen(os.dup(1), "wb")
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    os.dup2(2, 1)
    return protocol_in, protocol_out


async def stdin_reader(stdin: BinaryIO) -> Reader:
    """An asyncio reader over stdin; a pipe is read without a thread hop per line.

    Anything else (a regular file, /dev/null, a terminal) is read in a thread: asyncio
    takes a character device as a pipe, but epoll refuses /dev/null later, in a
    callback, and the server would wait for ever for input that has already ended.
    """
    mode = os.fstat(stdin.fileno()).st_mode
    if not (stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)):
        return _ThreadReader(stdin)
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=MAX_BODY)
    try:
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), stdin)
    except (ValueError, OSError):
        return _ThreadReader(stdin)
    return reader


class _ThreadReader:
    def __init__(self, stream: BinaryIO):
        self._stream = stream

    async def readline(self) -> bytes:
        return await asyncio.to_thread(self._stream.readline)

    async def readexactly(self, n: int) -> bytes:
        return await asyncio.to_thread(self._stream.read, n)


def run_stdio(
    handler: Handler,
    session: Session,
    stop_event: threading.Event,
    stdin: BinaryIO | None = None,
    stdout: BinaryIO | None = None,
) -> int:
    """Serve one client on stdin/stdout (claimed from fds 0 and 1 unless given)."""
    if stdin is None or stdout is None:
        stdin, stdout = claim_stdio()
    handler.set_writer(StdoutWriter(stdout))

    async def main(stdin: BinaryIO) -> int:
        session.bind_loop()
        session.connected()
        reader = await stdin_reader(stdin)
        try:
            return await serve(reader, handler, stop_event)
        finally:
            session.end_session()

    return asyncio.run(main(stdin))


# ---- TCP -----------------------------------------------------------------------------


def is_loopback(host: str) -> bool:
    """Whether `host` names this machine only (127.0.0.0/8, ::1, localhost)."""
    if host.lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a name: it may resolve to any address


def _peer(writer: asyncio.StreamWriter) -> str:
    address = writer.get_extra_info("peername")
    if isinstance(address, tuple) and len(address) >= 2:
        return f"{address[0]}:{address[1]}"
    return str(address)


class SocketWriter:
    """Writes whole messages to the client's socket (pygls's interface)."""

    def __init__(self, writer: asyncio.StreamWriter):
        self._writer = writer

    def close(self) -> None:
        """Close the connection."""
        self._writer.close()

    def write(self, data: bytes) -> None:
        """Queue one message on the socket."""
        self._writer.write(data)


class _OneClient:
    """The connection handler of `run_tcp`: the first connection is the client."""

    def __init__(self, handler: Handler, session: Session, stop_event: threading.Event):
        self.handler, self.session, self.stop_event = handler, session, stop_event
        self.client: str | None = None
        self.done: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    async def __call__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = _peer(writer)
        if self.client is not None:
            log.warning(
                "refused a connection from %s: this server has its client (%s); "
                "start another server for another editor",
                peer,
                self.client,
            )
            writer.close()
            return
        self.client = peer
        log.info("client connected from %s", peer)
        self.handler.set_writer(SocketWriter(writer))
        self.session.connected()
        status = await serve(reader, self.handler, self.stop_event)
        if not self.done.done():
            self.done.set_result(status)


def run_tcp(
    handler: Handler, session: Session, stop_event: threading.Event, host: str, port: int
) -> int:
    """Serve one client on a TCP socket (the editor connects to us).

    The first connection is the client. Any later one is closed at once and
    logged: a second client would take over the replies (they go to the
    latest writer) and could run commands as the user. The session ends
    when the client goes away. A host that is not a loopback address is
    reachable from other machines: that is warned about.
    """

    async def main() -> int:
        session.bind_loop()
        one_client = _OneClient(handler, session, stop_event)
        if not is_loopback(host):
            log.warning(
                "listening on %s, which other machines can reach: whoever connects "
                "first is the client and can read files and run commands as you. "
                "Use 127.0.0.1 (the default) unless the network is yours alone.",
                host or "every address",
            )
        server = await asyncio.start_server(one_client, host, port, limit=2**28)
        log.info("serving on %s", ", ".join(str(s.getsockname()) for s in server.sockets))
        async with server:
            try:
                return await one_client.done
            finally:
                session.end_session()

    return asyncio.run(main())
