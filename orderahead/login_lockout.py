"""What a locked-out sign-in is told (django-axes calls `lockout_response` through AXES_LOCKOUT_CALLABLE).

Web forms (/kds/login/, /admin/login/) get a page that says why and for how long; anything under /api/
gets the API's one JSON error shape. Both are 429 with Retry-After.
"""

from django.conf import settings
from django.shortcuts import render

from orderahead.api_errors import json_error


def retry_after_s() -> int:
    """Seconds until a locked-out client may try again: every refused try starts the cool-off anew."""
    return max(1, int(settings.AXES_COOLOFF_TIME.total_seconds()))


def lockout_message() -> str:
    minutes = max(1, round(retry_after_s() / 60))
    return (f"Too many failed sign-ins for this account or from this address. Sign-in is paused for "
            f"{minutes} minute{'s' if minutes != 1 else ''}; until then even the right password is refused.")


def lockout_response(request, original_response=None, credentials=None):
    wait = retry_after_s()
    if request.path.startswith("/api/"):
        return json_error("locked_out", lockout_message(), 429, retry_after_s=wait)
    username = (credentials or {}).get("username") or ""
    response = render(request, "login_locked_out.html", {"message": lockout_message(), "username": username},
                      status=429)
    response["Retry-After"] = str(wait)
    return response
