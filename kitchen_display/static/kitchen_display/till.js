// The till: ring up a counter, drive-thru or kiosk order, paid now or when collected (the drive-thru window), for
// a member whose code is scanned (or phone typed) or for anyone. It calls the ordering API with the staff
// member's session:
//   POST identify  -> a serving token (one order per scan), the member's first name, stars, affordable rewards
//   GET  menu      -> the items and their option groups; an item with options opens the option picker
//   POST orders    -> the order, with an Idempotency-Key made for this order and sent again on a retry
//   GET  orders?payment_due=1, POST orders/{id}/member/ and orders/{id}/paid/ -> the orders to be paid when
//                     collected, the member scanned at the window added to one, and its payment taken
// A USB barcode scanner types the code and presses Enter, which submits the identify form; where the browser
// can read QR codes (BarcodeDetector), the tablet's camera can scan it too.
"use strict";

const config = JSON.parse(document.getElementById("till-config").textContent);
const $ = id => document.getElementById(id);

const state = {
  currency: "USD",
  menu: new Map(),   // item id -> the menu API's item (price_minor, modifier_groups, available, ...)
  cart: new Map(),   // lineKey -> {item, options (ids), quantity, unit_minor, label}, in the order first added
  member: null,      // {token, name, balance, rewards} while serving a member
  order: null,       // {key, body}: the Idempotency-Key and the request it was made for, until it is placed
  busy: false,
  due: [],           // the store's orders to be paid when collected (the staff orders API, payment_due=1)
};
window.till = state; // for the browser test and for debugging at the counter

// --- Small helpers ------------------------------------------------------------------------------------------

function money(minor, currency = state.currency) {
  return new Intl.NumberFormat(undefined, { style: "currency", currency }).format(minor / 100);
}

function stars(count) { return `${count} ${count === 1 ? "star" : "stars"}`; }

function priceDelta(minor) { return minor ? `${minor > 0 ? "+" : "−"}${money(Math.abs(minor))}` : ""; }

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

function availableOptions(group) { return group.options.filter(o => o.available); }

// An item that is out, or whose required group has too few options left (every milk 86'd), cannot be added.
function canBeMade(item) {
  return item.available && item.modifier_groups.every(g => availableOptions(g).length >= g.min_choices);
}

// What the picker starts with: each group's available defaults, as the server would fill them in.
function defaultOptions(item) {
  return item.modifier_groups.flatMap(g => availableOptions(g).filter(o => o.is_default).slice(0, g.max_choices));
}

function unitPrice(item, options) { return item.price_minor + options.reduce((sum, o) => sum + o.price_delta_minor, 0); }

function menuButton(item) {
  const price = element("span", { className: "price" });
  const button = element("button", { type: "button", className: "menu-item" },
                         element("span", { className: "name" }, item.name), price);
  if (!canBeMade(item)) {
    button.disabled = true;
    button.title = price.textContent = !item.available ? (item.unavailable_reason || "not available")
      : "an option it needs is out";
    return button;
  }
  button.dataset.item = item.id;
  if (item.modifier_groups.length) {
    price.textContent = `from ${money(item.from_price_minor ?? item.price_minor)} · options`;
    button.setAttribute("aria-haspopup", "dialog");
    button.setAttribute("aria-label", `Add ${item.name}, from ${money(item.from_price_minor ?? item.price_minor)}, choose options`);
  } else {
    price.textContent = money(item.price_minor);
    button.setAttribute("aria-label", `Add ${item.name}, ${money(item.price_minor)}`);
  }
  return button;
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
      state.menu.set(item.id, item);
      buttons.append(menuButton(item));
    }
    box.append(element("h3", {}, category.name), buttons);
  }
  if (!box.children.length) box.append(element("p", { className: "muted" }, "Nothing on the menu right now."));
}

// An item with options opens the picker; one without is added at once.
$("menu").addEventListener("click", event => {
  const button = event.target.closest("button[data-item]");
  if (!button) return;
  const item = state.menu.get(Number(button.dataset.item));
  if (item.modifier_groups.length) openPicker(item, button); else addToCart(item, []);
});

// --- The option picker --------------------------------------------------------------------------------------
// A modal <dialog>: the browser keeps focus inside it and Escape cancels it; closing it, either way, puts focus
// back on the item's button. Single-choice groups are radio buttons, the others checkboxes that stop at the
// group's max_choices. The server checks the same rules again when the order is placed.

const picker = { item: null, opener: null };

function groupRule(group) {
  if (group.max_choices === 1) return group.min_choices ? "choose 1" : "optional";
  if (group.min_choices === group.max_choices) return `choose ${group.min_choices}`;
  return group.min_choices ? `choose ${group.min_choices} to ${group.max_choices}` : `up to ${group.max_choices}`;
}

function optionChoice(group, option, type, checked) {
  const input = element("input", { type, name: `group-${group.id}`, value: String(option.id), checked,
                                   disabled: !option.available });
  if (!option.available) input.dataset.out = "";
  const note = option.available ? priceDelta(option.price_delta_minor) : "out";
  return element("label", { className: "option" }, input, element("span", { className: "name" }, option.name),
                 element("span", { className: "delta" }, note));
}

function groupFieldset(group, defaults) {
  const single = group.max_choices === 1;
  const fieldset = element("fieldset", { className: "option-group" },
                           element("legend", {}, `${group.name} `, element("span", { className: "muted" }, `(${groupRule(group)})`)));
  fieldset.dataset.group = group.id;
  if (single && !group.min_choices) {  // an optional single choice needs a way back to none
    const none = element("input", { type: "radio", name: `group-${group.id}`, value: "",
                                    checked: !group.options.some(o => defaults.has(o.id)) });
    fieldset.append(element("label", { className: "option" }, none, element("span", { className: "name" }, "None")));
  }
  for (const option of group.options) {
    fieldset.append(optionChoice(group, option, single ? "radio" : "checkbox", defaults.has(option.id)));
  }
  return fieldset;
}

// The chosen options, in the menu's order (groups, then options), so a line reads the same however it was picked.
function pickedOptions() {
  const ids = new Set([...$("option-groups").querySelectorAll("input:checked")].filter(i => i.value).map(i => Number(i.value)));
  return picker.item.modifier_groups.flatMap(g => g.options).filter(o => ids.has(o.id));
}

// The first group whose choice is not made yet (or has too many), with a sentence saying what it needs.
function pickerProblem() {
  const picked = new Set(pickedOptions().map(o => o.id));
  for (const group of picker.item.modifier_groups) {
    const count = group.options.filter(o => picked.has(o.id)).length;
    if (count < group.min_choices || count > group.max_choices) {
      return { group, message: `${group.name}: ${groupRule(group)}.` };
    }
  }
  return null;
}

function groupInputs(group) {
  return [...$("option-groups").querySelectorAll(`fieldset[data-group="${group.id}"] input`)];
}

function updatePicker() {
  for (const group of picker.item.modifier_groups) {
    if (group.max_choices === 1) continue;
    const boxes = groupInputs(group);
    const full = boxes.filter(b => b.checked).length >= group.max_choices;
    for (const box of boxes) box.disabled = "out" in box.dataset || (full && !box.checked);
  }
  $("options-price").textContent = money(unitPrice(picker.item, pickedOptions()));
}

function openPicker(item, opener) {
  picker.item = item;
  picker.opener = opener;
  const defaults = new Set(defaultOptions(item).map(o => o.id));
  $("options-heading").textContent = item.name;
  $("option-groups").replaceChildren(...item.modifier_groups.map(group => groupFieldset(group, defaults)));
  showError("options-error", "");
  updatePicker();
  $("options").showModal();
  // Straight to the first choice still to make; with every choice made (the defaults), Enter adds it.
  const problem = pickerProblem();
  (problem && groupInputs(problem.group).find(i => !i.disabled) || $("options-add")).focus();
}

function addPicked(event) {
  event.preventDefault();
  const problem = pickerProblem();
  if (problem) {
    showError("options-error", problem.message);
    groupInputs(problem.group).find(i => !i.disabled)?.focus();
    return;
  }
  addToCart(picker.item, pickedOptions());
  $("options").close();
}

$("option-groups").addEventListener("change", () => { showError("options-error", ""); updatePicker(); });
$("options-form").addEventListener("submit", addPicked);
$("options-cancel").addEventListener("click", () => $("options").close());
$("options").addEventListener("close", () => {  // Add, Cancel or Escape
  picker.opener?.focus();
  picker.item = picker.opener = null;
});

// --- The order ----------------------------------------------------------------------------------------------

// One line per item and set of options: a second oat latte adds to the first, a large one is a line of its own.
function lineKey(itemId, optionIds) { return `${itemId}:${[...optionIds].sort((a, b) => a - b).join(",")}`; }

function addToCart(item, options) {
  const ids = options.map(o => o.id);
  const key = lineKey(item.id, ids);
  const line = state.cart.get(key);
  if (line) line.quantity += 1;
  else {
    state.cart.set(key, { item: item.id, options: ids, quantity: 1, unit_minor: unitPrice(item, options),
                          label: options.length ? `${item.name} · ${options.map(o => o.name).join(", ")}` : item.name });
  }
  clearPlaced();
  drawCart();
}

function lineButton(text, kind, key, label) {
  const button = element("button", { type: "button", className: "small", textContent: text });
  button.dataset[kind] = key;
  button.setAttribute("aria-label", label);
  return button;
}

function drawCart() {
  const list = $("lines");
  list.replaceChildren();
  let subtotal = 0;
  for (const [key, line] of state.cart) {
    subtotal += line.unit_minor * line.quantity;
    list.append(element("li", {}, element("span", { className: "qty" }, `${line.quantity} × `),
                        element("span", { className: "name" }, line.label),
                        element("span", { className: "price" }, money(line.unit_minor * line.quantity)),
                        lineButton("−", "less", key, `Remove one ${line.label}`),
                        lineButton("+", "more", key, `Add one ${line.label}`)));
  }
  if (state.cart.size) {
    list.append(element("li", { className: "subtotal" }, element("span", { className: "name" }, "Subtotal before tax"),
                        element("span", { className: "price" }, money(subtotal))));
  }
  $("empty-order").hidden = state.cart.size > 0;
  for (const button of placeButtons()) button.disabled = state.busy || !state.cart.size;
  // Paid when collected: only where the customer collects from a till (the drive-thru window, the counter).
  $("place-later").hidden = !config.pay_when_collected.includes(channel());
}

$("lines").addEventListener("click", event => {
  const button = event.target.closest("button[data-less], button[data-more]");
  if (!button) return;
  const kind = "more" in button.dataset ? "more" : "less";
  const key = button.dataset[kind];
  const line = state.cart.get(key);
  line.quantity += kind === "more" ? 1 : -1;
  if (line.quantity < 1) state.cart.delete(key);
  drawCart();
  // The list was drawn again: focus the same button, or, with its line gone, the next line or the menu.
  ($("lines").querySelector(`button[data-${kind}="${CSS.escape(key)}"]`) || $("lines").querySelector("button")
    || $("menu").querySelector("button[data-item]"))?.focus();
});

function channel() { return document.querySelector("input[name=channel]:checked").value; }

function chosenReward() {
  const picked = document.querySelector("input[name=reward]:checked");
  return picked && picked.value ? Number(picked.value) : null;
}

function chosenRewardName() {
  const id = chosenReward();
  return id ? state.member.rewards.find(reward => reward.id === id)?.name : "";
}

// The staff order request; `extra` is what the button pressed adds (see placeButtons).
function orderBody(extra = {}) {
  const body = {
    channel: channel(), pickup: "asap", customer_name: $("customer-name").value.trim(),
    items: [...state.cart.values()].map(line => ({ item: line.item, quantity: line.quantity, modifiers: line.options })),
    ...extra,
  };
  if (state.member) {
    body.member = state.member.token;
    const reward = chosenReward();
    if (reward) body.reward = reward;
  }
  return body;
}

// Where an API error belongs: by the member, by the name, or by the buttons.
function errorField(answer) {
  const fields = answer.fields || {};  // none when offline or signed out
  if (fields.member || fields.reward || ["member_token_used", "not_enough_stars"].includes(answer.code)) {
    return "member-error";
  }
  return fields.customer_name ? "name-error" : "place-error";
}

// The ways to place the order: each a button in #place-buttons (class "place") and what it adds to the
// request. Another way to pay is one more button and one more call to placeOrder with its own `extra`.
function placeButtons() { return $("place-buttons").querySelectorAll("button.place"); }

async function placeOrder(button, extra = {}) {
  if (state.busy || !state.cart.size) return;
  const body = orderBody(extra);
  const request = JSON.stringify(body);
  // The same order sent again (a retry after a timeout) keeps its key, so the server places it once; a
  // changed order is a new one and gets a new key.
  if (!state.order || state.order.body !== request) state.order = { key: newKey(), body: request };
  for (const id of ["place-error", "name-error", "member-error"]) showError(id, "");
  const label = button.textContent;
  state.busy = true;
  for (const each of placeButtons()) each.disabled = true;
  button.textContent = "Placing…";
  const member = state.member;
  const answer = await api(config.api.orders, { body, key: state.order.key });
  state.busy = false;
  button.textContent = label;
  if (answer.ok) {
    showPlaced(answer.data, member);
    nextCustomer();
    if (answer.data.payment?.status === "due_in_store") loadDue();
  } else {
    showError(errorField(answer), answer.error + (answer.retry ? ` Press ${label} again to retry.` : ""));
    drawCart();
  }
}

function storeTime(at, zone) {
  const format = { hour: "numeric", minute: "2-digit" };
  try {
    return new Intl.DateTimeFormat(undefined, { ...format, timeZone: zone }).format(new Date(at));
  } catch {  // a zone this browser does not know: the tablet's own time
    return new Intl.DateTimeFormat(undefined, format).format(new Date(at));
  }
}

// What the customer needs, read out or shown across the counter: the number, the code the kitchen ticket and the
// shelf use, the total charged, when it will be ready (the store's clock), and for a member that it earns stars.
function showPlaced(order, member) {
  const currency = order.currency;
  const rows = [element("p", { id: "placed-heading", className: "placed-number" },
                        `Order #${order.id} for ${order.customer_name || "the customer"}`)];
  if (order.pickup_code) {
    rows.push(element("p", { className: "placed-code" }, "Pickup code ",
                      element("strong", { className: "code" }, order.pickup_code)));
  }
  for (const discount of order.discounts || []) {
    rows.push(element("p", { className: "placed-discount" },
                      `${discount.label}: −${money(discount.amount_minor, currency)}`));
  }
  const channelName = order.channel === "counter" ? "" : `${channelLabel(order.channel)} · `;
  rows.push(element("p", { className: "placed-total" }, `${channelName}Total ${money(order.total_minor, currency)}`,
                    element("span", { className: "paid" }, ` · ${order.payment?.status_label || "Paid at the till"}`)));
  if (order.promised_ready_at) {
    rows.push(element("p", { className: "placed-ready" }, `Ready at ${storeTime(order.promised_ready_at, order.store_timezone)}`));
  }
  if (member) rows.push(element("p", { className: "placed-stars" }, `${member.name} earns stars at pickup`));
  const box = $("placed");
  box.replaceChildren(...rows);
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

$("place").addEventListener("click", () => placeOrder($("place")));
$("place-later").addEventListener("click", () => placeOrder($("place-later"), { pay_when_collected: true }));
document.querySelector(".channels").addEventListener("change", drawCart);

// --- Orders to be paid when collected -----------------------------------------------------------------------
// The drive-thru window: orders taken at the speaker are made at once and paid here. The member whose code is
// scanned at the window can be added to one until it is paid (one order per scan), and then never.

const DUE_REFRESH_MS = 15_000;  // other tills take payments and place such orders too

function orderAction(orderId, action) { return `${config.api.orders}${orderId}/${action}/`; }

async function loadDue() {
  const answer = await api(`${config.api.orders}?payment_due=1`);
  if (!answer.ok) { showError("due-error", answer.error); return; }
  showError("due-error", "");
  state.due = answer.data;
  drawDue();
}

function dueRow(order) {
  const label = `#${order.id} ${order.customer_name || ""}`.trim();
  const row = element("li", {},
                      element("span", { className: "due-what" }, element("strong", {}, label), ` · ${order.summary}`),
                      element("span", { className: "price" }, money(order.total_minor, order.currency)));
  row.dataset.order = order.id;
  if (!order.has_member) {
    const reward = state.member && chosenRewardName();
    const adding = state.member ? `Add ${state.member.name}${reward ? ` with ${reward}` : ""}` : "Add member";
    const add = element("button", { type: "button", className: "small", disabled: !state.member }, adding);
    add.dataset.act = "member";
    add.setAttribute("aria-label", state.member ? `${adding} to order ${label}`
                                                : `Add a member to order ${label} (scan their code first)`);
    row.append(add);
  }
  const paid = element("button", { type: "button", className: "small primary" }, "Paid");
  paid.dataset.act = "paid";
  paid.setAttribute("aria-label", `Paid: order ${label}, ${money(order.total_minor, order.currency)}`);
  row.append(paid);
  return row;
}

function drawDue() {
  $("due-list").replaceChildren(...state.due.map(dueRow));
  $("due-empty").hidden = state.due.length > 0;
}

async function dueAction(button) {
  const orderId = Number(button.closest("li").dataset.order);
  const act = button.dataset.act;
  showError("due-error", "");
  button.disabled = true;
  const served = state.member;
  const body = {};
  if (act === "member") {  // the member being served, and the reward they chose, if any
    body.member = served.token;
    if (chosenReward()) body.reward = chosenReward();
  }
  const answer = await api(orderAction(orderId, act), { body });
  if (!answer.ok) {
    showError("due-error", answer.error);
    button.disabled = false;
    return;
  }
  if (act === "member") {
    const off = answer.data.discount_minor ? `, ${money(answer.data.discount_minor, answer.data.currency)} off` : "";
    $("due-status").textContent = `${served.name} added to order #${orderId}${off}: `
      + `${money(answer.data.total_minor, answer.data.currency)} to pay; they earn stars once it is picked up.`;
    clearMember();  // a scan is for one order
  } else {
    $("due-status").textContent = `Order #${orderId} paid: ${money(answer.data.total_minor, answer.data.currency)}.`;
  }
  loadDue();
}

$("reward-choices").addEventListener("change", drawDue);  // "Add Casey with Free drink"
$("due-list").addEventListener("click", event => {
  const button = event.target.closest("button[data-act]");
  if (button && !button.disabled) dueAction(button);
});
setInterval(loadDue, DUE_REFRESH_MS);

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
  drawDue();
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
  drawDue();
}

// --- Scanning with the camera -------------------------------------------------------------------------------
// Where the browser reads QR codes itself (BarcodeDetector: Chrome on Android and ChromeOS, Safari on an iPad)
// and the tablet has a camera, "Scan with the camera" reads the member's code: a drive-thru window needs no
// USB scanner. Nothing is downloaded for it; elsewhere the button stays hidden and the scanner or a typed
// phone number work as before.
const camera = { stream: null, timer: null };
const CAMERA_LOOK_MS = 200;

// Some browsers have BarcodeDetector but no detector behind it (Chrome on Linux): it must name QR codes.
async function cameraScanAvailable() {
  if (!("BarcodeDetector" in window) || !navigator.mediaDevices?.getUserMedia) return false;
  const formats = await BarcodeDetector.getSupportedFormats().catch(() => []);
  return formats.includes("qr_code");
}

async function scanWithCamera() {
  showError("member-error", "");
  let detector;
  try {
    detector = new BarcodeDetector({ formats: ["qr_code"] });
    camera.stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } });
  } catch {
    stopCamera();
    showError("member-error", "The camera could not be opened: allow it in the browser's settings, or use the scanner.");
    return;
  }
  const video = $("camera-video");
  video.srcObject = camera.stream;
  $("camera").showModal();
  await video.play().catch(() => {});
  const look = async () => {
    if (!camera.stream) return;  // cancelled
    const [found] = await detector.detect(video).catch(() => []);  // a frame not ready yet: look again
    if (found?.rawValue) {
      stopCamera();
      $("member-code").value = found.rawValue;
      $("identify-form").requestSubmit();
      return;
    }
    camera.timer = setTimeout(look, CAMERA_LOOK_MS);
  };
  look();
}

function stopCamera() {
  clearTimeout(camera.timer);
  for (const track of camera.stream?.getTracks() || []) track.stop();
  camera.stream = null;
  $("camera-video").srcObject = null;
  if ($("camera").open) $("camera").close();
}

cameraScanAvailable().then(available => { $("scan-camera").hidden = !available; });
$("scan-camera").addEventListener("click", scanWithCamera);
$("camera-cancel").addEventListener("click", () => { stopCamera(); $("scan-camera").focus(); });
$("camera").addEventListener("close", stopCamera);  // Escape

$("identify-form").addEventListener("submit", identify);
$("not-member").addEventListener("click", () => { clearMember(); $("member-code").focus(); });

drawCart();
loadMenu();
loadDue();
