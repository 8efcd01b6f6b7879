"""Strict readers for settings that come from the environment.

A bad value stops the process at start with a message naming the variable,
instead of surfacing later as a confusing failure in a request.
"""

import ipaddress
import math
import os

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean (use 1/0, true/false, yes/no, on/off)")


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not an integer") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name}={raw!r} must be an integer >= {minimum}")
    return value


def env_float(name: str, default: float, *, minimum: float | None = None) -> float:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a number") from None
    if not math.isfinite(value) or (minimum is not None and value < minimum):
        raise ImproperlyConfigured(f"{name}={raw!r} must be a number >= {minimum:g}")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [part.strip() for part in raw.split(",") if part.strip()]


def database_from_url(url: str, *, base_dir, pool_max_size: int = 10, pool_timeout_s: float = 10.0) -> dict:
    """Turn `sqlite:///path` or `postgres://user:pass@host:port/name` into a DATABASES entry.

    PostgreSQL goes through psycopg's connection pool: under ASGI every request runs in a thread of its
    own, so persistent per-thread connections (CONN_MAX_AGE) piled up until the server refused clients.
    A pool bounds one process's connections at `pool_max_size` and lends them per request.
    """
    scheme = url.split("://", 1)[0].lower()
    if scheme not in ("sqlite", "postgres", "postgresql", "pgsql"):
        raise ImproperlyConfigured(f"DATABASE_URL scheme {scheme!r} is not supported (use sqlite:// or postgres://)")
    try:
        database = dj_database_url.parse(url, conn_max_age=0)
    except ValueError as error:
        raise ImproperlyConfigured(f"DATABASE_URL is not a database address: {error}") from None
    if database["ENGINE"] == "django.db.backends.sqlite3":
        name = database["NAME"] or "db.sqlite3"
        database["NAME"] = name if os.path.isabs(name) else str(base_dir / name)
        # IMMEDIATE takes the write lock at BEGIN, so two concurrent order
        # placements queue up instead of failing with "database is locked".
        database["OPTIONS"] = {"transaction_mode": "IMMEDIATE", "timeout": 20,
                               "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"}
        return database
    # min_size 1: a worker keeps one warm connection. With a pool, Django turns CONN_HEALTH_CHECKS into the
    # pool's check, so a connection the server dropped is replaced before a request gets it.
    database["OPTIONS"] = {"pool": {"min_size": 1, "max_size": pool_max_size, "timeout": pool_timeout_s}}
    database["CONN_HEALTH_CHECKS"] = True
    return database


# The periods DRF's throttles understand: DRF reads only the first letter ("10/min", "10/m", "10/minute").
RATE_PERIODS_S = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(rate: str) -> tuple[int, int]:
    """'10/min' -> (10, 60): how many in how many seconds. ValueError if it is not such a rate."""
    count, _, period = rate.strip().partition("/")
    count, period = count.strip(), period.strip().lower()
    if not count.isdigit() or int(count) < 1 or not period or period[0] not in RATE_PERIODS_S \
            or not period.isalpha():
        raise ValueError(f"{rate!r} is not a rate")
    return int(count), RATE_PERIODS_S[period[0]]


def env_rate(name: str, default: str) -> str:
    """A rate such as `10/min` (per second, minute, hour or day), checked at start instead of at the first
    request a throttle sees."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        count, _ = parse_rate(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a rate (use a count per period: 10/sec, 10/min, "
                                   "10/hour or 10/day)") from None
    return f"{count}/{raw.strip().partition('/')[2].strip().lower()}"


def env_networks(name: str) -> list[str]:
    """A comma list of IP addresses or CIDR ranges (`10.0.0.0/8, 2001:db8::1`), normalised to networks.
    Unset or empty is an empty list."""
    networks = []
    for part in env_list(name, []):
        try:
            networks.append(str(ipaddress.ip_network(part, strict=False)))
        except ValueError:
            raise ImproperlyConfigured(f"{name}: {part!r} is not an IP address or a CIDR range "
                                       "(use e.g. 10.0.0.5, 10.0.0.0/8 or 2001:db8::/32)") from None
    return networks


def env_secret_key(name: str, value: str, *, insecure_defaults: tuple[str, ...]) -> str:
    """A secret key strong enough for production, by Django's own `check --deploy` rule (security.W009):
    at least 50 characters, at least 5 different ones, and not a known development key."""
    if not value:
        raise ImproperlyConfigured(f"{name} is not set; production needs a random key of at least 50 characters "
                                   "(python -c 'from django.core.management.utils import get_random_secret_key;"
                                   " print(get_random_secret_key())')")
    if value.startswith(insecure_defaults):
        raise ImproperlyConfigured(f"{name} is a development key; set a random key of at least 50 characters")
    if len(value) < 50 or len(set(value)) < 5:
        raise ImproperlyConfigured(f"{name} is too weak ({len(value)} characters, {len(set(value))} different); "
                                   "use a random key of at least 50 characters with at least 5 different ones")
    return value


def _b64url_decode(value: str) -> bytes:
    import base64

    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))


def env_vapid_keys(private_name: str, public_name: str) -> tuple[str, str]:
    """The Web Push (VAPID) key pair as base64url: the private key's 32 raw bytes and the public key's 65-byte
    uncompressed point (what a browser's `applicationServerKey` takes), as `npx web-push generate-vapid-keys`
    prints them. Both unset: ("", "") (a key pair is then made once into var/, fulfilment.services.webpush).
    One without the other, a value that is not such a key, or a public key that is not the private key's: an
    error at start, not pushes every browser rejects."""
    private, public = env_str(private_name).strip(), env_str(public_name).strip()
    if not private and not public:
        return "", ""
    if not private or not public:
        raise ImproperlyConfigured(f"Set both {private_name} and {public_name} (a VAPID key pair), or neither")
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    try:
        raw = _b64url_decode(private)
        if len(raw) != 32:
            raise ValueError
        key = ec.derive_private_key(int.from_bytes(raw, "big"), ec.SECP256R1())
    except ValueError:
        raise ImproperlyConfigured(f"{private_name} is not a VAPID private key (base64url of 32 bytes)") from None
    derived = key.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    try:
        given = _b64url_decode(public)
    except ValueError:
        given = b""
    if given != derived:
        raise ImproperlyConfigured(f"{public_name} is not the public key of {private_name} (base64url of the "
                                   "65-byte uncompressed point)")
    return private, public
