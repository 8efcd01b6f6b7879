// The till: ring up an order paid at the counter, drive-thru window or kiosk, for a member whose code is
// scanned (or phone typed) or for anyone. It calls the ordering API with the staff member's session:
//   POST identify  -> a serving token (one order per scan), the member's first name, stars, affordable rewards
//   GET  menu      -> the items; each is added with its default options only
//   POST orders    -> the order, with an Idempotency-Key made for this order and sent again on a retry
// A USB barcode scanner types the code and presses Enter, which submits the identify form.
"use strict";

const config = JSON.parse(document.getElementById("till-config").textContent);
const $ = id => document.getElementById(id);

const state = {
  currency: "USD",
  menu: new Map(),   // item id -> {id, name, unit_minor, modifiers}
  cart: new Map(),   // item id -> quantity, in the order items were first added
  member: null,      // {token, name, balance, rewards} while serving a member
  order: null,       // {key, body}: the Idempotency-Key and the request it was made for, until it is placed
  busy: false,
};
window.till = state; // for the browser test and for debugging at the counter

// --- Small helpers ------------------------------------------------------------------------------------------

function money(minor, currency = state.currency) {
  return new Intl.NumberFormat(undefined, { style: "currency", currency }).format(minor / 100);
}

function stars(count) { return `${count} ${count === 1 ? "star" : "stars"}`; }

function element(tag, props = {}, ...children) {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children);
  return node;
}

// A fresh key per order. crypto.randomUUID needs a secure context; a tablet on the shop's network may not be one.
function newKey() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, b => b.toString(16).padStart(2, "0")).join("");
}

function showError(id, message) { $(id).textContent = message || ""; }

// {ok, data, error}: error is a sentence to show staff (the API's own message where it gave one).
async function api(path, { body, key } = {}) {
  const headers = { Accept: "application/json", "X-CSRFToken": config.csrf };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (key) headers["Idempotency-Key"] = key;
  let response;
  try {
    response = await fetch(path, { method: body === undefined ? "GET" : "POST", headers, credentials: "same-origin",
                                   body: body === undefined ? undefined : JSON.stringify(body) });
  } catch {
    return { ok: false, error: "No connection to the server. Check the network and try again.", retry: true };
  }
  const data = await response.json().catch(() => null);
  if (response.ok) return { ok: true, data };
  if (response.status === 401 || response.status === 403) {
    return { ok: false, error: data?.error?.message || "You are signed out or not on this store's staff. Sign in again." };
  }
  const error = data?.error?.message || `The server answered ${response.status}. Try again.`;
  return { ok: false, error, code: data?.error?.code, fields: data?.error?.fields || {}, retry: response.status >= 500 };
}

// --- The menu -----------------------------------------------------------------------------------------------

// The options an item gets at the till: each group's available defaults; null when a required group has none
// (such an item needs a choice this simple till does not offer).
function defaultModifiers(item) {
  const chosen = [];
  let delta = 0;
  for (const group of item.modifier_groups) {
    const defaults = group.options.filter(o => o.is_default && o.available);
    if (defaults.length < group.min_choices) return null;
    for (const option of defaults) { chosen.push(option.id); delta += option.price_delta_minor; }
  }
  return { ids: chosen, delta };
}

async function loadMenu() {
  const answer = await api(config.api.menu);
  const box = $("menu");
  if (!answer.ok) {
    box.replaceChildren();
    showError("menu-error", `The menu did not load: ${answer.error}`);
    return;
  }
  state.currency = answer.data.store.currency || state.currency;
  box.replaceChildren();
  for (const category of answer.data.categories) {
    if (!category.items.length) continue;
    const buttons = element("div", { className: "menu-row" });
    for (const item of category.items) {
      const modifiers = defaultModifiers(item);
      const button = element("button", { type: "button", className: "menu-item" });
      if (modifiers) {
        state.menu.set(item.id, { id: item.id, name: item.name, modifiers: modifiers.ids,
                                  unit_minor: item.price_minor + modifiers.delta });
        button.dataset.item = item.id;
        button.append(element("span", { className: "name" }, item.name),
                      element("span", { className: "price" }, money(item.price_minor + modifiers.delta)));
        button.setAttribute("aria-label", `Add ${item.name}, ${money(item.price_minor + modifiers.delta)}`);
      } else {
        button.append(element("span", { className: "name" }, item.name),
                      element("span", { className: "price" }, "needs a choice"));
      }
      if (!modifiers || !item.available) {
        button.disabled = true;
        button.title = !item.available ? (item.unavailable_reason || "Not available") : "Has options with no default";
        button.querySelector(".price").textContent = !item.available ? (item.unavailable_reason || "not available")
          : "needs a choice";
      }
      buttons.append(button);
    }
    box.append(element("h3", {}, category.name), buttons);
  }
  if (!box.children.length) box.append(element("p", { className: "muted" }, "Nothing on the menu right now."));
}

$("menu").addEventListener("click", event => {
  const button = event.target.closest("button[data-item]");
  if (!button) return;
  const id = Number(button.dataset.item);
  state.cart.set(id, (state.cart.get(id) || 0) + 1);
  clearPlaced();
  drawCart();
});

// --- The order ----------------------------------------------------------------------------------------------

function drawCart() {
  const list = $("lines");
  list.replaceChildren();
  let subtotal = 0;
  for (const [id, quantity] of state.cart) {
    const item = state.menu.get(id);
    subtotal += item.unit_minor * quantity;
    const less = element("button", { type: "button", className: "small", textContent: "−" });
    less.dataset.less = id;
    less.setAttribute("aria-label", `Remove one ${item.name}`);
    list.append(element("li", {}, element("span", { className: "qty" }, `${quantity} × `),
                        element("span", { className: "name" }, item.name),
                        element("span", { className: "price" }, money(item.unit_minor * quantity)), less));
  }
  if (state.cart.size) {
    list.append(element("li", { className: "subtotal" }, element("span", { className: "name" }, "Subtotal before tax"),
                        element("span", { className: "price" }, money(subtotal))));
  }
  $("empty-order").hidden = state.cart.size > 0;
  $("place").disabled = state.busy || !state.cart.size;
}

$("lines").addEventListener("click", event => {
  const button = event.target.closest("button[data-less]");
  if (!button) return;
  const id = Number(button.dataset.less);
  const left = (state.cart.get(id) || 0) - 1;
  if (left > 0) state.cart.set(id, left); else state.cart.delete(id);
  drawCart();
  if (!state.cart.size) $("menu").querySelector("button[data-item]")?.focus();  // the button pressed is gone
});

function channel() { return document.querySelector("input[name=channel]:checked").value; }

function chosenReward() {
  const picked = document.querySelector("input[name=reward]:checked");
  return picked && picked.value ? Number(picked.value) : null;
}

function orderBody() {
  const body = {
    channel: channel(), pickup: "asap", customer_name: $("customer-name").value.trim(),
    items: [...state.cart].map(([id, quantity]) => ({ item: id, quantity, modifiers: state.menu.get(id).modifiers })),
  };
  if (state.member) {
    body.member = state.member.token;
    const reward = chosenReward();
    if (reward) body.reward = reward;
  }
  return body;
}

// Where an API error belongs: by the member, by the name, or by the button.
function errorField(answer) {
  const fields = answer.fields || {};  // none when offline or signed out
  if (fields.member || fields.reward || ["member_token_used", "not_enough_stars"].includes(answer.code)) {
    return "member-error";
  }
  return fields.customer_name ? "name-error" : "place-error";
}

async function placeOrder() {
  if (state.busy || !state.cart.size) return;
  const body = orderBody();
  const request = JSON.stringify(body);
  // The same order sent again (a retry after a timeout) keeps its key, so the server places it once; a
  // changed order is a new one and gets a new key.
  if (!state.order || state.order.body !== request) state.order = { key: newKey(), body: request };
  for (const id of ["place-error", "name-error", "member-error"]) showError(id, "");
  state.busy = true;
  $("place").disabled = true;
  $("place").textContent = "Placing…";
  const answer = await api(config.api.orders, { body, key: state.order.key });
  state.busy = false;
  $("place").textContent = "Place order (paid at the till)";
  if (answer.ok) {
    showPlaced(answer.data);
    nextCustomer();
  } else {
    showError(errorField(answer), answer.error + (answer.retry ? " Press Place order again to retry." : ""));
    drawCart();
  }
}

function showPlaced(order) {
  const box = $("placed");
  const parts = [element("strong", {}, `Order #${order.id} for ${order.customer_name || "the customer"}`),
                 element("span", {}, `${order.channel === "counter" ? "" : `${channelLabel(order.channel)} · `}` +
                                     `Total ${money(order.total_minor, order.currency)} (paid at the till)`)];
  for (const discount of order.discounts || []) {
    parts.push(element("span", { className: "muted" }, `${discount.label}: −${money(discount.amount_minor, order.currency)}`));
  }
  box.replaceChildren(...parts);
  box.hidden = false;
}

function channelLabel(value) { return (config.channels.find(([v]) => v === value) || [value, value])[1]; }

function clearPlaced() { $("placed").hidden = true; }

// The next customer: an empty order, nobody served (the scan was for one order), a new key for the next order.
function nextCustomer() {
  state.cart.clear();
  state.order = null;
  clearMember();
  $("customer-name").value = "";
  drawCart();
  $("member-code").focus();
}

$("place").addEventListener("click", placeOrder);

// --- The member ---------------------------------------------------------------------------------------------

const PHONE = /^[\d\s()+.-]+$/;  // what a typed phone number looks like; a scanned code has letters and a colon

async function identify(event) {
  event.preventDefault();
  const typed = $("member-code").value.trim();
  showError("member-error", "");
  if (!typed) { showError("member-error", "Scan the member's code or type their phone number."); return; }
  clearPlaced();
  $("identify").disabled = true;
  const answer = await api(config.api["member-identify"], { body: PHONE.test(typed) ? { phone: typed } : { code: typed } });
  $("identify").disabled = false;
  if (!answer.ok) {
    showError("member-error", answer.error);
    $("member-code").select();
    return;
  }
  $("member-code").value = "";
  serve({ token: answer.data.serving_token, name: answer.data.member.name, balance: answer.data.member.balance,
          rewards: answer.data.rewards });
}

function serve(member) {
  state.member = member;
  $("member-serving").textContent = `Serving ${member.name} · ${stars(member.balance)}`;
  const choices = [rewardChoice("", "No reward", true)];
  for (const reward of member.rewards) {
    const cost = reward.is_birthday ? "birthday" : stars(reward.stars_cost);
    choices.push(rewardChoice(String(reward.id), `${reward.name} (${cost}, up to ${money(reward.max_value_minor)} off)`, false));
  }
  $("reward-choices").replaceChildren(...choices);
  $("rewards").hidden = member.rewards.length === 0;
  $("customer-name").placeholder = member.name;
  $("member").hidden = false;
}

function rewardChoice(value, text, checked) {
  const input = element("input", { type: "radio", name: "reward", value, checked });
  return element("label", { className: "reward" }, input, text);
}

function clearMember() {
  state.member = null;
  $("member").hidden = true;
  $("reward-choices").replaceChildren();
  $("customer-name").placeholder = "";
  showError("member-error", "");
}

$("identify-form").addEventListener("submit", identify);
$("not-member").addEventListener("click", () => { clearMember(); $("member-code").focus(); });

drawCart();
loadMenu();
