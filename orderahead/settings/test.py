"""Test differences: fast password hashing, generous throttles, in-process channel layer and cache.

`DATABASE_URL` still picks the database, so `make test` can run the PostgreSQL pass with the
same settings. Redis-backed tests read `REDIS_URL` themselves and configure Redis explicitly,
so the rest of the suite never depends on it.
"""

from .base import *  # noqa: F401,F403
from .base import DATABASES, REST_FRAMEWORK, WEBPUSH_VAPID_PRIVATE_KEY

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# Tests that exercise throttling set their own low rates; everything else must not trip over them.
REST_FRAMEWORK = {
    **REST_FRAMEWORK,
    "DEFAULT_THROTTLE_RATES": {"auth": "10000/min", "order_place": "10000/min", "quote": "10000/min",
                               "member_identify": "10000/min"},
}

# The PostgreSQL concurrency tests run up to 100 client threads in this one process, each holding its own
# connection for the whole test (a Daphne worker lends a connection per request instead), so the pool must
# hold them all; the server allows 100 in all.
if "pool" in DATABASES["default"].get("OPTIONS", {}):
    DATABASES["default"]["OPTIONS"]["pool"]["max_size"] = 90

# Notifications go out in the thread that made the order ready (after its commit), so a test sees them at once
# and never meets a background thread on its database; tests of the background pool turn this off.
NOTIFICATIONS_SYNC = True
NOTIFICATION_TIMEOUT_S = 3.0
# A VAPID key pair of this run's own, so no test writes one into var/ (the key-file test points elsewhere).
if not WEBPUSH_VAPID_PRIVATE_KEY:
    from base64 import urlsafe_b64encode

    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    _vapid = ec.generate_private_key(ec.SECP256R1())
    WEBPUSH_VAPID_PRIVATE_KEY = urlsafe_b64encode(_vapid.private_numbers().private_value.to_bytes(32, "big")
                                                  ).rstrip(b"=").decode()
    WEBPUSH_VAPID_PUBLIC_KEY = urlsafe_b64encode(_vapid.public_key().public_bytes(
        Encoding.X962, PublicFormat.UncompressedPoint)).rstrip(b"=").decode()
