"""The customer app as an installable PWA: the web app manifest and the service worker, both served at the site's
root so the worker's scope is the whole app ("/") without a Service-Worker-Allowed header.

The worker's cache is named after a digest of the app shell's files and of the worker's own template: any change
to app.js, app.css, an icon or the worker makes /sw.js differ by at least that name, so the browser installs the
new worker, which pre-caches the new shell and drops the old cache. Static URLs come from `static()`, so they stay
right whatever STATICFILES_STORAGE says (plain /static/... today; hashed names under a manifest storage).
"""

import hashlib
import json
from functools import lru_cache

from django.conf import settings
from django.contrib.staticfiles import finders
from django.http import HttpResponse
from django.template.loader import get_template, render_to_string
from django.templatetags.static import static
from django.views.decorators.http import require_GET

APP_NAME = "Order ahead"
# The header's ink and the page's cream in app.css: the splash screen and the status bar match the app.
THEME_COLOUR = "#2b1d14"
BACKGROUND_COLOUR = "#faf7f2"
ICONS = [("fulfilment/icons/icon-192.png", "192x192", "any"),
         ("fulfilment/icons/icon-512.png", "512x512", "any"),
         ("fulfilment/icons/icon-maskable-512.png", "512x512", "maskable")]
# Where the app's own static files live (app.js, app.css, live.js, pwa.js, the icons): all pre-cached.
SHELL_STATIC_PREFIX = "fulfilment/"
SHELL_STATIC_SUFFIXES = (".js", ".css", ".png", ".svg", ".woff2")


def shell_static_paths() -> list[str]:
    """The app's static files by their static path, found the way staticfiles finds them."""
    paths = set()
    for finder in finders.get_finders():
        for path, _storage in finder.list(ignore_patterns=["*.map", "*.md"]):
            if path.startswith(SHELL_STATIC_PREFIX) and path.endswith(SHELL_STATIC_SUFFIXES):
                paths.add(path)
    return sorted(paths)


def _shell_digest(paths: list[str]) -> str:
    digest = hashlib.sha256(get_template("fulfilment/sw.js").template.source.encode())
    for path in paths:
        digest.update(path.encode())
        with open(finders.find(path), "rb") as file:
            digest.update(file.read())
    return digest.hexdigest()[:12]


@lru_cache(maxsize=1)
def _cached_worker() -> str:
    return _render_worker()


def _render_worker() -> str:
    paths = shell_static_paths()
    shell = ["/", "/manifest.webmanifest", *(static(path) for path in paths)]
    return render_to_string("fulfilment/sw.js", {"cache_version": _shell_digest(paths),
                                                 "shell_urls": json.dumps(shell, indent=2)})


@require_GET
def service_worker(request):
    # While static files may change under a running server (WHITENOISE_AUTOREFRESH, `make run`), the digest is
    # worked out on every request; in production the files are fixed for the process's life.
    body = _render_worker() if settings.WHITENOISE_AUTOREFRESH else _cached_worker()
    response = HttpResponse(body, content_type="text/javascript; charset=utf-8")
    # The browser must always ask: a stale worker would keep serving an old shell.
    response["Cache-Control"] = "no-cache"
    return response


@require_GET
def manifest(request):
    body = {
        "name": APP_NAME,
        "short_name": "Order ahead",
        "description": "Order coffee ahead and pick it up when it is ready.",
        "id": "/",
        "start_url": "/",
        "scope": "/",
        "display": "standalone",
        "orientation": "portrait",
        "theme_color": THEME_COLOUR,
        "background_color": BACKGROUND_COLOUR,
        "icons": [{"src": static(path), "sizes": sizes, "type": "image/png", "purpose": purpose}
                  for path, sizes, purpose in ICONS],
    }
    response = HttpResponse(json.dumps(body, indent=2), content_type="application/manifest+json")
    response["Cache-Control"] = "no-cache"
    return response
