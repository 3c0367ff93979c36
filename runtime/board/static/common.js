// What every page of the board shares: building elements, the JSON API, the events stream,
// times and statuses as text. Plain browser JavaScript, no build step, nothing fetched from
// elsewhere. Text from the API only ever reaches the page through textContent.
"use strict";

const STATUSES = ["SUBMITTED", "PENDING", "RUNNABLE", "STARTING", "RUNNING", "SUCCEEDED", "FAILED"];
const TERMINAL = new Set(["SUCCEEDED", "FAILED"]);
const COLOURS = {
  SUCCEEDED: "#1f7a3d", FAILED: "#b3261e", RUNNING: "#1b62c4", STARTING: "#0f7f86",
  RUNNABLE: "#d9a21b", PENDING: "#98a2b3", SUBMITTED: "#98a2b3",
};

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") el.className = value;
    else if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (key === "style") {
      for (const [prop, v] of Object.entries(value)) el.style.setProperty(prop.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`), v);
    }
    else el.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

async function api(path, options) {
  const answer = await fetch(path, options);
  const body = await answer.json();
  if (!answer.ok) throw new Error(body.error || `${path}: ${answer.status}`);
  return body;
}

function statusBadge(status) {
  return h("span", { class: `status s-${status}` }, status || "UNKNOWN");
}

function pad(n, width = 2) { return String(n).padStart(width, "0"); }

// Times are shown in UTC, as the log events carry them, with the full value on hover.
function when(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ` +
    `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
}

function timeCell(iso, short) {
  if (!iso) return "";
  const text = short && iso.slice(0, 4) === String(new Date().getUTCFullYear()) ? when(iso).slice(5) : when(iso);
  return h("time", { datetime: iso, title: iso }, text);
}

function duration(start, stop) {
  if (!start) return "";
  const ms = (stop ? new Date(stop) : new Date()) - new Date(start);
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${pad(s % 60)}s`;
  return `${Math.floor(s / 3600)}h ${pad(Math.floor(s / 60) % 60)}m`;
}

function percent(fraction) {
  return fraction === null || fraction === undefined ? "" : `${Math.round(fraction * 100)}%`;
}

function progressBar(fraction, label) {
  const value = Math.max(0, Math.min(1, fraction || 0));
  return h("span", { class: "bar", role: "progressbar", "aria-valuemin": 0, "aria-valuemax": 100,
    "aria-valuenow": Math.round(value * 100), "aria-label": label || "progress" },
  h("span", { class: "fill", style: { width: `${value * 100}%` } }));
}

// Children counts as one stacked bar, with the counts in words beside it.
function childrenBar(children, size) {
  const total = size || Object.values(children || {}).reduce((a, b) => a + b, 0) || 1;
  const parts = STATUSES.filter((s) => children && children[s]);
  const words = parts.map((s) => `${children[s]} ${s}`).join(", ") || "no children yet";
  return h("span", {},
    h("span", { class: "bar", role: "img", "aria-label": words, title: words },
      parts.map((s) => h("span", { class: `b-${s}`, style: { width: `${children[s] / total * 100}%` } }))),
    " ", h("span", { class: "small" }, words));
}

// One EventSource for the page; it reconnects by itself and sends Last-Event-ID.
const live = {
  handlers: { job: [], run: [], removed: [], reset: [] },
  on(kind, fn) { this.handlers[kind].push(fn); },
  start() {
    const badge = document.getElementById("live");
    const source = new EventSource("/events");
    source.onopen = () => { badge.textContent = "live"; badge.className = "live on"; };
    source.onerror = () => { badge.textContent = "reconnecting…"; badge.className = "live off"; };
    for (const kind of Object.keys(this.handlers)) {
      source.addEventListener(kind, (e) => {
        const data = JSON.parse(e.data);
        for (const fn of this.handlers[kind]) fn(data);
      });
    }
  },
};

async function showProblems() {
  const box = document.getElementById("problems");
  try {
    const stats = await api("/api/stats");
    const messages = Object.entries(stats.errors).map(([src, msg]) => `${src}: ${msg}`);
    box.textContent = messages.length ? `Can't refresh ${messages.join("; ")}` : "";
    box.hidden = !messages.length;
    return stats;
  } catch (error) {
    box.textContent = `The board does not answer: ${error.message}`;
    box.hidden = false;
    return null;
  }
}

// Rerun `fn` at most once per animation frame however many events arrive.
function throttled(fn) {
  let queued = false;
  return () => {
    if (queued) return;
    queued = true;
    requestAnimationFrame(() => { queued = false; fn(); });
  };
}

function isTyping(event) {
  const tag = (event.target && event.target.tagName) || "";
  return ["INPUT", "SELECT", "TEXTAREA"].includes(tag) || event.ctrlKey || event.metaKey || event.altKey;
}
