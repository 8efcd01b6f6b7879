"""The Redis channel layer with a bounded, blocking connection pool.

channels_redis keeps one redis-py connection pool per event loop and host. redis-py 8's asyncio
`ConnectionPool` holds at most 100 connections (`max_connections`) and raises `MaxConnectionsError` on
the 101st command in flight: at 20 orders a second a batch of pushes (one group send per store, per
customer's order, per menu, all at once) did that and the pushes failed. A `BlockingConnectionPool` of
the configured size makes a command wait up to `pool_timeout` seconds for a free connection instead, so
a burst is sent a little later rather than lost, and one process never holds more than
`max_connections` connections per loop (Redis counts them in CLIENT LIST).

Configure it per host, next to the address (see `CHANNEL_LAYERS` in orderahead/settings/base.py):
`{"address": "redis://...", "max_connections": 20, "pool_timeout": 10, ...connection options}`.
"""

from channels_redis.core import RedisChannelLayer
from channels_redis.utils import create_pool
from redis.asyncio import BlockingConnectionPool


class PooledRedisChannelLayer(RedisChannelLayer):
    def create_pool(self, index):
        host = dict(self.hosts[index])
        timeout = host.pop("pool_timeout", 10)
        if "address" not in host:  # sentinel or host/port entries: channels_redis's own pool
            return create_pool(host)
        return BlockingConnectionPool.from_url(host.pop("address"), timeout=timeout, **host)
