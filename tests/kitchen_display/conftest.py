"""Kitchen display fixtures: the channel layer (in-memory, and Redis where it runs), sockets opened through
the real ASGI stack with a signed-in session, and helpers to place and move orders from async tests."""

import asyncio
import contextlib
import uuid

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.test import Client

from fulfilment import services
from fulfilment.models import Channel
from fulfilment.services import LineRequest
from kitchen_display.client import Board

ORIGIN = (b"origin", b"http://testserver")


@pytest.fixture
def anyio_backend():
    return "asyncio"


@pytest.fixture(params=["memory", "redis"])
def layer(request, settings):
    """Every consumer test runs on the in-memory layer and on Redis (skipped without it, except on CI)."""
    if request.param == "redis":
        url = request.getfixturevalue("redis_url")
        settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels_redis.core.RedisChannelLayer",
                                               "CONFIG": {"hosts": [url], "prefix": f"kdstest{uuid.uuid4().hex[:8]}"}}}
    else:
        settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    settings.KDS_OUTBOX_POLL_S = 0.2
    yield request.param


@pytest.fixture
def application():
    from orderahead.asgi import application

    return application


def session_headers(user) -> list[tuple[bytes, bytes]]:
    client = Client()
    client.force_login(user)
    return [ORIGIN, (b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode())]


@pytest.fixture
def open_socket(application):
    """async with open_socket(path, user) as ws: a connected socket (closed after), or an AssertionError."""
    @contextlib.asynccontextmanager
    async def make(path: str, user=None, subprotocols=None):
        headers = session_headers(user) if user is not None else [ORIGIN]
        communicator = WebsocketCommunicator(application, path, headers=headers, subprotocols=subprotocols)
        connected, _ = await communicator.connect(timeout=5)
        assert connected, f"{path} refused"
        try:
            yield communicator
        finally:
            await communicator.disconnect()
    return make


async def refused(application, path: str, user=None, subprotocols=None) -> int:
    """The close code a socket gets at connect (it must not be accepted)."""
    headers = session_headers(user) if user is not None else [ORIGIN]
    communicator = WebsocketCommunicator(application, path, headers=headers, subprotocols=subprotocols)
    connected, code = await communicator.connect(timeout=5)
    if connected:
        await communicator.disconnect()
    assert not connected, f"{path} was accepted"
    return code


async def receive(ws, timeout: float = 3) -> dict:
    return await ws.receive_json_from(timeout=timeout)


async def read_until(ws, board: Board, seq: int, timeout: float = 10) -> Board:
    """Feed the board until it has applied event `seq`; answer gaps like the browser does."""
    async with asyncio.timeout(timeout):
        while board.seq is None or board.seq < seq:
            message = await ws.receive_json_from(timeout=timeout)
            request = board.receive(message)
            if request:
                await ws.send_json_to(request)
    return board


async def nothing_more(ws, wait: float = 0.3) -> None:
    assert await ws.receive_nothing(timeout=wait), "the screen got something it should not have"


@pytest.fixture
def counter_order(menu, barista_store1):
    """counter_order(**lines) -> a confirmed counter order (default: one latte and one croissant)."""
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


@pytest.fixture
def flush_layer():
    async def flush():
        layer = get_channel_layer()
        if hasattr(layer, "flush"):
            await layer.flush()
    return flush
