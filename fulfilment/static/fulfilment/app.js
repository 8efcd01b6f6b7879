// Customer web app, part 1 of 3: shared helpers (money, store-local times, the API), the cart, dialogs,
// the header, the store list, the menu with its item sheet and the cart drawer, and the router.
// checkout.js adds the checkout; account.js sign-in, orders, the order page, favourites and notifications.
// Plain scripts loaded in order with `defer`; everything talks only to the REST API.
"use strict";

const app = document.getElementById("app");
const state = {
  token: localStorage.getItem("token"), username: localStorage.getItem("username") || "",
  cart: loadCart(), qr: {}, placing: false, flash: "", menus: {}, tz: undefined,
  checkout: { day: null, pickup: null }, reorderChanges: null, returnTo: "#/", hash: location.hash,
};
let refreshTimer = null;
// Stripe's Payment Element only when the server has a publishable key; otherwise the demo provider pays.
const stripe = window.STRIPE_KEY && window.Stripe ? window.Stripe(window.STRIPE_KEY) : null;

// --- Formatting -------------------------------------------------------------------------------------------

function money(minor, currency) {
  if (minor == null || !currency) return "";
  return new Intl.NumberFormat(undefined, { style: "currency", currency }).format(minor / 100);
}
// Times are shown in the store's time zone: a pickup at 8:15 means 8:15 where the coffee is.
function time(iso) {
  return iso ? new Date(iso).toLocaleTimeString([], { hour: "numeric", minute: "2-digit", timeZone: state.tz }) : "—";
}
// "Ready 8:12–8:15": the promised window (where about 90% of orders are ready), or "about 8:14" (the
// promised time) where the server gave no window (an order placed before windows, a slot not judged).
function readyWhen(at, start, end) {
  return start && end ? `${time(start)}–${time(end)}` : `about ${time(at)}`;
}
// "06:00" (a store-local clock string) in the same style as time().
function clock(hhmm) {
  const [h, m] = String(hhmm || "").split(":").map(Number);
  if (Number.isNaN(h)) return "";
  return new Date(Date.UTC(2000, 0, 1, h, m || 0)).toLocaleTimeString([], { hour: "numeric", minute: "2-digit", timeZone: "UTC" });
}
function localDate(when) {  // "YYYY-MM-DD" in the store's calendar
  return new Date(when).toLocaleDateString("en-CA", { timeZone: state.tz });
}
// "Today", "Tomorrow" or "Tue, Dec 8" for an instant, in the store's calendar.
function dayWord(iso) {
  const day = localDate(iso);
  if (day === localDate(Date.now())) return "Today";
  if (day === localDate(Date.now() + 864e5)) return "Tomorrow";
  return new Date(iso).toLocaleDateString([], { weekday: "short", day: "numeric", month: "short", timeZone: state.tz });
}
function dayPhrase(iso) {  // "today", "tomorrow" or "on Tue, Dec 8"
  const word = dayWord(iso);
  return word === "Today" || word === "Tomorrow" ? word.toLowerCase() : `on ${word}`;
}
function dateTime(iso) {
  if (!iso) return "";
  return `${new Date(iso).toLocaleDateString([], { weekday: "short", day: "numeric", month: "short", year: "numeric", timeZone: state.tz })}, ${time(iso)}`;
}
function esc(text) {
  return String(text ?? "").replace(/[&<>"']/g, c => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
}
// Where an order was placed, as the history says it: an order staff took for the customer in the store is theirs too.
const CHANNEL_LABELS = { mobile: "In the app", counter: "At the counter", kiosk: "At the kiosk", drive_thru: "Drive-thru",
                         delivery: "Delivery" };
function channelLabel(channel) { return CHANNEL_LABELS[channel] || capital(String(channel || "").replace(/_/g, " ")); }
function plural(n, word) { return `${n} ${word}${n === 1 ? "" : "s"}`; }
function capital(text) { text = String(text || ""); return text.charAt(0).toUpperCase() + text.slice(1); }

// --- Cart and checkout key ----------------------------------------------------------------------------------
// The cart lives in localStorage, so every tab and every reload sees the same one. It carries the
// Idempotency-Key of "this checkout of this cart": a retry, a reload or a second tab sends the same key
// and gets the same order back instead of a second one. Changing the lines makes it another order, so
// it gets a new key (the server would refuse the old key with another body). `placing` is the exact
// request in flight: if the page goes away before the answer, the next visit sends it again.
// A line: {item, name, quantity, modifiers: [option ids], options: [{id, name, group, delta}], unit_minor}.
function newKey() {
  if (crypto.randomUUID) return crypto.randomUUID();
  return [...crypto.getRandomValues(new Uint8Array(16))].map(b => b.toString(16).padStart(2, "0")).join("");
}
function loadCart() {
  let cart = null;
  try { cart = JSON.parse(localStorage.getItem("cart") || "null"); } catch { cart = null; }
  if (cart && !Array.isArray(cart.lines)) cart = null;
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
function startCart(store) {
  state.checkout = { day: null, pickup: null };
  state.cart = { store: store.id, store_name: store.name, currency: store.currency, tz: store.timezone, lines: [], key: newKey() };
  saveCart();
}
// Add a line, or add its quantity to an identical line (same item, same choices) already in the cart.
function addLine(lines, entry) {
  const same = lines.find(l => l.item === entry.item && [...l.modifiers].sort().join() === [...entry.modifiers].sort().join());
  if (same) same.quantity += entry.quantity; else lines.push(entry);
}
function cartCount(cart = state.cart) { return (cart?.lines || []).reduce((sum, l) => sum + l.quantity, 0); }
function cartEstimate(cart = state.cart) {  // the menu's prices; the quote has the final word
  return (cart?.lines || []).reduce((sum, l) => sum + (l.unit_minor || 0) * l.quantity, 0);
}
function quantityOf(itemId, exceptIndex = -1) {  // the per-order limit counts every line of the item
  return (state.cart?.lines || []).reduce((sum, l, i) => sum + (l.item === itemId && i !== exceptIndex ? l.quantity : 0), 0);
}

// --- The API ------------------------------------------------------------------------------------------------

async function api(path, { method = "GET", body, headers = {} } = {}) {
  const h = { "Content-Type": "application/json", ...headers };
  if (state.token) h.Authorization = `Token ${state.token}`;
  let response;
  try { response = await fetch(`/api${path}`, { method, headers: h, body: body ? JSON.stringify(body) : undefined }); }
  catch {  // no answer at all (offline, the server restarting): say so; error.status stays unset
    throw new Error("Could not reach the server. Check your connection and try again.");
  }
  const data = response.headers.get("Content-Type")?.includes("json") ? await response.json().catch(() => null) : null;
  if (!response.ok) {
    if (response.status === 401 && state.token) signedOut();
    const error = new Error(data?.error?.message || data?.detail || `Request failed (${response.status})`);
    error.status = response.status;
    error.code = data?.error?.code;
    error.fields = data?.error?.fields;
    throw error;
  }
  return data;
}
function signedOut() {
  state.token = null; state.username = "";
  localStorage.removeItem("token"); localStorage.removeItem("username");
  renderHeader();
}
async function menuOf(storeId, fresh = false) {
  if (fresh || !state.menus[storeId]) state.menus[storeId] = await api(`/stores/${storeId}/menu/`);
  return state.menus[storeId];
}

// --- Rendering helpers ---------------------------------------------------------------------------------------

function render(html) { app.onchange = null; delete app.dataset.order; app.innerHTML = html; }
// A view's heading takes the focus (and the page starts at the top), so a screen reader hears where it is.
function focusHeading() {
  window.scrollTo(0, 0);
  app.querySelector("h1")?.focus({ preventScroll: true });
}
// An error shown where it happened: inside `where` (replacing an earlier one), announced.
function showError(error, where = app, { prepend = true } = {}) {
  where.querySelector(":scope > .error[data-shown]")?.remove();
  const p = document.createElement("p");
  p.className = "error";
  p.dataset.shown = "1";
  p.setAttribute("role", "alert");
  p.textContent = error.message || String(error);
  if (prepend) where.prepend(p); else where.append(p);
  return p;
}
function setMessage(element, text, kind = "error") {
  if (!element) return;
  element.textContent = text || "";
  element.className = text ? kind : "";
  element.hidden = !text;
}

// Shows a <dialog> as a modal; when it closes, the focus goes back to what opened it (if still on the page).
function showDialog(dialog) {
  const opener = document.activeElement;
  dialog.addEventListener("close", () => {
    // The opener may have been redrawn meanwhile (the cart bar): then its successor with the same id.
    const target = opener && document.contains(opener) ? opener : (opener?.id && document.getElementById(opener.id)) || app.querySelector("h1");
    setTimeout(() => target?.focus(), 0);
  });
  dialog.showModal();
}

// One <dialog> for questions ("Cancel this order?"): resolves true for the confirming button.
function confirmDialog({ title, text, ok, cancel = "Keep it" }) {
  const dialog = document.createElement("dialog");
  dialog.className = "sheet confirm";
  dialog.setAttribute("aria-labelledby", "confirm-title");
  dialog.innerHTML = `<h2 id="confirm-title">${esc(title)}</h2><p>${esc(text)}</p>
    <div class="actions"><button type="button" class="secondary" value="no">${esc(cancel)}</button>
    <button type="button" class="primary danger" value="yes">${esc(ok)}</button></div>`;
  document.body.append(dialog);
  return new Promise(resolve => {
    dialog.addEventListener("click", event => {
      const button = event.target.closest("button");
      if (button) dialog.close(button.value);
    });
    dialog.addEventListener("close", () => { resolve(dialog.returnValue === "yes"); dialog.remove(); });
    showDialog(dialog);
    dialog.querySelector("button").focus();
  });
}

function renderHeader() {
  const account = document.getElementById("account");
  if (!account) return;
  account.innerHTML = state.token
    ? `<a href="#/account" class="who" aria-label="Account: signed in as ${esc(state.username || "you")}">${esc(state.username || "Account")}</a>
       <button type="button" id="logout">Sign out</button>`
    : `<a href="#/signin">Sign in</a>`;
  document.getElementById("logout")?.addEventListener("click", () => {
    signedOut();
    route();
  });
}

// --- Store list -----------------------------------------------------------------------------------------------

async function viewStores() {
  const stores = await api("/stores/");
  const n = cartCount();
  render(`<h1 tabindex="-1">Choose a store</h1>
    ${n ? `<p class="card resume">Your cart: ${plural(n, "item")}${state.cart.store_name ? ` at ${esc(state.cart.store_name)}` : ""}.
      <a class="button primary" href="#/checkout">Go to checkout</a></p>` : ""}
    <div class="near"><button type="button" class="secondary" id="near">Nearest to me</button>
    <p id="near-message" role="status" hidden></p></div>
    <ul id="list" class="stores">${stores.map(storeCard).join("")}</ul>`);
  const button = document.getElementById("near");
  const message = document.getElementById("near-message");
  button.onclick = () => {
    if (!navigator.geolocation) { setMessage(message, "This browser cannot share your location: all stores are listed."); return; }
    button.disabled = true;
    setMessage(message, "Finding stores near you…", "muted");
    navigator.geolocation.getCurrentPosition(async pos => {
      try {
        const near = await api(`/stores/?near=${pos.coords.latitude.toFixed(4)},${pos.coords.longitude.toFixed(4)}`);
        document.getElementById("list").innerHTML = near.map(storeCard).join("");
        setMessage(message, "Nearest first.", "muted");
      } catch (error) { setMessage(message, error.message); }
      button.disabled = false;
    }, error => {
      button.disabled = false;
      setMessage(message, error.code === 1
        ? "Location access was refused, so all stores are listed. Allow location for this site in your browser settings to sort by distance."
        : "Your location could not be found right now, so all stores are listed.");
    }, { timeout: 10000, maximumAge: 300000 });
  };
}

function todayHours(store) {
  if (Array.isArray(store.today_hours)) return store.today_hours;
  // Older servers: today's periods from the weekly hours (weekday 0 = Monday), in the store's calendar.
  const weekday = (new Date(new Date().toLocaleString("en-US", { timeZone: store.timezone })).getDay() + 6) % 7;
  return (store.opening_hours || []).filter(h => h.weekday === weekday).map(h => ({ opens: h.opens, closes: h.closes }));
}

function storeCard(store) {
  state.tz = store.timezone;
  const paused = store.mobile_ordering?.paused;
  const distance = store.distance_m != null ? ` · ${(store.distance_m / 1000).toFixed(1)} km` : "";
  const hours = todayHours(store);
  let open = "";
  if (store.open_now === true) open = `<span class="badge open">Open now</span>${store.closes_at ? ` <span class="muted">until ${time(store.closes_at)}</span>` : ""}`;
  else if (store.open_now === false) open = `<span class="badge closed">Closed</span>${store.opens_at ? ` <span class="muted">Opens ${time(store.opens_at)} ${dayPhrase(store.opens_at)}</span>` : ""}`;
  const wait = store.asap_wait_minutes != null && !paused && store.open_now !== false ? `<span class="wait">~${store.asap_wait_minutes} min wait</span>` : "";
  return `<li class="card store"><a class="store-link" href="#/store/${store.id}">
    <span class="store-name">${esc(store.name)}</span>
    <span class="muted">${esc(store.address)}${distance}</span>
    <span class="store-state">${open} ${wait}</span>
    <span class="muted">Today: ${hours.length ? hours.map(h => `${clock(h.opens)}–${clock(h.closes)}`).join(", ") : "closed"}</span>
    ${paused ? `<span class="notice">Mobile ordering is paused${store.mobile_ordering.reason ? `: ${esc(store.mobile_ordering.reason)}` : ""}${store.mobile_ordering.resumes_at ? ` (back at ${time(store.mobile_ordering.resumes_at)})` : ""}</span>` : ""}
  </a></li>`;
}

// --- Menu -------------------------------------------------------------------------------------------------------

async function viewMenu(storeId) {
  const menu = await menuOf(storeId, true);
  const { store, categories } = menu;
  state.tz = store.timezone;
  if (!state.cart || state.cart.store !== store.id) {
    if (state.cart?.lines.length && !(await confirmDialog({
      title: "Start a new cart?", text: `Your cart has items from ${state.cart.store_name || "another store"}. Ordering here empties it.`,
      ok: "Empty it and order here", cancel: "Keep my cart" }))) { location.hash = `#/store/${state.cart.store}`; return; }
    startCart(store);
  }
  const paused = store.mobile_ordering?.paused;
  render(`<h1 tabindex="-1">${esc(store.name)}</h1>
    <p class="muted">${esc(store.address)}</p>
    ${taxNote(store.tax)}
    ${paused ? `<p class="notice">Mobile ordering is paused${store.mobile_ordering.reason ? `: ${esc(store.mobile_ordering.reason)}` : ""}. You can still look at the menu.</p>` : ""}
    <section id="favourites" aria-labelledby="fav-title" hidden></section>
    <nav class="categories" aria-label="Menu sections">${categories.map(c => `<a href="#/store/${store.id}" data-jump="cat-${c.id}">${esc(c.name)}</a>`).join("")}</nav>
    ${categories.map(c => `<section aria-labelledby="cat-${c.id}"><h2 id="cat-${c.id}">${esc(c.name)}</h2>
      <ul class="items">${c.items.map(itemCard).join("")}</ul></section>`).join("")}
    <div class="cart-bar" id="cart-bar"></div>`);
  renderCartBar();
  app.querySelectorAll("[data-jump]").forEach(link => link.onclick = event => {
    event.preventDefault();
    const heading = document.getElementById(link.dataset.jump);
    heading.scrollIntoView({ block: "start" });
    heading.setAttribute("tabindex", "-1");
    heading.focus({ preventScroll: true });
  });
  app.querySelectorAll("[data-open-item]").forEach(button => button.onclick = () => {
    const item = findItem(menu, Number(button.dataset.openItem));
    openItemSheet(item, { onDone: () => renderCartBar() });
  });
  if (window.renderFavourites) window.renderFavourites(store).catch(() => {});
}

// Said before anything is added, so the total at checkout is no surprise.
function taxNote(tax) {
  if (!tax || !Number(tax.rate_percent)) return "";
  const rate = `${Number(tax.rate_percent)}%`;
  return `<p class="muted">${tax.prices_include_tax ? `Prices include ${esc(tax.label)} (${rate}).`
    : `${esc(tax.label)} (${rate}) is added at checkout.`}</p>`;
}

function findItem(menu, itemId) {
  return menu.categories.flatMap(c => c.items).find(i => i.id === itemId);
}

function itemCard(item) {
  const from = item.from_price_minor != null && item.from_price_minor !== item.price_minor;
  const price = `${from ? "from " : ""}${money(from ? item.from_price_minor : item.price_minor, item.currency)}`;
  const stock = item.stock_count != null && item.available ? ` · ${item.stock_count} left` : "";
  return `<li class="card item${item.available ? "" : " unavailable"}" data-item="${item.id}">
    <div class="item-text"><h3>${esc(item.name)}</h3>
      ${item.description ? `<p class="muted">${esc(item.description)}</p>` : ""}
      <p class="price">${price}<span class="muted">${stock}</span></p>
      ${item.available ? "" : `<p class="notice">${esc(item.unavailable_reason || "Not available right now")}</p>`}</div>
    ${item.available ? `<button type="button" class="secondary add" data-open-item="${item.id}" aria-label="Add, choose ${esc(item.name)}" aria-haspopup="dialog">Add</button>` : ""}
  </li>`;
}

// --- Item sheet: choose options and quantity; also reopens a cart line to change it ----------------------------

function defaultOptions(item) {
  // Required single choices start on the store's default (else the first available option), visibly ticked
  // and priced on the Add button: nothing is filled in that the customer cannot see.
  const chosen = [];
  for (const group of item.modifier_groups || []) {
    if (!group.min_choices) continue;
    const options = group.options.filter(o => o.available !== false);
    const picks = options.filter(o => o.is_default);
    for (const o of [...picks, ...options.filter(o => !o.is_default)].slice(0, group.min_choices)) chosen.push(o.id);
  }
  return chosen;
}

function optionInputs(item, group, chosen) {
  const single = group.max_choices === 1;
  const optionalSingle = single && !group.min_choices && group.options.length > 1;
  const type = single && (group.min_choices || optionalSingle) ? "radio" : "checkbox";
  const delta = o => o.price_delta_minor ? ` <span class="delta">+${money(o.price_delta_minor, item.currency)}</span>` : "";
  const none = optionalSingle ? `<label class="choice"><input type="radio" name="g${group.id}" value="" ${group.options.some(o => chosen.includes(o.id)) ? "" : "checked"}> None</label>` : "";
  return none + group.options.map(o => `<label class="choice${o.available === false ? " off" : ""}">
      <input type="${type}" name="g${group.id}" value="${o.id}" data-delta="${o.price_delta_minor || 0}" data-name="${esc(o.name)}"
        data-group="${esc(group.name)}" ${chosen.includes(o.id) ? "checked" : ""} ${o.available === false ? "disabled" : ""}>
      ${esc(o.name)}${delta(o)}${o.available === false ? ` <span class="muted">(unavailable)</span>` : ""}</label>`).join("");
}

function groupHint(group) {
  if (group.min_choices && group.max_choices === 1) return "Required, choose 1";
  if (group.min_choices) return `Required, choose ${group.min_choices}${group.max_choices > group.min_choices ? ` to ${group.max_choices}` : ""}`;
  return group.max_choices > 1 ? `Optional, up to ${group.max_choices}` : "Optional";
}

// Opens the sheet for `item`; with `line` (an index in the cart) it edits that line instead of adding one.
function openItemSheet(item, { line = null, onDone = () => {} } = {}) {
  const existing = line != null ? state.cart.lines[line] : null;
  const chosen = existing ? existing.modifiers : defaultOptions(item);
  const dialog = document.createElement("dialog");
  dialog.className = "sheet item-sheet";
  dialog.setAttribute("aria-labelledby", "sheet-title");
  dialog.innerHTML = `<form class="item-form" data-item="${item.id}" novalidate>
    <h2 id="sheet-title">${esc(item.name)}</h2>
    ${item.description ? `<p class="muted">${esc(item.description)}</p>` : ""}
    <p class="muted">${money(item.price_minor, item.currency)}${(item.modifier_groups || []).length ? " before options" : ""}</p>
    ${(item.modifier_groups || []).map(g => `<fieldset data-group="${g.id}" data-min="${g.min_choices}" data-max="${g.max_choices}">
      <legend>${esc(g.name)} <span class="hint">${groupHint(g)}</span></legend>
      <div class="choices">${optionInputs(item, g, chosen)}</div>
      <p class="error" id="g${g.id}-error" role="alert" hidden></p></fieldset>`).join("")}
    <div class="quantity"><label for="quantity">Quantity</label>
      <button type="button" class="step" data-step="-1" aria-label="One fewer">−</button>
      <input id="quantity" name="quantity" type="number" inputmode="numeric" min="1" max="${item.max_quantity}" value="${existing ? existing.quantity : 1}">
      <button type="button" class="step" data-step="1" aria-label="One more">+</button></div>
    <p class="error" id="sheet-error" role="alert" hidden></p>
    <div class="actions"><button type="button" class="secondary" data-close>Cancel</button>
      <button type="submit" class="primary" id="sheet-add"></button></div></form>`;
  document.body.append(dialog);
  const form = dialog.querySelector("form");
  const selected = () => [...form.querySelectorAll("input:checked")].filter(i => i.value);
  const quantity = () => Math.max(1, Math.floor(Number(form.quantity.value) || 1));
  const update = () => {
    // A group with a maximum: at the limit, the other boxes are disabled (and say why).
    form.querySelectorAll("fieldset").forEach(fieldset => {
      const max = Number(fieldset.dataset.max);
      const boxes = [...fieldset.querySelectorAll("input[type=checkbox]")];
      if (max > 1 && boxes.length > max) {
        const full = boxes.filter(b => b.checked).length >= max;
        boxes.forEach(b => {
          const off = b.closest("label").classList.contains("off");
          b.disabled = off || (full && !b.checked);
        });
        setMessage(fieldset.querySelector("p[role=alert]"), full ? `Up to ${max}: untick one to choose another.` : "", "muted");
      }
    });
    const unit = item.price_minor + selected().reduce((sum, i) => sum + Number(i.dataset.delta), 0);
    dialog.querySelector("#sheet-add").textContent = `${existing ? "Update" : "Add"} · ${money(unit * quantity(), item.currency)}`;
    return unit;
  };
  form.addEventListener("change", update);
  form.quantity.addEventListener("input", update);
  form.addEventListener("click", event => {
    const step = event.target.closest("[data-step]");
    if (step) { form.quantity.value = Math.min(item.max_quantity, Math.max(1, quantity() + Number(step.dataset.step))); update(); }
    if (event.target.closest("[data-close]")) dialog.close();
  });
  form.addEventListener("submit", event => {
    event.preventDefault();
    let ok = true;
    form.querySelectorAll("fieldset").forEach(fieldset => {
      const min = Number(fieldset.dataset.min);
      const count = [...fieldset.querySelectorAll("input:checked")].filter(i => i.value).length;
      if (count < min) {
        ok = false;
        setMessage(fieldset.querySelector("p[role=alert]"), `Choose ${min === 1 ? "one" : min} ${fieldset.querySelector("legend").firstChild.textContent.trim().toLowerCase()}.`);
      }
    });
    const sheetError = dialog.querySelector("#sheet-error");
    const n = quantity();
    const others = quantityOf(item.id, line ?? -1);
    if (others + n > item.max_quantity) {
      ok = false;
      setMessage(sheetError, `At most ${item.max_quantity} × ${item.name} per order${others ? ` (${others} already in your cart)` : ""}.`);
    }
    if (!ok) { dialog.querySelector("p[role=alert]:not([hidden])")?.closest("fieldset, p")?.scrollIntoView({ block: "center" }); return; }
    const picks = selected();
    const entry = { item: item.id, name: item.name, quantity: n, modifiers: picks.map(i => Number(i.value)),
                    options: picks.map(i => ({ id: Number(i.value), name: i.dataset.name, group: i.dataset.group, delta: Number(i.dataset.delta) })),
                    unit_minor: update() };
    changeLines(lines => {
      if (line == null) { addLine(lines, entry); return; }
      lines.splice(line, 1);  // a changed line may now be the same as another: they become one
      addLine(lines, entry);
    });
    dialog.close("done");
  });
  dialog.addEventListener("close", () => { const done = dialog.returnValue === "done"; dialog.remove(); if (done) onDone(); });
  update();
  showDialog(dialog);
  dialog.querySelector("h2").setAttribute("tabindex", "-1");
  dialog.querySelector("h2").focus();
}

// --- Cart lines (menu drawer and checkout) -------------------------------------------------------------------

function lineOptions(line) {
  if (line.options?.length) return line.options.map(o => o.name).join(", ");
  return (line.modifier_names || []).join(", ");
}
// `priced`: the quote's lines by index; `errors`: messages by line index.
function cartLinesHtml(cart, { priced = {}, errors = {}, favourites = state.token } = {}) {
  return `<ul class="lines">${cart.lines.map((l, i) => {
    const quoted = priced[i];
    const mods = quoted?.modifiers?.length ? quoted.modifiers.map(m => m.option).join(", ") : lineOptions(l);
    const total = quoted ? quoted.line_total_minor : (l.unit_minor != null ? l.unit_minor * l.quantity : null);
    const error = errors[i];
    return `<li class="line${error ? " has-error" : ""}" data-index="${i}" id="line-${i}">
      <div class="line-main"><span class="line-name">${l.quantity} × ${esc(l.name)}</span>
        <span class="price">${money(total, cart.currency)}</span></div>
      ${mods ? `<div class="muted mods">${esc(mods)}</div>` : ""}
      ${error ? `<p class="error line-error" role="alert" id="line-${i}-error">${esc(error)}</p>` : ""}
      <div class="line-actions" role="group" aria-label="${esc(l.name)}">
        <button type="button" class="step" data-dec="${i}" aria-label="One fewer ${esc(l.name)}" ${l.quantity <= 1 ? "disabled" : ""}>−</button>
        <span class="qty" aria-label="Quantity">${l.quantity}</span>
        <button type="button" class="step" data-inc="${i}" aria-label="One more ${esc(l.name)}">+</button>
        <button type="button" class="link" data-edit="${i}" ${error ? `aria-describedby="line-${i}-error"` : ""}>Change</button>
        <button type="button" class="link" data-remove="${i}">Remove</button>
        ${favourites ? `<button type="button" class="link fav" data-fav="${i}" aria-pressed="false" aria-label="Save ${esc(l.name)} as a favourite" title="Save as a favourite">☆</button>` : ""}
      </div></li>`;
  }).join("")}</ul>`;
}

// Wires the +/−, Change, Remove and Save buttons inside `container`; `rerender(focusSelector)` redraws.
function bindCartLines(container, rerender) {
  container.addEventListener("click", async event => {
    const button = event.target.closest("button");
    if (!button || button.disabled || state.placing) return;
    const index = Number(button.dataset.inc ?? button.dataset.dec ?? button.dataset.remove ?? button.dataset.edit ?? button.dataset.fav);
    const line = state.cart?.lines[index];
    if (!line) return;
    if (button.dataset.inc != null || button.dataset.dec != null) {
      const step = button.dataset.inc != null ? 1 : -1;
      const menu = state.menus[state.cart.store];
      const item = menu && findItem(menu, line.item);
      if (step > 0 && item && quantityOf(line.item) + 1 > item.max_quantity) {
        showError(new Error(`At most ${item.max_quantity} × ${item.name} per order.`), button.closest("li"), { prepend: false });
        return;
      }
      changeLines(lines => { lines[index].quantity = Math.max(1, lines[index].quantity + step); });
      rerender(`[data-${step > 0 ? "inc" : "dec"}="${index}"]`);
    } else if (button.dataset.remove != null) {
      changeLines(lines => lines.splice(index, 1));
      rerender(state.cart.lines.length ? `[data-remove="${Math.min(index, state.cart.lines.length - 1)}"]` : null);
    } else if (button.dataset.edit != null) {
      try {
        const menu = await menuOf(state.cart.store);
        const item = findItem(menu, line.item);
        if (!item || !item.available) {
          showError(new Error(`${line.name} is not on the menu right now: remove it to go on.`), button.closest("li"), { prepend: false });
          return;
        }
        openItemSheet(item, { line: index, onDone: () => rerender(`[data-edit="${index}"]`) });
      } catch (error) { showError(error, button.closest("li"), { prepend: false }); }
    } else if (button.dataset.fav != null) {
      saveFavourite(line, button);
    }
  });
}

async function saveFavourite(line, button) {
  if (button.getAttribute("aria-pressed") === "true") return;
  button.disabled = true;
  try {
    await api("/favourites/", { method: "POST", body: { item: line.item, quantity: line.quantity, modifiers: line.modifiers } });
    button.setAttribute("aria-pressed", "true");
    button.textContent = "★";
    button.setAttribute("aria-label", `${line.name} saved as a favourite`);
  } catch (error) {
    showError(error.status === 404 ? new Error("Favourites are not available yet.") : error, button.closest("li"), { prepend: false });
  }
  button.disabled = false;
}

// The bar at the bottom of the menu: what is in the cart, a drawer to change it, and the way to checkout.
function renderCartBar() {
  const bar = document.getElementById("cart-bar");
  if (!bar) return;
  const n = cartCount();
  bar.innerHTML = n ? `<button type="button" class="secondary" id="cart-open" aria-haspopup="dialog">Cart · ${plural(n, "item")} · ${money(cartEstimate(), state.cart.currency)}</button>
    <a class="button primary" id="checkout" href="#/checkout">Checkout</a>`
    : `<p class="muted">Your cart is empty: tap Add on anything you like.</p>`;
  document.getElementById("cart-open")?.addEventListener("click", openCartDrawer);
}

function openCartDrawer() {
  const dialog = document.createElement("dialog");
  dialog.className = "sheet drawer";
  dialog.setAttribute("aria-labelledby", "drawer-title");
  document.body.append(dialog);
  const draw = focus => {
    if (!state.cart?.lines.length) { dialog.close(); return; }
    dialog.innerHTML = `<h2 id="drawer-title" tabindex="-1">Your cart</h2>
      <div id="drawer-lines">${cartLinesHtml(state.cart)}</div>
      <div class="row total"><span>Estimated total</span><span class="price">${money(cartEstimate(), state.cart.currency)}</span></div>
      <p class="muted">Tax and the final price are shown at checkout.</p>
      <div class="actions"><button type="button" class="secondary" data-close>Keep ordering</button>
      <a class="button primary" href="#/checkout" data-close>Checkout</a></div>`;
    (focus && dialog.querySelector(focus) || dialog.querySelector("h2")).focus();
  };
  bindCartLines(dialog, draw);
  dialog.addEventListener("click", event => { if (event.target.closest("[data-close]")) dialog.close(); });
  dialog.addEventListener("close", () => { dialog.remove(); renderCartBar(); });
  showDialog(dialog);
  draw();
}

// --- Router ------------------------------------------------------------------------------------------------------

async function route() {
  clearTimeout(refreshTimer);
  document.querySelectorAll("dialog[open]").forEach(d => d.close());
  window.OrderLive?.watchMenu(state.cart?.store);  // tells the customer if an item in the cart runs out
  if (!location.hash.startsWith("#/order/")) window.OrderLive?.stop();
  renderHeader();
  const [, view, id] = location.hash.split("/");
  if (view !== "checkout") state.reorderChanges = null;
  document.querySelectorAll("header nav a").forEach(a => {
    if (a.getAttribute("href") === `#/${view || ""}`) a.setAttribute("aria-current", "page"); else a.removeAttribute("aria-current");
  });
  try {
    if (view === "store") await viewMenu(Number(id));
    else if (view === "checkout") await viewCheckout();
    else if (view === "orders") await viewOrders();
    else if (view === "order") await viewOrder(Number(id));
    else if (view === "account") await viewAccount();
    else if (view === "favourites") await viewFavourites();
    else if (view === "signin") viewSignIn();
    else await viewStores();
    focusHeading();
  } catch (error) {
    if (error.status === 401) { needSignIn("Please sign in again", route); focusHeading(); return; }  // an expired session
    render(`<h1 tabindex="-1">Something went wrong</h1><p><a href="#/">Back to the stores</a></p>`);
    showError(error, app.querySelector("h1").parentNode, { prepend: false });
  }
}
// Another tab changed the cart or placed its order: follow it, unless this tab is placing (its answer decides).
window.addEventListener("storage", event => {
  if (event.key === "token") { state.token = localStorage.getItem("token"); state.username = localStorage.getItem("username") || ""; renderHeader(); return; }
  if (event.key !== "cart" && event.key !== "placedOrder") return;
  const before = state.cart;
  state.cart = loadCart();
  if (state.placing || before?.key === state.cart?.key) return;  // the same checkout: nothing to redraw
  const placed = JSON.parse(localStorage.getItem("placedOrder") || "null");
  const view = location.hash.split("/")[1];
  if (view === "checkout" && placed && before && placed.key === before.key) location.hash = `#/order/${placed.order}`;
  else if (view === "checkout") route();
  else if (view === "store") renderCartBar();
});
// An item in the cart ran out at the store, or an option in it ran out or came back (live.js): the checkout
// re-quotes, so the line shows what to fix (or no longer does).
function menuChanged() {
  if (state.cart) delete state.menus[state.cart.store];
  if (location.hash === "#/checkout" && !state.placing && !document.querySelector("dialog[open]")) viewCheckout();
}
window.addEventListener("orderahead:item-out", menuChanged);
window.addEventListener("orderahead:option-changed", menuChanged);
window.addEventListener("hashchange", () => {
  if (!location.hash.startsWith("#/signin")) state.returnTo = location.hash || "#/";
  state.hash = location.hash;
  route();
});
document.addEventListener("DOMContentLoaded", () => { state.returnTo = location.hash.startsWith("#/signin") ? "#/" : location.hash || "#/"; route(); });
