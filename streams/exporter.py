"""Serve ``/metrics`` from a snapshot rendered between two batches.

Rendering happens on the event loop, between two batches, at most every
``interval`` seconds and again when nothing changed for a while (the windows
and elapsed shares move with the clock). The HTTP server runs in a thread of
its own and only hands out the last snapshot: a scrape never waits for the
event loop, and never makes the loop wait for it.

The server may require HTTP basic auth (a wrong or missing password gets 401)
and serve HTTPS; the password is compared in constant time and never logged.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import logging
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST

from streams.errors import StreamsError

log = logging.getLogger(__name__)

# A client that opens a connection and says nothing frees its thread after this.
REQUEST_TIMEOUT_SECONDS = 10.0
REALM = "salespulse"


class ExporterError(StreamsError):
    """The exporter's certificate or key does not load."""


@dataclass(frozen=True)
class BasicAuth:
    """The user name and password a scrape must present; the repr hides the latter."""

    username: str
    password: str = field(repr=False)

    def accepts(self, authorization: str | None) -> bool:
        """Tell whether an ``Authorization`` header carries these credentials."""
        scheme, _, encoded = (authorization or "").partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            presented = base64.b64decode(encoded.strip(), validate=True)
        except (binascii.Error, ValueError):
            return False
        expected = f"{self.username}:{self.password}".encode()
        return hmac.compare_digest(presented, expected)


def server_tls_context(certfile: str, keyfile: str) -> ssl.SSLContext:
    """Return the TLS context of an HTTPS server with a PEM certificate and key.

    Raises:
        ExporterError: the files do not hold a certificate and its key.
    """
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(certfile, keyfile)
    except (OSError, ssl.SSLError) as error:
        raise ExporterError(
            f"cannot load the exporter's certificate {certfile} and key {keyfile}: "
            f"{error}"
        ) from error
    return context


class _Server(ThreadingHTTPServer):
    """A threading HTTP server that logs a failed request instead of printing it."""

    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A scraper that does not trust the certificate fails the handshake:
        # worth a line at DEBUG, not a traceback on stderr.
        log.debug("exporter request failed client=%s", client_address, exc_info=True)


class ExpositionServer:
    """An HTTP(S) server that answers ``/metrics`` with the latest snapshot."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        basic_auth: BasicAuth | None = None,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        """Bind the server; it serves once :meth:`start` is called.

        Args:
            host: address to listen on.
            port: port to listen on; 0 picks a free one.
            basic_auth: the credentials every request must present; None
                lets any request in.
            tls: a server context (:func:`server_tls_context`) to serve HTTPS;
                None serves plain HTTP.
        """
        self._snapshot = b""
        self._basic_auth = basic_auth
        self.scheme = "http" if tls is None else "https"
        server = self

        class Handler(BaseHTTPRequestHandler):
            timeout = REQUEST_TIMEOUT_SECONDS

            def do_GET(self) -> None:
                if self.path.split("?", 1)[0] not in ("/metrics", "/"):
                    self.send_error(404)
                    return
                if not server._authorized(self.headers.get("Authorization")):
                    self._refuse()
                    return
                body = server._snapshot
                self.send_response(200)
                self.send_header("Content-Type", CONTENT_TYPE_LATEST)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _refuse(self) -> None:
                body = b"401 Unauthorized: basic auth required\n"
                self.send_response(401)
                self.send_header(
                    "WWW-Authenticate", f'Basic realm="{REALM}", charset="UTF-8"'
                )
                self.send_header("Content-Type", "text/plain; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                """Log nothing per request."""

        self._server = _Server((host, port), Handler)
        if tls is not None:
            # The handshake happens in the request's thread, on its first
            # read, so that a slow client never holds up the accepting loop.
            self._server.socket = tls.wrap_socket(
                self._server.socket, server_side=True, do_handshake_on_connect=False
            )
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="exporter", daemon=True
        )

    @property
    def port(self) -> int:
        """Return the port, also when 0 was asked for."""
        return int(self._server.server_address[1])

    def start(self) -> None:
        """Serve from the thread."""
        self._thread.start()
        host = self._server.server_address[0]
        log.info(
            "exporter listening url=%s://%s:%s/metrics basic_auth=%s",
            self.scheme,
            host,
            self.port,
            "on" if self._basic_auth else "off",
        )

    def _authorized(self, authorization: str | None) -> bool:
        """Tell whether a request may read the snapshot."""
        return self._basic_auth is None or self._basic_auth.accepts(authorization)

    def publish(self, snapshot: bytes) -> None:
        """Serve ``snapshot`` from now on (a reference swap: no lock needed)."""
        self._snapshot = snapshot

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self._server.shutdown()
        self._server.server_close()


class Renderer:
    """Render the exposition after changes, at most every ``interval`` seconds."""

    def __init__(
        self,
        render: Callable[[], bytes],
        server: ExpositionServer,
        interval: float = 1.0,
        idle_interval: float = 5.0,
    ) -> None:
        self._render = render
        self._server = server
        self.interval = interval
        self.idle_interval = idle_interval
        self._last = 0.0
        self._scheduled: asyncio.TimerHandle | None = None
        self.seconds_rendering = 0.0

    def changed(self) -> None:
        """Note a change: render now, or as soon as the interval allows."""
        wait = self._last + self.interval - time.monotonic()
        if wait <= 0:
            self.render_now()
        elif self._scheduled is None:
            loop = asyncio.get_running_loop()
            self._scheduled = loop.call_later(wait, self.render_now)

    def render_now(self) -> None:
        """Render and publish the snapshot."""
        if self._scheduled is not None:
            self._scheduled.cancel()
            self._scheduled = None
        began = time.monotonic()
        self._server.publish(self._render())
        self._last = time.monotonic()
        self.seconds_rendering += self._last - began

    async def run_idle(self) -> None:
        """Re-render now and then so that windows follow the clock."""
        while True:
            await asyncio.sleep(self.idle_interval)
            if time.monotonic() - self._last >= self.idle_interval:
                self.render_now()
