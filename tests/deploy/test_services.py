"""Tests of the process handling that deploy/services.py shares, run on Redis."""

from __future__ import annotations

from pathlib import Path

import pytest
import redis

from deploy.services import Redis, ServiceError


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
