// The customer app as a PWA: registers the service worker (/sw.js), says so when the phone is offline, and offers
// Web Push to the app's own UI as window.OrderAheadPush:
//   supported() -> bool                 this browser can show push notifications from a service worker
//   subscribe(publicKey) -> Promise<bool>  asks permission, subscribes with the server's VAPID key (base64url)
//                                        and sends the subscription to /api/me/push-subscriptions/; false when
//                                        the customer said no; rejects with an Error that says what failed
//   unsubscribe() -> Promise<bool>       drops this browser's subscription here and on the server
"use strict";
(() => {
  const OFFLINE_ORDER = "You're offline — showing your last saved order";
  const OFFLINE_ELSEWHERE = "You're offline — your last saved order is still here; ordering needs a connection";

  const registration = "serviceWorker" in navigator
    ? navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(error => {
      console.warn("Service worker not registered:", error);
      return null;
    })
    : Promise.resolve(null);

  // --- Offline banner --------------------------------------------------------------------------
  function banner() {
    let element = document.getElementById("offline-banner");
    if (!element) {
      element = document.createElement("div");
      element.id = "offline-banner";
      element.className = "offline-banner";
      element.setAttribute("role", "status");
      element.hidden = true;
      // Styled here (style attributes are allowed by the CSP) so the banner needs no rule in app.css.
      Object.assign(element.style, { position: "sticky", top: "0", zIndex: "10", padding: ".6rem 1rem",
        background: "#5c4400", color: "#fff", textAlign: "center", fontWeight: "600" });
      document.body.prepend(element);
    }
    return element;
  }
  function showConnection() {
    const element = banner();
    element.textContent = location.hash.startsWith("#/order/") ? OFFLINE_ORDER : OFFLINE_ELSEWHERE;
    const offline = !navigator.onLine || showingSavedCopy;
    element.hidden = !offline;
    document.documentElement.classList.toggle("offline", offline);
  }
  // The service worker says whether the order on screen came from the network or from its saved copy.
  let showingSavedCopy = false;
  navigator.serviceWorker?.addEventListener("message", event => {
    if (event.data?.type !== "order-source") return;
    showingSavedCopy = event.data.source === "saved-copy";
    showConnection();
  });
  window.addEventListener("online", () => { showingSavedCopy = false; showConnection(); });
  window.addEventListener("offline", showConnection);
  window.addEventListener("hashchange", () => {
    if (!location.hash.startsWith("#/order/")) showingSavedCopy = false;
    showConnection();
  });
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", showConnection);
  else showConnection();

  // --- Web Push ----------------------------------------------------------------------------------
  function keyBytes(base64url) {
    const base64 = (base64url + "=".repeat((4 - base64url.length % 4) % 4)).replace(/-/g, "+").replace(/_/g, "/");
    return Uint8Array.from(atob(base64), c => c.charCodeAt(0));
  }
  async function send(method, body) {
    const headers = { "Content-Type": "application/json" };
    const token = localStorage.getItem("token");
    if (token) headers.Authorization = `Token ${token}`;
    const response = await fetch("/api/me/push-subscriptions/", { method, headers, body: JSON.stringify(body) });
    if (!response.ok && response.status !== 404) {
      let message = `Request failed (${response.status})`;
      try { message = (await response.json()).error?.message || message; } catch { /* not JSON */ }
      throw new Error(message);
    }
  }
  async function activeRegistration() {
    if (!(await registration)) throw new Error("Notifications need the app's service worker, which did not start");
    return navigator.serviceWorker.ready;
  }

  window.OrderAheadPush = {
    supported() {
      return "serviceWorker" in navigator && "PushManager" in window && "Notification" in window && isSecureContext;
    },
    async subscribe(publicKey) {
      if (!this.supported()) return false;
      if (!publicKey) throw new Error("The server has no push key configured");
      const permission = Notification.permission === "granted" ? "granted" : await Notification.requestPermission();
      if (permission !== "granted") return false;
      const worker = await activeRegistration();
      let subscription = await worker.pushManager.getSubscription();
      try {
        subscription = subscription || await worker.pushManager.subscribe(
          { userVisibleOnly: true, applicationServerKey: keyBytes(publicKey) });
      } catch (error) {
        throw new Error(`This browser could not subscribe to notifications (${error.message || error.name})`);
      }
      await send("POST", subscription.toJSON());
      return true;
    },
    async unsubscribe() {
      if (!this.supported()) return false;
      const worker = await activeRegistration();
      const subscription = await worker.pushManager.getSubscription();
      if (!subscription) return false;
      const { endpoint } = subscription;
      await subscription.unsubscribe();
      await send("DELETE", { endpoint });
      return true;
    },
  };
})();
