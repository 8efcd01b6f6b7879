"""The customer app as an installed PWA on a phone: its service worker keeps the last order readable offline (and
the app says it is offline), and it shows a Web Push "order ready" as a notification whose click opens the order.

Headless Chromium without a network cannot subscribe at a real push service, so the push is delivered to the
service worker through the DevTools protocol (ServiceWorker.deliverPushMessage), as DevTools' own "Push" button
does; the server's sending to a push service is tested against a local double in tests/fulfilment. The
subscription the app sends to the server comes from a stand-in PushManager.subscribe with real P-256 keys.
"""

import base64
import json
import re

import pytest

from tests.browser.conftest import new_phone, save_screenshot

pytestmark = [pytest.mark.browser, pytest.mark.slow]

OFFLINE_BANNER = "You're offline — showing your last saved order"


def place_order(server, token: str, **extra) -> dict:
    items = [{"item": server.ids["latte"], "quantity": 1, "modifiers": [server.ids["large"], server.ids["oat"]]},
             {"item": server.ids["drip"], "quantity": 1}]
    return server.api("/orders/", {"store": server.ids["store"], "items": items, "pickup": "asap", **extra},
                      token=token)


def wait_for_service_worker(page) -> None:
    """Until the service worker is installed (shell pre-cached) and controls the page."""
    page.wait_for_function("() => navigator.serviceWorker && navigator.serviceWorker.controller !== null")
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")


def test_the_app_installs_and_works_offline_after_a_first_visit(phone):
    from playwright.sync_api import expect

    page = phone.open("/")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    manifest = page.evaluate("fetch(document.querySelector('link[rel=manifest]').href).then(r => r.json())")
    assert manifest["display"] == "standalone" and manifest["start_url"] == "/"
    wait_for_service_worker(page)
    # Chromium's own verdict: the manifest parses, and nothing but this test's private window stops an install.
    devtools = phone.context.new_cdp_session(page)
    assert devtools.send("Page.getAppManifest")["errors"] == []
    blockers = devtools.send("Page.getInstallabilityErrors")["installabilityErrors"]
    assert [b["errorId"] for b in blockers if b["errorId"] != "in-incognito"] == []
    devtools.detach()

    order = place_order(phone.server, phone.token)
    page.goto(f"{phone.server.base}/#/order/{order['id']}")
    heading = page.get_by_role("heading", name=re.compile(rf"Order #{order['id']}\b"))
    expect(heading).to_be_visible()
    page.wait_for_load_state("networkidle")
    expect(page.get_by_role("status").filter(has_text=OFFLINE_BANNER)).to_have_count(0)

    phone.context.set_offline(True)
    try:
        page.reload()
        expect(heading).to_be_visible()  # the shell from the worker's cache, the order from its last copy
        expect(page.get_by_text(OFFLINE_BANNER)).to_be_visible()
        expect(page.get_by_text(re.compile(r"Latte"))).not_to_have_count(0)
        save_screenshot(page, "offline-order")
        assert page.evaluate("navigator.serviceWorker.controller !== null")
        # Another account on the same phone: the saved copy is the first account's, not for this one.
        page.evaluate("localStorage.setItem('token', 'another-account-token')")
        page.reload()
        expect(page.get_by_text(OFFLINE_BANNER)).to_be_visible()
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        expect(heading).to_have_count(0)
        page.evaluate(f"localStorage.setItem('token', {json.dumps(phone.token)})")
    finally:
        phone.context.set_offline(False)
    expect(page.get_by_text(OFFLINE_BANNER)).to_be_hidden()  # back online: the banner goes by itself


def p256_subscription_keys() -> dict:
    """What a browser's PushSubscription.toJSON() carries: its P-256 public key and a 16-byte auth secret."""
    import os

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    point = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    encode = lambda raw: base64.urlsafe_b64encode(raw).rstrip(b"=").decode()  # noqa: E731
    return {"p256dh": encode(point), "auth": encode(os.urandom(16))}


# The browser's own subscribe() needs a push service on the network; this stand-in answers what it would.
FAKE_SUBSCRIBE = """([endpoint, keys]) => {
  PushManager.prototype.subscribe = async function (options) {
    window.__subscribedWith = { userVisibleOnly: options.userVisibleOnly,
                                keyLength: new Uint8Array(options.applicationServerKey).length };
    return { endpoint, toJSON: () => ({ endpoint, expirationTime: null, keys }),
             unsubscribe: async () => true };
  };
  PushManager.prototype.getSubscription = async function () { return null; };
}"""


@pytest.fixture
def notifying_phone(chromium, live):
    """A phone that allowed this site's notifications, on the app with its service worker in control."""
    phone = new_phone(chromium, live)
    phone.context.grant_permissions(["notifications"], origin=live.base)
    page = phone.open("/")
    wait_for_service_worker(page)
    yield phone, page
    phone.context.close()


def test_the_app_subscribes_this_browser_to_push(notifying_phone, live):
    phone, page = notifying_phone
    assert page.evaluate("window.OrderAheadPush.supported()")
    assert page.evaluate("Notification.permission") == "granted"

    # subscribe(): the server's VAPID key in, the browser's subscription POSTed with the customer's token.
    settings = live.api("/me/notifications/", token=phone.token)
    endpoint = "https://fcm.googleapis.com/fcm/send/phone-test-" + phone.token[:8]
    page.evaluate(FAKE_SUBSCRIBE, [endpoint, p256_subscription_keys()])
    assert page.evaluate("key => window.OrderAheadPush.subscribe(key)", settings["push_public_key"]) is True
    assert page.evaluate("window.__subscribedWith") == {"userVisibleOnly": True, "keyLength": 65}
    assert live.api("/me/notifications/", token=phone.token)["push_subscriptions"] == 1
    assert phone.errors == []


def deliver_push(phone, page, payload: dict) -> None:
    """What the push service does when the server pushes: the worker gets a push event with `payload`."""
    session = phone.context.new_cdp_session(page)
    registrations = []
    session.on("ServiceWorker.workerRegistrationUpdated", lambda event: registrations.extend(event["registrations"]))
    session.send("ServiceWorker.enable")
    scope = f"{phone.server.base}/"
    for _ in range(300):  # the registrations arrive as protocol events, soon after enable
        if any(r["scopeURL"] == scope for r in registrations):
            break
        page.wait_for_timeout(100)
    registration = next(r for r in registrations if r["scopeURL"] == scope)
    session.send("ServiceWorker.deliverPushMessage", {"origin": phone.server.base, "data": json.dumps(payload),
                                                      "registrationId": registration["registrationId"]})


SHOWN_NOTIFICATIONS = """() => navigator.serviceWorker.ready.then(r => r.getNotifications()).then(list =>
    list.map(n => ({title: n.title, body: n.body, tag: n.tag, url: n.data.url})))"""


def shown_notifications(page, until) -> list:
    """The worker's notifications, read again (Playwright runs meanwhile) until `until(them)` holds or 30 s pass."""
    for _ in range(150):
        shown = page.evaluate(SHOWN_NOTIFICATIONS)
        if until(shown):
            return shown
        page.wait_for_timeout(200)
    return shown


def test_ready_push_shows_a_notification_whose_click_opens_the_order(notifying_phone, live):
    from playwright.sync_api import expect

    phone, page = notifying_phone
    order = place_order(live, phone.token)
    payload = {"title": "Your order is ready", "body": f"Order #{order['id']} at Harbour Roasters. Code 4F7K.",
               "url": f"/#/order/{order['id']}", "tag": f"order-{order['id']}"}
    deliver_push(phone, page, payload)
    assert shown_notifications(page, until=lambda shown: shown) == [payload]

    # The customer taps it: the app's open window goes to the order. (A synthetic click has no user activation,
    # so the worker cannot focus or open a window here; navigating the open one is what it does first.)
    worker = (phone.context.service_workers or [phone.context.wait_for_event("serviceworker")])[0]
    worker.evaluate("""async () => {
        const [notification] = await self.registration.getNotifications();
        self.dispatchEvent(new NotificationEvent("notificationclick", { notification }));
    }""")
    expect(page).to_have_url(re.compile(rf"#/order/{order['id']}$"))
    expect(page.get_by_role("heading", name=re.compile(rf"Order #{order['id']}\b"))).to_be_visible()
    assert shown_notifications(page, until=lambda shown: not shown) == []  # a click closes it
    assert phone.errors == []
