"""Helpers for the kitchen display tests: sockets through the real ASGI stack with a signed-in session,
and a reader that feeds a screen's board like kds.js does. (A module of its own, not conftest, so that
tests can import it by a name no other test folder uses.)"""

import asyncio

from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client

from tests.kitchen_display.screen_model import Board

ORIGIN = (b"origin", b"http://testserver")


def _session_headers(user) -> list[tuple[bytes, bytes]]:
    client = Client()
    client.force_login(user)
    return [ORIGIN, (b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode())]


async def session_headers(user) -> list[tuple[bytes, bytes]]:
    """Headers of a browser signed in as `user` (a real session, as the login page makes)."""
    return await database_sync_to_async(_session_headers)(user) if user is not None else [ORIGIN]


async def refused(application, path: str, user=None, subprotocols=None) -> int:
    """The close code a socket gets at connect (it must not be accepted)."""
    headers = await session_headers(user)
    communicator = WebsocketCommunicator(application, path, headers=headers, subprotocols=subprotocols)
    connected, code = await communicator.connect(timeout=5)
    await communicator.disconnect()  # a refused socket's consumer still waits on the layer until told
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
