"""The PWA's manifest and service worker as the server serves them: at the root, never cached stale, the shell's
static URLs as `static()` gives them, and a cache name that changes whenever a shell file does."""

import json
import re

import pytest
from django.templatetags.static import static

from fulfilment import pwa


@pytest.fixture
def client_get(client):
    def get(path):
        response = client.get(path)
        assert response.status_code == 200, response.content[:300]
        return response
    return get


def test_manifest_makes_the_app_installable(client_get):
    response = client_get("/manifest.webmanifest")
    assert response["Content-Type"] == "application/manifest+json"
    manifest = json.loads(response.content)
    assert manifest["start_url"] == "/" and manifest["display"] == "standalone"
    assert manifest["name"] and manifest["short_name"]
    assert re.fullmatch(r"#[0-9a-f]{6}", manifest["theme_color"])
    icons = {(icon["sizes"], icon["purpose"]): icon["src"] for icon in manifest["icons"]}
    assert set(icons) == {("192x192", "any"), ("512x512", "any"), ("512x512", "maskable")}
    for src in icons.values():
        assert client_get(src)["Content-Type"] == "image/png"


def test_service_worker_is_served_at_the_root_uncached_with_the_shell(client_get):
    response = client_get("/sw.js")
    assert response["Content-Type"].startswith("text/javascript")
    assert response["Cache-Control"] == "no-cache"
    body = response.content.decode()
    shell = json.loads(re.search(r"const SHELL_URLS = (\[.*?\]);", body, re.S).group(1))
    for path in ("fulfilment/app.js", "fulfilment/app.css", "fulfilment/live.js", "fulfilment/pwa.js",
                 "fulfilment/icons/icon-192.png"):
        assert static(path) in shell
    assert "/" in shell and "/manifest.webmanifest" in shell
    for url in shell[1:]:
        client_get(url)  # every pre-cached URL exists, or the worker's install would fail


def test_app_page_links_the_manifest_and_loads_the_worker_script(client_get):
    page = client_get("/").content.decode()
    assert '<link rel="manifest" href="/manifest.webmanifest">' in page
    assert 'name="theme-color"' in page and 'rel="apple-touch-icon"' in page
    assert static("fulfilment/pwa.js") in page


def test_cache_name_follows_the_shell_files(monkeypatch):
    paths = pwa.shell_static_paths()
    before = pwa._shell_digest(paths)
    assert before == pwa._shell_digest(paths)
    monkeypatch.setattr(pwa, "shell_static_paths", lambda: paths[:-1])
    assert pwa._shell_digest(paths[:-1]) != before
    assert f'const CACHE_VERSION = "{pwa._shell_digest(paths[:-1])}"' in pwa._render_worker()
