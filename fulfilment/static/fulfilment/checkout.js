// Customer web app, part 2 of 3: the checkout. The cart stays editable here; the quote prices it (lines,
// tax, total) and offers pickup times by day; errors show beside what caused them; placing keeps the
// one-cart-one-order promise (the Idempotency-Key in the cart, resumed after a reload).
"use strict";

function taxRate(tax) {
  const rate = Number(tax?.rate_percent);
  return Number.isFinite(rate) && rate > 0 ? `${rate.toLocaleString(undefined, { maximumFractionDigits: 3 })}%` : "";
}
// Subtotal, discount (rewards), tax and total rows for a quote or an order (both carry the same fields).
function totalsHtml(priced, currency) {
  const tax = priced.tax || {};
  const discounts = (priced.discounts || []).filter(d => d.amount_minor > 0);
  const taxMinor = priced.tax_minor;
  const label = tax.label || "Tax";
  const rate = taxRate(tax);
  const total = priced.total_minor ?? priced.subtotal_minor;
  let taxRow = "";
  if (!taxMinor && !rate) taxRow = "";  // no tax at this store: no "$0.00" row
  else if (taxMinor != null && tax.prices_include_tax) {
    taxRow = `<div class="row muted"><span>Includes ${money(taxMinor, currency)} ${esc(label)}${rate ? ` (${rate})` : ""}</span></div>`;
  } else if (taxMinor != null) {
    taxRow = `<div class="row"><span>${esc(label)}${rate ? ` (${rate})` : ""}</span><span class="price">${money(taxMinor, currency)}</span></div>`;
  }
  const discountRows = discounts.map(d => `<div class="row discount"><span>${esc(d.label)}</span><span class="price">−${money(d.amount_minor, currency)}</span></div>`).join("");
  return `<div class="totals">
    ${(taxRow && !tax.prices_include_tax) || discountRows ? `<div class="row"><span>Subtotal</span><span class="price">${money(priced.subtotal_minor, currency)}</span></div>` : ""}
    ${discountRows}
    ${tax.prices_include_tax ? "" : taxRow}
    <div class="row total"><strong>Total</strong><strong class="price">${money(total, currency)}</strong></div>
    ${tax.prices_include_tax ? taxRow : ""}</div>`;
}

// Which cart lines an error is about: fields.items {"<index>": message} and/or fields.item = an item id.
function lineErrors(error, cart) {
  const errors = {};
  const items = error?.fields?.items;
  if (items && typeof items === "object" && !Array.isArray(items)) {
    const keys = Object.keys(items).filter(k => cart.lines[Number(k)]);
    for (const k of keys) errors[Number(k)] = keys.length === 1 ? error.message : capital(String(items[k]));
  } else if (Array.isArray(items)) {
    items.forEach((message, i) => { if (message && cart.lines[i]) errors[i] = capital(typeof message === "string" ? message : error.message); });
  }
  const itemId = Number(error?.fields?.item);
  if (itemId) cart.lines.forEach((l, i) => { if (l.item === itemId && !errors[i]) errors[i] = error.message; });
  return errors;
}
function markLineErrors(errors) {
  for (const [index, message] of Object.entries(errors)) {
    const li = document.getElementById(`line-${index}`);
    if (!li) continue;
    li.classList.add("has-error");
    li.querySelector(".line-error")?.remove();
    const p = document.createElement("p");
    p.className = "error line-error";
    p.id = `line-${index}-error`;
    p.setAttribute("role", "alert");
    p.textContent = message;
    li.querySelector(".line-actions").before(p);
  }
}

function emptyCart() {
  render(`<h1 tabindex="-1">Your cart is empty</h1><p><a class="button primary" href="${state.cart?.store ? `#/store/${state.cart.store}` : "#/"}">Choose something to order</a></p>`);
}

async function viewCheckout({ focus = null } = {}) {
  let cart = state.cart;
  if (!cart || !cart.lines.length) { emptyCart(); return; }
  state.tz = cart.tz;
  let interrupted = null;
  if (cart.placing) {
    // This cart was being ordered when the page went away (a reload, a closed tab): send the same request
    // with the same key again. The server answers with the order if it was placed, or places it now.
    render(`<h1 tabindex="-1">Checkout</h1><div class="card placing-note" role="status"><span class="spinner"></span>
      Finishing the order you placed before the page was closed…</div>`);
    try { return await orderPlaced(await submitOrder(cart.key, cart.placing)); }
    catch (error) { interrupted = error; cart = state.cart; }
    if (!cart || !cart.lines.length) { emptyCart(); return; }
  }
  let menu = null;
  try { menu = await menuOf(cart.store); state.tz = menu.store.timezone; } catch { menu = null; }
  const store = menu?.store || { name: cart.store_name || "", mobile_ordering: {} };
  const items = cart.lines.map(({ item, quantity, modifiers }) => ({ item, quantity, modifiers }));
  const request = { items, pickup: "asap" };
  if (state.checkout.day) request.day = state.checkout.day;
  if (state.checkout.reward && state.token) request.reward = state.checkout.reward;
  let quote = null, quoteError = null;
  try { quote = await api(`/stores/${cart.store}/quote/`, { method: "POST", body: request }); }
  catch (error) {
    quoteError = error;
    if (request.reward && error.fields?.reward !== undefined) {  // the reward cannot be used (any more): without it
      state.checkout.reward = null;
      state.checkout.rewardNote = error.message;
      return viewCheckout({ focus });
    }
    if (request.day && !Object.keys(lineErrors(error, cart)).length && error.fields?.day) {  // a day the server refuses: back to the default
      state.checkout.day = null;
      return viewCheckout({ focus });
    }
  }
  if (state.cart !== cart && state.cart?.key !== cart.key) return viewCheckout({ focus });  // changed while quoting
  const errors = quoteError ? lineErrors(quoteError, cart) : {};
  const lineProblem = Object.keys(errors).length > 0;
  const priced = {};
  (quote?.lines || []).forEach((l, i) => { priced[l.index ?? i] = l; });
  const currency = quote?.currency || cart.currency;
  const changes = state.reorderChanges;
  render(`<h1 tabindex="-1">Checkout</h1>
    <p class="muted">${esc(store.name)}${store.address ? ` · ${esc(store.address)}` : ""}</p>
    ${changes?.length ? `<section class="card notice-card" aria-labelledby="changes-title"><h2 id="changes-title">Changed since your last order</h2>
      <ul>${changes.map(c => `<li>${esc(c.message || `${c.item_name}: ${c.kind}`)}</li>`).join("")}</ul>
      <p class="muted">Your cart below has what can be ordered today, at today's prices.</p></section>` : ""}
    <section class="card" aria-labelledby="cart-title"><h2 id="cart-title">Your order</h2>
      <div id="cart-lines">${cartLinesHtml(cart, { priced, errors })}</div>
      <p><a href="#/store/${cart.store}">+ Add more from the menu</a></p>
      ${quote ? totalsHtml(quote, currency)
        : `<div class="row total"><strong>Estimated total</strong><strong class="price">${money(cartEstimate(cart), currency)}</strong></div>`}
    </section>
    ${quote ? rewardsHtml(quote, currency) : ""}
    <section class="card" aria-labelledby="pickup-title" id="pickup"><h2 id="pickup-title">Pickup time</h2>
      ${quote ? pickupHtml(quote, store) : `<p class="${lineProblem ? "muted" : "error"}" ${lineProblem ? "" : 'role="alert"'}>${
        lineProblem ? "Pickup times show once the marked item is fixed." : esc(quoteError.message)}</p>
        ${lineProblem ? "" : `<button type="button" class="secondary" id="requote">Try again</button>`}`}
      ${quote?.offers_fire_on_arrival ? `<label class="choice fire-on-arrival"><input type="checkbox" id="fire-on-arrival"${state.checkout.fireOnArrival ? " checked" : ""}>
        <span>Make it when I arrive <span class="muted">— we start it when you tap "On my way" or "I'm here" on your order, so it is fresh</span></span></label>` : ""}
    </section>
    <div id="auth"></div>
    ${paymentHtml()}
    <div class="place">
      <p id="place-error" class="error" role="alert" ${interrupted ? "" : "hidden"}>${interrupted ? esc(interrupted.message) : ""}</p>
      <p id="place-hint" class="muted" hidden></p>
      <button type="button" class="primary" id="place">${stripe ? "Place order and pay" : "Place order"}${quote ? ` · ${money(quote.total_minor ?? quote.subtotal_minor, currency)}` : ""}</button>
      <p class="muted" id="placing-note" role="status" hidden>Sending your order to the store. If this page closes,
        opening the checkout again finishes it, without ordering twice.</p></div>`);
  bindCartLines(document.getElementById("cart-lines"), selector => viewCheckout({ focus: selector }));
  document.getElementById("requote")?.addEventListener("click", () => viewCheckout({ focus: "#pickup-title" }));
  bindPickup(quote);
  bindRewards();
  if (!state.token) renderLogin(document.getElementById("auth"), { title: "Sign in to order", onDone: () => viewCheckout({ focus: "#place" }) });
  const elements = mountCheckoutPayment(quote);
  const button = document.getElementById("place");
  const hint = document.getElementById("place-hint");
  const blocked = () => {
    if (lineProblem) return "Fix the item marked above to place your order.";
    if (!quote) return "Pickup times could not be loaded: try again above.";
    if (!app.querySelector("input[name=pickup]:checked")) return "Choose a pickup time above.";
    if (!state.token) return "Sign in above to place your order.";
    if (!stripe && !window.DEMO_PAYMENTS) return "Card payment is not available in this app right now.";
    const resumes = store.mobile_ordering?.resumes_at;
    if (store.mobile_ordering?.paused) return `Mobile ordering is paused at this store${resumes ? ` until ${time(resumes)}: you can place your order then` : " right now"}.`;
    return "";
  };
  const refreshPlace = () => {
    const why = blocked();
    button.disabled = Boolean(why) || state.placing;
    setMessage(hint, why, "muted");
    if (why) button.setAttribute("aria-describedby", "place-hint"); else button.removeAttribute("aria-describedby");
  };
  refreshPlace();
  app.onchange = refreshPlace;
  if (focus) (app.querySelector(focus) || app.querySelector("h1")).focus();
  const label = button.textContent;
  // While placing: one request at a time, and nothing that would change what is being ordered.
  const showPlacing = placing => {
    button.disabled = placing;
    button.setAttribute("aria-busy", String(placing));
    button.innerHTML = placing ? `<span class="spinner"></span> Placing your order…` : esc(label);
    document.getElementById("placing-note").hidden = !placing;
    app.querySelectorAll("#cart-lines button, input[name=pickup], [data-day], input[name=demo-card], #fire-on-arrival, input[name=reward]").forEach(input => {
      input.disabled = placing || input.dataset.off === "1";
    });
    if (!placing) refreshPlace();
  };
  app.querySelectorAll("#cart-lines button, input[name=pickup], [data-day], input[name=demo-card], #fire-on-arrival, input[name=reward]").forEach(input => { input.dataset.off = input.disabled ? "1" : "0"; });
  button.onclick = async () => {
    if (state.placing || blocked()) return;
    const placeError = document.getElementById("place-error");
    setMessage(placeError, "");
    showPlacing(true);
    const pickup = app.querySelector("input[name=pickup]:checked")?.value || "asap";
    const current = state.cart;
    try {
      const body = { store: current.store, items: current.lines.map(({ item, quantity, modifiers }) => ({ item, quantity, modifiers })), pickup };
      if (document.getElementById("fire-on-arrival")?.checked) body.fire_on_arrival = true;
      const reward = Number(app.querySelector("input[name=reward]:checked")?.value);
      if (reward) body.reward = reward;
      if (elements) {
        const { error: invalid } = await elements.submit();
        if (invalid) throw new Error(invalid.message);
        const { error, paymentMethod } = await stripe.createPaymentMethod({ elements });
        if (error) throw new Error(error.message);
        body.payment_method = paymentMethod.id;
      } else if (window.DEMO_PAYMENTS) {
        body.payment_method = app.querySelector("input[name=demo-card]:checked")?.value || "pm_card_visa";
      }
      await orderPlaced(await submitOrder(current.key, body));
      state.reorderChanges = null;
      state.checkout = { day: null, pickup: null };
    } catch (error) {
      showPlacing(false);
      if (error.fields?.reward !== undefined && state.checkout.reward) {  // nothing was placed: say why, without it
        state.checkout.reward = null;
        state.checkout.rewardNote = `${error.message} Your order was not placed; check the total and place it again.`;
        return viewCheckout({ focus: "#rewards-title" });
      }
      const errors = lineErrors(error, state.cart || current);
      markLineErrors(errors);
      if (error.status === 401) {  // signed out meanwhile (an expired session): sign in right here, the cart stays
        renderLogin(document.getElementById("auth"), { title: "Sign in again to order", onDone: () => viewCheckout({ focus: "#place" }) });
        document.getElementById("auth").scrollIntoView({ block: "center" });
      }
      const declined = error.status === 402 || /declin/i.test(error.code || "");
      setMessage(placeError, declined ? `${error.message} Your cart is kept.` : error.message);
      const first = Object.keys(errors)[0];
      if (first != null) {  // the fix is on the line: bring it into view (the message stays by the button)
        setMessage(placeError, `${error.message} See the item marked above.`);
        document.getElementById(`line-${first}`)?.scrollIntoView({ block: "center" });
      } else placeError.scrollIntoView({ block: "center" });
    }
  };
}

// Rewards the signed-in member can use on this cart (the quote's `rewards`): choosing one prices the cart
// again with its discount line, and the order is placed with it.
function rewardsHtml(quote, currency) {
  const rewards = quote.rewards || [];
  const chosen = state.checkout.reward;
  const note = state.checkout.rewardNote;
  state.checkout.rewardNote = "";
  if (!rewards.length && !note) return "";
  // A reward that would leave less than a card can be charged is shown, greyed, with what to do about it.
  const offer = r => `<label class="choice reward${r.below_card_minimum ? " unavailable" : ""}"><input type="radio" name="reward" value="${r.id}"${r.id === chosen && !r.below_card_minimum ? " checked" : ""}${r.below_card_minimum ? " disabled" : ""}>
    <span>${esc(r.name)} <span class="muted">— ${r.is_birthday ? "birthday treat" : plural(r.stars_cost, "star")} · ${money(r.discount_minor, currency)} off</span>
    ${r.below_card_minimum ? `<span class="hint">It would leave ${money(r.total_minor, currency)} to pay, less than a card can be charged: add something to use it.</span>` : ""}</span></label>`;
  return `<section class="card rewards" aria-labelledby="rewards-title" id="rewards"><h2 id="rewards-title">Your rewards</h2>
    ${note ? `<p class="notice" role="status">${esc(note)}</p>` : ""}
    ${rewards.length ? `<fieldset class="reward-choices"><legend class="visually-hidden">Use a reward</legend>
      <label class="choice reward"><input type="radio" name="reward" value=""${chosen ? "" : " checked"}> <span>No reward this time</span></label>
      ${rewards.map(offer).join("")}</fieldset>` : ""}</section>`;
}

function bindRewards() {
  app.querySelectorAll("input[name=reward]").forEach(input => input.addEventListener("change", () => {
    if (state.placing) return;
    state.checkout.reward = Number(input.value) || null;
    viewCheckout({ focus: `input[name=reward][value="${input.value}"]` });
  }));
}

function pickupHtml(quote, store = {}) {
  const days = Array.isArray(quote.days) ? quote.days : [];
  const today = days[0]?.date || localDate(quote.quoted_at || Date.now());
  const day = quote.day || state.checkout.day || today;
  const slots = (quote.slots || []).filter(s => s.available || /full/.test(s.reason || ""));
  const asapHere = day === today;
  const offered = pick => pick === "asap" ? asapHere && quote.asap_available
    : slots.some(s => s.available && Date.parse(s.starts_at) === Date.parse(pick));
  let pick = state.checkout.pickup;
  const next = quote.next_available_at;
  const nextSlot = next && slots.find(s => s.available && Date.parse(s.starts_at) === Date.parse(next));
  if (!pick || !offered(pick)) {
    pick = asapHere && quote.asap_available ? "asap" : nextSlot ? nextSlot.starts_at : slots.find(s => s.available)?.starts_at || null;
  }
  state.checkout.pickup = pick;
  let closed = "";
  if (!quote.asap_available && (asapHere || !state.checkout.day)) {
    // Closed (or paused) now: say when it opens, and offer the first pickup time, already selected.
    const today0 = days[0];
    const openNow = today0?.open && Date.parse(today0.opens_at) <= Date.now() && Date.now() < Date.parse(today0.closes_at);
    const opening = openNow ? null : days.map(d => d.opens_at).find(at => at && Date.parse(at) > Date.now());
    const reason = capital(quote.asap_reason || "Not taking orders for right now").replace(/[.!]?$/, ".");
    closed = `<p class="notice" id="asap-reason">${esc(reason)}${opening ? ` Opens ${dayPhrase(opening)} at ${time(opening)}.` : ""}
      ${next && !store.mobile_ordering?.paused ? ` Next available: <strong>${esc(dayWord(next))} ${time(next)}</strong>${nextSlot && pick === nextSlot.starts_at ? " (selected below)" : ""}.` : ""}</p>`;
  }
  const groups = [];
  for (const s of slots) {
    const hour = new Date(s.starts_at).toLocaleTimeString([], { hour: "numeric", timeZone: state.tz });
    if (!groups.length || groups[groups.length - 1].hour !== hour) groups.push({ hour, slots: [] });
    groups[groups.length - 1].slots.push(s);
  }
  const dayTabs = days.length > 1 ? `<div class="days" role="group" aria-label="Pickup day">${days.map(d => {
    const usable = d.open !== false && d.has_available_slots !== false;
    return `<button type="button" class="day" data-day="${esc(d.date)}" aria-pressed="${d.date === day}" ${usable ? "" : "disabled"}>
      ${esc(d.label || d.date)}${d.open === false ? `<span class="day-note">closed</span>` : usable ? "" : `<span class="day-note">full</span>`}</button>`;
  }).join("")}</div>` : "";
  const slotLabel = s => `${time(s.starts_at)}${s.available && s.ready_at && Date.parse(s.ready_at) !== Date.parse(s.starts_at)
    ? ` <span class="muted">(ready ${readyWhen(s.ready_at, s.window_start, s.window_end)})</span>` : ""}${s.available ? "" : ` <span class="muted">full</span>`}`;
  return `${closed}${dayTabs}
    <fieldset class="times"><legend class="visually-hidden">Pickup time${days.length ? ` on ${esc(days.find(d => d.date === day)?.label || day)}` : ""}</legend>
    ${asapHere ? `<label class="choice asap${quote.asap_available ? "" : " off"}"><input type="radio" name="pickup" value="asap"
        ${pick === "asap" ? "checked" : ""} ${quote.asap_available ? "" : "disabled"}>
      <span>As soon as possible${quote.asap_available ? ` — ready <strong class="ready-when">${readyWhen(quote.asap_ready_at, quote.asap_window_start, quote.asap_window_end)}</strong>` : " — not available now"}</span></label>` : ""}
    ${groups.length ? `<p class="muted">${asapHere ? "Or choose a time:" : "Choose a time:"}</p>` : ""}
    ${groups.map(g => {
      const open = g.slots.some(s => s.starts_at === pick) || (!pick && g === groups[0]);
      return `<details class="slot-group" ${open ? "open" : ""}><summary>${esc(g.hour)} <span class="muted">· ${plural(g.slots.filter(s => s.available).length, "time")}</span></summary>
        <div class="slots">${g.slots.map(s => `<label class="slot${s.available ? "" : " full"}"><input type="radio" name="pickup" value="${esc(s.starts_at)}"
          ${s.starts_at === pick ? "checked" : ""} ${s.available ? "" : "disabled"}> ${slotLabel(s)}</label>`).join("")}</div></details>`;
    }).join("")}
    ${!groups.length && !(asapHere && quote.asap_available) ? `<p class="notice">No pickup times left on this day${days.length > 1 ? ": choose another day above" : ""}.</p>` : ""}
    </fieldset>`;
}

function bindPickup(quote) {
  if (!quote) return;
  app.querySelectorAll("input[name=pickup]").forEach(input => input.addEventListener("change", () => { state.checkout.pickup = input.value; }));
  document.getElementById("fire-on-arrival")?.addEventListener("change", event => { state.checkout.fireOnArrival = event.target.checked; });
  app.querySelectorAll("[data-day]").forEach(button => button.addEventListener("click", () => {
    if (button.getAttribute("aria-pressed") === "true" || state.placing) return;
    state.checkout.day = button.dataset.day;
    state.checkout.pickup = null;
    viewCheckout({ focus: `[data-day="${button.dataset.day}"]` });
  }));
}

function paymentHtml() {
  if (stripe) return `<section class="card" aria-labelledby="pay-title"><h2 id="pay-title">Payment</h2><div id="payment-element"></div>
    <p class="muted">Your card is authorised now and charged when you pick up.</p></section>`;
  if (window.DEMO_PAYMENTS) return `<section class="card" aria-labelledby="pay-title"><h2 id="pay-title">Payment</h2>
    <p class="demo-note">Demo payment: no card is needed and none is charged.</p>
    <fieldset class="demo-card"><legend>Demo card</legend>
      <label class="choice"><input type="radio" name="demo-card" value="pm_card_visa" checked> Approves</label>
      <label class="choice"><input type="radio" name="demo-card" value="pm_card_chargeDeclined"> Is declined</label></fieldset></section>`;
  return `<section class="card" aria-labelledby="pay-title"><h2 id="pay-title">Payment</h2><p class="error">Card payment is not available in this app right now.</p></section>`;
}

function mountCheckoutPayment(quote) {
  if (!stripe || !quote) return null;
  const elements = stripe.elements({ mode: "payment", amount: quote.total_minor ?? quote.subtotal_minor, currency: quote.currency.toLowerCase(),
                                     captureMethod: "manual", paymentMethodCreation: "manual" });
  elements.create("payment").mount("#payment-element");
  return elements;
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
