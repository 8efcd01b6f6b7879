// The manager dashboard (/dashboard/). Draws each chart from the page's own data (<script type="application/json"
// id="chart-data">, the same tables /dashboard/chart.csv gives) with the vendored Chart.js; the HTML table under
// each chart holds the same figures, and is all there is without JavaScript.
//
// Live: when the shown days include today, the page opens /ws/dashboard/, which says {"type": "changed"} when
// orders of a shown store change. The page then fetches its figures again (?partial=1: the <div id="figures">
// part of the page) and swaps them in, at most once every REFRESH_GAP_MS however busy the stores are, and
// also every CLOCK_REFRESH_MS (orders become late with the clock alone; a lost push is caught up). A dropped
// socket says "Not live" and reconnects with backoff, as the kitchen screens do.
"use strict";

(() => {
  const REFRESH_GAP_MS = 5000;
  const QUIET_MS = 700; // a change usually comes with neighbours (placed, then started): wait for them
  const CLOCK_REFRESH_MS = 60000;
  const COLOURS = { blue: "#2563eb", paleBlue: "#93c5fd", amber: "#d97706", green: "#047857", red: "#dc2626",
                    grey: "#64748b", teal: "#0d9488", violet: "#7c3aed" };
  const CURRENCY_COLOURS = [COLOURS.amber, COLOURS.teal, COLOURS.violet];
  const drawn = [];

  // --- Saying figures as a person would (the same words as fulfilment/templatetags/dashboard_format.py) -----
  function duration(seconds) {
    if (seconds == null) return "–";
    const total = Math.round(Math.abs(seconds));
    const hours = Math.floor(total / 3600), minutes = Math.floor((total % 3600) / 60), secs = total % 60;
    if (hours) return minutes ? `${hours} h ${minutes} min` : `${hours} h`;
    if (minutes) return secs ? `${minutes} min ${secs} s` : `${minutes} min`;
    return `${secs} s`;
  }

  function promiseError(seconds) {
    if (seconds == null) return "–";
    if (Math.round(seconds) === 0) return "on the dot";
    return seconds > 0 ? `+${duration(seconds)} late` : `${duration(seconds)} early`;
  }

  function money(major, currency, digits) {
    try {
      return new Intl.NumberFormat(undefined, { style: "currency", currency, minimumFractionDigits: digits,
                                                maximumFractionDigits: digits }).format(major);
    } catch (error) {
      return `${major.toFixed(digits)} ${currency}`;
    }
  }

  // "2026-03-10T08:15" (a store-local wall-clock time) -> "08:15", or "10 Mar 08:15" over several days.
  const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  function clock(local, multiDay) {
    const time = local.slice(11, 16);
    return multiDay ? `${Number(local.slice(8, 10))} ${MONTHS[Number(local.slice(5, 7)) - 1]} ${time}` : time;
  }

  function records(table) {
    return table.rows.map(row => Object.fromEntries(table.columns.map((column, i) => [column, row[i]])));
  }

  function readJson(root, id) {
    const element = root.querySelector(`#${id}`);
    return element ? JSON.parse(element.textContent) : null;
  }

  // --- The charts: one builder per table of fulfilment/dashboard_charts.py ----------------------------------
  // A seconds axis ticks at a round step (30 s, 1 min, 2 min, ...) rather than Chart.js's decimal ones (1 min 40 s).
  const STEPS = [5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200];
  function secondsAxis(title, values, signed = false) {
    const extent = Math.max(1, ...values.filter(v => v != null).map(Math.abs));
    const stepSize = STEPS.find(step => extent / step <= 5) || 3600 * Math.ceil(extent / 18000);
    const say = value => (signed && value > 0 ? "+" : signed && value < 0 ? "−" : "") + duration(value);
    return { title: { display: true, text: title }, ticks: { stepSize, callback: say } };
  }

  const BUILDERS = {
    orders_by_quarter(rows, meta) {
      // Every 15 minutes from the first to the last (a quiet quarter is a zero, not a missing bar).
      const labels = [];
      const keys = [...new Set(rows.map(row => row.bucket))].sort();
      if (meta.multi_day || !keys.length) {
        labels.push(...keys);
      } else {
        const minutes = key => Number(key.slice(11, 13)) * 60 + Number(key.slice(14, 16));
        for (let m = minutes(keys[0]); m <= minutes(keys[keys.length - 1]); m += 15) {
          labels.push(`${keys[0].slice(0, 11)}${String(Math.floor(m / 60)).padStart(2, "0")}:${String(m % 60).padStart(2, "0")}`);
        }
      }
      const index = new Map(labels.map((label, i) => [label, i]));
      const orders = labels.map(() => 0);
      const sales = {};
      for (const row of rows) {
        orders[index.get(row.bucket)] += row.orders;
        (sales[row.currency] ||= labels.map(() => 0))[index.get(row.bucket)] += row.sales_minor;
      }
      const currencies = Object.keys(sales).sort();
      return {
        data: {
          labels: labels.map(label => clock(label, meta.multi_day)),
          datasets: [
            { type: "bar", label: "Orders", data: orders, backgroundColor: COLOURS.blue, yAxisID: "y", order: 2 },
            ...currencies.map((currency, i) => ({
              type: "line", label: `Sales (${currency})`, yAxisID: "y1", order: 1, tension: 0.3, pointRadius: 0,
              borderColor: CURRENCY_COLOURS[i % CURRENCY_COLOURS.length], borderWidth: 2,
              data: sales[currency].map(minor => minor / 10 ** (meta.digits[currency] ?? 2)), currency })),
          ],
        },
        options: {
          scales: {
            y: { beginAtZero: true, title: { display: true, text: "orders" }, ticks: { precision: 0 } },
            y1: { beginAtZero: true, position: "right", grid: { drawOnChartArea: false },
                  title: { display: true, text: "sales" },
                  ticks: { callback: value => (currencies.length === 1 ? money(value, currencies[0], 0) : value) } },
          },
          plugins: { tooltip: { callbacks: { label: item => (item.dataset.currency
            ? `Sales: ${money(item.raw, item.dataset.currency, meta.digits[item.dataset.currency] ?? 2)}`
            : `Orders: ${item.raw}`) } } },
        },
      };
    },

    orders_by_channel(rows) {
      const byChannel = new Map();
      for (const row of rows) byChannel.set(row.channel_name, (byChannel.get(row.channel_name) || 0) + row.orders);
      const names = [...byChannel.keys()].sort((a, b) => byChannel.get(b) - byChannel.get(a));
      return {
        data: { labels: names, datasets: [{ type: "bar", label: "Orders", data: names.map(n => byChannel.get(n)),
                                            backgroundColor: [COLOURS.blue, COLOURS.teal, COLOURS.amber, COLOURS.violet, COLOURS.grey] }] },
        options: { indexAxis: "y", plugins: { legend: { display: false } },
                   scales: { x: { beginAtZero: true, ticks: { precision: 0 }, title: { display: true, text: "orders" } } } },
      };
    },

    promise_by_hour(rows, meta) {
      return {
        data: {
          labels: rows.map(row => clock(row.hour, meta.multi_day)),
          datasets: [
            { type: "bar", label: "Median error (p50)", data: rows.map(row => row.p50_seconds), backgroundColor: COLOURS.paleBlue, yAxisID: "y", order: 2 },
            { type: "bar", label: "9 in 10 (p90)", data: rows.map(row => row.p90_seconds), backgroundColor: COLOURS.blue, yAxisID: "y", order: 2 },
            { type: "line", label: "Ready by the promise", data: rows.map(row => row.on_time_percent), borderColor: COLOURS.green,
              backgroundColor: COLOURS.green, yAxisID: "y1", order: 1, tension: 0.2, share: true },
          ],
        },
        options: {
          scales: {
            y: secondsAxis("late (below zero: early)", rows.flatMap(row => [row.p50_seconds, row.p90_seconds]), true),
            y1: { min: 0, max: 100, position: "right", grid: { drawOnChartArea: false },
                  ticks: { callback: value => `${value}%` }, title: { display: true, text: "ready by the promise" } },
          },
          plugins: { tooltip: { callbacks: { label: item => `${item.dataset.label}: ${item.dataset.share ? `${item.raw}%` : promiseError(item.raw)}` } } },
        },
      };
    },

    slot_load(rows, meta) {
      const label = row => (meta.multi_store ? `${row.store} ${clock(row.slot, meta.multi_day)}` : clock(row.slot, meta.multi_day));
      return {
        data: {
          labels: rows.map(label),
          datasets: [
            { type: "bar", label: "Orders", data: rows.map(row => row.orders), order: 2,
              backgroundColor: rows.map(row => (row.full ? COLOURS.red : COLOURS.blue)) },
            { type: "line", label: "Capacity", data: rows.map(row => row.capacity), order: 1, stepped: "middle",
              borderColor: COLOURS.grey, borderDash: [6, 4], pointRadius: 0, borderWidth: 2 },
          ],
        },
        options: { scales: { y: { beginAtZero: true, ticks: { precision: 0 }, title: { display: true, text: "orders" } } } },
      };
    },

    station_times(rows, meta) {
      const label = row => (meta.multi_store ? `${row.store} · ${row.station}` : row.station);
      return {
        data: {
          labels: rows.map(label),
          datasets: [
            { type: "bar", label: "Median (p50)", data: rows.map(row => row.p50_seconds), backgroundColor: COLOURS.paleBlue },
            { type: "bar", label: "9 in 10 (p90)", data: rows.map(row => row.p90_seconds), backgroundColor: COLOURS.blue },
          ],
        },
        options: {
          scales: { y: { beginAtZero: true, ...secondsAxis("start to done, per line", rows.map(row => row.p90_seconds)) } },
          plugins: { tooltip: { callbacks: { label: item => `${item.dataset.label}: ${duration(item.raw)}` } } },
        },
      };
    },

    member_share(rows) {
      return {
        data: { labels: rows.map(row => row.channel_name),
                datasets: [{ type: "bar", label: "Orders by members", data: rows.map(row => row.share_percent),
                             backgroundColor: COLOURS.violet }] },
        options: {
          indexAxis: "y", plugins: { legend: { display: false }, tooltip: { callbacks: { label: item => {
            const row = rows[item.dataIndex];
            return `${row.share_percent}% by members (${row.member_orders} of ${row.orders} orders)`;
          } } } },
          scales: { x: { min: 0, max: 100, ticks: { callback: value => `${value}%` },
                         title: { display: true, text: "share of orders by members" } } },
        },
      };
    },

    stars_by_day(rows) {
      // "2026-03-10" (a store-local day) -> "Tue 10 Mar", read as a calendar date (no time zone applies).
      const day = key => {
        const [year, month, date] = key.split("-").map(Number);
        const weekday = new Date(Date.UTC(year, month - 1, date)).toLocaleDateString("en-GB", { weekday: "short", timeZone: "UTC" });
        return `${weekday} ${date} ${MONTHS[month - 1]}`;
      };
      const stars = (label, column, colour) => ({ type: "bar", label, data: rows.map(row => row[column]),
                                                  backgroundColor: colour, yAxisID: "y", order: 2 });
      return {
        data: {
          labels: rows.map(row => day(row.day)),
          datasets: [
            stars("Stars earned", "earned", COLOURS.green),
            stars("Taken back by refunds", "reversed", COLOURS.red),
            stars("Redeemed", "redeemed", COLOURS.blue),
            stars("Given back by cancels", "given_back", COLOURS.amber),
            { type: "line", label: "Members who ordered", data: rows.map(row => row.members), yAxisID: "y1", order: 1,
              borderColor: COLOURS.violet, backgroundColor: COLOURS.violet, tension: 0.2 },
          ],
        },
        options: {
          scales: {
            y: { beginAtZero: true, ticks: { precision: 0 }, title: { display: true, text: "stars" } },
            y1: { beginAtZero: true, position: "right", grid: { drawOnChartArea: false }, ticks: { precision: 0 },
                  title: { display: true, text: "members" } },
          },
        },
      };
    },
  };

  // Draw every chart of the figures; a chart's table stays open only where the reader opened it.
  function draw(openTables) {
    drawn.splice(0).forEach(chart => chart.destroy());
    if (!window.Chart) return; // the tables, open, are the page
    const figures = document.getElementById("figures");
    const tables = readJson(figures, "chart-data");
    const meta = readJson(figures, "chart-meta");
    for (const [name, build] of Object.entries(BUILDERS)) {
      const canvas = document.getElementById(`chart-${name}`);
      if (!canvas || !tables[name] || !tables[name].rows.length) continue;
      const config = build(records(tables[name]), meta);
      // Legends list the data in the order it is built (bars first), whatever order it is drawn in.
      const legend = { position: "bottom", labels: { boxWidth: 12, sort: (a, b) => a.datasetIndex - b.datasetIndex } };
      config.options = { responsive: true, maintainAspectRatio: false, animation: false,
                         interaction: { mode: "index", intersect: false }, ...config.options };
      config.options.plugins = { legend, ...config.options.plugins };
      drawn.push(new Chart(canvas, config));
      const table = document.getElementById(`table-${name}`);
      if (table) table.open = openTables.has(table.id);
    }
  }

  function start() {
    if (window.Chart) {
      Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
      Chart.defaults.color = "#5f6b7a";
    }
    draw(new Set());
    const state = document.getElementById("live-state");
    if (state && state.dataset.socket) live(state);
  }

  // --- Live ---------------------------------------------------------------------------------------------------
  function live(state) {
    let socket = null;
    let attempt = 0;
    let stable = null;
    let due = null;
    let lastRefresh = Date.now();
    let fetching = false;
    let again = false;
    let signedOut = false;
    let everConnected = false;

    function say(connected, extra = "") {
      const updated = document.getElementById("figures").dataset.updated;
      state.textContent = `${connected ? "Live" : "Not live"} · updated ${updated}${extra}`;
      state.classList.toggle("connected", connected);
      state.classList.toggle("dropped", !connected);
    }

    function schedule() {
      if (due || signedOut) return; // a refresh is already coming: it will read this change too
      due = setTimeout(refresh, Math.max(QUIET_MS, lastRefresh + REFRESH_GAP_MS - Date.now()));
    }

    async function refresh() {
      due = null;
      if (fetching) { again = true; return; }
      fetching = true;
      lastRefresh = Date.now();
      try {
        const response = await fetch(state.dataset.refresh, { credentials: "same-origin", headers: { Accept: "text/html" } });
        const holder = document.createElement("template");
        if (response.ok && !response.redirected) holder.innerHTML = await response.text();
        const fresh = holder.content.getElementById("figures");
        if (fresh) {
          const open = new Set([...document.querySelectorAll("details.chart-table[open]")].map(d => d.id));
          document.getElementById("figures").replaceWith(fresh);
          draw(open);
        } else if (response.redirected || response.status === 403) {
          signedOut = true; // the session ended: the sign-in page is not figures
        }
      } catch (error) {
        // The server is away for a moment: the socket's reconnect brings a refresh.
      } finally {
        fetching = false;
        if (signedOut) {
          if (socket) socket.close();
          say(false, " · sign in again to see live figures");
        } else {
          say(Boolean(socket && socket.readyState === WebSocket.OPEN));
          if (again) { again = false; schedule(); }
        }
      }
    }

    function connect() {
      const scheme = location.protocol === "https:" ? "wss" : "ws";
      const current = new WebSocket(`${scheme}://${location.host}${state.dataset.socket}`);
      socket = current;
      current.onopen = () => {
        say(true);
        clearTimeout(stable);
        stable = setTimeout(() => { attempt = 0; }, 5000); // the backoff resets once the link holds
        if (everConnected) schedule(); // changes while the socket was down were not told
        everConnected = true;
      };
      current.onmessage = event => {
        const message = JSON.parse(event.data);
        if (message.type === "changed") schedule();
      };
      current.onclose = event => {
        if (socket !== current) return;
        socket = null;
        clearTimeout(stable);
        if (event.code === 4401 || event.code === 4403 || signedOut) {
          say(false, " · sign in again to see live figures");
          return;
        }
        attempt += 1;
        const delay = Math.min(15000, 500 * 2 ** Math.min(attempt - 1, 5)) * (0.8 + Math.random() * 0.4);
        say(false, ` · reconnecting in ${Math.ceil(delay / 1000)} s`);
        setTimeout(connect, delay);
      };
    }

    connect();
    setInterval(schedule, CLOCK_REFRESH_MS);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
