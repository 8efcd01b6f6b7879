"""A local HTTP double of the parts of the Stripe API the project uses, for the real `stripe` library to talk to.

It runs in a thread of the test process (`http.server.ThreadingHTTPServer` on 127.0.0.1, a free port) and
serves, like api.stripe.com does:

    POST /v1/payment_intents                 create (capture_method=manual; confirm=true with payment_method)
    GET  /v1/payment_intents/{id}            retrieve
    POST /v1/payment_intents/{id}/confirm    confirm with a payment method (what stripe.js does in the browser)
    POST /v1/payment_intents/{id}/capture    capture (amount_to_capture)
    POST /v1/payment_intents/{id}/cancel     cancel (release the hold)
    POST /v1/refunds                         refund part or all of a captured intent

with Stripe's form-encoded parameters, error bodies (`card_error` with the intent, `invalid_request_error`,
`idempotency_error`) and Idempotency-Key semantics: the same key with the same parameters answers with the
first response, with other parameters it is an error. Stripe's test payment methods behave as documented:
`pm_card_visa` succeeds, `pm_card_chargeDeclined` is declined, `pm_card_authenticationRequired` needs 3-D Secure.

Faults are injected per endpoint with `fail_next`: `drop` handles the request and then closes the connection
without answering (a response lost on the way back), `error` answers with a status and error body instead.

`signed_event` builds a webhook delivery signed with Stripe's scheme: header
`Stripe-Signature: t={timestamp},v1={HMAC-SHA256(secret, f"{timestamp}.{payload}")}`.
"""

import hashlib
import hmac
import itertools
import json
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl

DECLINED = {"pm_card_chargeDeclined", "pm_card_visa_chargeDeclined", "pm_card_chargeDeclinedInsufficientFunds"}
NEEDS_ACTION = {"pm_card_authenticationRequired", "pm_card_threeDSecure2Required"}
CANCELABLE = {"requires_payment_method", "requires_confirmation", "requires_action", "processing", "requires_capture"}


@dataclass
class Fault:
    method: str
    path: re.Pattern
    mode: str  # "drop" or "error"
    times: int
    status: int = 500
    error: dict = field(default_factory=dict)


@dataclass
class Seen:
    method: str
    path: str
    params: dict
    idempotency_key: str | None
    replayed: bool = False


def _nest(pairs: list[tuple[str, str]]) -> dict:
    """Stripe's form encoding (metadata[order_id]=7, automatic_payment_methods[enabled]=true) as a dict."""
    out: dict = {}
    for key, value in pairs:
        parts = re.findall(r"[^\[\]]+", key)
        node = out
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return out


class StripeDouble:
    def __init__(self, api_key: str = "sk_test_double"):
        self.api_key = api_key
        self.intents: dict[str, dict] = {}
        self.refunds: dict[str, dict] = {}
        self.requests: list[Seen] = []
        self._idempotent: dict[str, tuple[str, int, dict]] = {}
        self._faults: list[Fault] = []
        self._lock = threading.RLock()
        self._ids = itertools.count(1)
        self._server: ThreadingHTTPServer | None = None

    # --- Lifecycle and test controls ----------------------------------------------------------------------

    def start(self) -> "StripeDouble":
        double = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                double._handle(self, "GET")

            def do_POST(self):
                double._handle(self, "POST")

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def fail_next(self, method: str, path: str, *, mode: str = "drop", times: int = 1, status: int = 500,
                  error: dict | None = None) -> None:
        with self._lock:
            error = error or {"type": "api_error", "message": "Something went wrong on Stripe's end."}
            self._faults.append(Fault(method, re.compile(path), mode, times, status, error))

    def calls(self, method: str, path: str) -> list[Seen]:
        pattern = re.compile(path)
        return [seen for seen in self.requests if seen.method == method and pattern.search(seen.path)]

    def intent(self, intent_id: str | None = None) -> dict:
        """The one intent there is (or the one named): the tests' way to look inside 'Stripe'."""
        if intent_id is None:
            assert len(self.intents) == 1, f"expected one intent, Stripe has {len(self.intents)}"
            return next(iter(self.intents.values()))
        return self.intents[intent_id]

    def confirm(self, intent_id: str, payment_method: str) -> dict:
        """What the customer's browser does through stripe.js: confirm the intent with a card."""
        with self._lock:
            status, body = self._confirm(self.intents[intent_id], payment_method)
        return body

    def expire(self, intent_id: str) -> None:
        """Stripe cancels an uncaptured intent when its authorisation runs out (7 days)."""
        with self._lock:
            intent = self.intents[intent_id]
            intent.update(status="canceled", cancellation_reason="automatic", amount_capturable=0)

    # --- HTTP -------------------------------------------------------------------------------------------

    def _handle(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length).decode() if length else ""
        path, _, query = handler.path.partition("?")
        params = _nest(parse_qsl(raw or query, keep_blank_values=True))
        key = handler.headers.get("Idempotency-Key") if method == "POST" else None
        if handler.headers.get("Authorization") != f"Bearer {self.api_key}":
            return self._send(handler, 401, {"error": {"type": "invalid_request_error",
                                                       "message": "Invalid API Key provided."}})
        with self._lock:
            seen = Seen(method, path, params, key)
            self.requests.append(seen)
            fault = next((f for f in self._faults if f.method == method and f.path.search(path) and f.times > 0), None)
            if fault:
                fault.times -= 1
            if fault and fault.mode == "error":
                return self._send(handler, fault.status, {"error": fault.error})
            fingerprint = json.dumps([method, path, params], sort_keys=True)
            if key and key in self._idempotent:
                first, status, body = self._idempotent[key]
                seen.replayed = True
                if first != fingerprint:
                    status, body = 400, {"error": {
                        "type": "idempotency_error",
                        "message": "Keys for idempotent requests can only be used with the same parameters they "
                                   "were first used with."}}
            else:
                status, body = self._route(method, path, params)
                if key:
                    self._idempotent[key] = (fingerprint, status, body)
        if fault and fault.mode == "drop":
            handler.close_connection = True
            return  # handled, but the answer is lost on the way back
        self._send(handler, status, body, replayed=seen.replayed)

    @staticmethod
    def _send(handler, status: int, body: dict, replayed: bool = False) -> None:
        data = json.dumps(body).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        handler.send_header("Request-Id", f"req_{secrets.token_hex(6)}")
        if replayed:
            handler.send_header("Idempotent-Replayed", "true")
        handler.end_headers()
        handler.wfile.write(data)

    def _route(self, method: str, path: str, params: dict) -> tuple[int, dict]:
        if method == "POST" and path == "/v1/payment_intents":
            return self._create(params)
        if method == "POST" and path == "/v1/refunds":
            return self._refund(params)
        match = re.fullmatch(r"/v1/payment_intents/([^/]+)(?:/(confirm|capture|cancel))?", path)
        if match and match.group(1) in self.intents:
            intent, action = self.intents[match.group(1)], match.group(2)
            if method == "GET" and action is None:
                return 200, dict(intent)
            if method == "POST" and action == "confirm":
                return self._confirm(intent, params.get("payment_method", ""))
            if method == "POST" and action == "capture":
                return self._capture(intent, params)
            if method == "POST" and action == "cancel":
                return self._cancel(intent)
        return 404, {"error": {"type": "invalid_request_error", "code": "resource_missing",
                               "message": f"Unrecognized request URL ({method}: {path})."}}

    # --- PaymentIntents ---------------------------------------------------------------------------------

    def _new_id(self, prefix: str) -> str:
        return f"{prefix}_{next(self._ids):04d}{secrets.token_hex(6)}"

    def _create(self, params: dict) -> tuple[int, dict]:
        if "amount" not in params or "currency" not in params:
            return 400, {"error": {"type": "invalid_request_error", "message": "Missing required param: amount."}}
        intent_id = self._new_id("pi")
        intent = {
            "id": intent_id, "object": "payment_intent", "amount": int(params["amount"]),
            "currency": params["currency"], "capture_method": params.get("capture_method", "automatic"),
            "metadata": params.get("metadata", {}), "description": params.get("description"),
            "status": "requires_payment_method", "amount_capturable": 0, "amount_received": 0,
            "client_secret": f"{intent_id}_secret_{secrets.token_hex(8)}", "payment_method": None,
            "last_payment_error": None, "latest_charge": None, "created": int(time.time()), "livemode": False,
            "cancellation_reason": None,
        }
        self.intents[intent_id] = intent
        if params.get("confirm") == "true":
            return self._confirm(intent, params.get("payment_method", ""))
        return 200, dict(intent)

    def _confirm(self, intent: dict, payment_method: str) -> tuple[int, dict]:
        if intent["status"] not in ("requires_payment_method", "requires_confirmation"):
            return self._unexpected(intent, "confirm")
        intent["payment_method"] = payment_method
        if payment_method in DECLINED:
            error = {"type": "card_error", "code": "card_declined", "decline_code": "generic_decline",
                     "message": "Your card was declined."}
            intent.update(status="requires_payment_method", last_payment_error=error)
            return 402, {"error": {**error, "payment_intent": dict(intent)}}
        if payment_method in NEEDS_ACTION:
            intent.update(status="requires_action", last_payment_error=None)
            return 200, dict(intent)
        manual = intent["capture_method"] == "manual"
        intent.update(status="requires_capture" if manual else "succeeded", last_payment_error=None,
                      amount_capturable=intent["amount"] if manual else 0,
                      amount_received=0 if manual else intent["amount"], latest_charge=self._new_id("ch"))
        return 200, dict(intent)

    def _capture(self, intent: dict, params: dict) -> tuple[int, dict]:
        if intent["status"] != "requires_capture":
            return self._unexpected(intent, "capture")
        amount = int(params.get("amount_to_capture") or intent["amount_capturable"])
        if amount > intent["amount_capturable"]:
            return 400, {"error": {"type": "invalid_request_error", "code": "amount_too_large",
                                   "message": "The amount to capture is more than the amount capturable."}}
        intent.update(status="succeeded", amount_received=amount, amount_capturable=0)
        return 200, dict(intent)

    def _cancel(self, intent: dict) -> tuple[int, dict]:
        if intent["status"] not in CANCELABLE:
            return self._unexpected(intent, "cancel")
        intent.update(status="canceled", cancellation_reason="requested_by_customer", amount_capturable=0)
        return 200, dict(intent)

    def _unexpected(self, intent: dict, action: str) -> tuple[int, dict]:
        return 400, {"error": {
            "type": "invalid_request_error", "code": "payment_intent_unexpected_state",
            "message": f"This PaymentIntent could not be {action}ed because it has a status of {intent['status']}.",
            "payment_intent": dict(intent)}}

    def _refund(self, params: dict) -> tuple[int, dict]:
        intent = self.intents.get(params.get("payment_intent", ""))
        if intent is None or intent["status"] != "succeeded":
            return 400, {"error": {"type": "invalid_request_error", "code": "charge_not_refundable",
                                   "message": "This PaymentIntent has no successful charge to refund."}}
        refunded = sum(r["amount"] for r in self.refunds.values() if r["payment_intent"] == intent["id"])
        amount = int(params.get("amount") or intent["amount_received"] - refunded)
        if amount > intent["amount_received"] - refunded:
            return 400, {"error": {"type": "invalid_request_error", "code": "amount_too_large",
                                   "message": "Refund amount is greater than unrefunded amount on charge."}}
        refund = {"id": self._new_id("re"), "object": "refund", "amount": amount, "currency": intent["currency"],
                  "payment_intent": intent["id"], "status": "succeeded", "metadata": params.get("metadata", {})}
        self.refunds[refund["id"]] = refund
        return 200, refund


# --- Webhooks ---------------------------------------------------------------------------------------------

def sign(payload: str, secret: str, timestamp: int | None = None) -> str:
    timestamp = int(time.time()) if timestamp is None else timestamp
    signature = hmac.new(secret.encode(), f"{timestamp}.{payload}".encode(), hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={signature}"


def signed_event(event_type: str, obj: dict, *, secret: str, event_id: str | None = None,
                 timestamp: int | None = None) -> tuple[bytes, str]:
    """A webhook delivery as Stripe sends it: the JSON event and its Stripe-Signature header."""
    event = {"id": event_id or f"evt_{secrets.token_hex(12)}", "object": "event", "api_version": "2025-01-27.acacia",
             "created": int(time.time()), "type": event_type, "livemode": False, "pending_webhooks": 1,
             "request": {"id": None, "idempotency_key": None}, "data": {"object": obj}}
    payload = json.dumps(event)
    return payload.encode(), sign(payload, secret, timestamp)
