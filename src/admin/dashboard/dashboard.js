// Breakwater's dashboard: polls /dashboard/state once a second and draws a section per server holding
// one card per upstream (its replicas), and how the aggregate (one endpoint for all servers) lists each
// server. What the state no longer holds (a reload removed it) goes away.
// Plain browser JavaScript, no framework and no build step; every asset comes from the admin listener.

const pollMs = 1000;
const stateLabels = {
  closed: "Closed",
  open: "Open",
  half_open: "Half-open",
  forced_open: "Forced open",
  disabled: "Disabled",
};
const statusLabels = { healthy: "Healthy", degraded: "Degraded", unavailable: "Unavailable" };
const actionLabels = { open: "Force open", disable: "Disable", reset: "Reset" };
const tokenKey = "breakwater-admin-token";

const cards = new Map();
const sections = new Map();
const lastStates = new Map();
const lastStatuses = new Map();
let nextId = 0;
let controlMode = "open";

const $ = (selector, root = document) => root.querySelector(selector);

function token() {
  return sessionStorage.getItem(tokenKey) ?? "";
}

function canControl() {
  return controlMode === "open" || token() !== "";
}

function say(text) {
  $("#message").textContent = text;
}

function announce(text) {
  $("#announcer").textContent = text;
}

function percent(rate) {
  return `${(rate * 100).toFixed(rate === 1 || rate === 0 ? 0 : 1)}%`;
}

function seconds(ms) {
  return ms === null ? "—" : `${Math.ceil(ms / 1000)} s`;
}

function clock(at) {
  return new Date(at).toLocaleTimeString([], { hour12: false });
}

/** Puts `node` in `parent` right after `previous` (first when null), moving it only when it is elsewhere. */
function place(parent, node, previous) {
  const expected = previous === null ? parent.firstElementChild : previous.nextElementSibling;
  if (node !== expected) parent.insertBefore(node, expected);
}

/** Removes the nodes of `entries` whose names are not in `current` (a reload removed them). */
function prune(entries, current, last) {
  for (const [name, { node }] of entries) {
    if (current.has(name)) continue;
    node.remove();
    entries.delete(name);
    last.delete(name);
  }
}

function section(name) {
  let entry = sections.get(name);
  if (entry) return entry;
  const node = $("#server-template").content.firstElementChild.cloneNode(true);
  const id = `server-${nextId++}`;
  $(".server-name", node).textContent = name;
  $(".server-name", node).id = id;
  node.setAttribute("aria-labelledby", id);
  $(".cards", node).setAttribute("aria-label", `Upstreams of ${name}`);
  entry = { node };
  sections.set(name, entry);
  return entry;
}

function card(name) {
  let entry = cards.get(name);
  if (entry) return entry;
  const node = $("#card-template").content.firstElementChild.cloneNode(true);
  const id = `card-${nextId++}`;
  $(".name", node).textContent = name;
  $(".name", node).id = id;
  $("article", node).setAttribute("aria-labelledby", id);
  $(".actions legend", node).textContent = `Control ${name}`;
  for (const button of node.querySelectorAll("button[data-action]")) {
    const action = button.dataset.action;
    button.setAttribute("aria-label", `${actionLabels[action]} ${name}`);
    button.addEventListener("click", () => control(name, action));
  }
  entry = { node };
  cards.set(name, entry);
  return entry;
}

function chart(node, history, sampleSeconds) {
  const svg = $("svg", node);
  const width = 300;
  const height = 60;
  const span = Math.max(history.length, 2) - 1;
  const most = Math.max(1, ...history.map((s) => s.requests));
  const x = (i) => ((i / span) * width).toFixed(1);
  const requests = history.map(
    (s, i) => `${x(i)},${(height - (s.requests / most) * (height - 4) - 2).toFixed(1)}`,
  );
  const success = history.map((s, i) => {
    const rate = s.requests === 0 ? 1 : (s.requests - s.failures) / s.requests;
    return `${x(i)},${(height - rate * (height - 4) - 2).toFixed(1)}`;
  });
  $(".line.requests", svg).setAttribute("points", requests.join(" "));
  $(".line.success", svg).setAttribute("points", success.join(" "));
  const last = history.at(-1);
  const minutes = Math.max(1, Math.round((history.length * sampleSeconds) / 60));
  $(".span", node).textContent = `${minutes} min`;
  $("title", svg).textContent = last
    ? `Last ${sampleSeconds} s: ${last.requests} requests, ${last.failures} failed, ${last.rejected} rejected`
    : "No traffic recorded yet";
}

/** From the last closed sample; before there is one, from the period in progress (the last entry). */
function requestsPerMinute(history) {
  const sample = history.length >= 2 ? history.at(-2) : history.at(-1);
  return sample && sample.seconds >= 1 ? String(Math.round((sample.requests / sample.seconds) * 60)) : "—";
}

function render(data) {
  const overall = $("#overall");
  overall.dataset.status = data.status;
  const notClosed = data.upstreams.filter((u) => u.state !== "closed").length;
  overall.textContent =
    data.status === "healthy"
      ? `Healthy: all ${data.upstreams.length} circuits closed`
      : data.status === "degraded"
        ? `Degraded: ${notClosed} of ${data.upstreams.length} circuits not closed`
        : "Unhealthy: no upstream admits requests";
  const fleet = $("#fleet");
  fleet.hidden = data.fleet === null;
  if (data.fleet !== null) {
    fleet.dataset.connected = String(data.fleet.connected);
    const others = data.fleet.replicas_seen;
    fleet.textContent = data.fleet.connected
      ? `Fleet: circuits shared with ${others} other ${others === 1 ? "replica" : "replicas"}`
      : "Fleet: Redis unreachable — this replica's circuits are its own until it is back";
  }

  renderAggregate(data.aggregate);

  controlMode = data.control;
  $("#control").hidden = data.control !== "token";
  $("#control-note").textContent = token()
    ? "A token is set for this tab; the buttons send it."
    : "This proxy requires the admin token to change circuits. Without it the page is read-only.";

  const announcements = [];
  const upstreams = new Map(data.upstreams.map((u) => [u.name, u]));
  const aggregated = new Map((data.aggregate?.servers ?? []).map((s) => [s.name, s]));
  const drawn = new Set();
  let previousSection = null;
  for (const server of data.servers) {
    const { node } = section(server.name);
    place($("#servers"), node, previousSection);
    previousSection = node;
    node.dataset.status = server.status;
    $(".server-status-text", node).textContent = statusLabels[server.status] ?? server.status;
    const count = server.upstreams.length;
    $(".replicas", node).textContent = `${count} ${count === 1 ? "replica" : "replicas"}`;
    const before = lastStatuses.get(server.name);
    if (before !== undefined && before !== server.status) {
      announcements.push(`Server ${server.name}: ${statusLabels[before]} to ${statusLabels[server.status]}`);
    }
    lastStatuses.set(server.name, server.status);
    renderListed($(".aggregate", node), aggregated.get(server.name));
    let previousCard = null;
    for (const name of server.upstreams) {
      const upstream = upstreams.get(name);
      if (upstream === undefined) continue;
      drawn.add(name);
      const entry = card(name);
      place($(".cards", node), entry.node, previousCard);
      previousCard = entry.node;
      renderCard(entry.node, upstream, data.sampleSeconds, announcements);
    }
  }
  prune(cards, drawn, lastStates);
  prune(sections, new Set(data.servers.map((s) => s.name)), lastStatuses);
  if (announcements.length > 0) announce(announcements.join(". "));
}

/** The line under the title: the aggregate's route and how many tools it lists from how many servers. */
function renderAggregate(aggregate) {
  const line = $("#aggregate");
  line.hidden = aggregate === null || aggregate === undefined;
  if (line.hidden) return;
  const listing = aggregate.servers.filter((s) => s.listed !== "omitted");
  const tools = listing.reduce((sum, s) => sum + s.tools, 0);
  line.textContent = `Aggregate ${aggregate.route}: ${count(tools, "tool")} from ${listing.length} of ${aggregate.servers.length} servers`;
}

/**
 * A server's line "aggregate: current · 12 tools" / "cached · 4 tools · grace 34 s" / "omitted", with the
 * names the merged lists left out counted (and listed in its title); hidden when the aggregate does not
 * list the server (or there is no aggregate).
 */
function renderListed(line, server) {
  line.hidden = server === undefined;
  if (server === undefined) return;
  line.dataset.listed = server.listed;
  const parts = [`aggregate: ${server.listed}`];
  if (server.listed !== "omitted") parts.push(count(server.tools, "tool"));
  if (server.listed === "cached" && server.grace_left_ms !== null)
    parts.push(`grace ${seconds(server.grace_left_ms)}`);
  if (server.left_out.length > 0) parts.push(`${server.left_out.length} left out`);
  line.textContent = parts.join(" · ");
  line.title = server.left_out.map((n) => `left out: ${n.name} (${n.reason})`).join("\n");
}

function count(n, noun) {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}

/** One upstream's card: its circuit, figures, chart, tool circuits and last transitions. */
function renderCard(node, upstream, sampleSeconds, announcements) {
  node.dataset.state = upstream.state;
  $(".state-text", node).textContent = stateLabels[upstream.state] ?? upstream.state;
  $(".success-rate", node).textContent = percent(upstream.success_rate);
  $(".request-rate", node).textContent = requestsPerMinute(upstream.history);
  $(".consecutive", node).textContent = String(upstream.consecutive_failures);
  $(".in-flight", node).textContent = String(upstream.in_flight);
  $(".processes-figure", node).hidden = upstream.processes === null;
  $(".processes", node).textContent = String(upstream.processes ?? "");
  $(".rejected", node).textContent = String(upstream.rejected_requests);
  $(".retry", node).textContent = seconds(upstream.retry_after_ms);
  chart(node, upstream.history, sampleSeconds);
  renderTools($(".tools", node), upstream.name, upstream.tools);
  const list = $(".transitions", node);
  list.replaceChildren(
    ...upstream.transitions
      .slice(-5)
      .reverse()
      .map((t) => {
        const item = document.createElement("li");
        item.textContent = `${clock(t.at)} ${stateLabels[t.from] ?? t.from} → ${stateLabels[t.to] ?? t.to} (${t.reason.replaceAll("_", " ")})`;
        return item;
      }),
  );
  for (const button of node.querySelectorAll("button[data-action]")) {
    button.disabled = !canControl();
    button.title = canControl() ? "" : "Enter the admin token to change circuits";
  }
  const before = lastStates.get(upstream.name);
  if (before !== undefined && before !== upstream.state) {
    announcements.push(`${upstream.name}: ${stateLabels[before]} to ${stateLabels[upstream.state]}`);
  }
  lastStates.set(upstream.name, upstream.state);
}

/** The tool circuits of an upstream that are not closed, each with its state and a reset button. */
function renderTools(list, upstream, tools) {
  list.replaceChildren(
    ...tools.map((tool) => {
      const item = document.createElement("li");
      const name = document.createElement("span");
      name.className = "tool-name";
      name.textContent = tool.name;
      const state = document.createElement("span");
      state.textContent = `${stateLabels[tool.state] ?? tool.state}, ${tool.failed_requests} failed, retry in ${seconds(tool.retry_after_ms)}`;
      const reset = document.createElement("button");
      reset.type = "button";
      reset.textContent = "Reset";
      reset.setAttribute("aria-label", `Reset tool ${tool.name} of ${upstream}`);
      reset.disabled = !canControl();
      reset.addEventListener("click", () => control(upstream, "reset", tool.name));
      item.append(name, state, reset);
      return item;
    }),
  );
}

async function control(name, action, tool) {
  const headers = token() ? { authorization: `Bearer ${token()}` } : {};
  const path = tool === undefined ? "" : `/tools/${encodeURIComponent(tool)}`;
  const what = tool === undefined ? name : `${name} tool ${tool}`;
  try {
    const response = await fetch(`/circuits/${encodeURIComponent(name)}${path}/${action}`, {
      method: "POST",
      headers,
    });
    if (response.status === 401) say("The admin token was rejected: circuits were not changed.");
    else if (!response.ok) say(`${actionLabels[action]} ${what} failed (HTTP ${response.status}).`);
    else say(`${actionLabels[action]} ${what}: done.`);
  } catch {
    say(`${actionLabels[action]} ${what} failed: Breakwater did not answer.`);
  }
  await poll(false);
}

let timer;
async function poll(again = true) {
  try {
    const response = await fetch("/dashboard/state", { cache: "no-store" });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    render(await response.json());
    if ($("#message").textContent.startsWith("Lost contact")) say("");
  } catch {
    say("Lost contact with Breakwater; retrying…");
  }
  if (again) timer = setTimeout(poll, pollMs);
}

$("#token-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const value = $("#token").value.trim();
  if (value) sessionStorage.setItem(tokenKey, value);
  $("#token").value = "";
  say(value ? "Token set for this tab." : "");
  clearTimeout(timer);
  poll();
});
$("#forget-token").addEventListener("click", () => {
  sessionStorage.removeItem(tokenKey);
  say("Token forgotten: the page is read-only.");
  clearTimeout(timer);
  poll();
});

poll();
