"""Serve ``/metrics`` from a snapshot rendered between two batches.

Rendering happens on the event loop, between two batches, at most every
``interval`` seconds and again when nothing changed for a while (the windows
and elapsed shares move with the clock). The HTTP server runs in a thread of
its own and only hands out the last snapshot: a scrape never waits for the
event loop, and never makes the loop wait for it.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CONTENT_TYPE_LATEST

log = logging.getLogger(__name__)


class ExpositionServer:
    """An HTTP server that answers ``/metrics`` with the latest snapshot."""

    def __init__(self, host: str, port: int) -> None:
        self._snapshot = b""
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path.split("?", 1)[0] not in ("/metrics", "/"):
                    self.send_error(404)
                    return
                body = server._snapshot
                self.send_response(200)
                self.send_header("Content-Type", CONTENT_TYPE_LATEST)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                """Log nothing per request."""

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._server.daemon_threads = True
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
        log.info("exporter listening url=http://%s:%s/metrics", host, self.port)

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
