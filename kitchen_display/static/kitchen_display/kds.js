// Kitchen display: a station screen, the expo/handoff screen or the order-ready board, from one socket.
//
// The server sends a snapshot with the store's event number, then events numbered one after another.
// This screen applies each number once, in order; on a gap it asks for what it missed ("sync"), and
// after a reconnect it resumes from its last number (?since=N). Pushes are hints, numbers are the truth.
// A large snapshot comes in parts ("more": true, then "snapshot.more" frames): the screen takes it, and
// its number, only with the last part, so a link that drops in between leaves the screen as it was.
// The order-ready board is public: its tickets carry a display name and no pickup code.
// While offline it keeps showing the last state under a banner and reconnects with backoff.
"use strict";

const config = JSON.parse(document.getElementById("kds-config").textContent);
const $ = id => document.getElementById(id);
const VISIBLE = new Set(["confirmed", "in_progress", "ready"]);
const KITCHEN = new Set(["confirmed", "in_progress"]);
const FIRE_LEAD_MS = 60 * 1000;        // a scheduled order shows this long before its first item should start
const UNPLANNED_LEAD_MS = 15 * 60 * 1000; // ... or this long before its pickup time while it is not planned yet
const WARN_MS = 2 * 60 * 1000;         // a ticket turns amber this close to its promised time
const HEARTBEAT_MS = 10 * 1000;        // check in this often ...
const DEAD_AFTER_MS = 25 * 1000;       // ... and call the link dead after this long without an answer

const state = {
  seq: null, tickets: new Map(), out: new Map(), optionsOut: new Map(), socket: null, online: false, attempt: 0, offlineSince: null,
  skew: 0, refs: 0, lastHeard: 0, pending: new Map(), shown: "", snapshot: null,
};
window.kds = state; // for the browser test and for debugging at the counter

// --- Small helpers ------------------------------------------------------------------------------------------

function esc(text) {
  return String(text ?? "").replace(/[&<>"']/g, c => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
}
const ms = iso => (iso ? Date.parse(iso) : null);
const now = () => Date.now() + state.skew;
function clockText(t) { return new Date(t).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }); }
function duration(msec) {
  const s = Math.max(0, Math.round(Math.abs(msec) / 1000));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}
function toast(message, kind = "bad") {
  const box = $("toast");
  box.textContent = message;
  box.className = `toast ${kind}`;
  box.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { box.hidden = true; }, kind === "bad" ? 8000 : 4000);
}

// --- The socket -----------------------------------------------------------------------------------------------

function connect() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const since = state.seq == null ? "" : `?since=${state.seq}`;
  const socket = new WebSocket(`${scheme}://${location.host}${config.socket}${since}`);
  state.socket = socket;
  socket.onopen = () => {
    if (state.socket !== socket) return;
    state.lastHeard = Date.now();
    setOnline(true);
    clearTimeout(connect.stable);
    connect.stable = setTimeout(() => { state.attempt = 0; }, 5000); // backoff resets once the link holds
  };
  socket.onmessage = event => {
    if (state.socket !== socket) return;
    state.lastHeard = Date.now();
    receive(JSON.parse(event.data));
  };
  socket.onclose = () => { if (state.socket === socket) dropped(); };
}

function dropped() {
  const old = state.socket;
  state.socket = null;
  if (old) { old.onclose = old.onmessage = old.onopen = null; try { old.close(); } catch (e) { /* already gone */ } }
  setOnline(false);
  for (const button of state.pending.values()) button.classList.remove("pending");
  state.pending.clear();
  state.attempt += 1;
  const delay = Math.min(15000, 500 * 2 ** Math.min(state.attempt - 1, 5)) * (0.8 + Math.random() * 0.4);
  $("offline-text").textContent = `reconnecting (attempt ${state.attempt}, next try in ${Math.ceil(delay / 1000)} s)…`;
  setTimeout(connect, delay);
}

function setOnline(online) {
  state.online = online;
  if (!online && !state.offlineSince) state.offlineSince = Date.now();
  if (online) state.offlineSince = null;
  $("offline").hidden = online;
  $("link").className = `link-state ${online ? "up" : "down"}`;
  document.body.classList.toggle("is-offline", !online);
}

function send(message, button) {
  if (!state.socket || state.socket.readyState !== WebSocket.OPEN) {
    toast("Offline: not sent. The screen reconnects by itself; try again when the banner is gone.");
    return false;
  }
  const ref = `r${++state.refs}`;
  state.socket.send(JSON.stringify({ ...message, ref }));
  if (button) { button.classList.add("pending"); state.pending.set(ref, button); }
  return true;
}

setInterval(() => {
  if (!state.socket || state.socket.readyState !== WebSocket.OPEN) return;
  if (Date.now() - state.lastHeard > DEAD_AFTER_MS) { dropped(); return; } // a link that died silently
  state.socket.send(JSON.stringify({ action: "sync", since: state.seq ?? undefined, ref: "hb" }));
}, HEARTBEAT_MS);

// --- Messages and events --------------------------------------------------------------------------------------

function receive(message) {
  if (message.type === "snapshot" || message.type === "snapshot.more") {
    if (message.type === "snapshot") state.snapshot = { ...message, tickets: [...message.tickets] };
    else if (state.snapshot && state.snapshot.seq === message.seq) state.snapshot.tickets.push(...message.tickets);
    if (!state.snapshot || message.more) return;  // more parts to come
    const snapshot = state.snapshot;
    state.snapshot = null;
    state.seq = snapshot.seq;
    state.tickets = new Map(snapshot.tickets.filter(t => VISIBLE.has(t.status)).map(t => [t.id, t]));
    state.out = new Map(snapshot.eighty_sixed.map(item => [item.id, item]));
    state.optionsOut = new Map((snapshot.options_out || []).map(option => [option.id, option]));
    if (snapshot.now) state.skew = Date.parse(snapshot.now) - Date.now();
    render();
  } else if (message.type === "events") {
    for (const event of message.events) {
      if (state.seq != null && event.seq <= state.seq) continue;          // had it already
      if (state.seq == null || event.seq !== state.seq + 1) {             // a gap: ask for what is missing
        if (state.socket) state.socket.send(JSON.stringify(state.seq == null ? { action: "snapshot" } : { action: "sync", since: state.seq, gap: true }));
        break;
      }
      apply(event);
      state.seq = event.seq;
    }
    render();
  } else if (message.type === "ack" || message.type === "error") {
    state.pending.get(message.ref)?.classList.remove("pending");
    state.pending.delete(message.ref);
    if (message.type === "error") toast(message.message);
    else if (message.action === "handoff") toast(`Handed over: order ${message.order} ${message.name || ""}`, "good");
  }
}

function apply(event) {
  if (event.kind.startsWith("order.")) {
    const ticket = event.ticket;
    if (VISIBLE.has(ticket.status)) state.tickets.set(ticket.id, ticket); else state.tickets.delete(ticket.id);
  } else if (event.kind === "plan") {
    // Times are whole seconds after event.t0 (older events carry them as text).
    const base = event.t0 == null ? null : Date.parse(event.t0);
    const when = value => (base == null || value == null ? value : new Date(base + value * 1000).toISOString());
    for (const [lineId, orderId, lane, start, finish] of event.lines) {
      const line = state.tickets.get(orderId)?.lines.find(l => l.id === lineId);
      if (line) Object.assign(line, { lane, planned_start_at: when(start), planned_finish_at: when(finish) });
    }
    for (const [orderId, at] of event.ready) {
      const ticket = state.tickets.get(orderId);
      if (ticket) ticket.estimated_ready_at = when(at);
    }
  } else if (event.kind === "menu.item") {
    if (event.item.eighty_sixed) state.out.set(event.item.id, event.item); else state.out.delete(event.item.id);
  } else if (event.kind === "menu.option") {
    if (event.option.available) state.optionsOut.delete(event.option.id); else state.optionsOut.set(event.option.id, event.option);
  }
}

// --- What a screen shows --------------------------------------------------------------------------------------

const mine = ticket => (config.station ? ticket.lines.filter(l => l.station === config.station) : ticket.lines);
const openLines = ticket => mine(ticket).filter(l => !l.done_at);
function fireAt(ticket) {  // when a scheduled order comes up: its first item's planned start, a little early
  // A make-when-I-arrive order too: planned for a little after its promise, or for its ETA once given.
  if (ticket.pickup_kind !== "scheduled" && !ticket.fire_on_arrival) return null;
  const starts = openLines(ticket).map(l => ms(l.planned_start_at)).filter(Boolean);
  if (starts.length) return Math.min(...starts) - FIRE_LEAD_MS;
  const due = ms(ticket.promised_ready_at);  // hours ahead, not in the plan yet
  return due == null ? null : due - UNPLANNED_LEAD_MS;
}
const fired = ticket => { const at = fireAt(ticket); return at == null || at <= now(); };
function planKey(ticket) {
  const starts = openLines(ticket).map(l => ms(l.planned_start_at)).filter(Boolean);
  return [starts.length ? Math.min(...starts) : Infinity, ms(ticket.promised_ready_at) ?? Infinity, ticket.id];
}
function byPlan(a, b) {
  const ka = planKey(a), kb = planKey(b);
  for (let i = 0; i < ka.length; i++) if (ka[i] !== kb[i]) return ka[i] < kb[i] ? -1 : 1;
  return 0;
}
// A make-when-I-arrive order whose customer gave an ETA is due then (the kitchen plans it for that moment).
const dueAt = ticket => ms(ticket.fire_on_arrival && !ticket.arrived_at && ticket.customer_eta_at
  ? ticket.customer_eta_at : ticket.promised_ready_at);
function timerClass(ticket) {
  const due = dueAt(ticket);
  if (due == null) return "ok";
  const left = due - now();
  return left <= 0 ? "late" : left <= WARN_MS ? "warn" : "ok";
}
function timerText(ticket) {
  const since = fireAt(ticket) ?? ms(ticket.confirmed_at) ?? ms(ticket.created_at);
  const due = dueAt(ticket);
  const left = due == null ? "" : due >= now() ? ` · due in ${duration(due - now())}` : ` · ${duration(now() - due)} late`;
  return `${duration(now() - since)}${left}`;
}
const who = ticket => esc(ticket.name || `#${ticket.id}`);
// What the customer said (POST /api/orders/{id}/arrival/): "here", "arriving 8:42", or for a make-when-I-arrive
// order nobody has heard from yet, "waits for customer".
function arrivalTag(ticket) {
  if (ticket.arrived_at) return `<span class="arrival here">here</span>`;
  if (ticket.customer_eta_at) return `<span class="arrival eta">arriving ${clockText(ms(ticket.customer_eta_at))}</span>`;
  if (ticket.fire_on_arrival && ticket.status !== "ready") return `<span class="arrival held">waits for customer</span>`;
  return "";
}
// An order to be paid when collected (the drive-thru window): the money before the bag.
function dueTag(ticket) {
  return ticket.payment_due ? `<span class="due" title="Take the payment before handing it over">to pay</span>` : "";
}
// Time on the shelf of a ready order, and whether it passed the store's hold limit (config.shelf_hold_s).
function shelf(ticket) {
  const on = Math.max(0, now() - (ms(ticket.ready_at) ?? now()));
  const over = on > (config.shelf_hold_s || 300) * 1000;
  return { over, text: `on shelf ${Math.floor(on / 60000)} min${over ? " · over hold limit" : ""}` };
}
function shelfHtml(ticket) {
  const { over, text } = shelf(ticket);
  return `<span class="shelf${over ? " over-limit" : ""}">${text}</span>`;
}
// The badge class (its colour is in kds.css) comes from the channel policy table, fulfilment/channels.py.
const badge = ticket => `<span class="badge ${esc(config.badges[ticket.channel] || "")}">${esc(config.channels[ticket.channel] || ticket.channel)}</span>`;

function lineHtml(line, withButtons) {
  const mods = line.modifiers.map(m => esc(m.option)).join(" · ");
  const out = state.out.has(line.item) ? `<span class="out-tag" title="Marked out (86)">86</span>` : "";
  const stateClass = line.done_at ? "done" : line.started_at ? "started" : "waiting";
  const buttons = !withButtons || line.done_at ? "" : line.started_at
    ? `<button class="act" data-act="bump_item" data-line="${line.id}">Done</button>`
    : `<button class="act" data-act="start_item" data-line="${line.id}">Start</button>`;
  const where = config.station ? "" : `<span class="where">${esc(config.stations[line.station] || "")}${line.done_at ? " ✓" : ""}</span>`;
  return `<li class="line ${stateClass}"><div class="what"><span class="qty">${line.quantity}×</span>
    <span class="item">${esc(line.name)}</span>${out}${where}</div>${mods ? `<div class="mods">${mods}</div>` : ""}${buttons}</li>`;
}

function ticketHtml(ticket) {
  const lines = config.station ? openLines(ticket) : ticket.lines;
  const others = config.station ? ticket.lines.filter(l => l.station !== config.station && !l.done_at) : [];
  const footer = config.screen === "station"
    ? `<button class="act bump" data-act="bump_ticket">Bump</button><button class="act" data-act="delay" data-minutes="5">+5 min</button>`
    : `<button class="act bump" data-act="bump_order">Ready</button><button class="act" data-act="delay" data-minutes="5">+5 min</button>`;
  return `<article class="ticket ${timerClass(ticket)}" data-order="${ticket.id}">
    <header>${badge(ticket)}<strong class="name">${who(ticket)}</strong><span class="code">${esc(ticket.code)}</span>
      <span class="num">#${ticket.id}</span>${dueTag(ticket)}${arrivalTag(ticket)}</header>
    <div class="timer">${timerText(ticket)}</div>
    ${ticket.pickup_kind === "scheduled" ? `<div class="sched">Scheduled for ${clockText(ms(ticket.promised_ready_at))}</div>` : ""}
    <ul class="lines">${lines.map(l => lineHtml(l, config.screen === "station")).join("")}</ul>
    ${others.length ? `<div class="others">Also: ${others.map(l => `${l.quantity}× ${esc(l.name)} (${esc(config.stations[l.station] || "")})`).join(", ")}</div>` : ""}
    <footer>${footer}</footer></article>`;
}

function render() {
  clearTimeout(render.timer);
  render.timer = setTimeout(draw, 0); // one redraw for a burst of events
}

function draw() {
  const all = [...state.tickets.values()];
  if (config.screen === "board") return drawBoard(all);
  const kitchen = all.filter(t => KITCHEN.has(t.status) && openLines(t).length && (config.screen === "expo" || mine(t).length));
  const showing = kitchen.filter(fired).sort(byPlan);
  const later = kitchen.length - showing.length;
  state.shown = showing.map(t => t.id).join(",");
  $("tickets").innerHTML = showing.length ? showing.map(ticketHtml).join("")
    : `<p class="empty">No tickets${config.station ? ` for ${esc(config.stations[config.station])}` : ""}. ☕</p>`;
  $("later").textContent = later ? `${later} scheduled for later` : "";
  const ready = all.filter(t => t.status === "ready").sort((a, b) => ms(a.ready_at) - ms(b.ready_at));
  $("counts").textContent = `${showing.length} open · ${ready.length} ready`;
  if (config.screen === "expo") {
    $("ready").innerHTML = ready.length ? `<h2>Ready on the shelf</h2>${ready.map(t => `<div class="ready-row${shelf(t).over ? " over-limit" : ""}" data-order="${t.id}">
        ${badge(t)}<strong class="name">${who(t)}</strong><span class="code">${esc(t.code)}</span>
        <span class="muted">since ${clockText(ms(t.ready_at))}</span>${shelfHtml(t)}${dueTag(t)}${arrivalTag(t)}
        <button class="act" data-act="recall">Recall</button></div>`).join("")}` : `<p class="muted">Nothing on the shelf.</p>`;
  }
  const doneHere = t => mine(t).length && !openLines(t).length;
  const bumped = all.filter(t => (config.screen === "expo" ? t.status === "ready" : doneHere(t)))
    .sort((a, b) => (lastDone(b) - lastDone(a))).slice(0, 6);
  $("bumped").innerHTML = bumped.map(t => `<span class="chip" data-order="${t.id}">#${t.id} ${who(t)}
    <button class="act small" data-act="recall">Recall</button></span>`).join("");
  drawEightySix();
}
const lastDone = t => Math.max(0, ...mine(t).map(l => ms(l.done_at) || 0));

function drawBoard(all) {
  // A public screen: the customer's display name and the order number, never the pickup code (with a
  // name, the code hands the order over).
  const row = t => `<li data-order="${t.id}"><span class="name">${esc(t.name || "Order")}</span> <span class="num">#${t.id}</span></li>`;
  const making = all.filter(t => KITCHEN.has(t.status) && fired(t)).sort(byPlan);
  const ready = all.filter(t => t.status === "ready").sort((a, b) => ms(a.ready_at) - ms(b.ready_at));
  state.shown = making.map(t => t.id).join(",");
  $("board-making").innerHTML = making.map(row).join("");
  $("board-ready").innerHTML = ready.map(row).join("");
}

function drawEightySix() {
  const list = $("eighty-six-list");
  if (!list) return;
  list.innerHTML = config.items.map(item => {
    const out = state.out.has(item.id);
    return `<button class="act eighty-six ${out ? "is-out" : ""}" data-act="item_86" data-item="${item.id}" data-out="${out}">
      <span>${esc(item.name)}</span><span class="muted">${esc(config.stations[item.station_id] || "")}</span>
      <strong>${out ? "OUT · tap to bring back" : "tap to 86"}</strong></button>`;
  }).join("");
  const options = $("eighty-six-options");
  if (!options) return;
  const groups = new Map();  // config.options come in menu order, group by group
  for (const option of config.options || []) {
    if (!groups.has(option.group_id)) groups.set(option.group_id, { name: option.group_name, options: [] });
    groups.get(option.group_id).options.push(option);
  }
  options.innerHTML = [...groups.values()].map(group => `<h3>${esc(group.name)}</h3>
    <div class="eighty-six-list">${group.options.map(option => {
      const out = state.optionsOut.has(option.id);
      return `<button class="act eighty-six ${out ? "is-out" : ""}" data-act="option_86" data-option="${option.id}" data-out="${out}">
        <span>${esc(option.name)}</span>
        <strong>${out ? "OUT · tap to bring back" : "tap to 86"}</strong></button>`;
    }).join("")}</div>`).join("") || `<p class="muted">This store's menu has no options.</p>`;
}

// Timers tick every second; a scheduled order reaching its fire time redraws the screen.
const showClock = () => { $("clock").textContent = new Date(now()).toLocaleTimeString(); };
showClock();
setInterval(() => {
  showClock();
  if (state.offlineSince) $("offline").querySelector("strong").textContent = `Offline for ${duration(Date.now() - state.offlineSince)}`;
  if (config.screen === "board") {
    const making = [...state.tickets.values()].filter(t => KITCHEN.has(t.status) && fired(t)).sort(byPlan);
    if (making.map(t => t.id).join(",") !== state.shown) draw();
    return;
  }
  const kitchen = [...state.tickets.values()].filter(t => KITCHEN.has(t.status) && openLines(t).length
    && (config.screen === "expo" || mine(t).length) && fired(t)).sort(byPlan);
  if (kitchen.map(t => t.id).join(",") !== state.shown) { draw(); return; }
  for (const row of document.querySelectorAll(".ready-row")) {  // time on the shelf ticks, and turns red
    const ticket = state.tickets.get(Number(row.dataset.order));
    if (!ticket) continue;
    const over = shelf(ticket).over;
    row.classList.toggle("over-limit", over);
    row.querySelector(".shelf").outerHTML = shelfHtml(ticket);
  }
  for (const card of document.querySelectorAll(".ticket")) {
    const ticket = state.tickets.get(Number(card.dataset.order));
    if (!ticket) continue;
    card.querySelector(".timer").textContent = timerText(ticket);
    card.classList.remove("ok", "warn", "late");
    card.classList.add(timerClass(ticket));
  }
}, 1000);

// --- What a barista does ----------------------------------------------------------------------------------------

document.addEventListener("click", event => {
  const button = event.target.closest("button.act");
  if (!button) return;
  const act = button.dataset.act;
  const order = Number(button.closest("[data-order]")?.dataset.order) || undefined;
  if (act === "item_86") {
    send({ action: "item_86", item: Number(button.dataset.item), eighty_sixed: button.dataset.out !== "true" }, button);
  } else if (act === "option_86") {
    send({ action: "option_86", option: Number(button.dataset.option), available: button.dataset.out === "true" }, button);
  } else if (act === "delay") {
    send({ action: "delay", order, minutes: Number(button.dataset.minutes) }, button);
  } else {
    send({ action: act, order, line: Number(button.dataset.line) || undefined }, button);
  }
});

$("eighty-six-open")?.addEventListener("click", () => $("eighty-six").showModal());

// Expo: a keyboard-wedge scanner types the QR token and Enter; a typed short code needs the name too.
function handoff(text, name = "") {
  const value = text.trim();
  if (!value) return;
  const isToken = value.length > 12 || value.includes(":");
  send(isToken ? { action: "handoff", token: value } : { action: "handoff", code: value, name: name.trim() });
}
$("scan-form")?.addEventListener("submit", event => {
  event.preventDefault();
  handoff($("scan").value, $("scan-name").value);
  $("scan").value = "";
  $("scan-name").value = "";
  $("scan").focus();
});
if ($("camera") && "BarcodeDetector" in window) {
  $("camera").hidden = false;
  $("camera").addEventListener("click", async () => {
    const video = $("camera-view");
    try {
      const detector = new BarcodeDetector({ formats: ["qr_code"] });
      const stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } });
      video.srcObject = stream;
      video.hidden = false;
      await video.play();
      const stop = () => { stream.getTracks().forEach(t => t.stop()); video.hidden = true; };
      const look = async () => {
        if (video.hidden) return;
        const codes = await detector.detect(video).catch(() => []);
        if (codes.length) { stop(); handoff(codes[0].rawValue); } else setTimeout(look, 250);
      };
      setTimeout(stop, 30000);
      look();
    } catch (error) { toast(`Camera not available: ${error.message}`); }
  });
}

$("link").className = "link-state down";
connect();
