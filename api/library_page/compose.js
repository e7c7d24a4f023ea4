// The "New video" form: mode, model (or Automatic), script, image, length, ratio and the
// model's options; the price from POST /api/video/quote as the form changes; generate.
"use strict";

import { ApiError, UnauthorizedError, api, fieldProblems, formatUsd, session } from "./api.js";
import { ImagePicker } from "./images.js";
import {
  END_IMAGE_OPTION,
  buildOptionControls,
  fillModelPicker,
  forgetCatalogue,
  loadCatalogue,
  providerById,
} from "./models.js";

const QUOTE_DELAY_MS = 300; // after the last change, so typing is not a request a key
const IMAGE_TO_VIDEO = "image_to_video";
const ALL_RATIOS = ["16:9", "9:16", "1:1", "4:3", "3:4", "21:9", "9:21"];
// The price depends on neither the image nor the words, but a quote needs both: until they
// are given it is asked with these. No job is made, and nothing fetches the URL.
const QUOTE_IMAGE_STAND_IN = "https://example.com/quote-only.jpg";
const QUOTE_SCRIPT_STAND_IN = "A quote";

const $ = (id) => document.getElementById(id);
const form = {
  hooks: null, // {onCreated(job), onUnauthorized(err)}
  image: null, // the ImagePicker of the image to animate
  options: null, // the chosen model's option controls (buildOptionControls)
  optionsOf: null, // the provider those controls are for
  timer: null,
  seq: 0, // each quote's number: only the latest answer is shown
  quote: null, // the latest quote's answer
  busy: false,
};

export function initCompose(hooks) {
  form.hooks = hooks;
  form.image = newPicker($("new-image"));
  $("new-form").addEventListener("submit", onSubmit);
  $("new-mode").addEventListener("change", onModeChange);
  $("new-model").addEventListener("change", onModelChange);
  $("new-script").addEventListener("input", quoteSoon);
  $("new-duration").addEventListener("input", quoteSoon);
  for (const id of ["new-style", "new-clip", "new-ratio"]) {
    $(id).addEventListener("change", quoteSoon);
  }
  $("new-options").addEventListener("input", quoteSoon);
  $("new-options").addEventListener("change", quoteSoon);
}

// With a (new) key: the catalogue as this key's tier sees it, then a first quote.
export async function openCompose() {
  forgetCatalogue();
  try {
    await loadCatalogue();
  } catch (err) {
    if (err instanceof UnauthorizedError) {
      form.hooks.onUnauthorized(err);
      return;
    }
    $("new-model-about").textContent = "The models could not be loaded; Automatic still works.";
  }
  onModeChange();
}

function newPicker(mount) {
  return new ImagePicker(mount, { onChange: quoteSoon, onUnauthorized: form.hooks.onUnauthorized });
}

const mode = () => $("new-mode").value;
const chosenModel = () => providerById($("new-model").value);

function onModeChange() {
  fillModelPicker($("new-model"), mode(), $("new-model").value);
  $("new-image-box").hidden = mode() !== IMAGE_TO_VIDEO;
  onModelChange();
}

function fillSelect(select, values, label, keep) {
  select.replaceChildren(
    ...values.map((value) => {
      const item = document.createElement("option");
      item.value = String(value);
      item.textContent = label(value);
      return item;
    }),
  );
  select.value = values.map(String).includes(String(keep)) ? String(keep) : String(values[0]);
}

function onModelChange() {
  const model = chosenModel();
  // The length asked so far, from whichever control showed it.
  const seconds = Number($("new-clip-box").hidden ? $("new-duration").value : $("new-clip").value);
  $("new-duration-box").hidden = Boolean(model);
  $("new-clip-box").hidden = !model;
  if (model) {
    const lengths = model.clip_lengths_s;
    const covering = lengths.find((n) => n >= seconds) || lengths[lengths.length - 1];
    fillSelect($("new-clip"), lengths, (n) => `${n} s`, covering);
  } else if (seconds > 0) {
    $("new-duration").value = String(seconds);
  }
  const ratios = model ? model.aspect_ratios : ALL_RATIOS;
  fillSelect($("new-ratio"), ratios, (r) => r, $("new-ratio").value);

  // The same model in another mode keeps the options set so far.
  const same = model && form.options && form.optionsOf === model.provider;
  const keep = same ? form.options.values() : {};
  form.options = buildOptionControls($("new-options"), model, mode(), newPicker, keep);
  form.optionsOf = model ? model.provider : null;
  $("new-options-box").hidden = form.options.count === 0;
  $("new-model-about").textContent = model ? aboutText(model) : "Picked by the length you ask for.";
  const limits = model && model.image_limits;
  $("new-image-limits").textContent = limits && limits.note ? limits.note : "JPEG, PNG or WebP.";
  clearFieldErrors();
  quoteSoon();
}

function aboutText(model) {
  const spec = model.modes[mode()] || {};
  const parts = [];
  if (spec.price && spec.price.note) parts.push(spec.price.note);
  if (spec.notice) parts.push(spec.notice);
  if (model.allowed === false) parts.push("Your tier may not use this model (over its price cap).");
  return parts.join(" ");
}

// The generate body; for a quote, stand-ins where the image or the words are missing.
function requestBody({ forQuote }) {
  const model = chosenModel();
  const script = $("new-script").value;
  const body = {
    generation_mode: mode(),
    script: forQuote && !script.trim() ? QUOTE_SCRIPT_STAND_IN : script,
    style: $("new-style").value,
    duration: Number(model ? $("new-clip").value : $("new-duration").value),
    aspect_ratio: $("new-ratio").value,
  };
  if (model) body.provider = model.provider;
  const options = form.options ? form.options.values() : {};
  if (mode() === IMAGE_TO_VIDEO) {
    const image = form.image.value();
    if (image && image.upload_id) body.image_upload_id = image.upload_id;
    else if (image) body.image_url = image.url;
    else if (forQuote) body.image_url = QUOTE_IMAGE_STAND_IN;
    const end = form.options && form.options.pickers.get(END_IMAGE_OPTION);
    const last = end ? end.value() : null;
    if (last && last.upload_id) body.end_image_upload_id = last.upload_id;
    else if (last) options[END_IMAGE_OPTION] = last.url;
  }
  if (Object.keys(options).length > 0) body.options = options;
  return body;
}

// --- the price ------------------------------------------------------------------------

function quoteSoon() {
  clearTimeout(form.timer);
  $("new-quote").dataset.state = "pending";
  form.timer = setTimeout(runQuote, QUOTE_DELAY_MS);
}

async function runQuote() {
  if (!session.key) return;
  form.seq += 1;
  const seq = form.seq;
  let answer = null;
  let error = null;
  try {
    const body = requestBody({ forQuote: true });
    answer = await api("/api/video/quote", { method: "POST", body });
  } catch (err) {
    error = err;
  }
  if (seq !== form.seq) return; // the form changed meanwhile: a newer quote is coming
  clearFieldErrors();
  form.quote = answer;
  if (error instanceof UnauthorizedError) {
    form.hooks.onUnauthorized(error);
  } else if (error instanceof ApiError) {
    const rest = showFieldErrors(error);
    showQuote("invalid", "\u2013", "", rest.length ? rest.join(" ") : "");
  } else if (error) {
    showQuote("error", "\u2013", "", "Cannot reach the API for a price.");
  } else {
    let state = "published";
    let price = formatUsd(answer.cost);
    if (answer.cost === null) [state, price] = ["unknown", "price not published"];
    else if (answer.cost_estimated) [state, price] = ["estimate", `${price} estimate`];
    if (!answer.allowed) state = "refused";
    const model = providerById(answer.provider);
    const what = `${model ? model.label : answer.provider}, ${answer.duration} s`;
    showQuote(state, price, what, answer.allowed ? answer.notice || "" : answer.not_allowed_reason);
  }
  updateSubmit();
}

function showQuote(state, price, what, note) {
  const line = $("new-quote");
  line.dataset.state = state;
  line.querySelector(".quote-price").textContent = price;
  line.querySelector(".quote-what").textContent = what ? `(${what})` : "";
  line.querySelector(".quote-note").textContent = note || "";
}

function updateSubmit() {
  // A quote the tier may not run would be refused (403): say so before, not after.
  $("new-submit").disabled = form.busy || Boolean(form.quote && form.quote.allowed === false);
}

// --- errors next to their fields --------------------------------------------------------

function errorHome(path) {
  const pickers = form.options ? form.options.pickers : new Map();
  if (path === "image_url" || path === "image_upload_id") return form.image;
  if (path === "end_image_upload_id" || path === `options.${END_IMAGE_OPTION}`) {
    return pickers.get(END_IMAGE_OPTION) || null;
  }
  if (path.startsWith("options.")) {
    const line = form.options && form.options.errorFor(path.split(".")[1]);
    return line || document.querySelector('#new-form .field-error[data-for~="options"]');
  }
  const field = path.split(".")[0];
  return document.querySelector(`#new-form .field-error[data-for~="${field}"]`);
}

// Shows each failing field's problem next to it; answers those that have no place.
function showFieldErrors(err) {
  const rest = [];
  for (const [path, message] of fieldProblems(err.fields)) {
    const home = errorHome(path);
    if (home instanceof ImagePicker) {
      home.showError(message, "api");
    } else if (home) {
      const shared = (home.dataset.for || "").includes(" ");
      const text = shared ? `${path}: ${message}` : message;
      home.textContent = home.hidden ? text : `${home.textContent} ${text}`;
      home.hidden = false;
    } else {
      rest.push(`${path}: ${message}`);
    }
  }
  return rest;
}

function clearFieldErrors() {
  for (const line of document.querySelectorAll("#new-form .field-error")) {
    if (line.closest(".image-picker")) continue; // the pickers keep an upload's own error
    line.textContent = "";
    line.hidden = true;
  }
  form.image.clearError("api");
  for (const picker of form.options ? form.options.pickers.values() : []) picker.clearError("api");
}

function showFormError(message) {
  $("new-error").textContent = message || "";
  $("new-error").hidden = !message;
}

// --- generate -----------------------------------------------------------------------------

function allPickers() {
  return [form.image, ...(form.options ? form.options.pickers.values() : [])];
}

async function onSubmit(event) {
  event.preventDefault();
  // A quote still to come would clear this request's errors: it is not needed now.
  clearTimeout(form.timer);
  form.seq += 1;
  form.busy = true;
  updateSubmit();
  showFormError(null);
  try {
    if (mode() === IMAGE_TO_VIDEO) {
      for (const picker of allPickers()) await picker.settled(); // an upload still going
      if (!form.image.chosen) {
        form.image.showError("Choose an image file, or give its URL.", "api");
        return;
      }
    }
    clearFieldErrors();
    const job = await api("/api/video/generate", {
      method: "POST",
      body: requestBody({ forQuote: false }),
    });
    $("new-script").value = "";
    for (const picker of allPickers()) picker.reset();
    form.hooks.onCreated(job);
    quoteSoon();
  } catch (err) {
    if (err instanceof UnauthorizedError) form.hooks.onUnauthorized(err);
    else if (err instanceof ApiError) {
      showFormError([err.message, ...showFieldErrors(err)].join(" "));
    }
    else showFormError("Cannot reach the API.");
  } finally {
    form.busy = false;
    updateSubmit();
  }
}
