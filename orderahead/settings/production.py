"""Production differences: a strong secret key is required, HTTPS only (secure cookies, HSTS), and the
security headers `manage.py check --deploy` asks for. Static files come from WhiteNoise (base.py) with the
same headers as the pages; the Content-Security-Policy is base.py's."""

from orderahead.env import env_bool, env_int, env_secret_key, env_str
from orderahead.logs import logging_config

from .base import *  # noqa: F401,F403
from .base import LOG_LEVEL, LOG_LEVELS, SECRET_KEY

# An empty or weak key made every request a 500 (or signed pickup codes anyone could forge): refuse to start.
env_secret_key("SECRET_KEY", SECRET_KEY, insecure_defaults=("dev-only", "django-insecure"))

SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)

# HSTS: browsers use only HTTPS for this host (and its subdomains) for SECURE_HSTS_SECONDS. A year by default;
# start lower (e.g. 3600) while trying HTTPS out, since a browser that saw the header cannot be told otherwise.
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31_536_000, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
# Preloading is a request to browser vendors that takes months to undo, so it is the operator's choice.
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
if not SECURE_HSTS_PRELOAD:
    SILENCED_SYSTEM_CHECKS = ["security.W021"]  # "SECURE_HSTS_PRELOAD is not True": off on purpose, see above
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

# Static files as they are in the apps (no collectstatic step), scanned once at start.
WHITENOISE_AUTOREFRESH = False

# One JSON object per line on stdout, for the log collector (LOG_FORMAT=console to read them by eye).
LOG_FORMAT = env_str("LOG_FORMAT", "json")
LOGGING = logging_config(LOG_FORMAT, level=LOG_LEVEL, levels=LOG_LEVELS)
