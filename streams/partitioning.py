"""Which partition an entity lives in: Kafka's default partitioner, cached.

The engine keeps each entity (a deal, a lead, an account, a rep's activities,
a campaign's costs) in the partition that Kafka's default partitioner (murmur2
of the key, as the Java client and aiokafka compute it) gives the entity's id.
An event that arrives on another partition, because its producer keyed or
partitioned it otherwise, is forwarded there through the repartition topic.
"""

from __future__ import annotations

from aiokafka.partitioner import murmur2

# Ids repeat (a deal has several events, a rep thousands): remembering the
# answer saves a pure-Python hash; the bound keeps memory flat.
_CACHE_LIMIT = 500_000


class Partitioner:
    """Map entity ids to partitions the way Kafka's default partitioner does."""

    def __init__(self, partitions: int) -> None:
        self.partitions = partitions
        self._cache: dict[bytes, int] = {}

    def partition_of(self, key: bytes) -> int:
        """Return the partition of the entity whose id is ``key``."""
        partition = self._cache.get(key)
        if partition is None:
            if len(self._cache) >= _CACHE_LIMIT:
                self._cache.clear()
            partition = (murmur2(key) & 0x7FFFFFFF) % self.partitions
            self._cache[key] = partition
        return partition
