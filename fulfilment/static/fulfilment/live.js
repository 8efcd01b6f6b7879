// Live updates for the customer app: the order's state over its socket (ws/orders/<id>/), and items and
// modifier options that run out (86) or come back while they sit in the cart (ws/stores/<id>/menu/). A push is only a hint: the app renders
// the order it brings, and polls the REST API as before whenever the socket is down.
"use strict";

window.OrderLive = (() => {
  const url = path => `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}${path}`;
  let socket = null, following = null, heartbeat = null, retry = null, backoff = 1000;
  let menuSocket = null, menuStore = null;

  // Follow an order: `onOrder(order)` gets each new state; `onOrder(null)` means "the socket dropped:
  // fetch it yourself". Returns true while the socket is open (no polling needed).
  function follow(orderId, token, onOrder) {
    if (following === orderId && (socket || retry)) {  // already on it (or about to try again)
      if (socket) socket.onOrder = onOrder;
      follow.onOrder = onOrder;
      return Boolean(socket) && socket.readyState === WebSocket.OPEN;
    }
    stop();
    following = orderId;
    open(orderId, token, onOrder);
    return false;
  }

  function open(orderId, token, onOrder) {
    // A browser cannot put the API token in a header here, so it travels as a subprotocol.
    const ws = new WebSocket(url(`/ws/orders/${orderId}/`), token ? ["orderahead.v1", `token.${token}`] : ["orderahead.v1"]);
    ws.onOrder = onOrder;
    socket = ws;
    ws.onmessage = event => {
      const message = JSON.parse(event.data);
      if (message.type === "order") ws.onOrder(message.order);
    };
    ws.onopen = () => { backoff = 1000; };
    ws.onclose = event => {
      if (socket !== ws) return;
      socket = null;
      clearInterval(heartbeat);
      if (event.code === 4403 || event.code === 4404) return; // not this customer's order: no retry
      follow.onOrder = ws.onOrder;
      retry = setTimeout(() => { retry = null; if (following === orderId) open(orderId, token, follow.onOrder); }, backoff);
      backoff = Math.min(backoff * 2, 15000);
      ws.onOrder(null); // the app polls the API until the socket is back
    };
    clearInterval(heartbeat);
    heartbeat = setInterval(() => { if (ws.readyState === WebSocket.OPEN) ws.send('{"action":"sync"}'); }, 20000);
  }

  function stop() {
    following = null;
    clearTimeout(retry);
    retry = null;
    backoff = 1000;
    clearInterval(heartbeat);
    if (socket) { const ws = socket; socket = null; ws.close(); }
  }

  // Tell a customer when an item in their cart is marked out (86) at the store.
  function watchMenu(storeId) {
    if (menuStore === storeId && menuSocket) return;
    if (menuSocket) { const ws = menuSocket; menuSocket = null; ws.close(); }
    menuStore = storeId || null;
    if (!menuStore) return;
    const ws = new WebSocket(url(`/ws/stores/${menuStore}/menu/`));
    menuSocket = ws;
    ws.onmessage = event => {
      const message = JSON.parse(event.data);
      if (message.type !== "items") return;
      message.items.forEach(notice);
      (message.options || []).forEach(optionNotice);
    };
    ws.onclose = () => { if (menuSocket === ws) { menuSocket = null; setTimeout(() => watchMenu(menuStore), 5000); } };
  }

  function notice(item) {
    const cart = JSON.parse(localStorage.getItem("cart") || "null");
    if (!item.eighty_sixed || !cart || cart.store !== menuStore || !cart.lines.some(line => line.item === item.id)) return;
    const box = document.createElement("p");
    box.className = "error live-notice";
    box.setAttribute("role", "alert");
    box.textContent = `${item.name} has just run out at this store: remove it from your cart or change it.`;
    document.getElementById("app")?.prepend(box);
    window.dispatchEvent(new CustomEvent("orderahead:item-out", { detail: item }));
  }

  // An option in the cart (oat milk) ran out or came back: the checkout re-quotes either way, so the line
  // shows what to change, or the error goes once it is back.
  function optionNotice(option) {
    const cart = JSON.parse(localStorage.getItem("cart") || "null");
    if (!cart || cart.store !== menuStore || !cart.lines.some(line => (line.modifiers || []).includes(option.id))) return;
    if (!option.available) {
      const box = document.createElement("p");
      box.className = "error live-notice";
      box.setAttribute("role", "alert");
      box.textContent = `${option.group_name}: ${option.name} has just run out at this store: change it in your cart.`;
      document.getElementById("app")?.prepend(box);
    }
    window.dispatchEvent(new CustomEvent("orderahead:option-changed", { detail: option }));
  }

  return { follow, stop, watchMenu };
})();
