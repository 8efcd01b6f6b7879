"""Test differences: fast password hashing, generous throttles, in-process channel layer and cache.

`DATABASE_URL` still picks the database, so `make test` can run the PostgreSQL pass with the
same settings. Redis-backed tests read `REDIS_URL` themselves and configure Redis explicitly,
so the rest of the suite never depends on it.
"""

from .base import *  # noqa: F401,F403
from .base import REST_FRAMEWORK

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# Tests that exercise throttling set their own low rates; everything else must not trip over them.
REST_FRAMEWORK = {
    **REST_FRAMEWORK,
    "DEFAULT_THROTTLE_RATES": {"auth": "10000/min", "order_place": "10000/min"},
}
