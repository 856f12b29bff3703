"""Give an empty Redis the simulated company's reference data."""

from __future__ import annotations

import logging
from datetime import datetime

from streams.config import Settings
from streams.reference_store import ReferenceStore, connect
from streams.simulator.company import Company
from streams.simulator.reference import reference_document

logger = logging.getLogger(__name__)


async def seed_reference(
    settings: Settings, company: Company, around: datetime
) -> bool:
    """Load the company's reference data into Redis unless Redis holds some.

    Reps with their teams, monthly targets around ``around``, stage weights,
    exchange rates and campaign channels. A Redis that already holds
    reference data (someone set targets) is left as it is.

    Returns:
        Whether the data was loaded.
    """
    client = connect(settings.redis_url, ssl_ca_certs=settings.redis_ssl_ca_certs)
    try:
        store = ReferenceStore(client, prefix=settings.redis_prefix)
        if await store.version() != 0:
            return False
        await store.import_document(reference_document(company, around=around))
    finally:
        await client.aclose()
    logger.info("reference data of the simulated company loaded into Redis")
    return True
