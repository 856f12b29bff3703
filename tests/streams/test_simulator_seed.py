"""Seeding an empty Redis with the simulated company's reference data."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from deploy.services import Redis
from streams.config import load_settings
from streams.reference_store import ReferenceStore, connect
from streams.simulator.company import default_company
from streams.simulator.seed import seed_reference

pytestmark = pytest.mark.integration


async def test_an_empty_redis_is_seeded_once(redis_server: Redis) -> None:
    settings = load_settings(
        {
            "SALESPULSE_REDIS_URL": redis_server.url,
            "SALESPULSE_REDIS_PREFIX": f"test-{uuid.uuid4().hex}:",
        }
    )
    around = datetime(2026, 12, 3, tzinfo=UTC)
    company = default_company()

    assert await seed_reference(settings, company, around)
    client = connect(settings.redis_url)
    try:
        store = ReferenceStore(client, prefix=settings.redis_prefix)
        version, data = await store.load()
        assert data.rep("rep-01").team == "na-new-business"
        assert data.targets["team", "apac", "2026-12"] == 450000
        # Someone's reference data is never overwritten.
        await store.set_target("team", "apac", "2026-12", "1")
        assert not await seed_reference(settings, company, around)
        _, kept = await store.load()
        assert kept.targets["team", "apac", "2026-12"] == 1
        assert version >= 1
    finally:
        await client.aclose()
