"""What the customer app costs a phone: bytes over the network and time until the first view is on screen, for its
main pages, on a slow phone (CPU throttled 4x) over a fast-3G-like link (DevTools' preset: 562.5 ms round trip,
1.6 Mbit/s down, 750 kbit/s up), printed and written to test-artifacts/perf.json. Figures, not a timed test: only
generous budgets are asserted, so a slow test machine does not fail it.

- transfer: the encoded bytes (headers and bodies) of every response the page received, from the DevTools
  protocol's Network.loadingFinished; the service worker's own pre-caching
  of the shell is not (it happens once, in the background).
- first_view_ms: from the navigation's start to the moment the view's <h1> is in the page (the app draws it once
  the view's data is in), by a MutationObserver set before any script of the page runs.
- cold: a new phone (empty caches, no service worker); warm: the same page again once the service worker runs.
"""

import json
import re

import pytest

from tests.browser.conftest import new_phone
from tests.browser.steps import (
    add_to_cart,
    go_to_checkout,
    heading,
    open_store,
    place_order_by_api,
)
from tests.live_server import ARTIFACTS

pytestmark = [pytest.mark.browser, pytest.mark.slow]

FAST_3G = {"offline": False, "latency": 562.5, "downloadThroughput": 1.6e6 * 0.9 / 8,
           "uploadThroughput": 750e3 * 0.9 / 8}
CPU_SLOWDOWN = 4
TRANSFER_BUDGET_BYTES = 300_000
FIRST_VIEW_BUDGET_MS = 30_000

FIRST_VIEW_PROBE = """(() => {
  const seen = () => { const h1 = document.querySelector("main h1");
    if (h1 && window.__firstViewMs === undefined) window.__firstViewMs = performance.now(); return Boolean(h1); };
  new MutationObserver((_, observer) => { if (seen()) observer.disconnect(); })
    .observe(document, { childList: true, subtree: true });
})();"""


class Meter:
    """One page under the slow phone's conditions, counting what crosses the network for it."""

    def __init__(self, phone):
        self.page = phone.context.new_page()
        self.page.on("pageerror", lambda error: phone.errors.append(str(error)))
        self.page.add_init_script(FIRST_VIEW_PROBE)
        self.session = phone.context.new_cdp_session(self.page)
        self.bytes = 0
        self.responses = 0
        self.session.on("Network.loadingFinished", self._finished)
        self.session.send("Network.enable")
        self.session.send("Network.emulateNetworkConditions", FAST_3G)
        self.session.send("Emulation.setCPUThrottlingRate", {"rate": CPU_SLOWDOWN})

    def _finished(self, event):
        self.bytes += int(event["encodedDataLength"])
        self.responses += 1

    def measure(self, url: str, title) -> dict:
        from playwright.sync_api import expect

        self.bytes = self.responses = 0
        self.page.goto(url)
        expect(heading(self.page, title)).to_be_visible()
        self.page.wait_for_load_state("networkidle")
        timing = self.page.evaluate("""() => { const nav = performance.getEntriesByType("navigation")[0];
            return { first_view_ms: window.__firstViewMs,
                     dom_content_loaded_ms: nav && nav.domContentLoadedEventEnd, load_ms: nav && nav.loadEventEnd,
                     resource_transfer: performance.getEntriesByType("resource")
                       .reduce((sum, r) => sum + (r.transferSize || 0), nav ? nav.transferSize : 0) }; }""")
        return {"transfer_bytes": self.bytes, "responses": self.responses,
                **{name: round(value) for name, value in timing.items() if value is not None}}



def test_main_pages_transfer_and_first_view_on_a_slow_phone(chromium, live):
    figures = {"conditions": {"cpu_slowdown": CPU_SLOWDOWN, **FAST_3G}, "pages": {}}
    store = live.ids["store"]
    token = live.token("customer")
    order = place_order_by_api(live, token)

    def cold(name, route, title):
        phone = new_phone(chromium, live)
        try:
            meter = Meter(phone)
            figures["pages"][f"{name} (cold)"] = meter.measure(f"{live.base}{route}", title)
            # The service worker installs in the background; once it runs, the same page again.
            meter.page.wait_for_function("() => navigator.serviceWorker.controller !== null")
            meter.page.goto("about:blank")
            figures["pages"][f"{name} (warm)"] = meter.measure(f"{live.base}{route}", title)
            assert phone.errors == [], phone.errors
        finally:
            phone.context.close()

    cold("store list", "/", "Choose a store")
    cold("menu", f"/#/store/{store}", "Harbour Roasters")
    cold("order", f"/#/order/{order['id']}", re.compile(rf"Order #{order['id']}\b"))

    phone = new_phone(chromium, live)  # checkout: a cart made on the menu first, at full speed
    try:
        page = phone.open("/")
        open_store(page, live)
        add_to_cart(page, "Latte", options=("Large", "Oat"))
        go_to_checkout(page)
        page.wait_for_function("() => navigator.serviceWorker.controller !== null")
        page.close()
        figures["pages"]["checkout (warm)"] = Meter(phone).measure(f"{live.base}/#/checkout", "Checkout")
    finally:
        phone.context.close()

    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "perf.json").write_text(json.dumps(figures, indent=2) + "\n")
    print("\npage                   transfer   responses  first view  DOMContentLoaded")
    for name, page in figures["pages"].items():
        print(f"{name:<22} {page['transfer_bytes'] / 1024:7.1f} KB  {page['responses']:5d}  "
              f"{page.get('first_view_ms', -1):8d} ms  {page.get('dom_content_loaded_ms', -1):8d} ms")
    for name, page in figures["pages"].items():
        assert page["transfer_bytes"] < TRANSFER_BUDGET_BYTES, f"{name}: {page}"
        assert 0 < page["first_view_ms"] < FIRST_VIEW_BUDGET_MS, f"{name}: {page}"
