// A job's page (`/jobs/{id}`): why it waits, how it failed, its progress, attempts,
// parameters, array children as a grid, and its log events following live.
"use strict";

const LOG_POLL_MS = 1000;
const LOG_AFTER_END_MS = 30000;  // late lines still arrive after a job ends

function jobPage(main, jobId, allowTerminate) {
  const title = h("h1", {}, jobId);
  const head = h("div", { class: "panel", id: "summary" });
  const callouts = h("div", { id: "callouts" });
  const progress = h("div", { id: "progress" });
  const info = h("div", { class: "grid-two" });
  const children = h("section", { id: "children", hidden: true });
  const follow = h("input", { type: "checkbox", id: "follow", checked: true });
  const logState = h("span", { class: "small", id: "log-state", role: "status" });
  const logs = h("pre", { class: "logs", id: "logs", tabindex: "0", "aria-label": "log events" });
  main.replaceChildren(
    h("p", { class: "small" }, h("a", { href: "/" }, "Jobs"), " / ", jobId),
    title, head, callouts, progress, info, children,
    h("h2", {}, "Log events"),
    h("div", { class: "logbar" }, h("label", {}, follow, " Follow (f)"), logState),
    logs);
  let job = null;
  let logCount = 0;
  let endedAt = null;
  let polling = null;

  function renderJob() {
    document.title = `${job.name || job.job_id} · ${job.status} · batch-task board`;
    title.replaceChildren(job.name || job.job_id, " ", statusBadge(job.status));
    const parent = job.job_id.includes(":") ? job.job_id.split(":")[0] : null;
    head.replaceChildren(h("dl", { class: "kv" },
      h("dt", {}, "Status"), h("dd", { id: "status" }, job.status),
      h("dt", {}, "Job id"), h("dd", { class: "mono" }, job.job_id),
      h("dt", {}, "Queue"), h("dd", {}, job.queue || ""),
      parent ? [h("dt", {}, "Array job"), h("dd", {}, h("a", { href: `/jobs/${encodeURIComponent(parent)}` }, parent))] : null,
      job.run_id ? [h("dt", {}, "Workflow run"), h("dd", {}, h("a", { href: `/runs/${encodeURIComponent(job.run_id)}` }, job.run_id))] : null,
      h("dt", {}, "Created"), h("dd", {}, timeCell(job.created_at)),
      h("dt", {}, "Started"), h("dd", {}, timeCell(job.started_at)),
      h("dt", {}, "Stopped"), h("dd", {}, timeCell(job.stopped_at)),
      h("dt", {}, "Duration"), h("dd", {}, duration(job.started_at, job.stopped_at)),
      job.depends_on && job.depends_on.length ? [h("dt", {}, "Depends on"), h("dd", {},
        job.depends_on.map((id) => [h("a", { href: `/jobs/${encodeURIComponent(id)}` }, id), " "]))] : null),
    allowTerminate && job.queue !== "local" && !TERMINAL.has(job.status) ? terminateButton() : "");
    const notes = [];
    if (["SUBMITTED", "PENDING", "RUNNABLE", "STARTING"].includes(job.status)) {
      notes.push(h("div", { class: "callout", id: "waiting" }, h("strong", {}, `Why it is ${job.status}: `),
        job.status_reason || (job.depends_on && job.depends_on.length ? "waiting for the jobs it depends on"
          : "Batch gives no reason yet (a RUNNABLE job usually waits for capacity in its compute environment)")));
    }
    if (job.error) {
      const e = job.error;
      notes.push(h("div", { class: "callout error", id: "error" },
        h("strong", {}, `${e.type || "Error"}: `), e.message || "",
        h("div", { class: "small" }, `exit code ${e.exit_code ?? "unknown"}`,
          e.retryable === true ? " · retryable" : e.retryable === false ? " · not retryable" : "")));
    } else if (job.status === "FAILED" && job.status_reason) {
      notes.push(h("div", { class: "callout error", id: "error" }, h("strong", {}, "Failed: "), job.status_reason));
    }
    callouts.replaceChildren(...notes);
    const last = job.last_progress;
    progress.replaceChildren(last ? h("div", { class: "panel" }, h("h2", {}, "Progress"),
      progressBar(last.progress, "progress"), " ", h("strong", {}, percent(last.progress)),
      last.stage ? h("span", {}, ` · ${last.stage}`) : null,
      last.message ? h("span", {}, ` · ${last.message}`) : null,
      h("div", { class: "small" }, `${last.status || ""} · attempt ${last.attempt ?? ""} · ${when(last.timestamp)} UTC`)) : "");
    info.replaceChildren(
      h("section", { class: "panel" }, h("h2", {}, "Attempts"), attemptsTable(job)),
      h("section", { class: "panel" }, h("h2", {}, "Parameters"), paramsList(job.parameters),
        job.command && job.command.length ? [h("h2", {}, "Command"), h("code", { id: "command" }, job.command.join(" "))] : null));
    if (job.array_size) renderChildren();
  }

  function attemptsTable(job) {
    const attempts = [...(job.attempts || [])];
    if (job.started_at && !TERMINAL.has(job.status) && !attempts.some((a) => !a.stopped_at)) {
      // the attempt that runs now is recorded when it ends; its start is the job's for a first one
      attempts.push({ exit_code: null, reason: "running now", started_at: attempts.length ? null : job.started_at });
    }
    if (!attempts.length) {
      return h("p", { class: "muted" }, job.array_size ? "An array job's attempts are its children's: open one below." : "No attempt yet.");
    }
    return h("table", { id: "attempts" },
      h("thead", {}, h("tr", {}, ["#", "Exit code", "Reason", "Started", "Stopped", "Took"].map((t) => h("th", {}, t)))),
      h("tbody", {}, attempts.map((a, i) => h("tr", {},
        h("td", {}, i + 1), h("td", { class: "mono" }, a.exit_code ?? ""), h("td", {}, a.reason || ""),
        h("td", {}, timeCell(a.started_at)), h("td", {}, timeCell(a.stopped_at)),
        h("td", {}, duration(a.started_at, a.stopped_at))))));
  }

  function paramsList(parameters) {
    const entries = Object.entries(parameters || {});
    if (!entries.length) return h("p", { class: "muted" }, "None.");
    return h("dl", { class: "kv", id: "parameters" }, entries.map(([k, v]) =>
      [h("dt", {}, k), h("dd", { class: "mono" }, typeof v === "string" ? v : JSON.stringify(v))]));
  }

  async function renderChildren() {
    const list = await api(`/api/jobs/${encodeURIComponent(jobId)}/children`);
    children.hidden = false;
    children.replaceChildren(h("h2", {}, `Array children (${job.array_size})`),
      h("div", { class: "legend" }, STATUSES.filter((s) => job.children[s]).map((s) =>
        h("span", { style: { "--c": COLOURS[s] } }, `${job.children[s]} ${s}`))),
      h("div", { class: "cells", id: "cells" }, list.map((c) => h("a", {
        class: `cell b-${c.status}`, href: `/jobs/${encodeURIComponent(c.job_id)}`,
        title: `#${c.index} ${c.status}`, "aria-label": `child ${c.index}: ${c.status}` }))));
  }

  function terminateButton() {
    const dialog = h("dialog", { id: "confirm" },
      h("p", {}, `Terminate ${job.name || job.job_id}? Batch stops it and marks it FAILED.`),
      h("form", { method: "dialog" },
        h("button", { value: "cancel", autofocus: true }, "Keep it running"), " ",
        h("button", { value: "yes", class: "danger", id: "confirm-terminate" }, "Terminate")));
    dialog.addEventListener("close", async () => {
      if (dialog.returnValue !== "yes") return;
      try {
        await api(`/api/jobs/${encodeURIComponent(job.job_id)}/terminate`, { method: "POST",
          headers: { "Content-Type": "application/json", "X-Board-Confirm": job.job_id },
          body: JSON.stringify({ confirm: job.job_id }) });
      } catch (error) { alert(error.message); }
    });
    return h("p", {}, h("button", { type: "button", class: "danger", id: "terminate",
      onclick: () => dialog.showModal() }, "Terminate…"), dialog);
  }

  function logLine(event) {
    const shown = new Set(["timestamp", "level", "event", "logger", "task", "job_id", "attempt",
      "exception", "queue", "compute_environment"]);
    const extra = Object.entries(event).filter(([k]) => !shown.has(k))
      .map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`).join(" ");
    return h("div", { class: `line ${event.level || ""}` },
      h("span", { class: "t" }, event.timestamp ? `${when(event.timestamp)} ` : ""),
      h("span", {}, `${(event.level || "").padEnd(8)}`),
      h("span", { class: "ev" }, event.event || ""), extra ? `  ${extra}` : "",
      event.exception ? `\n${event.exception}` : "");
  }

  async function pollLogs() {
    const events = await api(`/api/jobs/${encodeURIComponent(jobId)}/logs?since=${logCount}`);
    if (events.length) {
      logCount += events.length;
      logs.append(...events.map(logLine));
      if (follow.checked) logs.scrollTop = logs.scrollHeight;
    }
    const finished = job && TERMINAL.has(job.status);
    if (finished && endedAt === null) endedAt = Date.now();
    if (job && job.array_size && !logCount) {
      logState.textContent = "an array job's log events are its children's: open one in the grid above";
    } else if (finished && Date.now() - endedAt > LOG_AFTER_END_MS) {
      clearInterval(polling);
      logState.textContent = `${logCount} events · the job ended; no longer polling`;
    } else {
      logState.textContent = `${logCount} events · ${finished ? "the job ended; still polling for late lines" : "following live"}`;
    }
  }

  async function load() {
    try {
      job = await api(`/api/jobs/${encodeURIComponent(jobId)}`);
    } catch (error) {
      title.textContent = `No job ${jobId} (yet)`;
      head.replaceChildren(h("p", {}, `${error.message}; this page shows it as soon as it is recorded.`));
      return;
    }
    renderJob();
  }
  const reload = throttled(load);
  live.on("job", (row) => { if (row.job_id === jobId || row.job_id === jobId.split(":")[0]) reload(); });
  live.on("reset", reload);
  document.addEventListener("keydown", (event) => {
    if (isTyping(event)) return;
    if (event.key === "f") { follow.checked = !follow.checked; if (follow.checked) logs.scrollTop = logs.scrollHeight; }
  });
  setInterval(() => { if (job && !TERMINAL.has(job.status)) reload(); }, 5000);
  return load().then(() => { polling = setInterval(pollLogs, LOG_POLL_MS); return pollLogs(); });
}
