"""Start and stop SalesPulse's components as processes on loopback.

Each component runs as an ordinary child process in its own session, with its
data, configuration and log in a working folder. ``start()`` returns only once
the component answers a real request; ``stop()`` signals exactly the pid it
started. This module holds what every component shares, and Redis; Kafka is
in ``deploy.broker``, Prometheus and Alertmanager in ``deploy.monitoring``.

Example::

    with Redis(Path("/tmp/redis")) as redis:
        print(redis.url)
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from abc import ABC, abstractmethod
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, ClassVar, Self

import redis

logger = logging.getLogger(__name__)

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

    def kill(self) -> None:
        """Kill the process with SIGKILL, as a crash would, and reap it."""
        process, self._process = self._process, None
        if process is None:
            return
        process.kill()
        process.wait()
        logger.info("killed component=%s pid=%s", self.component, process.pid)

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

    def _spawn(
        self, command: list[str], shown: list[str] | None = None
    ) -> subprocess.Popen[bytes]:
        """Run a command in its own session, its output appended to the log.

        Args:
            command: the program and its arguments.
            shown: the command as the log may show it, secrets masked;
                ``command`` itself when None.
        """
        logger.debug(
            "spawning component=%s command=%s", self.component, shown or command
        )
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


@dataclass(frozen=True)
class RedisSecurity:
    """TLS only, and one ACL user with a password instead of the default user.

    Attributes:
        certfile: PEM certificate of the server, valid for 127.0.0.1.
        keyfile: its private key.
        cafile: PEM file of the CA that signed it, which clients trust.
        username: the only user allowed in, with every command and key.
        password: its password; stored hashed in the ACL file, left out of
            the repr.
    """

    certfile: Path
    keyfile: Path
    cafile: Path
    username: str
    password: str = field(repr=False)

    def acl(self) -> str:
        """Return the ACL file: the default user off, ours with a hashed password."""
        digest = hashlib.sha256(self.password.encode()).hexdigest()
        return (
            "user default off resetpass nocommands\n"
            f"user {self.username} on #{digest} ~* &* +@all\n"
        )


class Redis(Service):
    """Debian's redis-server on 127.0.0.1, persistent or not, TLS or not."""

    component = "redis"

    def __init__(
        self,
        workdir: Path,
        *,
        port: int | None = None,
        persistent: bool = False,
        security: RedisSecurity | None = None,
    ) -> None:
        """Describe a Redis server.

        Args:
            workdir: folder for its log and, when persistent, its data.
            port: TCP port on 127.0.0.1; a free one when None.
            persistent: keep an append-only file so data survives restarts.
            security: serve TLS only on ``port`` and admit one ACL user.
        """
        super().__init__(workdir, port)
        self.persistent = persistent
        self.security = security

    @property
    def url(self) -> str:
        """Return the URL of database 0, with the ACL user's password if any."""
        security = self.security
        if security is None:
            return f"redis://127.0.0.1:{self.port}/0"
        user = f"{security.username}:{security.password}"
        return f"rediss://{user}@127.0.0.1:{self.port}/0"

    @property
    def ssl_ca_certs(self) -> str | None:
        """Return the CA file a client of the TLS port trusts, or None."""
        return None if self.security is None else str(self.security.cafile)

    def _prepare(self, deadline: float) -> None:
        super()._prepare(deadline)
        if self.security is not None:
            acl_path = self.workdir / "users.acl"
            acl_path.touch(mode=0o600)
            acl_path.write_text(self.security.acl())

    def _command(self) -> list[str]:
        persistence = (
            ["--appendonly", "yes"]
            if self.persistent
            else ["--appendonly", "no", "--save", ""]
        )
        return [
            "redis-server",
            "--bind", "127.0.0.1",
            *self._listener(),
            "--dir", str(self.workdir),
            "--daemonize", "no",
            "--logfile", str(self.log_path),
            *persistence,
        ]  # fmt: skip

    def _listener(self) -> list[str]:
        """Return the options of the plain port, or of the TLS port and ACL."""
        security = self.security
        if security is None:
            return ["--port", str(self.port)]
        return [
            "--port", "0",
            "--tls-port", str(self.port),
            "--tls-cert-file", str(security.certfile.resolve()),
            "--tls-key-file", str(security.keyfile.resolve()),
            "--tls-ca-cert-file", str(security.cafile.resolve()),
            "--tls-auth-clients", "no",
            "--aclfile", str(self.workdir / "users.acl"),
        ]  # fmt: skip

    def _probe(self, remaining: float) -> str | None:
        tls = {} if self.security is None else {"ssl_ca_certs": self.ssl_ca_certs}
        client = redis.Redis.from_url(
            self.url, socket_timeout=min(remaining, 2.0), **tls
        )
        try:
            client.ping()
        except redis.RedisError as error:
            return f"PING failed: {error}"
        finally:
            client.close()
        return None


def run_coroutine(coroutine: Any) -> Any:
    """Run a coroutine to completion, even when the caller's loop is running."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    with ThreadPoolExecutor(max_workers=1) as worker:
        return worker.submit(asyncio.run, coroutine).result()
