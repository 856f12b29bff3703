"""Run a single-node Kafka broker in KRaft mode from the installed jars.

The broker is ready once a message produced to ``READY_TOPIC`` is fetched back.
With a :class:`BrokerSecurity`, its client listener is SASL_SSL (SCRAM-SHA-256
over TLS, certificates in PEM files) and the readiness probe uses the same;
the KRaft controller listener stays PLAINTEXT on loopback.

Example::

    with Kafka(Path("/tmp/kafka")) as kafka:
        print(kafka.bootstrap_servers)
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

from aiokafka import (
    AIOKafkaConsumer,
    AIOKafkaProducer,
    TopicPartition,
)
from aiokafka.errors import KafkaError

from deploy.services import (
    DeployError,
    Service,
    ServiceError,
    free_port,
    run_coroutine,
)
from streams.kafka_security import KafkaSecurity
from streams.topics import ensure_topics

REPO_ROOT = Path(__file__).resolve().parent.parent
KAFKA_POM = Path(__file__).resolve().parent / "kafka" / "pom.xml"
KAFKA_CACHE = REPO_ROOT / ".cache" / "kafka"
READY_TOPIC = "salespulse.ready"
SCRAM_MECHANISM = "SCRAM-SHA-256"


@dataclass(frozen=True)
class BrokerSecurity:
    """A SASL_SSL client listener: its certificate and its one SCRAM user.

    Attributes:
        certfile: PEM certificate (chain) of the broker, valid for 127.0.0.1.
        keyfile: its private key, unencrypted PKCS#8 PEM.
        cafile: PEM file of the CA that signed it, which clients trust.
        username: the SCRAM-SHA-256 user created when the storage is formatted.
        password: its password; left out of the repr.
    """

    certfile: Path
    keyfile: Path
    cafile: Path
    username: str
    password: str = field(repr=False)

    def client_security(self) -> KafkaSecurity:
        """Return what a client of this listener needs."""
        return KafkaSecurity(
            protocol="SASL_SSL",
            sasl_mechanism=SCRAM_MECHANISM,
            username=self.username,
            password=self.password,
            cafile=str(self.cafile),
        )

    def jaas_config(self) -> str:
        """Return the listener's JAAS line (also the broker's own login)."""
        return (
            "org.apache.kafka.common.security.scram.ScramLoginModule required "
            f'username="{self.username}" password="{self.password}";'
        )


class Kafka(Service):
    """A single-node Apache Kafka in KRaft mode, broker and controller at once."""

    component = "kafka"
    default_timeout = 60.0

    def __init__(
        self,
        workdir: Path,
        *,
        port: int | None = None,
        controller_port: int | None = None,
        heap_min: str = "256m",
        heap_max: str = "768m",
        security: BrokerSecurity | None = None,
    ) -> None:
        """Describe a Kafka broker run from the jars that install.sh fetched.

        Args:
            workdir: folder for its log segments, configuration and log.
            port: PLAINTEXT listener on 127.0.0.1; a free one when None.
            controller_port: KRaft controller listener; a free one when None.
            heap_min: the JVM's ``-Xms``.
            heap_max: the JVM's ``-Xmx``.
            security: a SASL_SSL client listener instead of PLAINTEXT.
        """
        super().__init__(workdir, port)
        self.controller_port = (
            controller_port if controller_port is not None else free_port()
        )
        self.heap_min = heap_min
        self.heap_max = heap_max
        self.security = security
        self.jars = kafka_jars_folder()

    def client_options(self) -> dict[str, Any]:
        """Return the security options of an aiokafka client of this broker."""
        if self.security is None:
            return {}
        return self.security.client_security().client_options()

    @property
    def bootstrap_servers(self) -> str:
        """Return the address clients bootstrap from."""
        return f"127.0.0.1:{self.port}"

    @property
    def properties_path(self) -> Path:
        """Return the broker's server.properties."""
        return self.workdir / "server.properties"

    def _ports(self) -> list[int]:
        return [self.port, self.controller_port]

    def _prepare(self, deadline: float) -> None:
        super()._prepare(deadline)
        # The file holds the SCRAM password when the listener is secured.
        self.properties_path.touch(mode=0o600)
        self.properties_path.write_text(self._server_properties())
        log4j_path = self.workdir / "log4j.properties"
        log4j_path.write_text(self._log4j_properties())
        if not (self.workdir / "data" / "meta.properties").exists():
            self._format_storage(deadline)

    def _format_storage(self, deadline: float) -> None:
        """Write the KRaft metadata that lets the broker start on a new folder."""
        command = [
            "java",
            # A short-lived tool starts faster with only the first JIT tier.
            "-XX:TieredStopAtLevel=1",
            "-Xshare:auto",
            *self._java_options(),
            "kafka.tools.StorageTool", "format",
            "--config", str(self.properties_path),
            "--cluster-id", self._cluster_id(),
            "--ignore-formatted",
        ]  # fmt: skip
        shown = list(command)
        if self.security is not None:
            user = self.security.username
            scram = f"{SCRAM_MECHANISM}=[name={user},password=%s]"
            command += ["--add-scram", scram % self.security.password]
            shown += ["--add-scram", scram % "********"]
        formatter = self._spawn(command, shown=shown)
        try:
            exit_code = formatter.wait(timeout=max(deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired as error:
            raise ServiceError(
                self.component, "formatting storage timed out", self.log_path
            ) from error
        finally:
            if formatter.poll() is None:
                formatter.kill()
                formatter.wait()
        if exit_code != 0:
            raise ServiceError(
                self.component,
                f"formatting storage exited with code {exit_code}",
                self.log_path,
            )

    def _cluster_id(self) -> str:
        """Return the folder's cluster id, choosing one on the first start."""
        id_path = self.workdir / "cluster.id"
        if id_path.exists():
            return id_path.read_text().strip()
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        id_path.write_text(cluster_id + "\n")
        return cluster_id

    def _java_options(self) -> list[str]:
        """Return the classpath and logging options every Kafka JVM needs."""
        return [
            "-cp", f"{self.jars}/*",
            f"-Dlog4j.configuration=file:{self.workdir / 'log4j.properties'}",
            "-Djava.awt.headless=true",
        ]  # fmt: skip

    def _command(self) -> list[str]:
        return [
            "java",
            f"-Xms{self.heap_min}",
            f"-Xmx{self.heap_max}",
            "-XX:+ExitOnOutOfMemoryError",
            *self._java_options(),
            "kafka.Kafka",
            str(self.properties_path),
        ]

    def _server_properties(self) -> str:
        """Return server.properties for one node that is broker and controller."""
        settings = {
            "process.roles": "broker,controller",
            "node.id": "1",
            "controller.quorum.voters": f"1@127.0.0.1:{self.controller_port}",
            "listeners": (
                f"PLAINTEXT://127.0.0.1:{self.port},"
                f"CONTROLLER://127.0.0.1:{self.controller_port}"
            ),
            "advertised.listeners": f"PLAINTEXT://127.0.0.1:{self.port}",
            "listener.security.protocol.map": (
                "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT"
            ),
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "log.dirs": str(self.workdir / "data"),
            "num.partitions": "1",
            "default.replication.factor": "1",
            "min.insync.replicas": "1",
            "offsets.topic.replication.factor": "1",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "group.initial.rebalance.delay.ms": "0",
            "auto.create.topics.enable": "false",
            # The cleaner's default 128 MiB dedupe buffer would take a sixth
            # of the heap for a broker that compacts only small changelogs.
            "log.cleaner.dedupe.buffer.size": str(32 * 1024 * 1024),
        }
        if self.security is not None:
            settings.update(self._secured_listener(self.security))
        return "".join(f"{key}={value}\n" for key, value in settings.items())

    def _secured_listener(self, security: BrokerSecurity) -> dict[str, str]:
        """Return the settings that make the client listener SASL_SSL."""
        keystore = self.workdir / "keystore.pem"
        keystore.touch(mode=0o600)
        keystore.write_text(
            security.keyfile.read_text() + security.certfile.read_text()
        )
        return {
            "listeners": (
                f"SASL_SSL://127.0.0.1:{self.port},"
                f"CONTROLLER://127.0.0.1:{self.controller_port}"
            ),
            "advertised.listeners": f"SASL_SSL://127.0.0.1:{self.port}",
            "listener.security.protocol.map": "SASL_SSL:SASL_SSL,CONTROLLER:PLAINTEXT",
            "inter.broker.listener.name": "SASL_SSL",
            "sasl.enabled.mechanisms": SCRAM_MECHANISM,
            "sasl.mechanism.inter.broker.protocol": SCRAM_MECHANISM,
            "listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config": (
                security.jaas_config()
            ),
            "ssl.keystore.type": "PEM",
            "ssl.keystore.location": str(keystore),
            "ssl.truststore.type": "PEM",
            "ssl.truststore.location": str(security.cafile.resolve()),
        }

    def _log4j_properties(self) -> str:
        """Return a log4j configuration that writes the broker's log file."""
        lines = [
            "log4j.rootLogger=INFO, file",
            "log4j.appender.file=org.apache.log4j.FileAppender",
            f"log4j.appender.file.File={self.log_path}",
            "log4j.appender.file.Append=true",
            "log4j.appender.file.layout=org.apache.log4j.PatternLayout",
            "log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n",
            "log4j.logger.kafka.request.logger=WARN",
            "log4j.logger.state.change.logger=WARN",
            "log4j.logger.org.apache.kafka.clients=WARN",
        ]
        return "\n".join(lines) + "\n"

    def _probe(self, remaining: float) -> str | None:
        try:
            run_coroutine(
                kafka_round_trip(
                    self.bootstrap_servers, remaining, self.client_options()
                )
            )
        except (KafkaError, OSError, TimeoutError) as error:
            return f"round trip through {READY_TOPIC} failed: {error!r}"
        return None


def kafka_version() -> str:
    """Return the Kafka version pinned in deploy/kafka/pom.xml."""
    namespace = {"maven": "http://maven.apache.org/POM/4.0.0"}
    try:
        root = ElementTree.parse(KAFKA_POM).getroot()
    except (OSError, ElementTree.ParseError) as error:
        raise DeployError(f"cannot read {KAFKA_POM}: {error}") from error
    version = root.findtext("maven:properties/maven:kafka.version", None, namespace)
    if not version:
        raise DeployError(f"{KAFKA_POM} has no <kafka.version> property")
    return version.strip()


def kafka_jars_folder() -> Path:
    """Return the folder of the broker's jars, or say how to install them."""
    folder = KAFKA_CACHE / kafka_version()
    if not (folder / ".complete").exists():
        raise DeployError(
            f"the Kafka jars are not installed in {folder}: run deploy/install.sh"
        )
    return folder


async def kafka_round_trip(
    bootstrap_servers: str,
    timeout: float,
    client_options: Mapping[str, Any] | None = None,
) -> None:
    """Produce a message to the readiness topic and fetch the same one back.

    Args:
        bootstrap_servers: the broker, ``host:port``.
        timeout: seconds the round trip may take.
        client_options: security options of the clients
            (:meth:`Kafka.client_options`).
    """
    options = dict(client_options or {})
    timeout_ms = max(int(min(timeout, 10.0) * 1000), 1000)
    await ensure_topics(
        bootstrap_servers,
        {READY_TOPIC: 1},
        timeout_ms=timeout_ms,
        client_options=options,
    )

    payload = uuid.uuid4().bytes
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap_servers, request_timeout_ms=timeout_ms, **options
    )
    await producer.start()
    try:
        written = await producer.send_and_wait(READY_TOPIC, payload, partition=0)
    finally:
        await producer.stop()

    async with _groupless_consumer(bootstrap_servers, timeout_ms, options) as consumer:
        partition = TopicPartition(READY_TOPIC, 0)
        consumer.assign([partition])
        consumer.seek(partition, written.offset)
        record = await asyncio.wait_for(consumer.getone(), timeout_ms / 1000)
    if record.value != payload:
        raise KafkaError(f"fetched {record.value!r} where {payload!r} was produced")


@contextlib.asynccontextmanager
async def _groupless_consumer(
    bootstrap_servers: str, timeout_ms: int, client_options: Mapping[str, Any]
) -> AsyncIterator[Any]:
    """Yield a started consumer that belongs to no group; stop it on exit."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap_servers,
        enable_auto_commit=False,
        request_timeout_ms=timeout_ms,
        **client_options,
    )
    await consumer.start()
    try:
        yield consumer
    finally:
        await consumer.stop()
