// Customer web app, part 3 of 3: signing in (and back to what the customer was doing), My orders, the order
// page (live status, pickup code, receipt, cancel, "tell me when it's ready"), Order again, favourites and
// the account page.
"use strict";

// --- Sign-in --------------------------------------------------------------------------------------------------

// A sign-in form inside `where`; `onDone` runs once signed in (the caller decides where the customer goes on).
function renderLogin(where, { title = "Sign in", level = 2, onDone } = {}) {
  where.innerHTML = `<form class="card login" novalidate>
    ${title ? `<h${level} ${level === 1 ? 'tabindex="-1"' : ""}>${esc(title)}</h${level}>` : ""}
    <label for="login-username">Username</label>
    <input id="login-username" name="username" autocomplete="username" autocapitalize="none" required>
    <label for="login-password">Password</label>
    <input id="login-password" name="password" type="password" autocomplete="current-password" required aria-describedby="login-help">
    <p class="muted" id="login-help">New here? Choose a username and a password of 8 characters or more, then Create account.</p>
    <p class="error" id="login-error" role="alert" hidden></p>
    <div class="actions"><button type="submit" class="primary" value="login">Sign in</button>
    <button type="submit" class="secondary" value="register">Create account</button></div></form>`;
  const form = where.querySelector("form");
  const message = form.querySelector("#login-error");
  form.onsubmit = async event => {
    event.preventDefault();
    const mode = event.submitter?.value || "login";
    if (!form.username.value.trim() || !form.password.value) {
      setMessage(message, "Enter a username and a password.");
      (form.username.value.trim() ? form.password : form.username).focus();
      return;
    }
    form.querySelectorAll("button").forEach(b => { b.disabled = true; });
    try {
      const { token, username } = await api(`/auth/${mode}/`, { method: "POST", body: { username: form.username.value.trim(), password: form.password.value } });
      state.token = token;
      state.username = username || form.username.value.trim();
      localStorage.setItem("token", token);
      localStorage.setItem("username", state.username);
      renderHeader();
      onDone?.();
    } catch (error) {
      form.querySelectorAll("button").forEach(b => { b.disabled = false; });
      setMessage(message, error.status === 401 ? "Wrong username or password." : error.message);
      form.password.focus();
    }
  };
}

function viewSignIn() {
  if (state.token) { location.hash = state.returnTo || "#/"; return; }
  render(`<div id="auth"></div>`);
  renderLogin(document.getElementById("auth"), { title: "Sign in", level: 1, onDone: () => {
    const back = state.returnTo && !state.returnTo.startsWith("#/signin") ? state.returnTo : "#/";
    if (location.hash === back) route(); else location.hash = back;
  } });
}

// Views that need an account show the form in place and come back to themselves.
function needSignIn(title, view) {
  render(`<h1 tabindex="-1">${esc(title)}</h1><p>Sign in to see this.</p><div id="auth"></div>`);
  renderLogin(document.getElementById("auth"), { title: "", onDone: () => view().then(focusHeading) });
}

// --- My orders ------------------------------------------------------------------------------------------------

const FINISHED = ["picked_up", "cancelled", "no_show"];

function orderSummary(order) {
  if (order.summary) return order.summary;
  return (order.lines || []).map(l => `${l.quantity > 1 ? `${l.quantity} × ` : ""}${l.item_name}`).join(", ");
}

async function viewOrders() {
  if (!state.token) { needSignIn("My orders", viewOrders); return; }
  const orders = await api("/orders/");
  render(`<h1 tabindex="-1">My orders</h1>
    ${orders.length ? `<ul class="orders">${orders.map(o => {
      state.tz = o.store_timezone;
      return `<li class="card order-card">
        <a class="order-link" href="#/order/${o.id}"><span class="order-title">Order #${o.id} · ${esc(o.store_name)}</span>
          <span class="muted"><span class="channel" data-channel="${esc(o.channel)}">${esc(channelLabel(o.channel))}</span> · ${esc(dateTime(o.created_at))}</span>
          <span>${esc(orderSummary(o))}</span>
          ${o.fire_on_arrival && !o.arrived_at && !o.customer_eta_at && ["confirmed", "in_progress"].includes(o.status)
            ? `<span>Made when you arrive: open it to say you are on your way</span>`
            : ["pending_payment", "confirmed", "in_progress"].includes(o.status) && o.promised_ready_at
            ? `<span>Ready <strong>${dayWord(o.promised_ready_at) === "Today" ? "" : `${esc(dayWord(o.promised_ready_at))} `}${readyWhen(o.promised_ready_at, o.promised_window_start, o.promised_window_end)}</strong></span>` : ""}</a>
        <div class="row"><span class="chip" data-status="${esc(o.status)}">${esc(o.status_label)}</span>
          <span class="price">${money(o.total_minor, o.currency)}</span></div>
        <div class="actions"><button type="button" class="secondary" data-reorder="${o.id}">Order again</button></div>
        <p class="error" role="alert" hidden></p></li>`;
    }).join("")}</ul>` : `<p>No orders yet. <a href="#/">Choose a store</a> to place your first.</p>`}`);
  app.querySelectorAll("[data-reorder]").forEach(button => button.onclick = () => reorder(Number(button.dataset.reorder), button));
}

// Order again: the server re-prices the old order's lines for today and lists what changed; the cart gets
// what can be ordered and the checkout shows the changes before anything is placed.
async function reorder(orderId, button) {
  const message = button.closest("li, section, div.actions")?.parentNode.querySelector("p[role=alert]") || button.parentNode;
  button.disabled = true;
  try {
    const data = await api(`/orders/${orderId}/reorder/`);
    const lines = data.lines || [];
    if (data.available === false || !lines.length) {
      const why = (data.changes || []).map(c => c.message).filter(Boolean).join(" ");
      throw new Error(`Nothing from this order can be ordered today.${why ? ` ${why}` : ""}`);
    }
    if (state.cart?.lines.length && !(await confirmDialog({ title: "Replace your cart?",
      text: `Your cart has ${plural(cartCount(), "item")}. Ordering this again replaces them.`, ok: "Replace my cart", cancel: "Keep my cart" }))) {
      button.disabled = false;
      return;
    }
    const menu = await menuOf(data.store, true).catch(() => null);
    const item = id => menu && findItem(menu, id);
    state.cart = {
      store: data.store, store_name: data.store_name || menu?.store.name, currency: data.currency || menu?.store.currency,
      tz: menu?.store.timezone, key: newKey(),
      lines: lines.map(l => {
        const options = (item(l.item)?.modifier_groups || []).flatMap(g => g.options.map(o => ({ ...o, group: g.name })));
        return { item: l.item, name: l.item_name, quantity: l.quantity, modifiers: l.modifiers || [], unit_minor: l.unit_price_minor,
                 options: (l.modifiers || []).map((id, i) => {
                   const o = options.find(x => x.id === id);
                   return { id, name: o?.name || l.modifier_names?.[i] || "", group: o?.group || "", delta: o?.price_delta_minor || 0 };
                 }) };
      }),
    };
    saveCart();
    state.checkout = { day: null, pickup: null };
    state.reorderChanges = data.changes || [];
    location.hash = "#/checkout";
  } catch (error) {
    button.disabled = false;
    if (message.tagName === "P") setMessage(message, error.status === 404 ? "This order cannot be ordered again here." : error.message);
    else showError(error, message, { prepend: false });
  }
}

// --- The order page -------------------------------------------------------------------------------------------

const STEPS = [["confirmed", "Placed"], ["in_progress", "Being made"], ["ready", "Ready"], ["picked_up", "Picked up"]];

async function viewOrder(orderId, pushed) {
  const order = pushed || await api(`/orders/${orderId}/`);  // `pushed`: the state the order's socket sent
  state.tz = order.store_timezone;
  const open = ["pending_payment", "confirmed", "in_progress", "ready"].includes(order.status);
  const pay = stripe && order.status === "pending_payment" && order.payment?.provider === "stripe";
  const flash = state.flash;
  state.flash = "";
  if (app.dataset.order === String(order.id) && document.getElementById("order-status")) {
    // A live update of the page already shown: change its parts in place, so the status region (aria-live)
    // announces the new state and what the customer is typing (an email address) stays.
    const status = document.getElementById("order-status");
    const html = statusHtml(order);
    if (status.dataset.html !== html) { status.innerHTML = html; status.dataset.html = html; }
    if (!pay) document.getElementById("order-pickup").innerHTML = pickupCardHtml(order);
    document.getElementById("receipt").innerHTML = receiptHtml(order);
    document.getElementById("order-actions").innerHTML = orderActionsHtml(order);
    document.getElementById("order-arrival").innerHTML = arrivalHtml(order);
    if (!open) document.getElementById("order-notify").hidden = true;
  } else {
    render(`<h1 tabindex="-1">Order #${order.id}</h1>
      <p class="muted">${esc(order.store_name)} · ${esc(channelLabel(order.channel))} · placed ${esc(dateTime(order.created_at))}</p>
      ${flash ? `<p class="notice" role="alert">${esc(flash)}</p>` : ""}
      <section class="card status-card" id="order-status" aria-live="polite" aria-atomic="true" aria-label="Order status"></section>
      <div id="order-pickup">${pay ? `<section class="card" aria-labelledby="pay-title"><h2 id="pay-title">Pay</h2><div id="payment-element"></div>
        <p class="error" id="pay-error" role="alert" hidden></p>
        <button type="button" class="primary" id="pay">Pay ${money(order.total_minor, order.currency)}</button></section>` : pickupCardHtml(order)}</div>
      <div id="order-arrival">${arrivalHtml(order)}</div>
      <section class="card" id="order-notify" aria-labelledby="notify-title" hidden></section>
      <section class="card receipt" id="receipt" aria-labelledby="receipt-title">${receiptHtml(order)}</section>
      <div id="order-actions">${orderActionsHtml(order)}</div>`);
    app.dataset.order = String(order.id);
    const status = document.getElementById("order-status");
    status.innerHTML = statusHtml(order);
    status.dataset.html = status.innerHTML;
    if (open && order.status !== "ready" && state.token) renderNotifications(document.getElementById("order-notify"), { title: "Tell me when it's ready" });
    document.getElementById("order-actions").addEventListener("click", event => orderAction(event, order.id));
    document.getElementById("order-arrival").addEventListener("click", event => orderAction(event, order.id));
  }
  if (order.pickup && !pay) showQr(order);
  if (pay) { await mountPayment(order); return; }  // no refresh while the customer types a card number
  if (open) followOrder(orderId); else window.OrderLive?.stop();
}

function statusHtml(order) {
  const stepAt = STEPS.findIndex(([status]) => status === order.status);
  const steps = stepAt >= 0 ? `<ol class="steps">${STEPS.map(([, label], i) =>
    `<li class="${i < stepAt ? "done" : i === stepAt ? "now" : ""}" ${i === stepAt ? 'aria-current="step"' : ""}>${label}</li>`).join("")}</ol>` : "";
  let detail = "";
  if (["pending_payment", "confirmed", "in_progress"].includes(order.status)) {
    const when = order.promised_ready_at;
    detail = `Ready <strong class="ready-when">${when && dayWord(when) !== "Today" ? `${esc(dayWord(when))} ` : ""}${readyWhen(when, order.promised_window_start, order.promised_window_end)}</strong>${moved(order)}`;
    if (order.slot_starts_at) detail = `Pickup time you chose: <strong>${esc(dayWord(order.slot_starts_at))} ${time(order.slot_starts_at)}</strong>. ${detail}`;
    if (order.fire_on_arrival && !order.arrived_at) detail = order.customer_eta_at
      ? `Made to be ready as you arrive, about <strong>${time(order.customer_eta_at)}</strong>.`
      : "Made when you arrive: tell us below when you are on your way, or that you are here.";
  } else if (order.status === "ready") detail = "Ready now: show the code below at the pickup shelf.";
  else if (order.status === "picked_up") {
    const at = (order.events || []).filter(e => e.to_status === "picked_up").pop()?.at;
    detail = `Picked up${at ? ` at ${time(at)}` : ""}. Enjoy!`;
  } else if (order.status === "no_show") detail = "This order was not collected in time.";
  else if (order.status === "cancelled") detail = "This order was cancelled.";
  const payment = order.payment || {};
  return `<p class="status" data-status="${esc(order.status)}">${esc(order.status_label)}</p>
    ${steps}<p>${detail}</p>
    ${order.cancel_reason ? `<p class="bad">${esc(order.cancel_reason)}</p>` : ""}
    ${payment.demo ? `<p class="demo-note">Demo payment: no card was charged.</p>` : ""}`;
}

function moved(order) {  // the kitchen's current estimate, when it is a minute or more off the promise
  const off = order.estimated_ready_at && Math.abs(Date.parse(order.estimated_ready_at) - Date.parse(order.promised_ready_at));
  return off >= 60000 ? ` · now expected about <strong>${time(order.estimated_ready_at)}</strong>` : "";
}

function pickupCardHtml(order) {
  if (!order.pickup) return "";
  return `<section class="card pickup" aria-labelledby="pickup-code-title"><h2 id="pickup-code-title">Show this at the pickup shelf</h2>
    <img class="qr" id="qr" alt="Pickup QR code for order ${order.id}" width="224" height="224">
    <p class="pickup-code"><span class="visually-hidden">Pickup code: </span>${esc(order.pickup.code)}</p>
    <p class="muted">Or say this code and your name (${esc(order.customer_name)}). Valid until ${time(order.pickup.valid_until)}${dayWord(order.pickup.valid_until) === "Today" ? "" : ` ${dayPhrase(order.pickup.valid_until)}`}.</p></section>`;
}

function receiptHtml(order) {
  const payment = order.payment || {};
  const refunded = payment.refunded_minor ? ` · ${money(payment.refunded_minor, order.currency)} refunded` : "";
  return `<h2 id="receipt-title">Receipt</h2>
    <p>${esc(order.store_name)}${order.store_address ? `<br><span class="muted">${esc(order.store_address)}</span>` : ""}</p>
    <p class="muted">Ordered ${esc(dateTime(order.created_at))}</p>
    <ul class="lines receipt-lines">${(order.lines || []).map(l => `<li class="line"><div class="line-main">
      <span>${l.quantity} × ${esc(l.item_name)}</span><span class="price">${money(l.line_total_minor, order.currency)}</span></div>
      ${(l.modifiers || []).length ? `<div class="muted mods">${l.modifiers.map(m => esc(m.option)).join(", ")}</div>` : ""}</li>`).join("")}</ul>
    ${totalsHtml(order, order.currency)}
    <p class="payment-state" data-payment="${esc(payment.status || "")}"><strong>${esc(payment.status_label || "")}</strong>${refunded}
      ${payment.message && !payment.demo ? `<br><span class="muted">${esc(payment.message)}</span>` : ""}</p>`;
}

// "I'm here" / "On my way, N minutes" (POST /orders/{id}/arrival/): the expo screen shows it on the ticket, and a
// "make it when I arrive" order is made for that moment. Offered while the order is paid and not picked up.
const ARRIVAL_STATUSES = ["confirmed", "in_progress", "ready"];
function arrivalHtml(order) {
  if (!ARRIVAL_STATUSES.includes(order.status)) return "";
  if (order.arrived_at) return `<p class="arrival-state" id="arrival-state">You told the store you are here.</p>`;
  const eta = order.customer_eta_at ? `<p class="arrival-state" id="arrival-state">The store expects you about <strong>${time(order.customer_eta_at)}</strong>.</p>` : "";
  return `<section class="card arrival" aria-labelledby="arrival-title"><h2 id="arrival-title">${order.fire_on_arrival && !order.customer_eta_at ? "Tell us when you are coming" : "On your way?"}</h2>${eta}
    <div class="actions"><button type="button" class="primary" data-arrive="here">I'm here</button>
    <label>On my way in <select id="arrival-minutes">${[2, 5, 10, 15, 20, 30, 45, 60].map(m => `<option value="${m}"${m === 10 ? " selected" : ""}>${m} min</option>`).join("")}</select></label>
    <button type="button" class="secondary" data-arrive="eta">Send</button></div><p class="error" role="alert" hidden></p></section>`;
}

function orderActionsHtml(order) {
  const cancel = ["pending_payment", "confirmed"].includes(order.status);
  return `<div class="actions">${cancel ? `<button type="button" class="secondary danger" id="cancel">Cancel order</button>` : ""}
    <button type="button" class="secondary" data-reorder="${order.id}">Order again</button></div>
    <p class="error" role="alert" hidden></p>`;
}

async function orderAction(event, orderId) {
  const button = event.target.closest("button");
  if (!button) return;
  if (button.dataset.reorder) { reorder(orderId, button); return; }
  if (button.dataset.arrive) {
    const body = button.dataset.arrive === "here" ? { here: true } : { eta_minutes: Number(document.getElementById("arrival-minutes").value) };
    button.disabled = true;
    try {
      const order = await api(`/orders/${orderId}/arrival/`, { method: "POST", body });
      await viewOrder(orderId, order);
    } catch (error) {
      button.disabled = false;
      setMessage(document.querySelector("#order-arrival p[role=alert]"), error.message);
    }
    return;
  }
  if (button.id !== "cancel") return;
  const ok = await confirmDialog({ title: `Cancel order #${orderId}?`,
    text: "The store stops making it and the hold on your card is released. This cannot be undone.",
    ok: "Cancel the order", cancel: "Keep my order" });
  if (!ok) { button.focus(); return; }
  try {
    await api(`/orders/${orderId}/cancel/`, { method: "POST" });
    delete app.dataset.order;
    await viewOrder(orderId);
    focusHeading();
  } catch (error) { setMessage(document.querySelector("#order-actions p[role=alert]"), error.message); }
}

// Live status: the order's socket pushes each change (live.js); poll only while it is down.
function followOrder(orderId) {
  clearTimeout(refreshTimer);
  const update = order => {
    if (location.hash !== `#/order/${orderId}`) return;
    viewOrder(orderId, order || undefined).catch(() => followOrder(orderId));
  };
  if (window.OrderLive?.follow(orderId, state.token, update)) return;
  refreshTimer = setTimeout(() => update(null), 5000);
}

// The QR image needs the API token, which an <img src> cannot send: fetch it once, show it as a blob.
async function showQr(order) {
  if (!state.qr[order.id]) {
    const response = await fetch(order.pickup.qr_svg, { headers: { Authorization: `Token ${state.token}` } }).catch(() => null);
    if (!response?.ok) return;
    state.qr[order.id] = URL.createObjectURL(await response.blob());
  }
  const img = document.getElementById("qr");
  if (img) img.src = state.qr[order.id];
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
    if (error) { event.target.disabled = false; setMessage(document.getElementById("pay-error"), error.message); return; }
    await api(`/orders/${order.id}/payment/refresh/`, { method: "POST" });
    delete app.dataset.order;
    viewOrder(order.id);
  };
}

// --- "Tell me when it's ready": email consent and this device's push notifications ------------------------------

async function renderNotifications(section, { title }) {
  let settings;
  try { settings = await api("/me/notifications/"); }
  catch { section.hidden = true; return; }  // a server without notifications: nothing to offer
  const push = window.OrderAheadPush;
  let pushReason = "";
  if (!push || !push.supported?.()) pushReason = "This browser cannot show notifications from this site.";
  else if (!settings.push_public_key) pushReason = "Notifications to this device are not set up on this server yet.";
  else if (window.Notification?.permission === "denied") pushReason = "Notifications are blocked for this site: allow them in your browser settings.";
  section.hidden = false;
  section.innerHTML = `<h2 id="notify-title">${esc(title)}</h2>
    <label class="choice"><input type="checkbox" id="notify-email" ${settings.email_when_ready ? "checked" : ""}> Email me when my order is ready</label>
    <div class="field"><label for="notify-address">Email address</label>
      <input id="notify-address" type="email" autocomplete="email" inputmode="email" value="${esc(settings.email || "")}" aria-describedby="notify-email-message"></div>
    <p id="notify-email-message" role="status" hidden></p>
    <button type="button" class="secondary" id="notify-push" ${pushReason ? 'disabled aria-describedby="notify-push-message"' : ""}>Notify me on this device</button>
    ${!pushReason && settings.push_subscriptions && title === "Notifications" ? `<button type="button" class="link" id="notify-push-off">Stop notifications on this device</button>` : ""}
    <p id="notify-push-message" class="muted" role="status">${esc(pushReason || (settings.push_subscriptions ? `Notifications are on for ${plural(settings.push_subscriptions, "device")}.` : ""))}</p>`;
  const box = section.querySelector("#notify-email");
  const address = section.querySelector("#notify-address");
  const emailMessage = section.querySelector("#notify-email-message");
  const save = async () => {
    if (box.checked && !address.value.trim()) {
      box.checked = false;
      setMessage(emailMessage, "Enter your email address first, then tick the box.");
      address.focus();
      return;
    }
    if (address.value.trim() && !address.checkValidity()) { setMessage(emailMessage, "That email address does not look right."); address.focus(); return; }
    const body = { email_when_ready: box.checked };
    if (address.value.trim() && address.value.trim() !== settings.email) body.email = address.value.trim();
    try {
      settings = await api("/me/notifications/", { method: "PATCH", body });
      box.checked = settings.email_when_ready;
      setMessage(emailMessage, settings.email_when_ready ? `We will email ${settings.email} when it is ready.` : "No email will be sent.", "muted");
    } catch (error) { box.checked = settings.email_when_ready; setMessage(emailMessage, error.message); }
  };
  box.addEventListener("change", save);
  address.addEventListener("change", () => { if (box.checked) save(); });  // a new address for emails already on
  section.querySelector("#notify-push-off")?.addEventListener("click", async event => {
    const message = section.querySelector("#notify-push-message");
    try { await push.unsubscribe(); event.target.hidden = true; setMessage(message, "This device will no longer get notifications.", "muted"); }
    catch (error) { setMessage(message, error.message); }
  });
  const pushButton = section.querySelector("#notify-push");
  pushButton.addEventListener("click", async () => {
    const message = section.querySelector("#notify-push-message");
    pushButton.disabled = true;
    let ok = false;
    let failure = "";
    try { ok = await push.subscribe(settings.push_public_key); } catch (error) { ok = false; failure = error.message; }
    if (ok) { setMessage(message, "This device will get a notification when your order is ready.", "muted"); pushButton.textContent = "Notifications on"; }
    else {
      pushButton.disabled = false;
      setMessage(message, window.Notification?.permission === "denied"
        ? "Notifications are blocked for this site: allow them in your browser settings." : failure || "Notifications were not turned on.");
    }
  });
}

// --- Favourites ---------------------------------------------------------------------------------------------------

async function loadFavourites() {
  if (!state.token) return [];
  try { return await api("/favourites/"); } catch { return null; }
}

// `store`: the list of all stores' favourites (the account page), where Order opens the store's menu.
function favouriteHtml(f, { store = true } = {}) {
  const names = (f.modifier_names || []).join(", ");
  return `<li class="card fav-card" data-favourite="${f.id}">
    <div><strong>${f.quantity > 1 ? `${f.quantity} × ` : ""}${esc(f.item_name)}</strong>
      ${names ? `<div class="muted">${esc(names)}</div>` : ""}
      ${store ? `<div class="muted">${esc(f.store_name)}</div>` : ""}
      <div class="price">${money(f.unit_price_minor * (f.quantity || 1), f.currency)}</div>
      ${f.available === false ? `<div class="notice">${esc(f.unavailable_reason || "Not available right now")}</div>` : ""}</div>
    <div class="actions">${f.available === false ? "" : store
      ? `<a class="button primary" href="#/store/${f.store}" aria-label="Order ${esc(f.item_name)} at ${esc(f.store_name)}">Order</a>`
      : `<button type="button" class="primary" data-fav-add="${f.id}" aria-label="Add ${esc(f.item_name)} to cart">Add</button>`}
      <button type="button" class="link" data-fav-remove="${f.id}" aria-label="Remove ${esc(f.item_name)} from favourites">Remove</button></div>
    <p class="error" role="alert" hidden></p></li>`;
}

// The favourites of this store, at the top of its menu: one tap adds one to the cart.
window.renderFavourites = async function renderFavourites(store) {
  const section = document.getElementById("favourites");
  const all = await loadFavourites();
  const mine = (all || []).filter(f => f.store === store.id);
  if (!section || !mine.length) return;
  section.hidden = false;
  section.innerHTML = `<h2 id="fav-title">Your favourites</h2><ul class="favs">${mine.map(f => favouriteHtml(f, { store: false })).join("")}</ul>
    <p id="fav-status" class="muted" role="status"></p>`;
  section.onclick = async event => {
    const button = event.target.closest("button");
    if (!button) return;
    const f = mine.find(x => x.id === Number(button.dataset.favAdd || button.dataset.favRemove));
    const error = button.closest("li").querySelector("p[role=alert]");
    if (button.dataset.favRemove) { removeFavourite(f, button); return; }
    const menu = await menuOf(store.id).catch(() => null);
    const item = menu && findItem(menu, f.item);
    if (item && quantityOf(f.item) + f.quantity > item.max_quantity) {
      setMessage(error, `At most ${item.max_quantity} × ${item.name} per order.`);
      return;
    }
    const options = (item?.modifier_groups || []).flatMap(g => g.options.map(o => ({ ...o, group: g.name })));
    changeLines(lines => addLine(lines, { item: f.item, name: f.item_name, quantity: f.quantity || 1, modifiers: f.modifiers || [],
      unit_minor: f.unit_price_minor, options: (f.modifiers || []).map((id, i) => {
        const o = options.find(x => x.id === id);
        return { id, name: o?.name || f.modifier_names?.[i] || "", group: o?.group || "", delta: o?.price_delta_minor || 0 };
      }) }));
    renderCartBar();
    setMessage(document.getElementById("fav-status"), `Added ${f.item_name} to your cart.`, "muted");
  };
};

async function removeFavourite(f, button) {
  const li = button.closest("li");
  try {
    await api(`/favourites/${f.id}/`, { method: "DELETE" });
    const list = li.parentNode;
    li.remove();
    if (!list.children.length) list.closest("section").hidden = true;
  } catch (error) { setMessage(li.querySelector("p[role=alert]"), error.message); }
}

// --- Account ---------------------------------------------------------------------------------------------------------

async function viewAccount() {
  if (!state.token) { needSignIn("Your account", viewAccount); return; }
  const favourites = await loadFavourites();
  render(`<h1 tabindex="-1">Your account</h1>
    <section class="card"><p>Signed in as <strong>${esc(state.username || "you")}</strong>.</p>
      <div class="actions"><a class="button secondary" href="#/orders">My orders</a>
      <button type="button" class="secondary" id="sign-out">Sign out</button></div></section>
    <section class="card member-card" id="member-card" aria-labelledby="member-title" hidden></section>
    <section class="card" id="account-notify" aria-labelledby="notify-title" hidden></section>
    <section class="card" aria-labelledby="fav-title"><h2 id="fav-title">Favourites</h2>
      ${favourites == null ? `<p class="muted">Favourites are not available right now.</p>`
        : favourites.length ? `<ul class="favs">${favourites.map(f => favouriteHtml(f)).join("")}</ul>`
        : `<p class="muted">None yet. In your cart, tap ☆ beside a drink to keep it here.</p>`}</section>
    <section class="card" id="account-privacy" aria-labelledby="privacy-title"></section>`);
  renderPrivacy(document.getElementById("account-privacy"));
  document.getElementById("sign-out").onclick = () => { signedOut(); location.hash = "#/"; };
  renderMemberCard(document.getElementById("member-card"));
  renderNotifications(document.getElementById("account-notify"), { title: "Notifications" });
  app.querySelectorAll("[data-fav-remove]").forEach(button => button.onclick = () =>
    removeFavourite(favourites.find(f => f.id === Number(button.dataset.favRemove)), button));
}
const viewFavourites = viewAccount;

// --- Your data: download it, or delete the account --------------------------------------------------------------

function renderPrivacy(section) {
  section.innerHTML = `<h2 id="privacy-title">Your data</h2>
    <p>Download everything we keep about you (your account, orders from the app and the store, stars, favourites and
      notification settings) as a file.</p>
    <div class="actions"><button type="button" class="secondary" id="data-download">Download my data</button>
      <button type="button" class="secondary danger" id="account-delete">Delete my account</button></div>
    <p id="privacy-message" role="status" hidden></p>`;
  const message = section.querySelector("#privacy-message");
  section.querySelector("#data-download").onclick = event => downloadMyData(event.target, message);
  section.querySelector("#account-delete").onclick = () => deleteAccount();
}

// The download needs the API token, which a plain link cannot send: fetch it, then save it as a file.
async function downloadMyData(button, message) {
  button.disabled = true;
  try {
    const response = await fetch("/api/me/data/", { headers: { Authorization: `Token ${state.token}` } });
    if (!response.ok) throw new Error(response.status === 401 ? "Sign in again to download your data." : `The download failed (${response.status}).`);
    const name = /filename="([^"]+)"/.exec(response.headers.get("Content-Disposition") || "")?.[1] || "my-data.json";
    const link = document.createElement("a");
    link.href = URL.createObjectURL(await response.blob());
    link.download = name;
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 60_000);
    setMessage(message, `Saved as ${name}.`, "muted");
  } catch (error) {
    setMessage(message, error.message || "Could not reach the server. Check your connection and try again.");
  } finally { button.disabled = false; }
}

// Deleting asks for the password again and says what happens before anything does.
function deleteAccount() {
  const dialog = document.createElement("dialog");
  dialog.className = "sheet confirm";
  dialog.setAttribute("aria-labelledby", "delete-title");
  dialog.innerHTML = `<form method="dialog" novalidate><h2 id="delete-title">Delete your account?</h2>
    <p id="delete-what">This deletes your account for good: you are signed out everywhere, your stars are gone (they cannot be
      given back), and your favourites, notification settings, phone number and birthday are removed. Your past orders stay in
      the store's books without your name. Orders still open must be picked up or cancelled first.</p>
    <label for="delete-password">Your password, to confirm</label>
    <input id="delete-password" name="password" type="password" autocomplete="current-password" required aria-describedby="delete-what">
    <p class="error" id="delete-error" role="alert" hidden></p>
    <div class="actions"><button type="button" class="secondary" value="no">Keep my account</button>
      <button type="submit" class="primary danger" value="yes">Delete my account</button></div></form>`;
  document.body.append(dialog);
  const form = dialog.querySelector("form");
  const error = dialog.querySelector("#delete-error");
  dialog.querySelector("button[value=no]").onclick = () => dialog.close();
  dialog.addEventListener("close", () => dialog.remove());
  form.onsubmit = async event => {
    event.preventDefault();
    if (!form.password.value) { setMessage(error, "Enter your password to confirm."); form.password.focus(); return; }
    form.querySelectorAll("button").forEach(b => { b.disabled = true; });
    try {
      await api("/me/delete/", { method: "POST", body: { password: form.password.value } });
    } catch (failure) {
      form.querySelectorAll("button").forEach(b => { b.disabled = false; });
      setMessage(error, failure.status === 403 ? "That password is not right; your account was not deleted." : failure.message);
      form.password.value = "";
      if (failure.status === 401) { dialog.close(); route(); } else form.password.focus();
      return;
    }
    dialog.close();
    signedOut();
    localStorage.removeItem("cart"); localStorage.removeItem("placedOrder");
    state.cart = null;
    render(`<h1 tabindex="-1">Your account is deleted</h1>
      <p>You are signed out. Your past orders stay in the store's books without your name.</p>
      <p><a href="#/">Back to the stores</a></p>`);
    focusHeading();
  };
  showDialog(dialog);
  form.password.focus();
}

// --- Member card: the QR staff scan at the till, the stars, and the phone staff may type instead ------------------
// The code in the QR works once and for two minutes (GET /me/member-code.svg draws a new one each time), so the
// card fetches a new one every refresh_after_s while it is on screen; the router's refreshTimer stops it.

const MEMBER_CODE_REFRESH_MS = 60000;

async function renderMemberCard(section) {
  let card;
  try { card = await api("/me/loyalty/"); } catch { return; }  // no loyalty here: nothing to show
  section.hidden = false;
  section.innerHTML = `<h2 id="member-title">Member card</h2>
    <p class="muted">Show this at the counter, kiosk or drive-thru: the order joins your account and earns stars.</p>
    <img class="qr member-qr" id="member-qr" alt="Your member code, to scan at the till" width="224" height="224">
    <p class="muted member-qr-note" id="member-qr-note" role="status">A new code every minute; each works once.</p>
    <p class="stars" id="member-stars"><strong id="member-balance">${card.balance}</strong> ${card.balance === 1 ? "star" : "stars"}</p>
    ${card.rewards.length ? `<ul class="rewards">${card.rewards.map(r => `<li><span>${esc(r.name)}</span>
      <span class="muted">${r.is_birthday ? "on your birthday" : `${r.stars_cost} stars`}</span></li>`).join("")}</ul>` : ""}
    <form id="member-form" class="member-form" novalidate>
      <div class="field"><label for="member-phone">Phone number</label>
        <input id="member-phone" name="phone" type="tel" autocomplete="tel" inputmode="tel" value="${esc(card.phone || "")}" aria-describedby="member-phone-help"></div>
      <p class="muted" id="member-phone-help">Staff can find you by it when you cannot show the code.</p>
      <div class="field"><label for="member-birthday">Birthday</label>
        <input id="member-birthday" name="birthday" type="date" value="${esc(card.birthday || "")}" ${card.birthday ? "disabled" : ""} aria-describedby="member-birthday-help"></div>
      <p class="muted" id="member-birthday-help">${card.birthday ? "Set. A store manager can correct it." : "For a birthday reward; it can be set once."}</p>
      <p id="member-message" role="status" hidden></p>
      <button type="submit" class="secondary">Save</button></form>
    <h3>Recent stars</h3>
    ${card.history.length ? `<ul class="star-history" id="star-history">${card.history.map(e => `<li>
      <span class="star-change ${e.stars < 0 ? "bad" : ""}">${e.stars > 0 ? "+" : ""}${e.stars}</span>
      <span>${esc(e.reason || e.kind_label)}</span><span class="muted">${esc(dateTime(e.at))}</span></li>`).join("")}</ul>`
      : `<p class="muted">None yet: an order picked up earns stars.</p>`}`;
  const form = section.querySelector("#member-form");
  form.onsubmit = async event => {
    event.preventDefault();
    const message = section.querySelector("#member-message");
    const body = { phone: form.phone.value.trim() };
    if (!form.birthday.disabled && form.birthday.value) body.birthday = form.birthday.value;
    try {
      const saved = await api("/me/loyalty/", { method: "PATCH", body });
      form.phone.value = saved.phone || "";
      if (saved.birthday) form.birthday.disabled = true;
      setMessage(message, saved.phone ? "Saved. Staff can find you by this number." : "Saved. No phone number registered.", "muted");
    } catch (error) { setMessage(message, error.message); form.phone.focus(); }
  };
  refreshMemberQr();
}

// An <img src> cannot send the API token: fetch the SVG and show it as a blob. Its code is kept on the image too
// (data-code), as the response's X-Member-Code header gives it.
async function refreshMemberQr() {
  clearTimeout(refreshTimer);
  const img = document.getElementById("member-qr");
  if (!img) return;
  try {
    const response = await fetch("/api/me/member-code.svg", { headers: { Authorization: `Token ${state.token}` }, cache: "no-store" });
    if (response.ok) {
      const url = URL.createObjectURL(await response.blob());
      if (img.dataset.url) URL.revokeObjectURL(img.dataset.url);
      Object.assign(img.dataset, { url, code: response.headers.get("X-Member-Code") || "",
                                   expiresAt: response.headers.get("X-Member-Code-Expires-At") || "" });
      img.src = url;
    } else if (response.status === 401) return;
  } catch { /* offline: the next round tries again */ }
  if (img.isConnected) refreshTimer = setTimeout(refreshMemberQr, MEMBER_CODE_REFRESH_MS);
}
