"""Kafka over SASL_SSL and Redis over TLS with an ACL user, for this folder.

Each component is started once for the folder's tests and stopped, by its
pid, when they are done. The passwords are random per run, so that a search
of the logs for them cannot match anything else.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from deploy.broker import BrokerSecurity, Kafka
from deploy.services import Redis, RedisSecurity
from tests.security.pki import Pki, make_pki


@dataclass(frozen=True)
class Passwords:
    """The secrets of one run: none of them may appear in a log."""

    kafka: str
    redis: str
    exporter: str

    def all(self) -> list[str]:
        """Return every password."""
        return [self.kafka, self.redis, self.exporter]


@pytest.fixture(scope="package")
def passwords() -> Passwords:
    """Return fresh passwords for the Kafka user, the Redis user, the exporter."""
    return Passwords(
        kafka=f"kafka-{secrets.token_hex(12)}",
        redis=f"redis-{secrets.token_hex(12)}",
        exporter=f"exporter-{secrets.token_hex(12)}",
    )


@pytest.fixture(scope="package")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    """Return a CA and a certificate for 127.0.0.1 that it signed."""
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="package")
def secure_kafka(
    tmp_path_factory: pytest.TempPathFactory, pki: Pki, passwords: Passwords
) -> Iterator[Kafka]:
    """Yield a broker whose only client listener is SASL_SSL, SCRAM-SHA-256."""
    security = BrokerSecurity(
        pki.certfile, pki.keyfile, pki.cafile, "salespulse", passwords.kafka
    )
    broker = Kafka(tmp_path_factory.mktemp("kafka-sasl-ssl"), security=security)
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


@pytest.fixture(scope="package")
def secure_redis(
    tmp_path_factory: pytest.TempPathFactory, pki: Pki, passwords: Passwords
) -> Iterator[Redis]:
    """Yield a Redis that serves TLS only and admits one ACL user."""
    security = RedisSecurity(
        pki.certfile, pki.keyfile, pki.cafile, "salespulse", passwords.redis
    )
    server = Redis(tmp_path_factory.mktemp("redis-tls"), security=security)
    server.start()
    try:
        yield server
    finally:
        server.stop()
