// Breakwater's dashboard: polls /dashboard/state once a second and draws one card per upstream.
// Plain browser JavaScript, no framework and no build step; every asset comes from the admin listener.

const pollMs = 1000;
const stateLabels = {
  closed: "Closed",
  open: "Open",
  half_open: "Half-open",
  forced_open: "Forced open",
  disabled: "Disabled",
};
const actionLabels = { open: "Force open", disable: "Disable", reset: "Reset" };
const tokenKey = "breakwater-admin-token";

const cards = new Map();
const lastStates = new Map();
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

function card(name) {
  let entry = cards.get(name);
  if (entry) return entry;
  const node = $("#card-template").content.firstElementChild.cloneNode(true);
  const id = `card-${cards.size}`;
  $(".name", node).textContent = name;
  $(".name", node).id = id;
  $("article", node).setAttribute("aria-labelledby", id);
  $(".actions legend", node).textContent = `Control ${name}`;
  for (const button of node.querySelectorAll("button[data-action]")) {
    const action = button.dataset.action;
    button.setAttribute("aria-label", `${actionLabels[action]} ${name}`);
    button.addEventListener("click", () => control(name, action));
  }
  $("#cards").append(node);
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

  controlMode = data.control;
  $("#control").hidden = data.control !== "token";
  $("#control-note").textContent = token()
    ? "A token is set for this tab; the buttons send it."
    : "This proxy requires the admin token to change circuits. Without it the page is read-only.";

  for (const upstream of data.upstreams) {
    const { node } = card(upstream.name);
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
    chart(node, upstream.history, data.sampleSeconds);
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
      announce(`${upstream.name}: ${stateLabels[before]} to ${stateLabels[upstream.state]}`);
    }
    lastStates.set(upstream.name, upstream.state);
  }
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
