// The viewer: reveals one file on request, blurred and greyscale first, muted, and reports
// the seconds it is on screen (only while the page is visible) until it is closed.
import { api } from "./vigil.js";

const root = document.getElementById("reveal");
const form = document.getElementById("reveal-start");
const view = document.getElementById("reveal-view");
const stage = document.getElementById("reveal-stage");
const status = document.getElementById("reveal-status");
const counter = document.getElementById("reveal-seconds");
const blurButton = document.getElementById("toggle-blur");
const greyButton = document.getElementById("toggle-grey");
const sha256 = root.dataset.sha256;

let reveal = null;
let media = null;
let seconds = 0;
let closed = false;
let timer = null;
let heartbeat = null;

function setting(name) {
  return media ? media.classList.contains(name) : true;
}

function report(ended) {
  if (!reveal) return Promise.resolve(null);
  return api("POST", `/api/files/${sha256}/reveal/${reveal.reveal_id}/seconds`, {
    seconds: Math.round(seconds * 10) / 10,
    blurred: setting("blurred"),
    greyscale: setting("greyscale"),
    ended,
  });
}

function toggle(button, name, liftLabel, restoreLabel) {
  const on = media.classList.toggle(name);
  button.setAttribute("aria-pressed", String(on));
  button.textContent = on ? liftLabel : restoreLabel;
}

async function start(event) {
  event.preventDefault();
  const data = new FormData(form);
  try {
    reveal = await api("POST", `/api/files/${sha256}/reveal`, {
      reason: data.get("reason") || null,
      view_known: data.get("view_known") === "1",
    });
  } catch (error) {
    status.textContent = error.message;
    return;
  }
  const kind = reveal.mime.split("/")[0];
  media = document.createElement(kind === "image" ? "img" : kind === "audio" ? "audio" : "video");
  media.classList.add("blurred", "greyscale");
  if (kind === "image") media.alt = "The revealed file, blurred and in greyscale";
  else { media.muted = true; media.controls = true; media.preload = "metadata"; }
  media.src = reveal.media_url;
  stage.replaceChildren(media);
  form.hidden = true;
  view.hidden = false;
  blurButton.focus();
  timer = setInterval(() => {
    if (document.visibilityState === "visible") {
      seconds += 0.5;
      counter.textContent = `${Math.floor(seconds)} s on screen`;
    }
  }, 500);
  heartbeat = setInterval(() => report(false).catch(() => {}), 10000);
}

async function close() {
  if (closed || !reveal) return;
  closed = true;
  clearInterval(timer);
  clearInterval(heartbeat);
  stage.replaceChildren();
  try {
    await report(true);
    window.location.assign(`/files/${sha256}?viewed=1`);
  } catch (error) {
    status.textContent = error.message;
  }
}

form.addEventListener("submit", start);
blurButton.addEventListener("click", () => toggle(blurButton, "blurred", "Lift blur", "Blur again"));
greyButton.addEventListener("click", () => toggle(greyButton, "greyscale", "Show colour", "Greyscale again"));
document.getElementById("reveal-close").addEventListener("click", close);
window.addEventListener("pagehide", () => { if (!closed) { closed = true; report(true).catch(() => {}); } });
