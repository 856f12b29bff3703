"""Start and stop SalesPulse's real components as processes on loopback.

Each component (Kafka in KRaft mode, Redis, Prometheus, Alertmanager) runs as
an ordinary child process in its own session, with its data, configuration
and log in a working folder. ``start()`` returns only once the component
answers a real request; ``stop()`` signals exactly the pid it started.

Example::

    with Redis(Path("/tmp/redis")) as redis:
        print(redis.url)
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import AsyncIterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import TracebackType
from typing import Any, ClassVar, Self
from xml.etree import ElementTree

import redis
import yaml
from aiokafka import (
    AIOKafkaConsumer,
    AIOKafkaProducer,
    TopicPartition,
)
from aiokafka.errors import KafkaError

from streams.topics import ensure_topics

logger = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parent.parent
KAFKA_POM = Path(__file__).resolve().parent / "kafka" / "pom.xml"
KAFKA_CACHE = REPO_ROOT / ".cache" / "kafka"
READY_TOPIC = "salespulse.ready"

POLL_SECONDS = 0.2
LOG_TAIL_LINES = 20
HTTP_TIMEOUT_SECONDS = 2.0


class DeployError(Exception):
    """Root of every error raised while running SalesPulse's components."""


class ServiceError(DeployError):
    """A component failed to start or to answer; the message ends with its log."""

    def __init__(self, component: str, problem: str, log_path: Path) -> None:
        self.component = component
        self.problem = problem
        self.log_path = log_path
        tail = "".join(f"\n    {line}" for line in read_log_tail(log_path))
        super().__init__(
            f"{component}: {problem} (log: {log_path}); last lines of the log:"
            f"{tail or ' (empty)'}"
        )


def read_log_tail(log_path: Path, lines: int = LOG_TAIL_LINES) -> list[str]:
    """Return the last lines of a log file, or none if it cannot be read."""
    try:
        with log_path.open(encoding="utf-8", errors="replace") as log:
            return [line.rstrip("\n") for line in deque(log, maxlen=lines)]
    except OSError:
        return []


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _listening_socket_inodes(port: int) -> set[str]:
    """Return the inodes of the sockets in LISTEN state on a local port."""
    inodes: set[str] = set()
    for table in (Path("/proc/net/tcp"), Path("/proc/net/tcp6")):
        try:
            rows = table.read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            local_port = int(fields[1].rsplit(":", 1)[1], 16)
            if local_port == port and fields[3] == "0A":
                inodes.add(fields[9])
    return inodes


def process_listens_on(pid: int, port: int) -> bool:
    """Tell whether the process itself holds the listening socket of a port.

    An answer on the port alone could come from another process that already
    had it, which a starting process only notices a moment later.
    """
    wanted = {f"socket:[{inode}]" for inode in _listening_socket_inodes(port)}
    if not wanted:
        return False
    try:
        descriptors = list(Path(f"/proc/{pid}/fd").iterdir())
    except OSError:
        return False
    for descriptor in descriptors:
        try:
            if os.readlink(descriptor) in wanted:
                return True
        except OSError:
            continue
    return False


def http_status(url: str, method: str = "GET") -> int:
    """Return the HTTP status of a request to a loopback URL."""
    request = urllib.request.Request(url, method=method)
    try:
        with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT_SECONDS) as reply:
            status: int = reply.status
            return status
    except urllib.error.HTTPError as error:
        return error.code


class Service(ABC):
    """A component run as a child process, with its files in a working folder."""

    component: ClassVar[str]
    default_timeout: ClassVar[float] = 30.0

    def __init__(self, workdir: Path, port: int | None) -> None:
        self.workdir = Path(workdir).resolve()
        self.port = port if port is not None else free_port()
        self.startup_seconds: float | None = None
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def log_path(self) -> Path:
        """Return the file the component logs to."""
        return self.workdir / f"{self.component}.log"

    @property
    def pid(self) -> int | None:
        """Return the pid of the running process, or None if none runs."""
        return self._process.pid if self.is_running() and self._process else None

    def is_running(self) -> bool:
        """Tell whether the process this object started is still alive."""
        return self._process is not None and self._process.poll() is None

    def rss_bytes(self) -> int:
        """Return the resident memory of the running process, from /proc."""
        pid = self.pid
        if pid is None:
            raise DeployError(f"{self.component} is not running: no memory to read")
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise DeployError(f"{self.component}: no VmRSS in /proc/{pid}/status")

    def start(self, timeout: float | None = None) -> None:
        """Spawn the component and return once it answers a real request.

        Args:
            timeout: seconds allowed from the call until the component is
                ready; the class's ``default_timeout`` when None.

        Raises:
            ServiceError: the process exited or did not answer in time; what
                was spawned is stopped before this is raised.
        """
        if self.is_running():
            raise DeployError(f"{self.component} already runs with pid {self.pid}")
        limit = self.default_timeout if timeout is None else timeout
        began = time.monotonic()
        try:
            self._prepare(deadline=began + limit)
            self._process = self._spawn(self._command())
            self._wait_until_ready(began + limit, limit)
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = time.monotonic() - began
        logger.info(
            "started component=%s pid=%s port=%s ready_seconds=%.2f",
            self.component,
            self._process.pid,
            self.port,
            self.startup_seconds,
        )

    def stop(self, grace: float = 10.0) -> None:
        """Stop the process with SIGTERM, then SIGKILL after ``grace`` seconds."""
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                logger.warning(
                    "killing component=%s pid=%s grace_seconds=%s",
                    self.component,
                    process.pid,
                    grace,
                )
                process.kill()
                process.wait()
        logger.info(
            "stopped component=%s pid=%s exit_code=%s",
            self.component,
            process.pid,
            process.returncode,
        )

    def __enter__(self) -> Self:
        if not self.is_running():
            self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _prepare(self, deadline: float) -> None:
        """Write configuration and prepare storage before the process starts."""
        self.workdir.mkdir(parents=True, exist_ok=True)

    @abstractmethod
    def _command(self) -> list[str]:
        """Return the command line that runs the component in the foreground."""

    @abstractmethod
    def _probe(self, remaining: float) -> str | None:
        """Return None once the component answers, else why it does not yet."""

    def _ports(self) -> list[int]:
        """Return every port the process must listen on before it is probed."""
        return [self.port]

    def _environment(self) -> dict[str, str] | None:
        """Return the process's environment; None inherits this process's."""
        return None

    def _spawn(self, command: list[str]) -> subprocess.Popen[bytes]:
        """Run a command in its own session, its output appended to the log."""
        logger.debug("spawning component=%s command=%s", self.component, command)
        with self.log_path.open("ab") as log:
            return subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.workdir,
                env=self._environment(),
                start_new_session=True,
            )

    def _wait_until_ready(self, deadline: float, limit: float) -> None:
        """Poll until the process listens on its ports and answers a probe."""
        process = self._process
        if process is None:
            raise DeployError(f"{self.component} was not spawned")
        reason = "it has not opened its ports"
        while True:
            exit_code = process.poll()
            if exit_code is not None:
                raise ServiceError(
                    self.component,
                    f"exited with code {exit_code} before it was ready",
                    self.log_path,
                )
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ServiceError(
                    self.component,
                    f"not ready after {limit:g} s ({reason})",
                    self.log_path,
                )
            if all(process_listens_on(process.pid, port) for port in self._ports()):
                answer = self._probe(remaining)
                if answer is None:
                    return
                reason = answer
            time.sleep(POLL_SECONDS)


class Redis(Service):
    """Debian's redis-server on 127.0.0.1, persistent or not."""

    component = "redis"

    def __init__(
        self, workdir: Path, *, port: int | None = None, persistent: bool = False
    ) -> None:
        """Describe a Redis server.

        Args:
            workdir: folder for its log and, when persistent, its data.
            port: TCP port on 127.0.0.1; a free one when None.
            persistent: keep an append-only file so data survives restarts.
        """
        super().__init__(workdir, port)
        self.persistent = persistent

    @property
    def url(self) -> str:
        """Return the URL of database 0."""
        return f"redis://127.0.0.1:{self.port}/0"

    def _command(self) -> list[str]:
        persistence = (
            ["--appendonly", "yes"]
            if self.persistent
            else ["--appendonly", "no", "--save", ""]
        )
        return [
            "redis-server",
            "--bind", "127.0.0.1",
            "--port", str(self.port),
            "--dir", str(self.workdir),
            "--daemonize", "no",
            "--logfile", str(self.log_path),
            *persistence,
        ]  # fmt: skip

    def _probe(self, remaining: float) -> str | None:
        client = redis.Redis.from_url(self.url, socket_timeout=min(remaining, 2.0))
        try:
            client.ping()
        except redis.RedisError as error:
            return f"PING failed: {error}"
        finally:
            client.close()
        return None


class Prometheus(Service):
    """Debian's Prometheus server, with its lifecycle API enabled."""

    component = "prometheus"

    def __init__(
        self,
        workdir: Path,
        *,
        port: int | None = None,
        config_path: Path | None = None,
    ) -> None:
        """Describe a Prometheus server.

        Args:
            workdir: folder for its time series database and log.
            port: TCP port on 127.0.0.1; a free one when None.
            config_path: its configuration; when None, one that scrapes only
                Prometheus itself is written into ``workdir``.
        """
        super().__init__(workdir, port)
        self.config_path = Path(config_path) if config_path else None

    @property
    def url(self) -> str:
        """Return the base URL of the web API."""
        return f"http://127.0.0.1:{self.port}"

    def reload(self) -> None:
        """Ask the running server to read its configuration and rules again."""
        status = http_status(f"{self.url}/-/reload", method="POST")
        if status != 200:
            raise ServiceError(
                self.component, f"reload answered HTTP {status}", self.log_path
            )
        logger.info("reloaded component=%s pid=%s", self.component, self.pid)

    def _prepare(self, deadline: float) -> None:
        super()._prepare(deadline)
        if self.config_path is None:
            self.config_path = self.workdir / "prometheus.yml"
            write_prometheus_config(
                self.config_path,
                scrape_targets=[f"127.0.0.1:{self.port}"],
                job="prometheus",
            )

    def _command(self) -> list[str]:
        return [
            "prometheus",
            f"--config.file={self.config_path}",
            f"--storage.tsdb.path={self.workdir / 'data'}",
            f"--web.listen-address=127.0.0.1:{self.port}",
            "--web.enable-lifecycle",
        ]

    def _probe(self, remaining: float) -> str | None:
        return _probe_ready_endpoint(self.url)


class Alertmanager(Service):
    """Debian's Prometheus Alertmanager, a single instance without clustering."""

    component = "alertmanager"

    def __init__(
        self,
        workdir: Path,
        *,
        port: int | None = None,
        config_path: Path | None = None,
    ) -> None:
        """Describe an Alertmanager.

        Args:
            workdir: folder for its silences, notification log and log.
            port: TCP port on 127.0.0.1; a free one when None.
            config_path: its configuration; when None, one that routes every
                alert to a receiver that notifies nobody.
        """
        super().__init__(workdir, port)
        self.config_path = Path(config_path) if config_path else None

    @property
    def url(self) -> str:
        """Return the base URL of the web API."""
        return f"http://127.0.0.1:{self.port}"

    def _prepare(self, deadline: float) -> None:
        super()._prepare(deadline)
        if self.config_path is None:
            self.config_path = self.workdir / "alertmanager.yml"
            silent = {"route": {"receiver": "null"}, "receivers": [{"name": "null"}]}
            self.config_path.write_text(yaml.safe_dump(silent, sort_keys=False))

    def _command(self) -> list[str]:
        return [
            "prometheus-alertmanager",
            f"--config.file={self.config_path}",
            f"--storage.path={self.workdir / 'data'}",
            f"--web.listen-address=127.0.0.1:{self.port}",
            "--cluster.listen-address=",
        ]

    def _probe(self, remaining: float) -> str | None:
        return _probe_ready_endpoint(self.url)


def _probe_ready_endpoint(base_url: str) -> str | None:
    """Return None when GET /-/ready answers 200, else what it answered."""
    try:
        status = http_status(f"{base_url}/-/ready")
    except OSError as error:
        return f"GET /-/ready failed: {error}"
    return None if status == 200 else f"GET /-/ready answered HTTP {status}"


def write_prometheus_config(
    path: Path,
    *,
    scrape_targets: Sequence[str],
    job: str = "salespulse",
    rule_files: Sequence[Path] = (),
    alertmanager: str | None = None,
    scrape_interval: str = "5s",
    evaluation_interval: str = "5s",
) -> None:
    """Write a Prometheus configuration file.

    Args:
        path: file to write.
        scrape_targets: ``host:port`` of each endpoint serving /metrics.
        job: the ``job`` label of the scraped series.
        rule_files: recording and alerting rule files, made absolute.
        alertmanager: ``host:port`` or base URL of the Alertmanager to notify,
            or None to send alerts nowhere.
        scrape_interval: how often targets are scraped (a Prometheus duration).
        evaluation_interval: how often rules are evaluated.
    """
    for target in scrape_targets:
        if "://" in target or "/" in target:
            raise DeployError(
                f"scrape target {target!r} must be host:port, without scheme or path"
            )
    config: dict[str, Any] = {
        "global": {
            "scrape_interval": scrape_interval,
            "evaluation_interval": evaluation_interval,
        },
        "rule_files": [str(Path(rule_file).resolve()) for rule_file in rule_files],
        "scrape_configs": [
            {"job_name": job, "static_configs": [{"targets": list(scrape_targets)}]}
        ],
    }
    if alertmanager is not None:
        config["alerting"] = {"alertmanagers": [_alertmanager_entry(alertmanager)]}
    Path(path).write_text(yaml.safe_dump(config, sort_keys=False))


def _alertmanager_entry(address: str) -> dict[str, Any]:
    """Turn ``host:port`` or a base URL into an ``alertmanagers`` entry."""
    if "://" not in address:
        return {"static_configs": [{"targets": [address]}]}
    parts = urllib.parse.urlsplit(address)
    if not parts.netloc:
        raise DeployError(f"alertmanager address {address!r} has no host:port")
    entry: dict[str, Any] = {
        "scheme": parts.scheme,
        "static_configs": [{"targets": [parts.netloc]}],
    }
    if parts.path.strip("/"):
        entry["path_prefix"] = parts.path
    return entry


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
    ) -> None:
        """Describe a Kafka broker run from the jars that install.sh fetched.

        Args:
            workdir: folder for its log segments, configuration and log.
            port: PLAINTEXT listener on 127.0.0.1; a free one when None.
            controller_port: KRaft controller listener; a free one when None.
            heap_min: the JVM's ``-Xms``.
            heap_max: the JVM's ``-Xmx``.
        """
        super().__init__(workdir, port)
        self.controller_port = (
            controller_port if controller_port is not None else free_port()
        )
        self.heap_min = heap_min
        self.heap_max = heap_max
        self.jars = kafka_jars_folder()

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
        formatter = self._spawn(command)
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
        return "".join(f"{key}={value}\n" for key, value in settings.items())

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
            run_coroutine(kafka_round_trip(self.bootstrap_servers, remaining))
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


def run_coroutine(coroutine: Any) -> Any:
    """Run a coroutine to completion, even when the caller's loop is running."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    with ThreadPoolExecutor(max_workers=1) as worker:
        return worker.submit(asyncio.run, coroutine).result()


async def kafka_round_trip(bootstrap_servers: str, timeout: float) -> None:
    """Produce a message to the readiness topic and fetch the same one back."""
    timeout_ms = max(int(min(timeout, 10.0) * 1000), 1000)
    await ensure_topics(bootstrap_servers, {READY_TOPIC: 1}, timeout_ms=timeout_ms)

    payload = uuid.uuid4().bytes
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap_servers, request_timeout_ms=timeout_ms
    )
    await producer.start()
    try:
        written = await producer.send_and_wait(READY_TOPIC, payload, partition=0)
    finally:
        await producer.stop()

    async with _groupless_consumer(bootstrap_servers, timeout_ms) as consumer:
        partition = TopicPartition(READY_TOPIC, 0)
        consumer.assign([partition])
        consumer.seek(partition, written.offset)
        record = await asyncio.wait_for(consumer.getone(), timeout_ms / 1000)
    if record.value != payload:
        raise KafkaError(f"fetched {record.value!r} where {payload!r} was produced")


@contextlib.asynccontextmanager
async def _groupless_consumer(
    bootstrap_servers: str, timeout_ms: int
) -> AsyncIterator[Any]:
    """Yield a started consumer that belongs to no group; stop it on exit."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap_servers,
        enable_auto_commit=False,
        request_timeout_ms=timeout_ms,
    )
    await consumer.start()
    try:
        yield consumer
    finally:
        await consumer.stop()
