// A workflow run's page (`/runs/{id}`): its graph of nodes, laid out in columns by depth,
// each node a link to its job with its status and its children's counts.
"use strict";

const NODE_W = 210, GAP_X = 70, GAP_Y = 22, PAD = 16;

function layers(nodes) {
  const depth = {};
  const visit = (name, seen) => {
    if (depth[name] !== undefined) return depth[name];
    if (seen.has(name)) return 0;
    seen.add(name);
    const deps = (nodes[name].depends_on || []).filter((d) => nodes[d]);
    depth[name] = deps.length ? 1 + Math.max(...deps.map((d) => visit(d, seen))) : 0;
    return depth[name];
  };
  Object.keys(nodes).forEach((name) => visit(name, new Set()));
  return depth;
}

function runPage(main, runId) {
  const title = h("h1", {}, runId);
  const head = h("div", { class: "panel" });
  const graph = h("div", { class: "graph", id: "graph", role: "list", "aria-label": "workflow nodes" });
  main.replaceChildren(h("p", { class: "small" }, h("a", { href: "/" }, "Jobs"), " / ", runId),
    title, head, h("h2", {}, "Nodes"), graph);
  let run = null;

  // Boxes are placed in columns by depth, stacked by their measured heights; then the edges
  // are drawn between the boxes' sides.
  function renderGraph() {
    const nodes = run.nodes || {};
    const depth = layers(nodes);
    const columns = [];
    for (const name of Object.keys(nodes)) (columns[depth[name]] ||= []).push(name);
    const boxes = {};
    for (const [name, node] of Object.entries(nodes)) {
      boxes[name] = h(node.job_id ? "a" : "div", {
        class: `node n-${node.status}`, role: "listitem", "data-node": name,
        href: node.job_id ? `/jobs/${encodeURIComponent(node.job_id)}` : null,
        style: { left: `${PAD + depth[name] * (NODE_W + GAP_X)}px`, top: "0px" } },
      h("span", { class: "name" }, name), statusBadge(node.status),
      node.array_size ? h("div", { class: "small" }, `array of ${node.array_size}`) : null,
      node.array_size ? h("div", {}, childrenBar(node.children, node.array_size)) : null,
      node.status_reason ? h("div", { class: "small" }, node.status_reason) : null);
    }
    graph.replaceChildren(...Object.values(boxes));
    const at = {};
    let bottom = 0;
    columns.forEach((names) => {
      let y = PAD;
      for (const name of names) {
        const box = boxes[name];
        box.style.top = `${y}px`;
        at[name] = { x: box.offsetLeft, y, w: box.offsetWidth, h: box.offsetHeight };
        y += box.offsetHeight + GAP_Y;
      }
      bottom = Math.max(bottom, y);
    });
    const width = PAD * 2 + columns.length * (NODE_W + GAP_X) - GAP_X;
    const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
    svg.setAttribute("width", width); svg.setAttribute("height", bottom);
    svg.setAttribute("aria-hidden", "true");
    for (const [name, node] of Object.entries(nodes)) {
      for (const dep of node.depends_on || []) {
        if (!at[dep]) continue;
        const path = document.createElementNS("http://www.w3.org/2000/svg", "path");
        const x1 = at[dep].x + at[dep].w, y1 = at[dep].y + at[dep].h / 2;
        const x2 = at[name].x, y2 = at[name].y + at[name].h / 2;
        path.setAttribute("d", `M${x1},${y1} C${x1 + GAP_X / 2},${y1} ${x2 - GAP_X / 2},${y2} ${x2},${y2}`);
        path.setAttribute("fill", "none"); path.setAttribute("stroke", "#8b96a8"); path.setAttribute("stroke-width", "2");
        svg.append(path);
      }
    }
    graph.prepend(svg);
    graph.style.height = `${bottom + PAD}px`;
  }

  function render() {
    document.title = `${run.workflow || runId} · batch-task board`;
    title.replaceChildren(`${run.workflow || "workflow"} `, h("span", { class: "muted mono" }, run.run_id));
    const inputs = Object.entries(run.inputs || {});
    head.replaceChildren(h("dl", { class: "kv" },
      h("dt", {}, "Run id"), h("dd", { class: "mono" }, run.run_id),
      h("dt", {}, "Created"), h("dd", {}, timeCell(run.created_at)),
      inputs.map(([k, v]) => [h("dt", {}, `input ${k}`), h("dd", { class: "mono" }, typeof v === "string" ? v : JSON.stringify(v))]),
      run.barriers && run.barriers.length ? [h("dt", {}, "Barrier jobs"), h("dd", {}, String(run.barriers.length))] : null));
    renderGraph();
  }

  async function load() {
    try {
      run = await api(`/api/runs/${encodeURIComponent(runId)}`);
    } catch (error) {
      title.textContent = `No workflow run ${runId} (yet)`;
      head.replaceChildren(h("p", {}, `${error.message}; this page shows it as soon as it is recorded.`));
      return;
    }
    render();
  }
  live.on("run", (event) => {
    if (event.run_id !== runId) return;
    if (run) { run.nodes = event.nodes; render(); } else load();
  });
  live.on("reset", load);
  return load();
}
