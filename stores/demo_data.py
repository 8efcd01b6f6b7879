"""The demo chain that `manage.py seed_demo` loads: three Portland coffee shops and one across the river in
Vancouver, Washington, with one menu. Oregon has no sales tax, so the Portland stores charge none; Washington
does, added at checkout as US menus show prices before tax.

Plain data only; the command turns it into rows. Prices are in cents, times in seconds.
The stores, street addresses and people are made up; the streets and coordinates are real.
"""

from datetime import time
from decimal import Decimal
from typing import NamedTuple

PASSWORD = "demo-pass-123"
TIMEZONE = "America/Los_Angeles"
CURRENCY = "USD"


class StoreSpec(NamedTuple):
    slug: str
    name: str
    address: str
    latitude: float
    longitude: float
    slot_capacity: int  # mobile orders per 5-minute slot; downtown is busiest
    tax_rate_percent: Decimal = Decimal("0")  # Oregon: no sales tax
    prices_include_tax: bool = False          # US menus show prices before tax
    tax_label: str = "Sales tax"


STORES = [
    StoreSpec("pearl-district", "Rose City Coffee – Pearl District", "1021 NW Couch St, Portland, OR 97209",
              45.5237, -122.6817, 12),
    StoreSpec("hawthorne", "Rose City Coffee – Hawthorne", "3520 SE Hawthorne Blvd, Portland, OR 97214",
              45.5121, -122.6271, 8),
    StoreSpec("alberta-arts", "Rose City Coffee – Alberta Arts", "1620 NE Alberta St, Portland, OR 97211",
              45.5590, -122.6485, 8),
    # Vancouver, WA: 6.5% state plus 2.4% local sales tax.
    StoreSpec("vancouver-waterfront", "Rose City Coffee – Vancouver Waterfront",
              "695 Waterfront Way, Vancouver, WA 98660", 45.6232, -122.6742, 8, Decimal("8.9")),
]

STORE_SETTINGS = {"slot_minutes": 5, "min_lead_minutes": 5, "max_days_ahead": 7, "handoff_seconds": 20}

WEEKDAYS = range(0, 5)  # Monday..Friday
WEEKEND = (5, 6)
WEEKDAY_HOURS = (time(6, 0), time(20, 0))
WEEKEND_HOURS = (time(7, 0), time(18, 0))


class StationSpec(NamedTuple):
    kind: str
    name: str
    # (from, lanes): lanes from that local time on until the next entry. More at the morning rush.
    weekday_lanes: list[tuple[time, int]]
    weekend_lanes: list[tuple[time, int]]


STATIONS = [
    StationSpec("espresso", "Espresso bar",
                [(time(6, 0), 2), (time(7, 0), 3), (time(9, 30), 2), (time(14, 0), 1), (time(16, 0), 2)],
                [(time(7, 0), 2), (time(9, 0), 3), (time(12, 0), 2), (time(15, 0), 1)]),
    StationSpec("cold", "Cold bar",
                [(time(6, 0), 1), (time(11, 0), 2), (time(16, 0), 1)],
                [(time(7, 0), 1), (time(11, 0), 2), (time(15, 0), 1)]),
    StationSpec("oven", "Oven",
                [(time(6, 0), 1), (time(7, 0), 2), (time(10, 0), 1)],
                [(time(7, 0), 1), (time(8, 30), 2), (time(11, 0), 1)]),
    StationSpec("handoff", "Handoff",
                [(time(6, 0), 1), (time(7, 0), 2), (time(9, 30), 1)],
                [(time(7, 0), 1), (time(9, 0), 2), (time(12, 0), 1)]),
]


class OptionSpec(NamedTuple):
    name: str
    price_delta: int = 0
    extra_prep_s: int = 0
    is_default: bool = False


class GroupSpec(NamedTuple):
    name: str
    min_choices: int
    max_choices: int
    options: list[OptionSpec]


SIZE, MILK, SHOT, SYRUP = "Size", "Milk", "Extra shot", "Syrup"

MODIFIER_GROUPS = [
    GroupSpec(SIZE, 1, 1, [OptionSpec("Small"), OptionSpec("Medium", 50, 5, is_default=True),
                           OptionSpec("Large", 90, 12)]),
    GroupSpec(MILK, 1, 1, [OptionSpec("Whole milk", is_default=True), OptionSpec("Oat milk", 70),
                           OptionSpec("Almond milk", 70), OptionSpec("Skim milk")]),
    GroupSpec(SHOT, 0, 1, [OptionSpec("Extra shot", 100, 20)]),
    GroupSpec(SYRUP, 0, 2, [OptionSpec("Vanilla", 60, 5), OptionSpec("Caramel", 60, 5),
                            OptionSpec("Hazelnut", 60, 5)]),
]

CATEGORIES = ["Espresso drinks", "Brewed coffee & tea", "Cold drinks", "Warm food", "Bakery case"]


class ItemSpec(NamedTuple):
    category: str
    station: str  # StationSpec.kind
    name: str
    price: int  # cents, smallest size
    prep_s: int
    prep_sd_s: int
    max_quantity: int
    groups: tuple[str, ...]
    stock: int | None = None  # None: unlimited
    description: str = ""


ESPRESSO_MILK = (SIZE, MILK, SHOT, SYRUP)

MENU = [
    ItemSpec("Espresso drinks", "espresso", "Espresso", 325, 40, 8, 6, (SHOT,),
             description="A double shot of our house blend."),
    ItemSpec("Espresso drinks", "espresso", "Americano", 375, 45, 8, 6, (SIZE, SHOT, SYRUP)),
    ItemSpec("Espresso drinks", "espresso", "Cappuccino", 450, 75, 15, 6, ESPRESSO_MILK),
    ItemSpec("Espresso drinks", "espresso", "Caffè Latte", 475, 80, 15, 6, ESPRESSO_MILK),
    ItemSpec("Espresso drinks", "espresso", "Flat White", 475, 75, 12, 6, (MILK, SHOT)),
    ItemSpec("Espresso drinks", "espresso", "Cortado", 425, 60, 10, 6, (MILK, SHOT)),
    ItemSpec("Espresso drinks", "espresso", "Caramel Macchiato", 550, 95, 18, 6, ESPRESSO_MILK),
    ItemSpec("Espresso drinks", "espresso", "Mocha", 550, 95, 18, 6, ESPRESSO_MILK),

    ItemSpec("Brewed coffee & tea", "espresso", "Drip Coffee", 295, 20, 5, 8, (SIZE, SYRUP),
             description="Today's single-origin batch brew."),
    ItemSpec("Brewed coffee & tea", "espresso", "Pour-Over", 475, 210, 30, 4, (),
             description="Brewed to order by hand; worth the wait."),
    ItemSpec("Brewed coffee & tea", "espresso", "Chai Latte", 495, 70, 12, 6, (SIZE, MILK, SYRUP)),
    ItemSpec("Brewed coffee & tea", "espresso", "Matcha Latte", 525, 90, 15, 6, (SIZE, MILK, SYRUP)),

    ItemSpec("Cold drinks", "cold", "Cold Brew", 450, 30, 6, 6, (SIZE, SYRUP),
             description="Steeped for 18 hours."),
    ItemSpec("Cold drinks", "cold", "Nitro Cold Brew", 525, 35, 6, 6, (SIZE,)),
    ItemSpec("Cold drinks", "cold", "Iced Latte", 495, 60, 12, 6, ESPRESSO_MILK),
    ItemSpec("Cold drinks", "cold", "Iced Americano", 395, 40, 8, 6, (SIZE, SHOT, SYRUP)),
    ItemSpec("Cold drinks", "cold", "Iced Chai Latte", 515, 55, 10, 6, (SIZE, MILK, SYRUP)),
    ItemSpec("Cold drinks", "cold", "Lemonade", 375, 25, 5, 6, (SIZE,)),

    # Warm food is baked in small batches each morning, so it runs out.
    ItemSpec("Warm food", "oven", "Butter Croissant", 375, 60, 10, 6, (), stock=12),
    ItemSpec("Warm food", "oven", "Almond Croissant", 450, 75, 12, 6, (), stock=10),
    ItemSpec("Warm food", "oven", "Ham & Gruyère Croissant", 695, 180, 30, 4, (), stock=8),
    ItemSpec("Warm food", "oven", "Bacon, Egg & Cheddar Sandwich", 750, 210, 30, 4, (), stock=15,
             description="Free-range egg, aged cheddar and smoked bacon on a brioche bun."),
    ItemSpec("Warm food", "oven", "Spinach & Feta Wrap", 695, 180, 25, 4, (), stock=10),

    # Grabbed from the case at the handoff shelf: quick, and restocked all day.
    ItemSpec("Bakery case", "handoff", "Blueberry Muffin", 375, 15, 3, 6, ()),
    ItemSpec("Bakery case", "handoff", "Chocolate Chip Cookie", 295, 10, 2, 12, ()),
]


class UserSpec(NamedTuple):
    username: str
    first_name: str
    last_name: str
    is_staff: bool = False
    is_superuser: bool = False


ADMIN = UserSpec("admin", "Ada", "Admin", is_staff=True, is_superuser=True)
CUSTOMER = UserSpec("customer", "Casey", "Customer")
# One manager (admin access: is_staff) and one barista (KDS only) per store, numbered as STORES.
MANAGERS = [UserSpec("manager1", "Morgan", "Lee", is_staff=True), UserSpec("manager2", "Priya", "Shah", is_staff=True),
            UserSpec("manager3", "Diego", "Alvarez", is_staff=True),
            UserSpec("manager4", "Hannah", "Olsen", is_staff=True)]
BARISTAS = [UserSpec("barista1", "Sam", "Park"), UserSpec("barista2", "Jules", "Moreau"),
            UserSpec("barista3", "Theo", "Nguyen"), UserSpec("barista4", "Rosa", "Delgado")]
EMAIL_DOMAIN = "example.com"
