// The network graph: communities coloured, size by priority, click through to a subject,
// and the evidence path (when one was asked for) highlighted. Cytoscape comes from npm.
const box = document.getElementById("graph");
const note = document.getElementById("graph-status");
const PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
  "#bcbd22", "#17becf", "#ff7f0e", "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173"];

async function draw() {
  const response = await fetch(box.dataset.src, { credentials: "same-origin" });
  if (!response.ok) { note.textContent = "The graph could not be loaded."; return; }
  const data = await response.json();
  const top = Math.max(1, ...data.nodes.map((n) => n.score || 0));
  const pathEl = document.getElementById("evidence-path");
  const onPath = new Set(pathEl ? pathEl.dataset.subjects.split(",") : []);
  const elements = [
    ...data.nodes.map((n) => ({ data: { id: String(n.id), label: n.label,
      size: 12 + 48 * Math.sqrt((n.score || 0) / top),
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
        height: "data(size)", label: "data(label)", "font-size": 9, color: "#1d2430" } },
      { selector: "node[?path]", style: { "border-width": 4, "border-color": "#f2b705" } },
      { selector: "edge", style: { width: 1, "line-color": "#b8c0cc", opacity: 0.7 } },
    ],
    layout: { name: "cose", animate: false, randomize: false, nodeRepulsion: 8000 },
  });
  cy.on("tap", "node", (event) => window.location.assign(`/subjects/${event.target.id()}`));
  note.textContent = `${data.nodes.length} subjects and ${data.edges.length} links drawn. Click a circle to open it.`;
}

function waitForLibrary() {
  if (window.cytoscape) draw();
  else window.addEventListener("load", draw, { once: true });
}
waitForLibrary();
