"""The short pickup code of an order: four characters to read aloud, derived from the order with an HMAC
(SECRET_KEY), so nothing has to be stored.

Beside the models, outside the services package, because the kitchen screens' tickets
(`fulfilment.presenters`, which the outbox of every order move uses) show it: inside `services` it would
make the presenters load the whole services package first, and in `pickup`, which builds on payments,
it would make the order's lifecycle import payments (a cycle: payments moves orders through the lifecycle).
"""

import hashlib
import hmac

from django.conf import settings

from fulfilment.models import Order

CODE_LENGTH = 4
# No 0/O, 1/I/L, 2/Z, 5/S, 8/B: letters and digits that are not misheard or misread.
CODE_ALPHABET = "ACDEFGHJKMNPQRTUVWXY34679"


def pickup_code(*, order: Order) -> str:
    digest = hmac.new(settings.SECRET_KEY.encode(), f"pickup-code:{order.pk}:{order.store_id}".encode(),
                      hashlib.sha256).digest()
    number = int.from_bytes(digest[:8], "big")
    chars = []
    for _ in range(CODE_LENGTH):
        number, index = divmod(number, len(CODE_ALPHABET))
        chars.append(CODE_ALPHABET[index])
    return "".join(chars)
