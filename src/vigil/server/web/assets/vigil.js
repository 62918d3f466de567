// Vigil's shared page behaviour: the CSRF token for API calls, and live job progress.
// Pages work without it; it only adds live updates (docs/web.md).

export function csrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.content : "";
}

export async function api(method, path, body) {
  const response = await fetch(path, {
    method,
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRF-Token": csrfToken() },
    body: body === undefined ? undefined : JSON.stringify(body),
    keepalive: method !== "GET",
  });
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(data.detail || `request failed (${response.status})`);
  return data;
}

// Any element with data-job="ID" shows that job's state; a sibling progress bar its percent.
function watchJobs() {
  const cells = [...document.querySelectorAll("[data-job]")];
  const open = cells.filter((cell) => !["done", "failed"].includes(cell.textContent.trim()));
  if (!open.length) return;
  const tick = async () => {
    let running = 0;
    for (const cell of open) {
      try {
        const job = await api("GET", `/api/jobs/${cell.dataset.job}`);
        const state = cell.querySelector("[data-job-state]") || cell;
        state.textContent = job.state;
        const bar = document.querySelector(`[data-job-progress="${cell.dataset.job}"]`) ||
          cell.querySelector("progress");
        const progress = job.progress || {};
        if (bar && progress.of) bar.value = Math.round((100 * progress.documents) / progress.of);
        if (bar && job.state === "done") bar.value = 100;
        if (job.state === "failed" && job.error) state.textContent = `failed: ${job.error}`;
        else if (job.state === "running" && progress.files !== undefined) {
          state.textContent = `running: ${progress.files} files so far`;
        }
        if (job.state === "done" && cell.dataset.reloadWhenDone) {
          window.location.replace(cell.dataset.reloadWhenDone);
          return;
        }
        if (!["done", "failed"].includes(job.state)) running += 1;
      } catch (error) {
        // A job we can no longer read stops being watched.
      }
    }
    if (running) setTimeout(tick, 1000);
  };
  setTimeout(tick, 500);
}

document.addEventListener("DOMContentLoaded", watchJobs);
