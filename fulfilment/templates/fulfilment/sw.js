// The customer app's service worker (served by fulfilment.pwa at /sw.js, scope "/").
// - The app shell (the page, its scripts, styles and icons) is pre-cached under a versioned name; the version is
//   a digest of those files, so a new release installs a new worker and its own cache, and the old one goes.
// - GET /api/orders/<id>/ (and its QR code): network first, the last copy when offline, so the order page works
//   without a connection. Every other API call and every non-GET goes to the network untouched.
// - Web Push: a push {title, body, url, tag} shows a notification; clicking it opens (or focuses) url.
"use strict";

const CACHE_VERSION = "{{ cache_version }}";
const SHELL_CACHE = `shell-${CACHE_VERSION}`;
const ORDERS_CACHE = "orders-v1";  // kept across releases: the customer's last order stays readable offline
const SHELL_URLS = {{ shell_urls|safe }};
const ORDER_PAGE = /^\/api\/orders\/\d+\/(qr\.(png|svg))?$/;

self.addEventListener("install", event => {
  // cache: "reload" skips the HTTP cache, so the new shell is really the one on the server.
  event.waitUntil(caches.open(SHELL_CACHE)
    .then(cache => cache.addAll(SHELL_URLS.map(url => new Request(url, { cache: "reload" }))))
    .then(() => self.skipWaiting()));
});

self.addEventListener("activate", event => {
  event.waitUntil(caches.keys()
    .then(names => Promise.all(names.filter(name => name.startsWith("shell-") && name !== SHELL_CACHE)
      .map(name => caches.delete(name))))
    .then(() => self.clients.claim()));
});

// Network first, the cached copy (under `key`) when the network fails; a good answer replaces the cached one.
// The page that asked (`clientId`) is told which it got, so it can say it shows a saved copy even when the
// browser believes it is online (a captive portal, a dead server).
async function networkFirst(request, cacheName, key, clientId) {
  const cache = await caches.open(cacheName);
  try {
    const response = await fetch(request);
    if (response.ok) await cache.put(key, response.clone());
    tell(clientId, "network");
    return response;
  } catch (error) {
    const cached = await cache.match(key);
    if (!cached) throw error;
    tell(clientId, "saved-copy");
    return cached;
  }
}

function tell(clientId, source) {
  if (clientId) self.clients.get(clientId).then(client => client?.postMessage({ type: "order-source", source }));
}

// An API answer is cached under its URL plus a digest of the token that asked for it (the API does not vary on
// Authorization), so another account on the same phone never gets it offline.
async function accountKey(request) {
  const token = new TextEncoder().encode(request.headers.get("Authorization") || "");
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", token));
  const url = new URL(request.url);
  url.searchParams.set("sw-account", [...digest.slice(0, 12)].map(b => b.toString(16).padStart(2, "0")).join(""));
  return url.href;
}

async function cacheFirst(request) {
  const cached = await caches.match(request, { cacheName: SHELL_CACHE });
  return cached || fetch(request);
}

self.addEventListener("fetch", event => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) return;  // network only
  if (url.pathname.startsWith("/api/")) {
    if (ORDER_PAGE.test(url.pathname)) {
      event.respondWith(accountKey(request).then(key => networkFirst(request, ORDERS_CACHE, key, event.clientId)));
    }
    return;  // every other API call: network only
  }
  if (request.mode === "navigate" && url.pathname === "/") {
    // The page carries a fresh CSP nonce, so it comes from the server when it can; offline, the last one.
    event.respondWith(networkFirst(request, SHELL_CACHE, "/"));
    return;
  }
  if (SHELL_URLS.includes(url.pathname)) event.respondWith(cacheFirst(request));
});

self.addEventListener("push", event => {
  let message = {};
  try { message = event.data ? event.data.json() : {}; }
  catch { message = { body: event.data.text() }; }
  const title = message.title || "Order ahead";
  event.waitUntil(self.registration.showNotification(title, {
    body: message.body || "",
    tag: message.tag || undefined,
    renotify: Boolean(message.tag),
    data: { url: message.url || "/" },
    icon: SHELL_URLS.find(url => url.endsWith("icon-192.png")),
  }));
});

self.addEventListener("notificationclick", event => {
  event.notification.close();
  const target = new URL(event.notification.data?.url || "/", self.location.origin).href;
  event.waitUntil((async () => {
    const windows = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
    const open = windows.find(client => new URL(client.url).origin === self.location.origin);
    if (open) {
      // Focus needs the click's user activation; navigating an open tab does not.
      try { await open.focus(); } catch { /* a synthetic click (tests) has no activation */ }
      if (open.url !== target) {
        try { await open.navigate(target); return; } catch { /* an uncontrolled tab cannot be navigated */ }
      } else return;
    }
    await self.clients.openWindow(target);
  })());
});
