"""The JSON-RPC layer: pygls 2.1.1's protocol with its gaps closed.

pygls leaves a client waiting forever on a request it cannot parse or
structure, ignores requests after `shutdown`, exits 0 on `exit` without
`shutdown`, sends tracebacks to the client, and keeps reading a stream whose
framing is lost. Here:

- malformed JSON gets a -32700 response (id null) and the server keeps serving;
- a request whose params do not fit its type gets -32602;
- requests after `shutdown` get -32600;
- `exit` exits 1 unless `shutdown` came first (pygls computes the code, but
  its `start_io` swallows the `SystemExit`, so transport.py runs the read loop);
- a handler's exception becomes -32603 with a message and no traceback; the
  traceback goes to the log.

It knows nothing of our server: what the client can do is recorded by the
`initialize` feature (features/initialize.py), which pygls calls before it
builds the capabilities.
"""

from __future__ import annotations

import contextvars
import json
import logging
import typing
from typing import Any

import attrs
from lsprotocol import types
from pygls.exceptions import (
    JsonRpcException,
    JsonRpcInternalError,
    JsonRpcInvalidParams,
    JsonRpcInvalidRequest,
    JsonRpcParseError,
)
from pygls.protocol import LanguageServerProtocol, lsp_method

from tapps_lsp.review.positions import negotiate

if typing.TYPE_CHECKING:
    from collections.abc import Generator
    from concurrent.futures import Future

log = logging.getLogger(__name__)


class _Unstructurable:
    """A request whose params did not fit their type: answered with -32602."""

    def __init__(self, msg_id: Any, method: str, reason: str):
        self.id = msg_id
        self.method = method
        self.reason = reason


class TappsProtocol(LanguageServerProtocol):
    """pygls's LSP protocol with the gaps listed above closed."""

    @property
    def shut_down(self) -> bool:
        """Whether `shutdown` was answered: the input may now end without an error."""
        return bool(self._shutdown)

    @lsp_method(types.INITIALIZE)
    def lsp_initialize(
        self, params: types.InitializeParams
    ) -> Generator[Any, Any, types.InitializeResult]:
        """Negotiate the position encoding our way, then let pygls do the rest.

        pygls takes the client's first offer; we prefer UTF-8 whenever it is
        offered. pygls's document sync must use the same encoding as our
        conversions, so we narrow the offer it sees (and the `initialize`
        feature handler sees) to our choice: it is `workspace.position_encoding`.
        """
        general = params.capabilities.general
        offered = general.position_encodings if general else None
        chosen = negotiate([str(getattr(e, "value", e)) for e in offered or []])
        if general is not None:
            general.position_encodings = [types.PositionEncodingKind(chosen)]
        try:
            result: types.InitializeResult = yield from super().lsp_initialize(params)
        finally:
            if general is not None:
                general.position_encodings = offered
        return result

    @lsp_method(types.SHUTDOWN)
    def lsp_shutdown(self, *args: Any) -> Generator[Any, Any, None]:
        """pygls's shutdown, cancelling the pending requests from a copy of their table.

        pygls iterates over `_request_futures` itself; a request run as a generator
        (executeCommand: tapps.reviewFile) has a concurrent Future whose done callback
        runs inside `cancel()` and removes it from that table, so the iteration
        failed with "dictionary changed size" and shutdown got -32603.
        """
        if (user_handler := self.fm.features.get(types.SHUTDOWN)) is not None:
            yield user_handler, args, None
        current_id = self.msg_id
        for msg_id, future in list(self._request_futures.items()):
            if msg_id != current_id and not future.done():
                future.cancel()
        self._shutdown = True

    def structure_message(self, data: dict[str, Any]) -> Any:
        """pygls' structuring, except that a request whose params do not fit comes back as
        one we answer with invalid params instead of dropping it."""
        try:
            return super().structure_message(data)
        except JsonRpcException as exc:
            if "id" in data and "method" in data:
                cause = exc.__cause__ or exc
                return _Unstructurable(data["id"], str(data["method"]), str(cause).splitlines()[0])
            raise

    def handle_message(self, message: Any) -> None:
        """Dispatch one message: refuse requests after shutdown, answer unstructurable ones."""
        # After shutdown every request is refused, whether or not its params fit.
        is_request = getattr(message, "method", None) is not None and hasattr(message, "id")
        if self._shutdown and is_request and message.method != types.EXIT:
            self.send_error(
                message.id, JsonRpcInvalidRequest(f"{message.method}: the server is shutting down")
            )
            return
        if isinstance(message, _Unstructurable):
            self.send_error(message.id, JsonRpcInvalidParams(f"{message.method}: {message.reason}"))
            return
        if getattr(message, "jsonrpc", None) != self.VERSION:
            log.warning("ignored a message that is not JSON-RPC 2.0: %r", message)
            return
        if self._shutdown and getattr(message, "method", None) != types.EXIT:
            return
        # pygls dispatches with isinstance checks against runtime protocols, which
        # cost more than the rest of a cached save; the attributes say the same.
        ctx = contextvars.copy_context()
        method = getattr(message, "method", None)
        if method is not None and hasattr(message, "id"):
            ctx.run(self._handle_request, message.id, method, message.params)
        elif method is not None:
            ctx.run(self._handle_notification, method, message.params)
        elif getattr(message, "error", None) is not None:
            ctx.run(self._handle_response, message.id, None, message.error)
        else:
            ctx.run(self._handle_response, message.id, getattr(message, "result", None))

    def send_error(self, msg_id: Any, error: JsonRpcException) -> None:
        """Send a JSON-RPC error response without a traceback."""
        # A plain dict: lsprotocol's converter would drop a null id.
        self._send_data(
            {
                "jsonrpc": "2.0",
                "id": msg_id,
                "error": {"code": error.code, "message": error.message},
            }
        )

    def _send_response(self, msg_id: Any, result: Any = None, error: Any = None) -> None:
        # pygls attaches the traceback as `data` to the errors of its own failures; it is
        # already in our log, and a client must not see the server's source.
        if error is not None and isinstance(error.data, dict) and "traceback" in error.data:
            error = attrs.evolve(error, data=None)
        super()._send_response(msg_id, result=result, error=error)

    def _send_data(self, data: Any) -> None:
        """pygls's, except for a message that cannot be encoded as JSON.

        pygls logs such a message and sends nothing, leaving the request
        unanswered for ever; a response becomes -32603 instead. NaN is not
        JSON either: a client's parser would fail on it.
        """
        if not data or self.writer is None:
            super()._send_data(data)
            return
        try:
            body = json.dumps(data, default=self._serialize_message, allow_nan=False)
        except (TypeError, ValueError, AttributeError) as exc:
            msg_id = data.get("id") if isinstance(data, dict) else getattr(data, "id", None)
            log.error("could not encode a message for the client", exc_info=exc)
            if msg_id is not None and getattr(data, "method", None) is None:
                error = JsonRpcInternalError(f"the result could not be encoded: {exc}")
                self.send_error(msg_id, error)
            return
        header = f"Content-Length: {len(body)}\r\n\r\n"
        self.writer.write((header + body).encode("utf-8"))

    def _send_handler_result(self, future: Future[Any], *, msg_id: Any) -> None:
        # pygls puts the traceback into the response; keep it in our log only.
        if not future.cancelled() and future.exception() is not None:
            exc = future.exception()
            if not isinstance(exc, JsonRpcException):
                self._request_futures.pop(msg_id, None)
                log.error("request %s failed", msg_id, exc_info=exc)
                message = f"{type(exc).__name__}: {exc}"
                self.send_error(msg_id, JsonRpcInternalError(message))
                return
        super()._send_handler_result(future, msg_id=msg_id)

    def parse_and_handle(self, body: bytes) -> None:
        """Handle one message body; a parse failure gets a -32700 response."""
        try:
            data = json.loads(body)
        except (ValueError, UnicodeDecodeError) as exc:
            log.warning("malformed JSON from the client: %s", exc)
            self.send_error(None, JsonRpcParseError(f"Parse error: {exc}"))
            return
        if not isinstance(data, dict):
            self.send_error(None, JsonRpcInvalidRequest("a message must be a JSON object"))
            return
        if "method" in data and "id" in data and not _valid_id(data["id"]):
            self.send_error(None, JsonRpcInvalidRequest("an id must be a string, a number or null"))
            return
        try:
            message = self.structure_message(data)
        except JsonRpcException as exc:
            log.warning("dropped a notification that does not fit its type: %s", exc)
            return
        if not isinstance(message, _Unstructurable) and not hasattr(message, "jsonrpc"):
            if "id" in data:
                self.send_error(data.get("id"), JsonRpcInvalidRequest("not a JSON-RPC 2.0 message"))
            return
        try:
            self.handle_message(message)
        except Exception as exc:
            # pygls's dispatch itself failed (e.g. `$/cancelRequest` naming an object as id):
            # that message is lost, the session is not.
            log.error("could not handle a message: %s", str(data)[:200], exc_info=exc)
            if "id" in data and "method" in data:
                self.send_error(data["id"], JsonRpcInternalError(f"{type(exc).__name__}: {exc}"))


def _valid_id(msg_id: Any) -> bool:
    # pygls files requests by id: an object or array id would fail its dispatch.
    if isinstance(msg_id, bool):
        return False
    return msg_id is None or isinstance(msg_id, (str, int, float))
