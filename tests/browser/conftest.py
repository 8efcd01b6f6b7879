"""The customer app on a phone: Debian's Chromium (through Playwright) with a phone's viewport, touch and pixel
density, against a live Daphne on its own SQLite file, with a local mail server (aiosmtpd) for the emails.

One server per test module (each module's tests leave it as the next test can use it): migrating and compiling
the scheduler is most of a browser test's time on a slow machine. Every test gets a new browser context, so
storage, the service worker and its caches start empty.
"""

import json
import os
import sqlite3
import threading
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.live_server import (
    ARTIFACTS,
    CHROMIUM,
    CHROMIUM_ARGS,
    daphne,
    free_port,
    manage,
    require_browser,
    seed,
    server_env,
)

PASSWORD = "phone-pass-123"
# An iPhone 13/14-sized phone. Scale 2 keeps the screenshots small; the layout is the same at 3.
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True,
         "device_scale_factor": 2, "locale": "en-US"}
# Generous: a 2-core machine running the whole suite beside the browser is slow, and nothing here is timed.
EXPECT_TIMEOUT_MS = 30_000
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "docs" / "screenshots"

# A taxed store open all day (in a zone where it is about noon now, so "today" and "tomorrow" are whole days
# away from a local midnight) taking orders up to two days ahead, with the coffee menu of the other tests.
SEED = f"""
import json
from decimal import Decimal
from tests import factories
from stores.models import StoreMembership
store = factories.open_store(name="Harbour Roasters", slug="harbour-roasters", address="200 Harbour Way",
                             timezone=factories.midday_timezone(), max_days_ahead=2,
                             tax_rate_percent=Decimal("8.900"), prices_include_tax=False, tax_label="Sales tax")
menu = factories.coffee_menu(store)
other = factories.open_store(name="Pearl Street Coffee", slug="pearl-street", address="12 Pearl St",
                             timezone=factories.midday_timezone())
factories.coffee_menu(other)
barista = factories.user("barista", first_name="Bea")
barista.set_password({PASSWORD!r}); barista.save()
StoreMembership.objects.create(user=barista, store=store, role="barista")
customer = factories.user("customer", first_name="Cy", email="cy@example.com")
customer.set_password({PASSWORD!r}); customer.save()
print(json.dumps({{"store": store.pk, "other_store": other.pk, "espresso": menu["espresso"].pk,
                  "latte": menu["latte"].pk, "large": menu["large"].pk, "oat": menu["oat"].pk,
                  "drip": menu["drip"].pk, "croissant": menu["croissant"].pk}}))
"""


@dataclass
class MailBox:
    """What the local SMTP server received: (envelope recipients, the message as text)."""
    messages: list = field(default_factory=list)
    arrived: threading.Condition = field(default_factory=threading.Condition)

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd's handler hook
        with self.arrived:
            self.messages.append((list(envelope.rcpt_tos), envelope.content.decode("utf8", "replace")))
            self.arrived.notify_all()
        return "250 Message accepted"

    def wait_for(self, predicate, timeout: float = 60):
        with self.arrived:
            assert self.arrived.wait_for(lambda: any(predicate(m) for m in self.messages), timeout), \
                f"no such mail within {timeout} s; got {self.messages}"
            return next(m for m in self.messages if predicate(m))


@dataclass
class LiveServer:
    base: str
    ids: dict
    database: Path
    mailbox: MailBox

    def api(self, path: str, body: dict | None = None, token: str | None = None, method: str | None = None):
        headers = {"Content-Type": "application/json", "Idempotency-Key": uuid.uuid4().hex}
        if token:
            headers["Authorization"] = f"Token {token}"
        request = urllib.request.Request(f"{self.base}/api{path}", headers=headers,
                                         data=json.dumps(body).encode() if body is not None else None,
                                         method=method or ("POST" if body is not None else "GET"))
        with urllib.request.urlopen(request, timeout=60) as response:
            text = response.read()
            return json.loads(text) if text else None

    def token(self, username: str) -> str:
        return self.api("/auth/login/", {"username": username, "password": PASSWORD})["token"]

    def sql(self, statement: str, *parameters):
        """Change the live server's data behind its back, as another till or the manager would."""
        with sqlite3.connect(self.database, timeout=30) as db:
            return db.execute(statement, parameters).fetchall()


def seeded_server(tmp_path_factory, name: str, seed_script: str):
    """A module's own live server (the phone tests' `live` below has no manager): a fresh SQLite database in a
    folder called `name`, migrated and seeded by `seed_script` (see tests.live_server.seed). Yields the
    LiveServer; use it as `yield from seeded_server(...)` in a module-scoped `live` fixture."""
    require_browser()
    folder = tmp_path_factory.mktemp(name)
    database = folder / f"{name}.sqlite3"
    env = server_env(DATABASE_URL=f"sqlite:///{database}", SERVE_STATIC="1", DEBUG="0", SERVE_VAR=str(folder),
                     THROTTLE_ORDER_PLACE="1000/min", THROTTLE_AUTH="1000/min", THROTTLE_QUOTE="1000/min")
    manage(env, "migrate", "--noinput")
    ids = seed(env, seed_script)
    with daphne(env, folder / "daphne.log") as base:
        yield LiveServer(base=base, ids=ids, database=database, mailbox=MailBox())


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    require_browser()
    from aiosmtpd.controller import Controller

    folder = tmp_path_factory.mktemp("phone")
    mailbox = MailBox()
    smtp_port = free_port()
    smtp = Controller(mailbox, hostname="127.0.0.1", port=smtp_port)
    smtp.start()
    try:
        database = folder / "phone.sqlite3"
        env = server_env(DATABASE_URL=f"sqlite:///{database}", SERVE_STATIC="1", DEBUG="0", SERVE_VAR=str(folder),
                         THROTTLE_ORDER_PLACE="1000/min", THROTTLE_AUTH="1000/min", THROTTLE_QUOTE="1000/min",
                         EMAIL_HOST="127.0.0.1", EMAIL_PORT=str(smtp_port),
                         EMAIL_USE_TLS="0", EMAIL_USE_SSL="0")
        manage(env, "migrate", "--noinput")
        ids = seed(env, SEED)
        with daphne(env, folder / "daphne.log") as base:
            server = LiveServer(base=base, ids=ids, database=database, mailbox=mailbox)
            # The first quote in a fresh process loads the scheduler: not what any test here is about.
            server.api(f"/stores/{ids['store']}/quote/", {"items": [{"item": ids["drip"], "quantity": 1}],
                                                          "pickup": "asap"})
            yield server
    finally:
        smtp.stop()
        if os.environ.get("CI", "").lower() == "true" and (folder / "daphne.log").exists():
            ARTIFACTS.mkdir(exist_ok=True)
            (ARTIFACTS / f"phone-daphne-{folder.name}.log").write_text((folder / "daphne.log").read_text())


@pytest.fixture(scope="module")
def chromium(live):
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=EXPECT_TIMEOUT_MS)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class Phone:
    """One customer's phone: a browser context (its tabs share storage and the service worker)."""
    context: object
    server: LiveServer
    token: str | None
    errors: list

    def open(self, route: str = "/"):
        page = self.context.new_page()
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        page.goto(f"{self.server.base}{route}")
        return page


def new_phone(browser, server: LiveServer, username: str | None = "customer", **options) -> Phone:
    """A phone context, signed in as `username` (the app keeps its token in localStorage) unless None."""
    context = browser.new_context(**PHONE, **options)
    context.set_default_timeout(EXPECT_TIMEOUT_MS)
    token = server.token(username) if username else None
    if token:
        # Before the app's scripts run on the first page; later pages keep whatever the app stored.
        context.add_init_script(f"if (location.protocol.startsWith('http') && !sessionStorage.getItem('signed-in'))"
                                f" {{ sessionStorage.setItem('signed-in', 1); localStorage.setItem('token', {json.dumps(token)}); }}")
    return Phone(context=context, server=server, token=token, errors=[])


@pytest.fixture
def phone(chromium, live):
    device = new_phone(chromium, live)
    ARTIFACTS.mkdir(exist_ok=True)
    yield device
    device.context.close()


def admin_sign_in(page, url: str, username: str) -> None:
    """Open `url`, which shows the admin's login form, and sign in there as `username` (the tests' password)."""
    page.goto(url)
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


def save_screenshot(page, name: str) -> None:
    """test-artifacts/<name>.png always; docs/screenshots/<name>.png too when UPDATE_SCREENSHOTS=1, squeezed
    (256 colours, optimised) so each stays well under 150 KB."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"phone-{name}.png"
    page.screenshot(path=str(path), full_page=False)
    if os.environ.get("UPDATE_SCREENSHOTS") == "1":
        from PIL import Image

        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        target = SCREENSHOTS / f"{name}.png"
        with Image.open(path) as image:
            image.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(target, optimize=True)
        assert target.stat().st_size <= 150_000, f"{target} is {target.stat().st_size} bytes"
