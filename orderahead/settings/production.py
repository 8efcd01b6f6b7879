"""Production differences: a real secret key is required, cookies are secure."""

from django.core.exceptions import ImproperlyConfigured

from orderahead.env import env_bool

from .base import *  # noqa: F401,F403
from .base import SECRET_KEY

if SECRET_KEY.startswith("dev-only"):
    raise ImproperlyConfigured("SECRET_KEY must be set in production")

SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
