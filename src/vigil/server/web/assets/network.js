// The network graph: communities coloured, size by priority, click through to a subject,
// and the evidence path (when one was asked for) highlighted. Cytoscape comes from npm.
const box = document.getElementById("graph");
const note = document.getElementById("graph-status");
const LABELLED = 12; // only the highest-priority subjects carry a label, so names stay legible
const PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
  "#bcbd22", "#17becf", "#ff7f0e", "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173"];

// Cytoscape adds a <style> element unless one with this id exists; the strict CSP blocks
// inline styles, so our stylesheet (which carries the same rule) stands in for it.
document.querySelector('link[rel="stylesheet"]').id = "__________cytoscape_stylesheet";

async function draw() {
  const response = await fetch(box.dataset.src, { credentials: "same-origin" });
  if (!response.ok) { note.textContent = "The graph could not be loaded."; return; }
  const data = await response.json();
  const top = Math.max(1, ...data.nodes.map((n) => n.score || 0));
  const pathEl = document.getElementById("evidence-path");
  const onPath = new Set(pathEl ? pathEl.dataset.subjects.split(",") : []);
  const elements = [
    ...data.nodes.map((n, i) => ({ data: { id: String(n.id), label: i < LABELLED ? n.label : "",
      size: 10 + 34 * Math.sqrt((n.score || 0) / top),
      colour: PALETTE[(n.community ?? 0) % PALETTE.length], path: onPath.has(String(n.id)) } })),
    ...data.edges.map((e, i) => ({ data: { id: `e${i}`, source: String(e.source),
      target: String(e.target), weight: e.weight || 1 } })),
  ];
  // eslint-disable-next-line no-undef
  const cy = cytoscape({
    container: box,
    elements,
    style: [
      { selector: "node", style: { "background-color": "data(colour)", width: "data(size)",
        height: "data(size)", label: "data(label)", "font-size": 11, color: "#1d2430", "text-outline-color": "#ffffff",
        "text-outline-width": 2 } },
      { selector: "node[?path]", style: { "border-width": 4, "border-color": "#f2b705" } },
      { selector: "edge", style: { width: "mapData(weight, 0, 10, 1, 6)", "line-color": "#9aa5b4",
        opacity: 0.8 } },
    ],
    layout: { name: "cose", animate: false, randomize: false, nodeRepulsion: () => 400000,
      idealEdgeLength: () => 80, gravity: 0.5, numIter: 1500 },
  });
  cy.on("tap", "node", (event) => window.location.assign(`/subjects/${event.target.id()}`));
  note.textContent = `${data.nodes.length} subjects and ${data.edges.length} links drawn. Click a circle to open it.`;
}

function waitForLibrary() {
  if (window.cytoscape) draw();
  else window.addEventListener("load", draw, { once: true });
}
waitForLibrary();
