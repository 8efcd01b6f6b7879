"""axe-core (from the npm registry, pinned in tests/browser/package-lock.json; `make test` installs it) on each main
screen of the customer app on a phone: no serious or critical violation. The pages' Content-Security-Policy would
refuse the injected script, so this test's browser context bypasses it (the policy has its own browser test)."""

import json
import os
import re
from pathlib import Path

import pytest

from tests.browser.conftest import new_phone
from tests.browser.steps import (
    add_to_cart,
    go_to_checkout,
    heading,
    open_item,
    open_store,
    place_order_by_api,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

AXE = Path(__file__).resolve().parent / "node_modules" / "axe-core" / "axe.min.js"
BLOCKING = ("serious", "critical")


@pytest.fixture(scope="module")
def axe_script():
    if not AXE.exists():
        message = f"{AXE} is missing: run `make axe` (npm ci --prefix tests/browser)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return AXE


def axe_violations(page, axe_script) -> list[dict]:
    if not page.evaluate("() => Boolean(window.axe)"):
        page.add_script_tag(path=str(axe_script))
    results = page.evaluate("""() => axe.run(document, {resultTypes: ["violations"]})
        .then(r => r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
                                           nodes: v.nodes.map(n => ({target: n.target.join(" "), summary: n.failureSummary}))})))""")
    return [v for v in results if v["impact"] in BLOCKING]


def describe(screen: str, violations: list[dict]) -> str:
    lines = [f"{screen}: {len(violations)} serious or critical accessibility violation(s)"]
    for v in violations:
        lines.append(f"  [{v['impact']}] {v['id']}: {v['help']} ({v['helpUrl']})")
        for node in v["nodes"][:5]:
            lines.append(f"      at {node['target']}: {node['summary'].splitlines()[-1].strip()}")
    return "\n".join(lines)


def test_main_screens_have_no_serious_accessibility_violations(chromium, live, axe_script):
    from playwright.sync_api import expect

    found = {}
    phone = new_phone(chromium, live, bypass_csp=True)
    try:
        page = phone.open("/")
        expect(heading(page, "Choose a store")).to_be_visible()
        expect(page.get_by_role("link", name=re.compile("Harbour Roasters"))).to_be_visible()
        found["store list"] = axe_violations(page, axe_script)

        open_store(page, live)
        found["menu"] = axe_violations(page, axe_script)
        open_item(page, "Latte")
        found["menu, item open"] = axe_violations(page, axe_script)
        page.keyboard.press("Escape")

        add_to_cart(page, "Latte", options=("Large",))
        go_to_checkout(page)
        expect(page.get_by_role("button", name=re.compile(r"^Place order"))).to_be_visible()
        expect(page.get_by_role("radio").first).to_be_visible()  # the pickup times are in
        found["cart and checkout"] = axe_violations(page, axe_script)

        order = place_order_by_api(live, phone.token)
        page.goto(f"{live.base}/#/order/{order['id']}")
        expect(heading(page, re.compile(rf"Order #{order['id']}\b"))).to_be_visible()
        found["order"] = axe_violations(page, axe_script)

        page.goto(f"{live.base}/#/orders")
        expect(heading(page, "My orders")).to_be_visible()
        expect(page.get_by_role("link", name=re.compile(rf"#{order['id']}\b")).first).to_be_visible()
        found["my orders"] = axe_violations(page, axe_script)
    finally:
        phone.context.close()

    stranger = new_phone(chromium, live, username=None, bypass_csp=True)
    try:
        page = stranger.open("/#/signin")
        expect(page.get_by_label("Password", exact=True)).to_be_visible()
        found["sign-in"] = axe_violations(page, axe_script)
    finally:
        stranger.context.close()

    print(json.dumps({screen: len(v) for screen, v in found.items()}))
    failures = [describe(screen, violations) for screen, violations in found.items() if violations]
    assert not failures, "\n\n".join(failures)
