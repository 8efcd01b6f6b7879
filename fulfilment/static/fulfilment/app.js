// Customer web app: stores, live menu, cart, quote, order, live status. Talks only to the REST API.
"use strict";

const app = document.getElementById("app");
const state = { token: localStorage.getItem("token"), cart: loadCart(), qr: {}, placing: false, flash: "" };
let refreshTimer = null;
// Stripe's Payment Element only when the server has a publishable key; otherwise the demo provider pays.
const stripe = window.STRIPE_KEY && window.Stripe ? window.Stripe(window.STRIPE_KEY) : null;

function money(minor, currency) {
  return new Intl.NumberFormat(undefined, { style: "currency", currency }).format(minor / 100);
}
// Times are shown in the store's time zone: a pickup at 8:15 means 8:15 where the coffee is.
function time(iso) {
  return iso ? new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", timeZone: state.tz }) : "—";
}
function esc(text) {
  return String(text ?? "").replace(/[&<>"']/g, c => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
}

// --- Cart and checkout key ----------------------------------------------------------------------
// The cart lives in localStorage, so every tab and every reload sees the same one. It carries the
// Idempotency-Key of "this checkout of this cart": a retry, a reload or a second tab sends the same key
// and gets the same order back instead of a second one. Changing the lines makes it another order, so
// it gets a new key (the server would refuse the old key with another body). `placing` is the exact
// request in flight: if the page goes away before the answer, the next visit sends it again.
function newKey() {
  if (crypto.randomUUID) return crypto.randomUUID();
  return [...crypto.getRandomValues(new Uint8Array(16))].map(b => b.toString(16).padStart(2, "0")).join("");
}
function loadCart() {
  const cart = JSON.parse(localStorage.getItem("cart") || "null");
  if (cart && !cart.key) { cart.key = newKey(); localStorage.setItem("cart", JSON.stringify(cart)); }  // a cart saved by an older app
  return cart;
}
function saveCart() { localStorage.setItem("cart", JSON.stringify(state.cart)); }
// Change the stored cart only if it is still the checkout `key` names (another tab may have moved on).
function updateCart(key, change) {
  const cart = loadCart();
  if (cart && cart.key === key) { change(cart); localStorage.setItem("cart", JSON.stringify(cart)); }
  state.cart = loadCart();
}
function changeLines(change) {
  updateCart(state.cart.key, cart => { change(cart.lines); cart.key = newKey(); delete cart.placing; });
}
// The order of this checkout exists: the cart is done with, in every tab.
function checkoutDone(key, orderId) {
  localStorage.setItem("placedOrder", JSON.stringify({ key, order: orderId }));
  if (loadCart()?.key === key) localStorage.removeItem("cart");
  state.cart = loadCart();
}

async function api(path, { method = "GET", body, headers = {} } = {}) {
  const h = { "Content-Type": "application/json", ...headers };
  if (state.token) h.Authorization = `Token ${state.token}`;
  let response;
  try { response = await fetch(`/api${path}`, { method, headers: h, body: body ? JSON.stringify(body) : undefined }); }
  catch {  // no answer at all (offline, the server restarting): say so; error.status stays unset
    throw new Error("Could not reach the server. Check your connection and try again.");
  }
  const data = response.headers.get("Content-Type")?.includes("json") ? await response.json() : null;
  if (!response.ok) {
    if (response.status === 401) { state.token = null; localStorage.removeItem("token"); }
    const error = new Error(data?.error?.message || `Request failed (${response.status})`);
    error.status = response.status;
    error.code = data?.error?.code;
    error.fields = data?.error?.fields;
    throw error;
  }
  return data;
}

function render(html) { app.innerHTML = html; }
function showError(error, where = app) {
  const p = document.createElement("p");
  p.className = "error";
  p.textContent = error.message;
  where.prepend(p);
}

// --- Views ---------------------------------------------------------------------------------

async function viewStores() {
  const stores = await api("/stores/");
  render(`<h1>Choose a store</h1>
    <button class="small" id="near">Nearest to me</button>
    <div id="list">${stores.map(storeCard).join("")}</div>`);
  document.getElementById("near").onclick = () => navigator.geolocation?.getCurrentPosition(async pos => {
    const near = await api(`/stores/?near=${pos.coords.latitude.toFixed(4)},${pos.coords.longitude.toFixed(4)}`);
    document.getElementById("list").innerHTML = near.map(storeCard).join("");
  });
}

function storeCard(store) {
  const paused = store.mobile_ordering.paused;
  const distance = store.distance_m != null ? ` · ${(store.distance_m / 1000).toFixed(1)} km` : "";
  return `<a class="card row" href="#/store/${store.id}" style="color:inherit;text-decoration:none">
    <div><strong>${esc(store.name)}</strong><div class="muted">${esc(store.address)}${distance}</div>
    ${paused ? `<div class="error">Mobile ordering paused: ${esc(store.mobile_ordering.reason)}</div>` : ""}</div><span>›</span></a>`;
}

async function viewMenu(storeId) {
  const { store, categories } = await api(`/stores/${storeId}/menu/`);
  state.tz = store.timezone;
  if (!state.cart || state.cart.store !== store.id) {
    state.cart = { store: store.id, currency: store.currency, tz: store.timezone, lines: [], key: newKey() };
    saveCart();
  }
  const items = categories.flatMap(c => c.items);
  render(`<h1>${esc(store.name)}</h1>
    ${store.mobile_ordering.paused ? `<p class="error">Mobile ordering is paused: ${esc(store.mobile_ordering.reason)}</p>` : ""}
    ${categories.map(c => `<h2>${esc(c.name)}</h2>${c.items.map(itemCard).join("")}`).join("")}
    <div style="position:sticky;bottom:0;padding:.5rem 0"><button class="primary" id="checkout">${cartButtonText()}</button></div>`);
  app.querySelectorAll("form.item").forEach(form => form.onsubmit = event => {
    event.preventDefault();
    const item = items.find(i => i.id === Number(form.dataset.item));
    const modifiers = [...form.querySelectorAll("input:checked")].map(i => Number(i.value));
    const quantity = Number(form.quantity.value);
    // The limit is per item across the order (an oat and an almond latte are two lattes), as the server counts.
    const inCart = state.cart.lines.filter(l => l.item === item.id).reduce((sum, l) => sum + l.quantity, 0);
    if (inCart + quantity > item.max_quantity) {
      showError(new Error(`At most ${item.max_quantity} x ${item.name} per order (your cart has ${inCart}).`), form);
      return;
    }
    changeLines(lines => lines.push({ item: item.id, name: item.name, quantity, modifiers }));
    viewMenu(storeId);
  });
  document.getElementById("checkout").onclick = () => { location.hash = `#/checkout`; };
}

function itemCard(item) {
  const stock = item.stock_count != null && item.available ? `<span class="muted"> · ${item.stock_count} left</span>` : "";
  const groups = item.modifier_groups.map(g => `<fieldset><legend>${esc(g.name)}
      <span class="muted">${g.min_choices ? "required" : "optional"}${g.max_choices > 1 ? `, up to ${g.max_choices}` : ""}</span></legend>
      ${g.options.map(o => `<label><input type="${g.max_choices === 1 ? "radio" : "checkbox"}" name="g${g.id}" value="${o.id}"
        ${o.is_default ? "checked" : ""} ${o.available ? "" : "disabled"}> ${esc(o.name)}
        ${o.price_delta_minor ? `(+${money(o.price_delta_minor, item.currency)})` : ""}</label>`).join(" ")}</fieldset>`).join("");
  return `<form class="card item ${item.available ? "" : "unavailable"}" data-item="${item.id}">
    <div class="row"><strong>${esc(item.name)}</strong><span class="price">${money(item.price_minor, item.currency)}</span></div>
    <div class="muted">${esc(item.description)}${stock}</div>
    ${item.available ? `<details><summary>Customise and add</summary>${groups}
      <label>Quantity <input name="quantity" type="number" min="1" max="${item.max_quantity}" value="1"></label>
      <button class="small">Add to cart</button></details>` : `<div class="error">${esc(item.unavailable_reason)}</div>`}
  </form>`;
}

function cartButtonText() { return `Cart: ${state.cart?.lines.length || 0} item(s) — Checkout`; }

function cartLines(cart) {
  return cart.lines.map((l, i) => `<div class="row"><span>${l.quantity} × ${esc(l.name)}</span>
    <button class="small" data-remove="${i}">Remove</button></div>`).join("");
}
function bindRemoveButtons() {
  app.querySelectorAll("[data-remove]").forEach(b => b.onclick = () => {
    changeLines(lines => lines.splice(Number(b.dataset.remove), 1));
    viewCheckout();
  });
}

async function viewCheckout() {
  let cart = state.cart;
  if (!cart || !cart.lines.length) { render(`<p>Your cart is empty. <a href="#/">Choose a store</a></p>`); return; }
  state.tz = cart.tz;
  let interrupted = null;
  if (cart.placing) {
    // This cart was being ordered when the page went away (a reload, a closed tab): send the same request
    // with the same key again. The server answers with the order if it was placed, or places it now.
    render(`<h1>Checkout</h1><div class="card placing-note" role="status"><span class="spinner"></span>
      Finishing the order you placed before the page was closed…</div>`);
    try { return await orderPlaced(await submitOrder(cart.key, cart.placing)); }
    catch (error) { interrupted = error; cart = state.cart; }
    if (!cart || !cart.lines.length) { render(`<p>Your cart is empty. <a href="#/">Choose a store</a></p>`); return; }
  }
  const items = cart.lines.map(({ item, quantity, modifiers }) => ({ item, quantity, modifiers }));
  let quote;
  try { quote = await api(`/stores/${cart.store}/quote/`, { method: "POST", body: { items, pickup: "asap" } }); }
  catch (error) {
    // Keep the cart editable: the error may be about a line (too many of an item, sold out) the customer can remove.
    render(`<h1>Checkout</h1><div class="card">${cartLines(cart)}</div>
      <p><a href="#/store/${cart.store}">Back to the menu</a></p>`);
    bindRemoveButtons(); showError(error); return;
  }
  render(`<h1>Checkout</h1>
    <div class="card">${cartLines(cart)}
      ${quote.tax_minor && !quote.tax.prices_include_tax ? `<div class="row"><span>${esc(quote.tax.label)}</span><span class="price">${money(quote.tax_minor, quote.currency)}</span></div>` : ""}
      <div class="row"><strong>Total</strong><span class="price">${money(quote.total_minor, quote.currency)}</span></div></div>
    <div class="card"><h2>Pickup</h2>
      <label><input type="radio" name="pickup" value="asap" ${quote.asap_available ? "checked" : "disabled"}>
        As soon as possible — ready about <strong>${time(quote.asap_ready_at)}</strong></label>
      ${quote.asap_available ? "" : `<p class="error">${esc(quote.asap_reason)}</p>`}
      <p class="muted">Or pick a slot:</p>
      <div class="slots">${quote.slots.map(s => `<label class="${s.available ? "" : "full"}" title="${esc(s.reason)}">
        <input type="radio" name="pickup" value="${s.starts_at}" ${s.available ? "" : "disabled"}> ${time(s.starts_at)}${s.available && s.ready_at
          && new Date(s.ready_at).getTime() !== new Date(s.starts_at).getTime() ? ` <span class="muted">(ready ${time(s.ready_at)})</span>` : ""}</label>`).join("")}</div>
    </div>
    ${stripe ? `<div class="card"><h2>Payment</h2><div id="payment-element"></div>
      <p class="muted">Your card is authorised now and charged when you pick up.</p></div>`
      : window.DEMO_PAYMENTS ? `<div class="card"><h2>Payment</h2><p class="demo-note">Demo payment: no card is needed and none is charged.</p></div>`
      : `<div class="card"><h2>Payment</h2><p class="error">Card payment is not available in this app right now.</p></div>`}
    <div id="auth"></div>
    <button class="primary" id="place" ${stripe || window.DEMO_PAYMENTS ? "" : "disabled"}>${stripe ? "Place order and pay" : "Place order (demo payment)"}</button>
    <p class="muted" id="placing-note" role="status" hidden>Sending your order to the store. If this page closes,
      opening the checkout again finishes it, without ordering twice.</p>`);
  bindRemoveButtons();
  if (interrupted) showError(interrupted);
  if (!state.token) renderLogin(document.getElementById("auth"));
  let elements = null;
  if (stripe) {
    elements = stripe.elements({ mode: "payment", amount: quote.total_minor, currency: quote.currency.toLowerCase(),
                                 captureMethod: "manual", paymentMethodCreation: "manual" });
    elements.create("payment").mount("#payment-element");
  }
  const button = document.getElementById("place");
  const label = button.textContent;
  // While placing: one request at a time, and nothing that would change what is being ordered.
  const showPlacing = placing => {
    button.disabled = placing;
    button.setAttribute("aria-busy", String(placing));
    button.innerHTML = placing ? `<span class="spinner"></span> Placing your order…` : esc(label);
    document.getElementById("placing-note").hidden = !placing;
    app.querySelectorAll("[data-remove], input[name=pickup]").forEach(input => { input.disabled = placing || input.dataset.off === "1"; });
  };
  app.querySelectorAll("input[name=pickup]").forEach(input => { input.dataset.off = input.disabled ? "1" : "0"; });
  button.onclick = async () => {
    if (state.placing) return;
    showPlacing(true);
    const pickup = app.querySelector("input[name=pickup]:checked")?.value || "asap";
    try {
      const body = { store: cart.store, items, pickup };
      if (elements) {
        const { error: invalid } = await elements.submit();
        if (invalid) throw new Error(invalid.message);
        const { error, paymentMethod } = await stripe.createPaymentMethod({ elements });
        if (error) throw new Error(error.message);
        body.payment_method = paymentMethod.id;
      }
      await orderPlaced(await submitOrder(cart.key, body));
    } catch (error) {
      showPlacing(false); showError(error);
    }
  };
}

// Send the order of the checkout `key`. Returns the order (or, for a key already used with another pickup,
// just its id) once it exists; only then is the cart cleared, in this tab and the others.
async function submitOrder(key, body) {
  state.placing = true;
  updateCart(key, cart => { cart.placing = body; });
  try {
    const order = await api("/orders/", { method: "POST", headers: { "Idempotency-Key": key }, body });
    checkoutDone(key, order.id);
    return order;
  } catch (error) {
    if (error.code === "idempotency_key_reused" && error.fields?.order) {
      // This checkout's order already exists (placed from another tab or before a reload, with another pickup).
      checkoutDone(key, error.fields.order);
      state.flash = "This cart was already ordered, for another pickup time: here is that order.";
      return { id: error.fields.order };
    }
    if (error.status) {  // the server answered, so there is nothing to finish later
      updateCart(key, cart => {
        delete cart.placing;
        // A declined or refused card cancelled that order: the next attempt is a new order with a new key.
        if (error.status === 402 || error.code === "payment_refused") cart.key = newKey();
      });
    }
    throw error;
  } finally {
    state.placing = false;
  }
}

async function orderPlaced(order) {
  if (order.payment?.requires_action) {
    try { order = await finishPaymentAction(order); }
    catch (error) { state.flash = error.message; }  // the order page offers to pay again
  }
  location.hash = `#/order/${order.id}`;
}

// 3-D Secure and the like: stripe.js shows the bank's step, then the server asks Stripe for the outcome.
async function finishPaymentAction(order) {
  const { client_secret: clientSecret } = await api(`/orders/${order.id}/payment/`);
  const { error } = await stripe.handleNextAction({ clientSecret });
  if (error) throw new Error(error.message);
  return api(`/orders/${order.id}/payment/refresh/`, { method: "POST" });
}

function renderLogin(where) {
  where.innerHTML = `<form class="card" id="login"><h2>Sign in to order</h2>
    <input name="username" placeholder="Username" autocomplete="username" required>
    <input name="password" type="password" placeholder="Password" autocomplete="current-password" required>
    <div class="row"><button class="small" name="mode" value="login">Sign in</button>
    <button class="small" name="mode" value="register">Create account</button></div></form>`;
  const form = where.querySelector("form");
  form.onsubmit = async event => {
    event.preventDefault();
    const mode = event.submitter?.value || "login";
    try {
      const { token } = await api(`/auth/${mode}/`, { method: "POST", body: { username: form.username.value, password: form.password.value } });
      state.token = token; localStorage.setItem("token", token);
      where.innerHTML = `<p class="muted">Signed in as ${esc(form.username.value)}.</p>`;
      document.getElementById("logout").hidden = false;
    } catch (error) { showError(error, form); }
  };
}

async function viewOrders() {
  if (!state.token) { render(`<div id="auth"></div>`); renderLogin(document.getElementById("auth")); return; }
  const orders = await api("/orders/");
  render(`<h1>My orders</h1>${orders.map(o => `<a class="card row" href="#/order/${o.id}" style="color:inherit;text-decoration:none">
    <span>#${o.id} · ${esc(o.store_name)}<br><span class="muted">${esc(o.status_label)}</span></span>
    <span class="price">${money(o.total_minor, o.currency)}</span></a>`).join("") || "<p>No orders yet.</p>"}`);
}

async function viewOrder(orderId, pushed) {
  const order = pushed || await api(`/orders/${orderId}/`);  // `pushed`: the state the order's socket sent
  state.tz = order.store_timezone;
  const open = ["pending_payment", "confirmed", "in_progress", "ready"].includes(order.status);
  const pay = stripe && order.status === "pending_payment" && order.payment.provider === "stripe";
  const flash = state.flash;
  state.flash = "";
  render(`<h1>Order #${order.id}</h1>${flash ? `<p class="error" role="status">${esc(flash)}</p>` : ""}
    <div class="card"><div class="status" data-status="${order.status}">${esc(order.status_label)}</div>
      <div>${esc(order.store_name)} · ready about <strong>${time(order.promised_ready_at)}</strong>${moved(order)}</div>
      ${order.payment.demo ? `<div class="demo-note">Demo payment: no card was charged.</div>`
        : order.payment.message ? `<div class="muted">${esc(order.payment.message)}</div>` : ""}
      ${order.cancel_reason ? `<div class="error">${esc(order.cancel_reason)}</div>` : ""}</div>
    ${order.pickup ? `<div class="card pickup"><h2>Show this at the pickup shelf</h2>
      <img class="qr" id="qr" alt="Pickup QR code">
      <div class="pickup-code" aria-label="Pickup code">${esc(order.pickup.code)}</div>
      <p class="muted">Or say this code and your name (${esc(order.customer_name)}). Valid until ${time(order.pickup.valid_until)}.</p></div>` : ""}
    ${pay ? `<div class="card"><h2>Pay</h2><div id="payment-element"></div>
      <button class="primary" id="pay">Pay ${money(order.total_minor, order.currency)}</button></div>` : ""}
    <div class="card">${order.lines.map(l => `<div class="row"><span>${l.quantity} × ${esc(l.item_name)}
      <span class="muted">${l.modifiers.map(m => esc(m.option)).join(", ")}</span></span>
      <span class="price">${money(l.line_total_minor, order.currency)}</span></div>`).join("")}
      <div class="row"><strong>Total</strong><span class="price">${money(order.total_minor, order.currency)}</span></div></div>
    ${["pending_payment", "confirmed"].includes(order.status) ? `<button class="small" id="cancel">Cancel order</button>` : ""}`);
  document.getElementById("cancel")?.addEventListener("click", async () => {
    try { await api(`/orders/${order.id}/cancel/`, { method: "POST" }); viewOrder(orderId); } catch (error) { showError(error); }
  });
  if (order.pickup) showQr(order);
  if (pay) { await mountPayment(order); return; }  // no refresh while the customer types a card number
  if (open) followOrder(orderId); else window.OrderLive?.stop();
}

// Live status: the order's socket pushes each change (live.js); poll only while it is down.
function followOrder(orderId) {
  clearTimeout(refreshTimer);
  const update = order => viewOrder(orderId, order || undefined).catch(() => followOrder(orderId));
  if (window.OrderLive?.follow(orderId, state.token, update)) return;
  refreshTimer = setTimeout(() => viewOrder(orderId), 5000);
}
function moved(order) {  // the kitchen's current estimate, when it is a minute or more off the promise
  const off = order.estimated_ready_at && Math.abs(Date.parse(order.estimated_ready_at) - Date.parse(order.promised_ready_at));
  return off >= 60000 ? ` · now expected about <strong>${time(order.estimated_ready_at)}</strong>` : "";
}

// The QR image needs the API token, which an <img src> cannot send: fetch it once, show it as a blob.
async function showQr(order) {
  const img = document.getElementById("qr");
  if (!state.qr[order.id]) {
    const response = await fetch(order.pickup.qr_svg, { headers: { Authorization: `Token ${state.token}` } });
    if (!response.ok) return;
    state.qr[order.id] = URL.createObjectURL(await response.blob());
  }
  img.src = state.qr[order.id];
}

// An order placed without a card (e.g. through the API): pay for it here with the Payment Element.
async function mountPayment(order) {
  const { client_secret: clientSecret } = await api(`/orders/${order.id}/payment/`);
  if (!clientSecret) return;
  const elements = stripe.elements({ clientSecret });
  elements.create("payment").mount("#payment-element");
  document.getElementById("pay").onclick = async event => {
    event.target.disabled = true;
    const { error } = await stripe.confirmPayment({ elements, redirect: "if_required",
                                                    confirmParams: { return_url: location.href } });
    if (error) { event.target.disabled = false; showError(error); return; }
    await api(`/orders/${order.id}/payment/refresh/`, { method: "POST" });
    viewOrder(order.id);
  };
}

// --- Router --------------------------------------------------------------------------------

async function route() {
  clearTimeout(refreshTimer);
  window.OrderLive?.watchMenu(state.cart?.store);  // tells the customer if an item in the cart runs out
  if (!location.hash.startsWith("#/order/")) window.OrderLive?.stop();
  document.getElementById("logout").hidden = !state.token;
  const [, view, id] = location.hash.split("/");
  try {
    if (view === "store") await viewMenu(Number(id));
    else if (view === "checkout") await viewCheckout();
    else if (view === "orders") await viewOrders();
    else if (view === "order") await viewOrder(Number(id));
    else await viewStores();
  } catch (error) { render(""); showError(error); }
}
document.getElementById("logout").onclick = () => { state.token = null; localStorage.removeItem("token"); route(); };
// Another tab changed the cart or placed its order: follow it, unless this tab is placing (its answer decides).
window.addEventListener("storage", event => {
  if (event.key !== "cart" && event.key !== "placedOrder") return;
  const before = state.cart;
  state.cart = loadCart();
  if (state.placing || before?.key === state.cart?.key) return;  // the same checkout: nothing to redraw
  const placed = JSON.parse(localStorage.getItem("placedOrder") || "null");
  const view = location.hash.split("/")[1];
  if (view === "checkout" && placed && before && placed.key === before.key) location.hash = `#/order/${placed.order}`;
  else if (view === "checkout") route();
  else if (view === "store" && document.getElementById("checkout")) document.getElementById("checkout").textContent = cartButtonText();
});
window.addEventListener("hashchange", route);
route();
