"""Web Push (RFC 8030, payloads encrypted per RFC 8291, signed per RFC 8292 VAPID): the one adapter between the
services and `pywebpush`; nothing else imports it.

The VAPID key pair comes from the settings (WEBPUSH_VAPID_PRIVATE_KEY / _PUBLIC_KEY) or, when they are unset,
from a key made once into WEBPUSH_VAPID_KEY_FILE and reused: a browser's subscription is bound to the public key
it was made with, so a new key on every start would silently end every subscription.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

import requests
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from py_vapid import Vapid
from pywebpush import WebPushException, webpush

# A push service's answer that the subscription no longer exists (RFC 8030 section 7.3): forget it.
GONE_STATUSES = {404, 410}


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(value: str) -> bytes:
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))


def _key_from_file(path: Path) -> str:
    """The private key kept in `path`, made there first when missing. Written to a temporary file and linked into
    place, so workers starting together all end up with the one key that won the race."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as file:
            file.write(b64url(secrets.token_bytes(32)) + "\n")
        try:
            os.link(temporary, path)
        except FileExistsError:
            pass
        finally:
            temporary.unlink()
    return path.read_text().strip()


@lru_cache(maxsize=1)
def _vapid_key_pair() -> tuple[str, str]:
    private = settings.WEBPUSH_VAPID_PRIVATE_KEY or _key_from_file(Path(settings.WEBPUSH_VAPID_KEY_FILE))
    key = ec.derive_private_key(int.from_bytes(b64url_decode(private), "big"), ec.SECP256R1())
    return private, b64url(key.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint))


@receiver(setting_changed)
def _forget_key_pair(*, setting: str, **_) -> None:
    if setting.startswith("WEBPUSH_VAPID_"):  # tests that bring their own key pair
        _vapid_key_pair.cache_clear()


def application_server_key() -> str:
    """The VAPID public key, base64url of the uncompressed P-256 point: the browser's `applicationServerKey`."""
    return _vapid_key_pair()[1]


def push_service_allowed(endpoint: str) -> bool:
    """Is `endpoint` at one of WEBPUSH_PUSH_SERVICES ("https://host" or "https://*.host")? The server POSTs to it."""
    parts = urlsplit(endpoint)
    host = (parts.hostname or "").lower()
    for allowed in settings.WEBPUSH_PUSH_SERVICES:
        scheme, _, allowed_host = allowed.lower().partition("://")
        if parts.scheme != scheme or not host:
            continue
        if host == allowed_host or (allowed_host.startswith("*.") and host.endswith(allowed_host[1:])):
            return True
    return False


def subscription_keys_valid(*, p256dh: str, auth: str) -> bool:
    """A browser's keys as RFC 8291 defines them: a P-256 point (65 bytes, uncompressed) and a 16-byte secret."""
    try:
        point, secret = b64url_decode(p256dh), b64url_decode(auth)
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
    except ValueError:
        return False
    return len(point) == 65 and point[0] == 4 and len(secret) == 16


@dataclass(frozen=True)
class PushResult:
    delivered: bool
    gone: bool = False  # the push service says the subscription no longer exists
    status: int | None = None  # the push service's HTTP status; None when it never answered
    error: str = ""


def push_send(*, endpoint: str, p256dh: str, auth: str, payload: dict, ttl_s: int, urgency: str = "high",
              topic: str = "") -> PushResult:
    """Encrypt `payload` (JSON) for one subscription and hand it to its push service, within
    NOTIFICATION_TIMEOUT_S. Never raises for a push service's answer or a network failure: says what happened."""
    headers = {"Urgency": urgency}
    if topic:
        headers["Topic"] = topic  # a newer push with the same topic replaces one not yet delivered
    try:
        response = webpush(
            subscription_info={"endpoint": endpoint, "keys": {"p256dh": p256dh, "auth": auth}},
            data=json.dumps(payload, ensure_ascii=False),
            vapid_private_key=Vapid.from_raw(_vapid_key_pair()[0].encode()),
            # A new dict every time: pywebpush writes the audience (the endpoint's origin) and expiry into it.
            vapid_claims={"sub": settings.WEBPUSH_CONTACT},
            content_encoding="aes128gcm", ttl=ttl_s, headers=headers, timeout=settings.NOTIFICATION_TIMEOUT_S)
    except WebPushException as error:
        status = error.response.status_code if error.response is not None else None
        return PushResult(delivered=False, gone=status in GONE_STATUSES, status=status,
                          error=f"push service answered {status}" if status else str(error)[:200])
    except requests.RequestException as error:
        return PushResult(delivered=False, error=f"push service unreachable: {type(error).__name__}")
    return PushResult(delivered=True, status=response.status_code)
