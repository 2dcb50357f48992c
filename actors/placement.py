"""Which shard hosts an entity: a stable hash of its placement key over a fixed shard count, so
no entity is ever active in two shards."""

import zlib


def shard_index(key: int, shard_count: int) -> int:
    return zlib.crc32(str(key).encode()) % shard_count


def shard_name(index: int) -> str:
    return f"shard-{index}"
