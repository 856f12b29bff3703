"""Serve ``/metrics`` for Prometheus from a thread of its own."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, start_http_server

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Exporter:
    """A running exporter and the address it really listens on."""

    server: WSGIServer
    thread: threading.Thread

    @property
    def port(self) -> int:
        """Return the port, also when 0 was asked for."""
        return int(self.server.server_address[1])

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self.server.shutdown()
        self.server.server_close()


def start_exporter(registry: CollectorRegistry, host: str, port: int) -> Exporter:
    """Start serving ``registry`` on ``host:port`` and return the exporter."""
    server, thread = start_http_server(port, addr=host, registry=registry)
    exporter = Exporter(server, thread)
    log.info("exporter listening url=http://%s:%s/metrics", host, exporter.port)
    return exporter
