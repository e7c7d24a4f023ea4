// The library page: the user's videos over the JSON API, called with the user's own key.
// No framework and no build step: ES modules, loaded from this origin (api.js, models.js,
// images.js, compose.js). Job fields are only ever written as text (textContent,
// properties) or as http(s) URLs checked by safeUrl; never as HTML.
"use strict";

import {
  ApiError,
  UnauthorizedError,
  api,
  costText,
  forgetKey,
  formatUsd,
  readKey,
  safeUrl,
  saveKey,
  session,
} from "./api.js";
import { initCompose, openCompose } from "./compose.js";
import { MODES } from "./models.js";

const PER_PAGE = 12;
const STATUS_EVERY_MS = 1500; // while a job on the page is processing
const LIBRARY_EVERY_MS = 5000; // the page as a whole: jobs made elsewhere, deletions
const HIDDEN_EVERY_MS = 30000; // the tab is in the background
const TERMINAL = new Set(["completed", "failed", "canceled"]);

const $ = (id) => document.getElementById(id);
const state = {
  page: 1,
  cursors: [null], // cursors[n - 1] reads page n (page 1 needs none): the API's next_cursor
  next: null, // the page after this one, or null on the last page
  total: 0,
  estimate: false, // total is the API's estimate (a very long history)
  rows: new Map(), // video_id -> its <li>, kept for the life of the page
  timer: null,
  running: false,
  again: false,
  lastLibrary: 0,
  epoch: 0, // bumped by local changes, so an older library answer is not applied
};

function formatTime(value) {
  const when = value ? new Date(value) : null;
  return when && !Number.isNaN(when.getTime()) ? when.toLocaleString() : "";
}

function rowFor(job) {
  let el = state.rows.get(job.video_id);
  if (!el) {
    el = $("video-template").content.firstElementChild.cloneNode(true);
    el.dataset.videoId = job.video_id;
    const img = el.querySelector(".thumb");
    img.addEventListener("error", () => {
      img.hidden = true;
      el.querySelector(".placeholder").hidden = !el.querySelector(".player").hidden;
    });
    state.rows.set(job.video_id, el);
  }
  return el;
}

function noteFor(job) {
  const storage = job.storage || {};
  if (job.status === "failed") {
    return [job.error_code, job.error_message].filter(Boolean).join(": ") || "Failed.";
  }
  if (job.status === "canceled") return "Canceled.";
  if (job.status === "completed" && storage.state === "pending") return "Saving a copy\u2026";
  if (job.status === "completed" && storage.state === "failed") {
    return `Our copy failed${storage.error ? `: ${storage.error}` : ""}; PiAPI's link may expire.`;
  }
  return job.notice || "";
}

function update(el, job) {
  // Terminal is final: an answer that was already on its way cannot undo it.
  if (TERMINAL.has(el.dataset.status) && !TERMINAL.has(job.status)) return;
  const q = (selector) => el.querySelector(selector);
  el.dataset.status = job.status;
  el.dataset.storage = (job.storage && job.storage.state) || "";

  q(".script").textContent = job.script || "";
  q(".script").title = job.script || "";
  q(".mode").textContent = MODES[job.generation_mode] || job.generation_mode || "";
  q(".provider").textContent = [job.provider, job.model_name].filter(Boolean).join(" \u00b7 ");
  q(".cost").textContent = costText(job.cost, job.cost_estimated);
  const charged =
    TERMINAL.has(job.status) && typeof job.charged_usd === "number"
      ? `charged ${formatUsd(job.charged_usd)}`
      : "";
  q(".charged").textContent = charged;
  q(".charged").hidden = charged === "";
  q(".created").textContent = formatTime(job.created_at);
  q(".id").textContent = job.video_id;
  q(".status").textContent = job.status;

  const bar = q(".bar");
  const text = q(".progress-text");
  bar.hidden = job.status !== "processing";
  if (job.status === "processing" && job.progress > 0) {
    bar.value = job.progress;
    text.textContent = `${job.progress}%`;
  } else if (job.status === "processing") {
    bar.removeAttribute("value"); // indeterminate: PiAPI has not reported a percentage
    text.textContent = job.task_id ? "at PiAPI" : "queued";
  } else {
    text.textContent = "";
  }
  const note = noteFor(job);
  q(".note").textContent = note;
  q(".note").hidden = note === "";

  const thumb = safeUrl(job.thumbnail_url);
  const img = q(".thumb");
  if (thumb && img.getAttribute("src") !== thumb) img.src = thumb;
  if (!thumb) img.removeAttribute("src");

  const video = q(".player");
  const src = job.status === "completed" ? safeUrl(job.video_url) : null;
  if (src) {
    const current = video.getAttribute("src");
    // The URL changes once, when our stored copy replaces PiAPI's; never under a viewer.
    if (current !== src && (!current || (video.paused && video.currentTime === 0))) {
      video.src = src;
    }
    if (thumb) video.poster = thumb;
  }
  video.hidden = !src;
  img.hidden = !thumb || !video.hidden;
  q(".placeholder").hidden = !(video.hidden && img.hidden);
}

function setLibraryState(kind, message) {
  const line = $("library-state");
  line.dataset.state = kind;
  line.textContent = message;
}

function renderSummary() {
  const pages = Math.max(state.page, Math.ceil(state.total / PER_PAGE));
  const about = state.estimate ? "about " : "";
  $("newer").disabled = state.page <= 1;
  $("older").disabled = !state.next;
  $("page-info").textContent = state.total ? `Page ${state.page} of ${about}${pages}` : "";
  if (state.total === 0) {
    setLibraryState("empty", "No videos yet. Describe one above and press Generate.");
  } else {
    const noun = state.total === 1 ? "video" : "videos";
    setLibraryState("ready", `${about}${state.total} ${noun}, newest first.`);
  }
}

function processingIds() {
  return [...state.rows].filter(([, el]) => el.dataset.status === "processing").map(([id]) => id);
}

// --- polling: the library now and then, each processing job more often ---------------

function firstPage() {
  state.page = 1;
  state.cursors = [null];
}

async function refreshLibrary() {
  const epoch = state.epoch;
  // Pages after the first are read by cursor: newer jobs arriving do not shift them.
  const cursor = state.cursors[state.page - 1];
  const query = cursor ? `&cursor=${encodeURIComponent(cursor)}` : "";
  let body;
  try {
    body = await api(`/api/video/library?per_page=${PER_PAGE}${query}`);
  } catch (err) {
    if (!(cursor && err instanceof ApiError && err.status === 422)) throw err;
    body = null; // a cursor the API no longer takes: start again from the newest
  }
  if (epoch !== state.epoch) return; // a local change happened meanwhile; next turn
  if (!body || (state.page > 1 && body.videos.length === 0)) {
    firstPage(); // everything on this page was deleted elsewhere
    await refreshLibrary();
    return;
  }
  state.lastLibrary = Date.now();
  state.total = body.total;
  state.estimate = Boolean(body.total_is_estimate);
  state.next = body.next_cursor || null;
  const wanted = new Set(body.videos.map((job) => job.video_id));
  for (const [id, el] of state.rows) {
    if (!wanted.has(id)) {
      el.remove();
      state.rows.delete(id);
    }
  }
  const list = $("videos");
  body.videos.forEach((job, i) => {
    const el = rowFor(job);
    update(el, job);
    // Move a row only when it is out of place: moving a <video> would stop it.
    if (list.children[i] !== el) list.insertBefore(el, list.children[i] || null);
  });
  renderSummary();
}

async function refreshProcessing() {
  await Promise.all(
    processingIds().map(async (id) => {
      try {
        const job = await api(`/api/video/status/${encodeURIComponent(id)}`);
        const el = state.rows.get(id);
        if (el) update(el, job);
      } catch (err) {
        if (!(err instanceof ApiError && err.status === 404)) throw err;
        state.lastLibrary = 0; // deleted elsewhere: the library will drop it
      }
    }),
  );
}

function schedule(ms) {
  clearTimeout(state.timer);
  state.timer = session.key ? setTimeout(tick, ms) : null;
}

function refreshSoon() {
  state.lastLibrary = 0;
  schedule(0);
}

async function tick() {
  if (!session.key) return;
  if (state.running) {
    state.again = true; // one turn at a time, so answers are applied in order
    return;
  }
  state.running = true;
  try {
    if (Date.now() - state.lastLibrary >= LIBRARY_EVERY_MS) await refreshLibrary();
    else await refreshProcessing();
  } catch (err) {
    if (!handleError(err)) return;
  } finally {
    state.running = false;
  }
  const busy = processingIds().length > 0;
  if (state.again) {
    state.again = false;
    schedule(0);
  } else if (document.hidden) {
    schedule(HIDDEN_EVERY_MS);
  } else {
    schedule(busy ? STATUS_EVERY_MS : LIBRARY_EVERY_MS);
  }
}

// Answers whether polling should go on.
function handleError(err) {
  if (err instanceof UnauthorizedError) {
    forgetKey();
    showKeyPanel("That API key was refused (401). Enter a valid key.");
    return false;
  }
  if (err instanceof ApiError) {
    setLibraryState("problem", `${err.message} Trying again\u2026`);
  } else {
    setLibraryState("problem", "Cannot reach the API. Trying again\u2026");
  }
  return true;
}

// --- panels and forms -------------------------------------------------------------

function showKeyPanel(message) {
  schedule(0); // cancels: there is no key
  state.rows.clear();
  $("videos").replaceChildren();
  $("key-panel").hidden = false;
  $("new-panel").hidden = true;
  $("library-panel").hidden = true;
  $("forget-key").hidden = true;
  $("key-error").textContent = message || "";
  $("key-error").hidden = !message;
  $("key-input").focus();
}

function showLibrary() {
  $("key-panel").hidden = true;
  $("new-panel").hidden = false;
  $("library-panel").hidden = false;
  $("forget-key").hidden = false;
}

async function onKeySubmit(event) {
  event.preventDefault();
  const key = $("key-input").value.trim();
  if (!key) return;
  session.key = key;
  firstPage();
  showLibrary();
  setLibraryState("loading", "Loading\u2026");
  try {
    await refreshLibrary();
  } catch (err) {
    if (!handleError(err)) return;
  }
  saveKey(key, $("key-remember").checked);
  $("key-input").value = "";
  schedule(STATUS_EVERY_MS);
  openCompose();
}

// A job made with the form: on the first page it shows at once, at the top.
function onCreated(job) {
  state.epoch += 1;
  if (state.page === 1) {
    const el = rowFor(job);
    update(el, job);
    const list = $("videos");
    if (!el.isConnected) list.insertBefore(el, list.firstChild);
    state.total += 1;
    renderSummary();
    schedule(STATUS_EVERY_MS);
  } else {
    firstPage();
    refreshSoon();
  }
}

function turnPage(delta) {
  if (delta > 0) {
    if (!state.next) return;
    state.cursors[state.page] = state.next;
    state.page += 1;
  } else {
    state.page = Math.max(1, state.page - 1);
  }
  state.epoch += 1;
  refreshSoon();
}

document.addEventListener("DOMContentLoaded", () => {
  $("key-form").addEventListener("submit", onKeySubmit);
  initCompose({ onCreated, onUnauthorized: handleError });
  $("newer").addEventListener("click", () => turnPage(-1));
  $("older").addEventListener("click", () => turnPage(1));
  $("forget-key").addEventListener("click", () => {
    forgetKey();
    showKeyPanel(null);
  });
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden && session.key) refreshSoon();
  });
  session.key = readKey();
  if (!session.key) {
    showKeyPanel(null);
    return;
  }
  showLibrary();
  setLibraryState("loading", "Loading\u2026");
  refreshSoon();
  openCompose();
});
