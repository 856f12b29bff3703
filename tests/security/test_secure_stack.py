"""A worker with every link secured: Kafka over SASL_SSL (SCRAM-SHA-256),
Redis over TLS with an ACL user, /metrics behind basic auth over HTTPS, and
a Prometheus that scrapes it; no password in any log line or error."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import ssl
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer
from prometheus_client.parser import text_string_to_metric_families

from deploy.broker import Kafka
from deploy.engine import Worker
from deploy.services import Redis
from kpis.events import EVENT_TYPES, Feed
from streams.config import load_settings
from streams.reference_store import (
    ReferenceStore,
    ReferenceStoreError,
    connect,
)
from streams.reference_watcher import ReferenceWatcher
from tests.conftest import MakePrometheus
from tests.samples import sample
from tests.scrape import values_of, wait_for
from tests.security.conftest import Passwords
from tests.security.pki import Pki

pytestmark = pytest.mark.integration

CONSUMED = "salespulse_events_consumed_total"
SCRAPER = "prometheus"


class SecureWorker(Worker):
    """A worker whose exporter serves HTTPS and requires basic auth."""

    def __init__(
        self, workdir: Path, settings: dict[str, str], cafile: Path, password: str
    ) -> None:
        super().__init__(workdir, settings)
        self.tls = ssl.create_default_context(cafile=str(cafile))
        self.password = password

    @property
    def metrics_url(self) -> str:
        """Return the HTTPS URL of /metrics."""
        return f"https://127.0.0.1:{self.port}/metrics"

    def fetch(self, authorization: str | None) -> tuple[int, dict[str, str], bytes]:
        """Return the status, headers and body of GET /metrics."""
        request = urllib.request.Request(self.metrics_url)
        if authorization is not None:
            request.add_header("Authorization", authorization)
        try:
            with urllib.request.urlopen(request, timeout=5, context=self.tls) as reply:
                return reply.status, dict(reply.headers), reply.read()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), error.read()

    def _probe(self, remaining: float) -> str | None:
        try:
            status, _, _ = self.fetch(basic(SCRAPER, self.password))
        except OSError as error:
            return f"/metrics failed: {error}"
        return None if status == 200 else f"/metrics answered {status}"


def basic(username: str, password: str) -> str:
    """Return an Authorization header of HTTP basic auth."""
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


@pytest.fixture(scope="module")
def worker(
    secure_kafka: Kafka,
    secure_redis: Redis,
    pki: Pki,
    passwords: Passwords,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[SecureWorker]:
    """Yield a worker configured with every security setting."""
    suffix = uuid.uuid4().hex[:8]
    settings = {
        "SALESPULSE_KAFKA_BOOTSTRAP_SERVERS": secure_kafka.bootstrap_servers,
        "SALESPULSE_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
        "SALESPULSE_KAFKA_SASL_MECHANISM": "SCRAM-SHA-256",
        "SALESPULSE_KAFKA_SASL_USERNAME": "salespulse",
        "SALESPULSE_KAFKA_SASL_PASSWORD": passwords.kafka,
        "SALESPULSE_KAFKA_SSL_CAFILE": str(pki.cafile),
        "SALESPULSE_REDIS_URL": secure_redis.url,
        "SALESPULSE_REDIS_SSL_CA_CERTS": str(pki.cafile),
        "SALESPULSE_REDIS_PREFIX": f"secure-{suffix}:",
        "SALESPULSE_EXPORTER_BASIC_AUTH_USERNAME": SCRAPER,
        "SALESPULSE_EXPORTER_BASIC_AUTH_PASSWORD": passwords.exporter,
        "SALESPULSE_EXPORTER_TLS_CERTFILE": str(pki.certfile),
        "SALESPULSE_EXPORTER_TLS_KEYFILE": str(pki.keyfile),
        "SALESPULSE_APP_ID": f"salespulse-secure-{suffix}",
        "SALESPULSE_TOPIC_PARTITIONS": "2",
        "SALESPULSE_TOPIC_DEADLETTER": f"deadletter-{suffix}",
        # DEBUG: the most the worker and its libraries ever log.
        "SALESPULSE_LOG_LEVEL": "DEBUG",
        **{f"SALESPULSE_TOPIC_{feed.name}": f"{feed}-{suffix}" for feed in Feed},
    }
    asyncio.run(
        _set_rates(secure_redis, settings["SALESPULSE_REDIS_PREFIX"], pki.cafile)
    )
    process = SecureWorker(
        tmp_path_factory.mktemp("secure-worker"),
        settings,
        pki.cafile,
        passwords.exporter,
    )
    process.start()
    try:
        yield process
    finally:
        process.stop()


async def _set_rates(server: Redis, prefix: str, cafile: Path) -> None:
    """Give the worker the rates of the samples' currencies, over TLS."""
    client = connect(server.url, ssl_ca_certs=str(cafile))
    try:
        store = ReferenceStore(client, prefix=prefix)
        await store.set_rate("EUR", "2020-01-01T00:00:00Z", "1.08")
        await store.set_rate("GBP", "2020-01-01T00:00:00Z", "1.27")
    finally:
        await client.aclose()


async def _produce(kafka: Kafka, worker: SecureWorker) -> None:
    """Send one event of each type, over SASL_SSL like the worker."""
    settings = load_settings(worker.settings)
    producer = AIOKafkaProducer(
        bootstrap_servers=kafka.bootstrap_servers, **kafka.client_options()
    )
    await producer.start()
    try:
        for event_type, feed in EVENT_TYPES.items():
            await producer.send_and_wait(
                settings.topic_for(feed), sample(event_type), key=b"key-1"
            )
    finally:
        await producer.stop()


def _counted(worker: SecureWorker) -> dict[str, float]:
    status, _, body = worker.fetch(basic(SCRAPER, worker.password))
    assert status == 200
    return values_of(_samples(body.decode()), CONSUMED, "type")


def _samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_events_are_folded_and_served_over_https(
    secure_kafka: Kafka, worker: SecureWorker
) -> None:
    asyncio.run(_produce(secure_kafka, worker))
    wait_for(
        lambda: len(_counted(worker)) == len(EVENT_TYPES),
        timeout=90,
        what="every event type on /metrics",
    )
    assert _counted(worker) == dict.fromkeys(EVENT_TYPES, 1.0)


@pytest.mark.parametrize(
    "authorization",
    [None, "wrong-password", "wrong-user", "Bearer"],
)
def test_wrong_or_missing_credentials_get_401(
    worker: SecureWorker, authorization: str | None
) -> None:
    header = {
        None: None,
        "wrong-password": basic(SCRAPER, "not-the-password"),
        "wrong-user": basic("intruder", worker.password),
        "Bearer": f"Bearer {worker.password}",
    }[authorization]
    status, headers, body = worker.fetch(header)
    assert status == 401
    assert headers["WWW-Authenticate"].startswith('Basic realm="salespulse"')
    assert b"salespulse_" not in body


def test_plain_http_gets_no_metrics(worker: SecureWorker) -> None:
    url = f"http://127.0.0.1:{worker.port}/metrics"
    request = urllib.request.Request(url)
    request.add_header("Authorization", basic(SCRAPER, worker.password))
    with pytest.raises((OSError, urllib.error.URLError)):
        urllib.request.urlopen(request, timeout=5).read()


def test_prometheus_scrapes_with_basic_auth_over_tls(
    worker: SecureWorker, make_prometheus: MakePrometheus, pki: Pki
) -> None:
    prometheus = make_prometheus(
        scrape_targets=[f"127.0.0.1:{worker.port}"],
        scheme="https",
        basic_auth=(SCRAPER, worker.password),
        tls_ca_file=pki.cafile,
    )

    def up() -> list[str]:
        query = urllib.parse.urlencode({"query": 'up{job="salespulse"}'})
        url = f"{prometheus.url}/api/v1/query?{query}"
        with urllib.request.urlopen(url, timeout=5) as reply:
            results = json.load(reply)["data"]["result"]
        return [result["value"][1] for result in results]

    wait_for(lambda: up() == ["1"], timeout=60, what="up == 1 for the worker")


def test_a_failed_redis_connection_shows_no_password(
    secure_redis: Redis,
    passwords: Passwords,
    pki: Pki,
    caplog: pytest.LogCaptureFixture,
) -> None:
    wrong = f"wrong-{passwords.redis}"
    url = secure_redis.url.replace(passwords.redis, wrong)
    watcher = ReferenceWatcher(url, start_timeout=1.0, ssl_ca_certs=str(pki.cafile))
    with caplog.at_level(logging.DEBUG), pytest.raises(ReferenceStoreError) as raised:
        asyncio.run(watcher.start())
    message = str(raised.value)
    assert "salespulse:**********@127.0.0.1" in message
    for text in (message, caplog.text):
        assert wrong not in text
        assert passwords.redis not in text


def test_no_password_is_in_the_worker_log(
    worker: SecureWorker, passwords: Passwords
) -> None:
    # After the other tests: the log holds start-up, folding and 401s.
    log = worker.log_path.read_text(errors="replace")
    assert "Authenticated as salespulse via SCRAM-SHA-256" in log
    for password in passwords.all():
        assert password not in log
