"""Real local stand-ins for the outside systems notifications talk to: a Web Push service (an HTTP server that
records what it is sent, with a browser's key pair to decrypt it) and a mail server (aiosmtpd)."""

from __future__ import annotations

import base64
import email
import email.policy
import json
import secrets
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import http_ece
from aiosmtpd.controller import Controller
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(value: str) -> bytes:
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))


# --- Web Push -----------------------------------------------------------------------------------------------

@dataclass
class PushRequest:
    path: str
    headers: dict  # names in lower case
    body: bytes


@dataclass
class Browser:
    """What a browser keeps for one push subscription: its P-256 key pair and auth secret (RFC 8291)."""

    endpoint: str
    private_key: ec.EllipticCurvePrivateKey = field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))
    auth_secret: bytes = field(default_factory=lambda: secrets.token_bytes(16))

    def subscription(self) -> dict:
        """PushSubscription.toJSON(), as the browser posts it."""
        point = self.private_key.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
        return {"endpoint": self.endpoint, "expirationTime": None,
                "keys": {"p256dh": b64url(point), "auth": b64url(self.auth_secret)}}

    def decrypt(self, request: PushRequest) -> dict:
        assert request.headers["content-encoding"] == "aes128gcm"
        plain = http_ece.decrypt(request.body, private_key=self.private_key, auth_secret=self.auth_secret,
                                 version="aes128gcm")
        return json.loads(plain)


class PushService:
    """A push service on 127.0.0.1: answers 201 (or `answers[path]`) after `delay_s`, and records each request."""

    def __init__(self):
        self.requests: list[PushRequest] = []
        self.answers: dict[str, int] = {}
        self.delay_s = 0.0
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                service.requests.append(PushRequest(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                time.sleep(service.delay_s)
                self.send_response(service.answers.get(self.path, 201))
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.origin = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def browser(self) -> Browser:
        return Browser(endpoint=f"{self.origin}/push/{secrets.token_urlsafe(12)}")

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def vapid_claims(authorization: str, *, public_key: str) -> dict:
    """Check an RFC 8292 `Authorization: vapid t=<JWT>,k=<key>` header as a push service does: `k` is the
    application server key the browser subscribed with and the JWT is ES256-signed by it. Returns its claims."""
    scheme, _, params = authorization.partition(" ")
    assert scheme == "vapid"
    values = dict(part.strip().split("=", 1) for part in params.split(","))
    assert values["k"] == public_key
    header_b64, claims_b64, signature_b64 = values["t"].split(".")
    assert json.loads(b64url_decode(header_b64))["alg"] == "ES256"
    signature = b64url_decode(signature_b64)
    key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), b64url_decode(values["k"]))
    der = encode_dss_signature(int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big"))
    key.verify(der, f"{header_b64}.{claims_b64}".encode(), ec.ECDSA(hashes.SHA256()))  # raises if forged
    return json.loads(b64url_decode(claims_b64))


def vapid_key_pair() -> tuple[str, str]:
    """A fresh VAPID key pair as the settings take it: base64url private scalar and public point."""
    key = ec.generate_private_key(ec.SECP256R1())
    private = key.private_numbers().private_value.to_bytes(32, "big")
    return b64url(private), b64url(key.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint))


# --- Mail ---------------------------------------------------------------------------------------------------

class Inbox:
    """aiosmtpd handler: every message the server accepts, parsed."""

    def __init__(self):
        self.messages: list[email.message.EmailMessage] = []
        self.recipients: list[list[str]] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        self.recipients.append(list(envelope.rcpt_tos))
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class MailServer:
    """An SMTP server on 127.0.0.1 (aiosmtpd) and the Django settings that send to it."""

    def __init__(self):
        self.inbox = Inbox()
        self.port = free_port()
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)

    @property
    def settings(self) -> dict:
        return {"EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend", "EMAIL_HOST": "127.0.0.1",
                "EMAIL_PORT": self.port, "EMAIL_USE_TLS": False, "EMAIL_USE_SSL": False,
                "EMAIL_HOST_USER": "", "EMAIL_HOST_PASSWORD": ""}

    def __enter__(self):
        self.controller.start()
        return self

    def __exit__(self, *exc):
        self.controller.stop()

