// The jobs page (`/`): counts by status, filters, one row per job (an array is one row with
// its children's counts), and the workflow runs. Rows change in place as events arrive.
"use strict";

function jobsPage(main) {
  const params = new URLSearchParams(location.search);
  const state = {
    rows: new Map(), runs: new Map(), selected: 0,
    status: params.get("status") || "", queue: params.get("queue") || "", q: params.get("q") || "",
  };
  const counts = h("div", { class: "counts", role: "group", "aria-label": "filter by status" });
  const search = h("input", { type: "search", id: "search", placeholder: "Search name, job id or run id (press /)",
    "aria-label": "search jobs", value: state.q });
  const queueSelect = h("select", { id: "queue", "aria-label": "queue" });
  const body = h("tbody", { id: "jobs" });
  const empty = h("p", { class: "muted", id: "empty", hidden: true }, "No job matches.");
  const runsBody = h("tbody", { id: "runs" });
  main.replaceChildren(
    h("h1", {}, "Jobs"), counts,
    h("div", { class: "filters" }, search, h("label", {}, "Queue ", queueSelect)),
    h("table", { "aria-label": "jobs" },
      h("thead", {}, h("tr", {}, ["Status", "Name", "Job id", "Queue", "Created (UTC)", "Duration",
        "Progress", "Array children", "Run"].map((t) => h("th", { scope: "col" }, t)))),
      body),
    empty,
    h("h2", {}, "Workflow runs"),
    h("table", { "aria-label": "workflow runs" },
      h("thead", {}, h("tr", {}, ["Run", "Workflow", "Created", "Nodes"].map((t) => h("th", { scope: "col" }, t)))),
      runsBody),
  );

  function keep() {
    const query = new URLSearchParams();
    for (const key of ["status", "queue", "q"]) if (state[key]) query.set(key, state[key]);
    history.replaceState(null, "", query.toString() ? `/?${query}` : "/");
  }

  function matches(row) {
    if (state.status && row.status !== state.status) return false;
    if (state.queue && row.queue !== state.queue) return false;
    if (!state.q) return true;
    const needle = state.q.toLowerCase();
    return [row.name, row.job_id, row.run_id].some((v) => (v || "").toLowerCase().includes(needle));
  }

  function renderCounts(all) {
    const tally = {};
    for (const row of all) tally[row.status] = (tally[row.status] || 0) + 1;
    const chip = (status, label, n) => h("button", { type: "button", "aria-pressed": String(state.status === status),
      onclick: () => { state.status = state.status === status ? "" : status; keep(); render(); } }, `${label} ${n}`);
    counts.replaceChildren(chip("", "All", all.length),
      ...STATUSES.filter((s) => tally[s]).map((s) => chip(s, s, tally[s])));
    const queues = [...new Set(all.map((r) => r.queue))].sort();
    if (queueSelect.options.length !== queues.length + 1) {
      queueSelect.replaceChildren(h("option", { value: "" }, "all"), ...queues.map((q) => h("option", { value: q }, q)));
    }
    queueSelect.value = state.queue;
  }

  function jobRow(row) {
    const link = h("a", { href: `/jobs/${encodeURIComponent(row.job_id)}` }, row.name || row.job_id);
    return h("tr", { "data-job": row.job_id },
      h("td", {}, statusBadge(row.status)),
      h("td", {}, h("span", { class: "cut", title: row.name || "" }, link)),
      h("td", { class: "id" }, h("span", { class: "cut", title: row.job_id }, row.job_id)),
      h("td", {}, row.queue || ""),
      h("td", { class: "nowrap" }, timeCell(row.created_at, true)),
      h("td", { class: "took nowrap" }, duration(row.started_at, row.stopped_at)),
      h("td", { class: "nowrap" }, row.progress === null || row.progress === undefined ? "" :
        [progressBar(row.progress), " ", percent(row.progress), row.stage ? ` ${row.stage}` : ""]),
      h("td", { class: "nowrap" }, row.array_size ? childrenBar(row.children, row.array_size) : ""),
      h("td", {}, row.run_id ? h("span", { class: "cut", title: row.run_id },
        h("a", { href: `/runs/${encodeURIComponent(row.run_id)}` }, row.run_id)) : ""));
  }

  // Rows are rebuilt only when their job changed, and moved only when the order did, so the
  // keyboard focus and the selection stay where they are while events arrive.
  const built = new Map();
  function rowFor(row) {
    const key = JSON.stringify(row);
    const known = built.get(row.job_id);
    if (known && known.key === key) return known.tr;
    const tr = jobRow(row);
    if (known && known.tr.parentNode) known.tr.replaceWith(tr);
    built.set(row.job_id, { key, tr, row });
    return tr;
  }

  function render() {
    const all = [...state.rows.values()].sort((a, b) =>
      (b.created_at || "").localeCompare(a.created_at || "") || b.job_id.localeCompare(a.job_id));
    renderCounts(all);
    const shown = all.filter(matches);
    state.selected = Math.min(state.selected, Math.max(0, shown.length - 1));
    const trs = shown.map(rowFor);
    const same = trs.length === body.children.length && trs.every((tr, i) => body.children[i] === tr);
    if (!same) body.replaceChildren(...trs);
    trs.forEach((tr, i) => tr.classList.toggle("selected", i === state.selected));
    empty.hidden = shown.length > 0;
    const runs = [...state.runs.values()].sort((a, b) => (b.created_at || "").localeCompare(a.created_at || ""));
    const runsKey = JSON.stringify(runs);
    if (runsKey === shownRuns) return;
    shownRuns = runsKey;
    runsBody.replaceChildren(...runs.map((run) => h("tr", {},
      h("td", {}, h("a", { href: `/runs/${encodeURIComponent(run.run_id)}` }, run.run_id)),
      h("td", {}, run.workflow || ""),
      h("td", {}, timeCell(run.created_at)),
      h("td", {}, Object.entries(run.nodes || {}).map(([name, node]) =>
        h("span", { class: "small" }, `${name} `, statusBadge(node.status), "  "))))));
  }
  let shownRuns = "";
  const later = throttled(render);

  async function load() {
    const [rows, runs] = await Promise.all([api("/api/jobs"), api("/api/runs")]);
    state.rows = new Map(rows.map((r) => [r.job_id, r]));
    state.runs = new Map(runs.map((r) => [r.run_id, r]));
    render();
  }

  search.addEventListener("input", () => { state.q = search.value.trim(); keep(); render(); });
  queueSelect.addEventListener("change", () => { state.queue = queueSelect.value; keep(); render(); });
  live.on("job", (row) => { state.rows.set(row.job_id, row); later(); });
  live.on("removed", (gone) => { state.rows.delete(gone.job_id); later(); });
  live.on("run", (run) => {
    const known = state.runs.get(run.run_id);
    if (known) { known.nodes = run.nodes; later(); } else api("/api/runs").then((runs) => {
      state.runs = new Map(runs.map((r) => [r.run_id, r])); later();
    });
  });
  live.on("reset", load);
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && document.activeElement === search) {
      search.value = ""; state.q = ""; keep(); render(); search.blur(); return;
    }
    if (isTyping(event)) return;
    const rows = body.querySelectorAll("tr");
    if (event.key === "/") { event.preventDefault(); search.focus(); }
    else if (event.key === "j" || event.key === "k") {
      state.selected = Math.max(0, Math.min(rows.length - 1, state.selected + (event.key === "j" ? 1 : -1)));
      render();
      const row = body.querySelectorAll("tr")[state.selected];
      if (row) row.scrollIntoView({ block: "nearest" });
    } else if (event.key === "Enter" && event.target.tagName !== "A" && rows[state.selected]) {
      rows[state.selected].querySelector("a").click();
    }
  });
  setInterval(() => {  // durations of running jobs
    for (const { tr, row } of built.values()) {
      if (row.started_at && !row.stopped_at) tr.querySelector(".took").textContent = duration(row.started_at, null);
    }
  }, 5000);
  return load();
}
