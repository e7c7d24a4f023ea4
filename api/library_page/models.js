// The catalogue (GET /api/providers) as the form shows it: a model picker grouped by
// family, and each model's options as form controls built from its option schema.
"use strict";

import { api, formatUsd } from "./api.js";

export const AUTOMATIC = "";
export const MODES = { text_to_video: "Text to video", image_to_video: "Image to video" };
// The families in the order people meet them; any other family follows, as listed.
const FAMILY_ORDER = ["Hunyuan", "WanX", "Luma", "Kling", "Hailuo", "Veo", "Sora", "Skyreels"];
// The option that names a last frame: the form offers a file (uploaded) or a URL for it.
export const END_IMAGE_OPTION = "end_image_url";

let catalogue = null; // the providers list, once loaded for the current key

export async function loadCatalogue() {
  if (!catalogue) catalogue = (await api("/api/providers")).providers || [];
  return catalogue;
}

export function forgetCatalogue() {
  catalogue = null;
}

export function providerById(id) {
  return (catalogue || []).find((p) => p.provider === id) || null;
}

// The family as the API names it, else guessed from the id or PiAPI's model name.
export function familyOf(provider) {
  if (provider.family) return provider.family;
  const words = [provider.provider || "", provider.piapi_model || ""].join(" ").toLowerCase();
  return FAMILY_ORDER.find((family) => words.includes(family.toLowerCase())) || "Other";
}

function byFamily(providers) {
  const groups = new Map();
  for (const provider of providers) {
    const family = familyOf(provider);
    if (!groups.has(family)) groups.set(family, []);
    groups.get(family).push(provider);
  }
  const rank = (name) => {
    const i = FAMILY_ORDER.indexOf(name);
    return i < 0 ? FAMILY_ORDER.length : i;
  };
  return [...groups].sort(([a], [b]) => rank(a) - rank(b)); // a stable sort keeps the rest
}

// "$0.10/s +$0.05 enable_audio", "$0.20/5 s est.", "price not published".
export function priceText(price) {
  if (!price || price.base_usd === null || price.base_usd === undefined) {
    return "price not published";
  }
  let unit = "/clip";
  if (price.unit === "seconds") unit = price.per_s === 1 ? "/s" : `/${price.per_s} s`;
  const parts = [formatUsd(price.base_usd) + unit];
  for (const extra of price.surcharges || []) {
    const what = extra.value === true ? extra.option : `${extra.option}=${extra.value}`;
    parts.push(`+${formatUsd(extra.usd)} ${what}`);
  }
  if (price.estimate) parts.push("est.");
  return parts.join(" ");
}

// Fill the model <select>: Automatic first, then only the models that can do mode, by
// family; a model the tier may not use is marked. Answers the value now selected.
export function fillModelPicker(select, mode, chosen) {
  const keep = (catalogue || []).some((p) => p.provider === chosen && p.modes[mode]);
  const automatic = document.createElement("option");
  automatic.value = AUTOMATIC;
  automatic.textContent = "Automatic (by duration)";
  const items = [automatic];
  for (const [family, providers] of byFamily((catalogue || []).filter((p) => p.modes[mode]))) {
    const group = document.createElement("optgroup");
    group.label = family;
    for (const provider of providers) {
      const item = document.createElement("option");
      item.value = provider.provider;
      item.dataset.allowed = String(provider.allowed !== false);
      const cap = provider.allowed === false ? " \u00b7 over your tier's cap" : "";
      item.textContent = `${provider.label || provider.provider} \u2014 ${priceText(
        provider.modes[mode].price,
      )}${cap}`;
      group.append(item);
    }
    items.push(group);
  }
  select.replaceChildren(...items);
  select.value = keep ? chosen : AUTOMATIC;
  return select.value;
}

function humanName(name) {
  return name.replace(/_/g, " ");
}

function rangeText(option) {
  const parts = [];
  if (option.minimum !== null && option.maximum !== null) {
    parts.push(`${option.minimum} to ${option.maximum}`);
  }
  if (option.required) parts.push("required");
  else if (option.default !== null && option.default !== "" && option.type !== "bool") {
    parts.push(`default ${option.default}`);
  }
  return parts.length ? ` (${parts.join(", ")})` : "";
}

function controlFor(option) {
  if (option.type === "bool") {
    const box = document.createElement("input");
    box.type = "checkbox";
    box.checked = option.default === true;
    return box;
  }
  if (option.type === "enum") {
    const select = document.createElement("select");
    if (option.required || option.default === null) {
      const none = document.createElement("option");
      none.value = "";
      none.textContent = option.required ? "Choose\u2026" : "\u2013";
      select.append(none);
    }
    for (const choice of option.choices || []) {
      const item = document.createElement("option");
      item.value = choice;
      item.textContent = choice;
      select.append(item);
    }
    select.value = option.default === null ? "" : String(option.default);
    select.required = Boolean(option.required);
    return select;
  }
  const input = document.createElement("input");
  if (option.type === "int" || option.type === "number") {
    input.type = "number";
    if (option.minimum !== null) input.min = String(option.minimum);
    if (option.maximum !== null) input.max = String(option.maximum);
    input.step = option.type === "int" ? "1" : "any";
  } else {
    input.type = option.type === "url" ? "url" : "text";
    if (option.max_length) input.maxLength = option.max_length;
  }
  setValue(option, input, option.default);
  input.required = Boolean(option.required);
  return input;
}

function setValue(option, control, value) {
  if (option.type === "bool") control.checked = value === true;
  else control.value = value === null || value === undefined ? "" : String(value);
}

// The value a control holds, in the option's JSON type; undefined when left empty.
function valueOf(option, control) {
  if (option.type === "bool") return control.checked;
  const raw = control.value;
  if (raw === "") return undefined;
  if (option.type === "int" || option.type === "number") {
    const number = Number(raw);
    return Number.isFinite(number) ? number : raw; // the API names a bad number
  }
  return raw;
}

// One control per option the model takes in mode (a last frame gets makeImagePicker's
// picker instead). Answers {values(), errorFor(name), pickers}: values() holds only what
// differs from the defaults, so the API fills in the rest.
// keep: values to start from instead of the defaults (the same model in another mode).
export function buildOptionControls(container, provider, mode, makeImagePicker, keep = {}) {
  const controls = new Map();
  const pickers = new Map();
  const rows = [];
  for (const option of (provider && provider.options) || []) {
    if (option.modes && !option.modes.includes(mode)) continue;
    const row = document.createElement("div");
    row.className = "option";
    row.dataset.option = option.name;
    const label = document.createElement("label");
    const name = document.createElement("span");
    name.className = "name";
    name.textContent =
      option.name === END_IMAGE_OPTION
        ? "last frame (optional)"
        : humanName(option.name) + rangeText(option);
    const hint = document.createElement("p");
    hint.className = "hint";
    hint.textContent = option.description || "";
    if (option.name === END_IMAGE_OPTION && makeImagePicker) {
      const mount = document.createElement("div");
      label.append(name);
      row.append(label, hint, mount); // the picker shows its own errors
      pickers.set(option.name, makeImagePicker(mount));
    } else {
      const error = document.createElement("p");
      error.className = "field-error";
      error.setAttribute("role", "alert");
      error.hidden = true;
      const control = controlFor(option);
      control.name = option.name;
      if (option.name in keep) setValue(option, control, keep[option.name]);
      if (option.type === "bool") {
        label.classList.add("inline");
        label.append(control, name);
      } else {
        label.append(name, control);
      }
      row.append(label, hint, error);
      controls.set(option.name, { option, control, error });
    }
    rows.push(row);
  }
  container.replaceChildren(...rows);
  return {
    count: rows.length,
    pickers,
    values() {
      const values = {};
      for (const [name, { option, control }] of controls) {
        const value = valueOf(option, control);
        if (value !== undefined && value !== option.default) values[name] = value;
      }
      return values;
    },
    errorFor(name) {
      return controls.has(name) ? controls.get(name).error : null;
    },
    controls,
  };
}
