"""Tests of the processes that deploy/services.py starts and stops."""

from __future__ import annotations

import json
import re
import time
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest
import redis
import yaml
from aiokafka import (
    AIOKafkaConsumer,
    AIOKafkaProducer,
    TopicPartition,
)
from aiokafka.admin import AIOKafkaAdminClient

from deploy import services
from deploy.services import (
    READY_TOPIC,
    DeployError,
    Kafka,
    Prometheus,
    Redis,
    ServiceError,
    write_prometheus_config,
)
from streams.topics import ensure_topics
from tests.conftest import MakeAlertmanager, MakePrometheus

T = TypeVar("T")

# How long a test waits for something Prometheus does on its own schedule.
PATIENCE_SECONDS = 60.0


def fetch_json(url: str) -> Any:
    """Return the decoded JSON body of a GET request."""
    with urllib.request.urlopen(url, timeout=5) as reply:
        return json.load(reply)


def poll(fetch: Callable[[], T], until: Callable[[T], bool]) -> T:
    """Call ``fetch`` until its value satisfies ``until``, then return the value.

    Prometheus scrapes and applies a configuration on its own schedule; after
    a while this returns the last value anyway and the test's assertion says
    what is wrong with it.
    """
    deadline = time.monotonic() + PATIENCE_SECONDS
    while True:
        value = fetch()
        if until(value) or time.monotonic() > deadline:
            return value
        time.sleep(0.2)


def query(prometheus: Prometheus, promql: str) -> list[dict[str, Any]]:
    """Return the series of an instant query."""
    arguments = urllib.parse.urlencode({"query": promql})
    result: list[dict[str, Any]] = fetch_json(
        f"{prometheus.url}/api/v1/query?{arguments}"
    )["data"]["result"]
    return result


def active_jobs(prometheus: Prometheus) -> set[str]:
    """Return the job labels of the targets Prometheus scrapes now."""
    targets = fetch_json(f"{prometheus.url}/api/v1/targets")["data"]
    return {target["labels"]["job"] for target in targets["activeTargets"]}


async def partition_numbers(bootstrap_servers: str, topic: str) -> set[int]:
    """Return the partition numbers of a topic, from the broker's metadata."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        [description] = await admin.describe_topics([topic])
    finally:
        await admin.close()
    return {partition["partition"] for partition in description["partitions"]}


def read_config(path: Path) -> dict[str, Any]:
    """Parse a written YAML configuration."""
    config: dict[str, Any] = yaml.safe_load(path.read_text())
    return config


@pytest.mark.integration
async def test_kafka_fixture_fetches_back_what_was_produced(kafka: Kafka) -> None:
    topic = f"test.round-trip.{uuid.uuid4().hex}"
    await ensure_topics(kafka.bootstrap_servers, {topic: 3}, timeout_ms=10_000)

    producer = AIOKafkaProducer(bootstrap_servers=kafka.bootstrap_servers)
    await producer.start()
    try:
        written = await producer.send_and_wait(
            topic, b'{"deal_id": "D-1"}', key=b"D-1", partition=2
        )
    finally:
        await producer.stop()

    consumer = AIOKafkaConsumer(
        bootstrap_servers=kafka.bootstrap_servers, enable_auto_commit=False
    )
    await consumer.start()
    try:
        partition = TopicPartition(topic, 2)
        consumer.assign([partition])
        consumer.seek(partition, written.offset)
        record = await consumer.getone()
    finally:
        await consumer.stop()

    assert (record.key, record.value) == (b"D-1", b'{"deal_id": "D-1"}')
    assert await partition_numbers(kafka.bootstrap_servers, topic) == {0, 1, 2}


@pytest.mark.integration
def test_kafka_fixture_is_ready_on_loopback(kafka: Kafka) -> None:
    assert kafka.is_running()
    assert kafka.bootstrap_servers == f"127.0.0.1:{kafka.port}"
    assert kafka.startup_seconds is not None
    assert kafka.rss_bytes() > 0
    written = (kafka.workdir / "server.properties").read_text().splitlines()
    assert "auto.create.topics.enable=false" in written
    assert "offsets.topic.replication.factor=1" in written
    assert "transaction.state.log.min.isr=1" in written


@pytest.mark.integration
async def test_kafka_ensure_topics_leaves_existing_topics_alone(kafka: Kafka) -> None:
    await ensure_topics(kafka.bootstrap_servers, {READY_TOPIC: 4}, timeout_ms=10_000)

    assert await partition_numbers(kafka.bootstrap_servers, READY_TOPIC) == {0}


@pytest.mark.integration
def test_redis_fixture_answers_set_and_get(redis_server: Redis) -> None:
    client = redis.Redis.from_url(redis_server.url)
    try:
        client.set("salespulse:test:rep:R-7", "team-north")
        assert client.get("salespulse:test:rep:R-7") == b"team-north"
        assert client.config_get("appendonly") == {"appendonly": "no"}
    finally:
        client.close()
    assert redis_server.url == f"redis://127.0.0.1:{redis_server.port}/0"


@pytest.mark.integration
def test_persistent_redis_keeps_data_across_a_restart(tmp_path: Path) -> None:
    server = Redis(tmp_path, persistent=True)
    with server:
        client = redis.Redis.from_url(server.url)
        client.set("salespulse:test:quota:R-7", "120000")
        client.close()
    with server:
        client = redis.Redis.from_url(server.url)
        kept = client.get("salespulse:test:quota:R-7")
        client.close()
    assert kept == b"120000"


@pytest.mark.integration
def test_stop_leaves_no_process_with_that_pid(tmp_path: Path) -> None:
    server = Redis(tmp_path)
    server.start()
    pid = server.pid
    assert pid is not None and Path(f"/proc/{pid}").exists()

    server.stop()

    assert not Path(f"/proc/{pid}").exists()
    assert server.pid is None
    assert not server.is_running()


@pytest.mark.integration
def test_redis_on_a_taken_port_raises_naming_redis_and_its_log(
    redis_server: Redis, tmp_path: Path
) -> None:
    intruder = Redis(tmp_path, port=redis_server.port)

    with pytest.raises(ServiceError) as raised:
        intruder.start(timeout=30)

    message = str(raised.value)
    assert "redis" in message
    assert str(intruder.log_path) in message
    assert "Address already in use" in message
    assert not intruder.is_running()
    assert redis_server.is_running()


@pytest.mark.integration
def test_prometheus_scrapes_itself(make_prometheus: MakePrometheus) -> None:
    prometheus = make_prometheus(scrape_self=True, job="self")

    result = poll(lambda: query(prometheus, 'up{job="self"}'), until=bool)

    assert [series["value"][1] for series in result] == ["1"]
    assert result[0]["metric"]["instance"] == f"127.0.0.1:{prometheus.port}"


@pytest.mark.integration
def test_prometheus_reload_reads_a_new_configuration(
    make_prometheus: MakePrometheus,
) -> None:
    prometheus = make_prometheus(scrape_self=True, job="before")
    assert prometheus.config_path is not None
    assert poll(lambda: active_jobs(prometheus), until=bool) == {"before"}
    write_prometheus_config(
        prometheus.config_path,
        scrape_targets=[f"127.0.0.1:{prometheus.port}"],
        job="after",
    )

    prometheus.reload()

    jobs = poll(lambda: active_jobs(prometheus), until=lambda jobs: jobs == {"after"})
    assert jobs == {"after"}


@pytest.mark.integration
def test_alertmanager_answers_its_status(make_alertmanager: MakeAlertmanager) -> None:
    alertmanager = make_alertmanager()

    status = fetch_json(f"{alertmanager.url}/api/v2/status")

    assert status["cluster"]["status"] == "disabled"
    assert yaml.safe_load(status["config"]["original"])["route"]["receiver"] == "null"


def test_prometheus_config_lists_targets_rules_and_alertmanager(
    tmp_path: Path,
) -> None:
    path = tmp_path / "prometheus.yml"
    rules = tmp_path / "rules" / "salespulse.rules.yml"

    write_prometheus_config(
        path,
        scrape_targets=["127.0.0.1:9464", "127.0.0.1:9465"],
        rule_files=[rules],
        alertmanager="127.0.0.1:9093",
        scrape_interval="2s",
        evaluation_interval="3s",
    )

    config = read_config(path)
    assert config["global"] == {"scrape_interval": "2s", "evaluation_interval": "3s"}
    assert config["scrape_configs"] == [
        {
            "job_name": "salespulse",
            "static_configs": [{"targets": ["127.0.0.1:9464", "127.0.0.1:9465"]}],
        }
    ]
    assert config["rule_files"] == [str(rules)]
    assert config["alerting"] == {
        "alertmanagers": [{"static_configs": [{"targets": ["127.0.0.1:9093"]}]}]
    }


def test_prometheus_config_takes_the_alertmanager_url(tmp_path: Path) -> None:
    path = tmp_path / "prometheus.yml"

    write_prometheus_config(
        path, scrape_targets=[], alertmanager="http://127.0.0.1:9093"
    )

    assert read_config(path)["alerting"]["alertmanagers"] == [
        {"scheme": "http", "static_configs": [{"targets": ["127.0.0.1:9093"]}]}
    ]


def test_prometheus_config_without_alertmanager_sends_alerts_nowhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "prometheus.yml"
    monkeypatch.chdir(tmp_path)

    write_prometheus_config(
        path,
        scrape_targets=["127.0.0.1:9464"],
        job="salespulse-ci",
        rule_files=[Path("relative.rules.yml")],
    )

    config = read_config(path)
    assert "alerting" not in config
    assert config["scrape_configs"][0]["job_name"] == "salespulse-ci"
    assert config["rule_files"] == [str(tmp_path / "relative.rules.yml")]


def test_prometheus_config_rejects_a_url_as_scrape_target(tmp_path: Path) -> None:
    with pytest.raises(DeployError, match=re.escape("http://127.0.0.1:9464/metrics")):
        write_prometheus_config(
            tmp_path / "prometheus.yml",
            scrape_targets=["http://127.0.0.1:9464/metrics"],
        )


def test_service_error_names_component_log_and_its_last_lines(
    tmp_path: Path,
) -> None:
    log_path = tmp_path / "redis.log"
    log_path.write_text("".join(f"line {number}\n" for number in range(1, 31)))

    message = str(ServiceError("redis", "exited with code 1", log_path))

    assert message.startswith(f"redis: exited with code 1 (log: {log_path})")
    assert "line 11\n" in message + "\n"
    assert "line 10\n" not in message + "\n"
    assert message.endswith("line 30")


def test_kafka_without_installed_jars_says_to_run_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(services, "KAFKA_CACHE", tmp_path)

    with pytest.raises(DeployError, match=r"deploy/install\.sh"):
        Kafka(tmp_path / "kafka")


def test_kafka_jars_folder_holds_the_broker_of_the_pinned_version() -> None:
    version = services.kafka_version()

    folder = services.kafka_jars_folder()

    assert folder.name == version
    assert (folder / f"kafka_2.13-{version}.jar").is_file()
