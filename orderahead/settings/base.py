"""Settings shared by every environment; everything that differs comes from the environment."""

import datetime as dt
import warnings
from pathlib import Path

from csp.constants import NONCE, NONE, SELF, UNSAFE_INLINE
from django.core.exceptions import ImproperlyConfigured

from orderahead.env import (
    database_from_url,
    env_bool,
    env_float,
    env_int,
    env_list,
    env_networks,
    env_rate,
    env_str,
    env_vapid_keys,
)
from orderahead.logs import logging_config

BASE_DIR = Path(__file__).resolve().parent.parent.parent

DEBUG = env_bool("DEBUG", False)
# The fallback key is only good for a laptop; production.py refuses to start without a real one.
SECRET_KEY = env_str("SECRET_KEY", "dev-only-insecure-key-change-me")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
# Reverse proxies (addresses or CIDR ranges) whose X-Forwarded-For is believed; from anyone else the header is
# ignored, so a client cannot pick its own address to dodge a throttle or a lock-out (orderahead.client_ip).
TRUSTED_PROXIES = env_networks("TRUSTED_PROXIES")

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "axes",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "channels",
    "stores",
    "fulfilment",
    "kitchen_display",
]

# The embedded default serves static files (admin CSS, KDS scripts) itself, through WhiteNoise right after
# SecurityMiddleware so they carry the same security headers as the pages; straight from the apps' static
# folders, so no collectstatic step is needed. Behind a CDN or a proxy that serves /static/, set SERVE_STATIC=0.
SERVE_STATIC = env_bool("SERVE_STATIC", True)
MIDDLEWARE = [
    # First, so everything below logs with the request's id and is timed: X-Request-ID, request log, metrics.
    "orderahead.request_context.RequestContextMiddleware",
    "orderahead.client_ip.ForwardedProtoFromTrustedProxiesOnly",  # X-Forwarded-Proto only from TRUSTED_PROXIES
    "django.middleware.security.SecurityMiddleware",
    *(["whitenoise.middleware.WhiteNoiseMiddleware"] if SERVE_STATIC else []),
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # A pool with no free connection, a dropped database connection or an unreachable Redis: a JSON 503 with
    # Retry-After, so the client retries instead of getting a 500.
    "orderahead.service_unavailable.ServiceUnavailableMiddleware",
    # Last, as django-axes asks: turns a locked-out login into the lock-out page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "orderahead.urls"
WSGI_APPLICATION = None
ASGI_APPLICATION = "orderahead.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "orderahead" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# DB_POOL_MAX_SIZE bounds each process's PostgreSQL connections: workers x this (plus the periodic jobs)
# must stay under the server's max_connections (100 by default). A request that finds the pool empty waits
# DB_POOL_TIMEOUT_S for a connection, then gets a 503 that says the service is busy.
DATABASES = {"default": database_from_url(env_str("DATABASE_URL", "sqlite:///db.sqlite3"), base_dir=BASE_DIR,
                                          pool_max_size=env_int("DB_POOL_MAX_SIZE", 10, minimum=1),
                                          pool_timeout_s=env_float("DB_POOL_TIMEOUT_S", 10.0, minimum=0.1))}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env_str("REDIS_URL", "")
# redis-py 8 gives every read a 5 s socket timeout by default, and the channel layer's receive blocks in
# BZPOPMIN for up to 5 s: under load the read timed out and the exception killed the consumer, closing a
# kitchen screen's socket (django/channels_redis#422). Reads may take longer than the blocking pop.
REDIS_CONNECTION_OPTIONS = {"socket_timeout": 30, "socket_connect_timeout": 5}
# The Redis channel layer (kitchen_display.layers): each process holds at most CHANNEL_LAYER_POOL's
# max_connections per event loop, and a command waits up to pool_timeout seconds for one (redis-py's
# default pool raised MaxConnectionsError past 100 commands in flight). A socket's group membership
# lapses after group_expiry seconds unless renewed (every process renews its live sockets' every quarter
# of it, kitchen_display.relay), so the channels of a crashed process leave their groups within two
# minutes instead of a day of "over capacity" pushes.
CHANNEL_LAYER_POOL = {"max_connections": 20, "pool_timeout": 10}
CHANNEL_LAYER_OPTIONS = {"group_expiry": 120, "capacity": 100}
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {"BACKEND": "kitchen_display.layers.PooledRedisChannelLayer",
                    "CONFIG": {"hosts": [{"address": REDIS_URL, **REDIS_CONNECTION_OPTIONS, **CHANNEL_LAYER_POOL}],
                               **CHANNEL_LAYER_OPTIONS}}
    }
    # Throttle counters must be shared by every Daphne process, so they live in Redis too.
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# Each Daphne process checks the outbox this often for pushes that were lost (kitchen_display.relay):
# a lost push reaches its screen or customer within about two of these.
KDS_OUTBOX_POLL_S = env_float("KDS_OUTBOX_POLL_S", 1.0, minimum=0.05)

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"  # collectstatic's target, for a CDN or proxy that serves /static/
WHITENOISE_USE_FINDERS = True  # serve from the apps' static folders: `make run` needs no collectstatic
WHITENOISE_AUTOREFRESH = True  # a file edited while `make run` serves is served as it is now (production: off)
# WhiteNoise also looks in STATIC_ROOT and warns when collectstatic never ran; with the finders that is expected.
warnings.filterwarnings("ignore", message=f"No directory at: {STATIC_ROOT}")
LOGIN_URL = "/admin/login/"

# Content-Security-Policy (django-csp 4) on every page: scripts, styles and connections from this site only.
# The customer app's one inline script carries the request's nonce; stripe.js and its frames are allowed
# only when a publishable key is set (below); sockets are same-site (ws: and wss: for browsers whose
# 'self' does not cover them yet). Inline style attributes are allowed (style-src-attr), <style> blocks not.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF],
        "style-src-attr": [UNSAFE_INLINE],
        # blob: the order page shows the pickup QR code as an image fetched with the customer's token.
        "img-src": [SELF, "data:", "blob:"],
        "font-src": [SELF],
        "connect-src": [SELF, "ws:", "wss:"],
        "frame-src": [NONE],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}

# Sign-in lock-out (django-axes) for every form that logs in with a password: /kds/login/, /admin/login/
# and the API's /api/auth/login/. After LOGIN_FAILURE_LIMIT wrong passwords for one username (from
# anywhere), or from one client address (for any usernames), further tries are refused for
# LOGIN_COOLOFF_MINUTES, even with the right password. Attempts are kept in the database (admin: Axes).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: refuses a locked-out login before the password is checked
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = dt.timedelta(minutes=env_int("LOGIN_COOLOFF_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_CLIENT_IP_CALLABLE = "orderahead.client_ip.client_ip"
AXES_LOCKOUT_CALLABLE = "orderahead.login_lockout.lockout_response"
AXES_RESET_ON_SUCCESS = False  # a correct login must not wipe the failures another account made from that address
AXES_VERBOSE = False  # no banner on every manage.py command; lock-outs are still logged

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer", "rest_framework.renderers.BrowsableAPIRenderer"],
    # JSON nested too deeply is a 400 that says so, not a RecursionError (orderahead.parsers).
    "DEFAULT_PARSER_CLASSES": ["orderahead.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "orderahead.api_errors.exception_handler",
    "DEFAULT_THROTTLE_RATES": {
        "auth": env_rate("THROTTLE_AUTH", "10/min"),
        "order_place": env_rate("THROTTLE_ORDER_PLACE", "20/min"),
        "quote": env_rate("THROTTLE_QUOTE", "120/min"),
        # member codes and phone numbers identified at a till: a scan is a signed code, a phone can be guessed
        "member_identify": env_rate("THROTTLE_MEMBER_IDENTIFY", "30/min"),
    },
    # Throttles tell clients apart by orderahead.client_ip (TRUSTED_PROXIES); a DRF throttle that does not
    # use orderahead.throttling still never believes X-Forwarded-For.
    "NUM_PROXIES": 0,
}

# Handing an order over by short code: wrong codes per staff member and store, after which code entry is
# refused (429) until the period ends. QR scans are signed and cannot be guessed, so they are not limited.
HANDOFF_CODE_FAILURES = env_rate("THROTTLE_HANDOFF_CODE_FAILURES", "10/min")

SPECTACULAR_SETTINGS = {
    "TITLE": "Order-ahead API",
    "DESCRIPTION": "Stores, live menus, honest pickup quotes and orders for every channel of one kitchen queue.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Enums that more than one serializer uses keep the names they had before the second one came (the order
    # list's OrderListOut, the reorder's change "kind"), so clients generated from the schema do not break.
    "ENUM_NAME_OVERRIDES": {"OrderStatusEnum": "fulfilment.models.OrderStatus",
                            "ChannelEnum": "fulfilment.models.Channel",  # beside the staff API's own four
                            "KindEnum": "fulfilment.models.OrderEvent.KINDS",
                            "ReorderChangeKindEnum": "fulfilment.services.reorder.CHANGE_KINDS"},
}

# Stripe (issue 5); without a secret key the demo payment provider is used.
STRIPE_SECRET_KEY = env_str("STRIPE_SECRET_KEY", "")
STRIPE_PUBLISHABLE_KEY = env_str("STRIPE_PUBLISHABLE_KEY", "")
STRIPE_WEBHOOK_SECRET = env_str("STRIPE_WEBHOOK_SECRET", "")
for _name, _value, _prefixes in (("STRIPE_SECRET_KEY", STRIPE_SECRET_KEY, ("sk_", "rk_")),
                                 ("STRIPE_PUBLISHABLE_KEY", STRIPE_PUBLISHABLE_KEY, ("pk_",)),
                                 ("STRIPE_WEBHOOK_SECRET", STRIPE_WEBHOOK_SECRET, ("whsec_",))):
    if _value and not _value.startswith(_prefixes):
        raise ImproperlyConfigured(f"{_name} does not look like a Stripe key (it should start with "
                                   f"{' or '.join(_prefixes)}); copy it again from the Stripe dashboard")
if STRIPE_PUBLISHABLE_KEY and not STRIPE_SECRET_KEY:
    raise ImproperlyConfigured("STRIPE_PUBLISHABLE_KEY is set without STRIPE_SECRET_KEY; set both or neither")
if STRIPE_PUBLISHABLE_KEY:
    # The Payment Element: stripe.js, its iframes and its calls to Stripe (Stripe's documented CSP sources).
    _csp = CONTENT_SECURITY_POLICY["DIRECTIVES"]
    _csp["script-src"] = [*_csp["script-src"], "https://js.stripe.com", "https://*.js.stripe.com"]
    _csp["frame-src"] = ["https://js.stripe.com", "https://*.js.stripe.com", "https://hooks.stripe.com"]
    _csp["connect-src"] = [*_csp["connect-src"], "https://api.stripe.com"]
    _csp["img-src"] = [*_csp["img-src"], "https://*.stripe.com"]
# Where the Stripe client sends requests (empty: api.stripe.com); the tests point it at a local double.
STRIPE_API_BASE = env_str("STRIPE_API_BASE", "")
STRIPE_MAX_NETWORK_RETRIES = env_int("STRIPE_MAX_NETWORK_RETRIES", 2)
STRIPE_TIMEOUT_S = env_int("STRIPE_TIMEOUT_S", 20)
STRIPE_WEBHOOK_TOLERANCE_S = env_int("STRIPE_WEBHOOK_TOLERANCE_S", 300)
# A card authorisation lasts 7 days at Stripe. Orders are cancelled (and the hold released) this long
# before it runs out, so nothing is ever captured late; scheduled pickups must fall inside the window.
PAYMENT_AUTHORISATION_VALIDITY_S = env_int("PAYMENT_AUTHORISATION_VALIDITY_S", 7 * 24 * 3600)
PAYMENT_AUTHORISATION_MARGIN_S = env_int("PAYMENT_AUTHORISATION_MARGIN_S", 6 * 3600)

# How long a mobile order may wait for its payment before it is cancelled and its stock released.
ORDER_PAYMENT_TIMEOUT_S = env_int("ORDER_PAYMENT_TIMEOUT_S", 900)

# Telling customers their order is ready (fulfilment.services.notifications): by Web Push to the browsers they
# allowed, and by email when they agreed to it. Links in emails are absolute: PUBLIC_BASE_URL is the address
# customers open the app at.
PUBLIC_BASE_URL = env_str("PUBLIC_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
if not PUBLIC_BASE_URL.startswith(("http://", "https://")):
    raise ImproperlyConfigured(f"PUBLIC_BASE_URL={PUBLIC_BASE_URL!r} must start with https:// (or http://)")
# The VAPID key pair that signs every push (base64url, `npx web-push generate-vapid-keys`). Unset: a pair is made
# once into WEBPUSH_VAPID_KEY_FILE and reused, so `make run` works offline and subscriptions survive a restart.
WEBPUSH_VAPID_PRIVATE_KEY, WEBPUSH_VAPID_PUBLIC_KEY = env_vapid_keys("WEBPUSH_VAPID_PRIVATE_KEY",
                                                                    "WEBPUSH_VAPID_PUBLIC_KEY")
WEBPUSH_VAPID_KEY_FILE = Path(env_str("SERVE_VAR", str(BASE_DIR / "var"))) / "webpush_vapid_private_key"
# Who the push services may contact about our pushes (the VAPID "sub" claim): a mailto: or https: URL.
WEBPUSH_CONTACT = env_str("WEBPUSH_CONTACT", "mailto:orders@example.com")
if not WEBPUSH_CONTACT.startswith(("mailto:", "https://")):
    raise ImproperlyConfigured(f"WEBPUSH_CONTACT={WEBPUSH_CONTACT!r} must be a mailto: or https: URL")
# The server POSTs to the endpoint a browser gives it, so only the browsers' push services are accepted (else any
# customer could make it call addresses inside the network). "https://*.host" allows the host's subdomains.
WEBPUSH_PUSH_SERVICES = env_list("WEBPUSH_PUSH_SERVICES", [
    "https://fcm.googleapis.com", "https://android.googleapis.com", "https://updates.push.services.mozilla.com",
    "https://*.push.services.mozilla.com", "https://web.push.apple.com", "https://*.push.apple.com",
    "https://*.notify.windows.com"])
# Seconds to wait for a push service or the mail server: a send runs off the request thread, but a hung one
# must not hold a worker thread for long.
NOTIFICATION_TIMEOUT_S = env_float("NOTIFICATION_TIMEOUT_S", 5.0, minimum=0.1)
# True runs the sends in the thread that made the order ready, after its commit (the tests); False, in a small
# pool of background threads, so a barista's bump never waits on the network.
NOTIFICATIONS_SYNC = env_bool("NOTIFICATIONS_SYNC", False)
# Email through Django's mail backends: SMTP when EMAIL_HOST is set, else printed on stdout (make run).
EMAIL_HOST = env_str("EMAIL_HOST", "")
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)  # TLS from the start (port 465)
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", not EMAIL_USE_SSL)  # STARTTLS (port 587)
if EMAIL_USE_SSL and EMAIL_USE_TLS:
    raise ImproperlyConfigured("Set one of EMAIL_USE_SSL (port 465) and EMAIL_USE_TLS (STARTTLS, port 587), not both")
EMAIL_PORT = env_int("EMAIL_PORT", 465 if EMAIL_USE_SSL else 587, minimum=1)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_TIMEOUT = NOTIFICATION_TIMEOUT_S
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend" if EMAIL_HOST
                        else "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Order ahead <orders@example.com>")

# Log lines on stdout (orderahead.logs): LOG_FORMAT=console reads well in a terminal; json (production's
# default) is one JSON object per line, each with the request id and, where it concerns one, the order id.
LOG_FORMAT = env_str("LOG_FORMAT", "console")
LOG_LEVEL = env_str("LOG_LEVEL", "INFO")
# The stripe library logs every request at INFO; its warnings and errors are enough.
LOG_LEVELS = {"stripe": env_str("STRIPE_LOG_LEVEL", "WARNING")}
LOGGING = logging_config(LOG_FORMAT, level=LOG_LEVEL, levels=LOG_LEVELS)

# /metrics (orderahead.metrics) answers this machine and TRUSTED_PROXIES; with a token set, also a scraper
# elsewhere that sends `Authorization: Bearer <METRICS_TOKEN>`.
METRICS_TOKEN = env_str("METRICS_TOKEN", "")
# Several workers: each writes its metrics here and /metrics sums them (prometheus-client reads the variable
# itself). A missing directory would fail the first request that counts something; say so at start instead.
PROMETHEUS_MULTIPROC_DIR = env_str("PROMETHEUS_MULTIPROC_DIR", "")
if PROMETHEUS_MULTIPROC_DIR and not Path(PROMETHEUS_MULTIPROC_DIR).is_dir():
    raise ImproperlyConfigured(f"PROMETHEUS_MULTIPROC_DIR={PROMETHEUS_MULTIPROC_DIR} is not a directory; create it "
                               "(empty) before the workers start, or unset it for one process")
