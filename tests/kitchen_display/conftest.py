"""Kitchen display fixtures: the channel layer (in-memory, and Redis where it runs), sockets opened through
the real ASGI stack with a signed-in session, and orders to put on the screens."""

import contextlib

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from kds_helpers import session_headers

from fulfilment import services
from fulfilment.models import Channel
from fulfilment.services import LineRequest


@pytest.fixture
def application():
    from orderahead.asgi import application

    return application


@pytest.fixture
def open_socket(application):
    """async with open_socket(path, user) as ws: a connected socket (closed after), or an AssertionError."""
    @contextlib.asynccontextmanager
    async def make(path: str, user=None, subprotocols=None):
        headers = await session_headers(user)
        communicator = WebsocketCommunicator(application, path, headers=headers, subprotocols=subprotocols)
        connected, _ = await communicator.connect(timeout=5)
        assert connected, f"{path} refused"
        try:
            yield communicator
        finally:
            await communicator.disconnect()
    return make


@pytest.fixture
def counter_order(menu, barista_store1):
    """counter_order(latte=, croissant=, drip=, name=) -> a confirmed counter order (default: latte, croissant)."""
    def make(latte: int = 1, croissant: int = 1, drip: int = 0, name: str = "Sam"):
        lines = [LineRequest(item_id=menu[item].pk, quantity=quantity)
                 for item, quantity in (("latte", latte), ("croissant", croissant), ("drip", drip)) if quantity]
        order, _ = services.order_place(store_id=menu["latte"].store_id, channel=Channel.COUNTER, lines=lines,
                                        placed_by=barista_store1, customer_name=name)
        return order
    return make


@pytest.fixture
def acounter_order(counter_order):
    return database_sync_to_async(counter_order)
