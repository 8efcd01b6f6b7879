"""The API's JSON parser: DRF's, with a bound on nesting.

Python's decoder raises RecursionError (not ValueError) on input like `[[[[...]]]]` a few thousand levels
deep, which DRF does not catch: anyone could turn a request into a 500. No request of this API nests
deeper than a handful of levels, so anything past MAX_DEPTH is refused with a 400 that says why, before
serializers or error messages ever walk it.
"""

from rest_framework import parsers
from rest_framework.exceptions import ParseError

MAX_DEPTH = 32
TOO_DEEP = f"JSON nested too deeply: at most {MAX_DEPTH} levels of arrays and objects."


def nesting_exceeds(value, limit: int) -> bool:
    """True when arrays/objects in `value` go more than `limit` levels deep (iterative: no recursion)."""
    pending = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        pending.extend((child, depth + 1) for child in children)
    return False


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(TOO_DEEP) from None
        if nesting_exceeds(data, MAX_DEPTH):
            raise ParseError(TOO_DEEP)
        return data
