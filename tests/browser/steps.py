"""What a customer does in the app, by what the screen says (roles, labels, text), not by its markup."""

import re


def heading(page, name):
    return page.get_by_role("heading", level=1, name=name)


def open_store(page, server, store_name: str = "Harbour Roasters") -> None:
    from playwright.sync_api import expect

    page.goto(f"{server.base}/#/")
    page.get_by_role("link", name=re.compile(store_name)).first.click()
    expect(heading(page, store_name)).to_be_visible()


def open_item(page, item: str):
    """The item's sheet (a dialog named after it)."""
    from playwright.sync_api import expect

    page.get_by_role("button", name=f"Choose {item}").click()
    sheet = page.get_by_role("dialog", name=item)
    expect(sheet).to_be_visible()
    return sheet


def add_to_cart(page, item: str, options: tuple[str, ...] = (), quantity: int = 1) -> None:
    from playwright.sync_api import expect

    sheet = open_item(page, item)
    for option in options:
        sheet.get_by_label(re.compile(rf"^\s*{re.escape(option)}\b")).check()
    if quantity != 1:
        sheet.get_by_label("Quantity", exact=True).fill(str(quantity))
    sheet.get_by_role("button", name=re.compile(r"^(Add|Update) · ")).click()
    expect(sheet).to_be_hidden()


def go_to_checkout(page) -> None:
    from playwright.sync_api import expect

    page.get_by_role("link", name="Checkout", exact=True).first.click()
    expect(heading(page, "Checkout")).to_be_visible()


def money_text(minor: int) -> str:
    return f"${minor // 100:,}.{minor % 100:02d}"


def place_order_by_api(server, token: str, **extra) -> dict:
    items = [{"item": server.ids["latte"], "quantity": 1, "modifiers": [server.ids["large"], server.ids["oat"]]},
             {"item": server.ids["drip"], "quantity": 1}]
    return server.api("/orders/", {"store": server.ids["store"], "items": items, "pickup": "asap", **extra},
                      token=token)
