"""The Content-Security-Policy against the real pages: Daphne with the production settings (TLS left to a proxy,
so no redirect here), Debian's Chromium through Playwright, and every page a person uses — the customer app,
the kitchen screens (with their sockets) and Django admin — must work without one policy violation.
Screenshots go to test-artifacts/."""

import pytest

from tests.live_server import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, daphne, manage, require_browser, server_env

pytestmark = [pytest.mark.browser, pytest.mark.slow]

DEMO_PASSWORD = "demo-pass-123"
# Every violation the page reports, whatever the directive.
RECORD_VIOLATIONS = """window.__csp = [];
document.addEventListener('securitypolicyviolation', e => window.__csp.push(
  `${e.violatedDirective} blocked ${e.blockedURI || 'inline'} at ${e.sourceFile || ''}:${e.lineNumber}`));"""


@pytest.fixture
def production_server(tmp_path):
    require_browser()
    env = {name: value for name, value in server_env().items()
           if not name.startswith(("STRIPE_", "SECURE_", "DJANGO_")) and name != "DEBUG"}
    env.update({"DJANGO_SETTINGS_MODULE": "orderahead.settings.production",
                "SECRET_KEY": "k9#Qz!v2Lr8@Xw5^Tb7&Mn3*Pd6(Hs1)Fj4-Gc0+Yq=Ue_Ao~Ki", "ALLOWED_HOSTS": "localhost",
                "SECURE_SSL_REDIRECT": "0", "DATABASE_URL": f"sqlite:///{tmp_path / 'csp.sqlite3'}"})
    manage(env, "migrate", "--noinput")
    manage(env, "seed_demo", "--allow-production")
    with daphne(env, tmp_path / "daphne.log", host="localhost") as base:
        yield base


def test_every_page_works_under_the_content_security_policy(production_server):
    from playwright.sync_api import expect, sync_playwright

    base = production_server
    ARTIFACTS.mkdir(exist_ok=True)
    seen = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)

        def session():
            context = browser.new_context()
            context.add_init_script(RECORD_VIOLATIONS)
            return context.new_page()

        def check(page, name):
            page.wait_for_load_state("networkidle")
            seen[name] = page.evaluate("window.__csp")
            page.screenshot(path=str(ARTIFACTS / f"csp-{name}.png"), full_page=True)

        try:
            customer = session()
            response = customer.goto(f"{base}/")
            assert "script-src 'self' 'nonce-" in response.headers["content-security-policy"]
            expect(customer.get_by_text("Choose a store")).to_be_visible(timeout=10_000)
            expect(customer.locator(".card").first).to_be_visible()  # the app's script ran and called the API
            check(customer, "customer-app")

            barista = session()
            barista.goto(f"{base}/kds/login/")
            barista.fill("input[name=username]", "barista1")
            barista.fill("input[name=password]", DEMO_PASSWORD)
            barista.click("button.primary")
            expect(barista).to_have_url(f"{base}/kds/")
            check(barista, "kds-home")
            screens = barista.eval_on_selector_all("a[href^='/kds/']", "links => links.map(a => a.pathname)")
            for path in [p for p in screens if p.endswith(("/expo/", "/board/"))] + [screens[0]]:
                barista.goto(f"{base}{path}")
                # The socket is up (connect-src allows it): kds.js marks the link state "up".
                expect(barista.locator("#link.up")).to_be_visible(timeout=10_000)
                check(barista, "kds" + path.replace("/", "-").rstrip("-"))

            manager = session()
            manager.goto(f"{base}/admin/login/")
            manager.fill("input[name=username]", "admin")
            manager.fill("input[name=password]", DEMO_PASSWORD)
            manager.click("input[type=submit]")
            expect(manager).to_have_url(f"{base}/admin/")
            check(manager, "admin-index")
            for name, path in (("admin-stores", "/admin/stores/store/"), ("admin-store", "/admin/stores/store/1/change/"),
                               ("admin-menu-item", "/admin/stores/menuitem/1/change/"),
                               ("admin-orders", "/admin/fulfilment/order/")):
                manager.goto(f"{base}{path}")
                expect(manager.locator("#content")).to_be_visible()
                check(manager, name)
        finally:
            browser.close()

    violations = {name: found for name, found in seen.items() if found}
    assert not violations, violations
    assert len(seen) >= 8
