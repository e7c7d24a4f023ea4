// The JSON API as the page calls it: always with the user's key in the Authorization
// header (never in a URL), errors as values the forms can show next to their fields.
"use strict";

const KEY_NAME = "videogen.apiKey";

export const session = { key: null };

export class UnauthorizedError extends Error {}

export class ApiError extends Error {
  constructor(status, body) {
    const error = (body && body.error) || {};
    super(error.message || fallbackMessage(status));
    this.status = status;
    this.code = error.code || null;
    this.fields = error.fields || null;
  }
}

function fallbackMessage(status) {
  // A proxy's page rather than our error body: still say what kind of refusal it was.
  if (status === 413) return "The file is too large for the server.";
  if (status === 415) return "The server does not take this kind of file.";
  return `The API answered ${status}.`;
}

// --- the key: sent only as a header, kept only in this browser's storage --------------

export function readKey() {
  return sessionStorage.getItem(KEY_NAME) || localStorage.getItem(KEY_NAME);
}

export function saveKey(key, remember) {
  (remember ? localStorage : sessionStorage).setItem(KEY_NAME, key);
  (remember ? sessionStorage : localStorage).removeItem(KEY_NAME);
}

export function forgetKey() {
  sessionStorage.removeItem(KEY_NAME);
  localStorage.removeItem(KEY_NAME);
  session.key = null;
}

async function send(path, { method = "GET", body, json } = {}) {
  const headers = { Accept: "application/json", Authorization: `Bearer ${session.key}` };
  if (json !== undefined) headers["Content-Type"] = "application/json";
  const resp = await fetch(path, {
    method,
    headers,
    body: json !== undefined ? JSON.stringify(json) : body,
    cache: "no-store",
    credentials: "omit",
  });
  let payload = null;
  try {
    payload = await resp.json();
  } catch {
    payload = null;
  }
  if (resp.status === 401) throw new UnauthorizedError("The API key was refused.");
  if (!resp.ok) throw new ApiError(resp.status, payload);
  return payload;
}

export function api(path, { method = "GET", body } = {}) {
  return send(path, { method, json: body });
}

// POST /api/uploads with the file as multipart `file`; the browser sets the boundary.
export function uploadFile(file) {
  const form = new FormData();
  form.append("file", file, file.name);
  return send("/api/uploads", { method: "POST", body: form });
}

// An API error's fields as [path, message] pairs: {"options": {"loop": ["..."]}} gives
// ["options.loop", "..."].
export function fieldProblems(fields) {
  const found = [];
  const walk = (value, path) => {
    if (Array.isArray(value)) found.push([path, value.join(" ")]);
    else if (value && typeof value === "object") {
      for (const [name, inner] of Object.entries(value)) {
        walk(inner, path ? `${path}.${name}` : name);
      }
    } else if (value !== undefined && value !== null) found.push([path, String(value)]);
  };
  walk(fields, "");
  return found;
}

// --- formatting shared by the library and the form -----------------------------------

// $0.75; more decimals only where the amount has them ($0.0125).
export function formatUsd(value) {
  if (typeof value !== "number") return "\u2013";
  if (Math.abs(Math.round(value * 100) - value * 100) < 1e-6) return `$${value.toFixed(2)}`;
  return `$${value.toFixed(4).replace(/0+$/, "")}`;
}

// "$0.75", "$0.28 est." for an estimate, "not published" where PiAPI states no price.
export function costText(cost, estimated) {
  if (cost === null) return "not published";
  if (typeof cost !== "number") return "\u2013";
  return estimated ? `${formatUsd(cost)} est.` : formatUsd(cost);
}

export function formatBytes(size) {
  if (size < 1024) return `${size} bytes`;
  if (size < 1024 * 1024) return `${(size / 1024).toFixed(0)} KB`;
  return `${(size / (1024 * 1024)).toFixed(1)} MB`;
}

export function safeUrl(value) {
  if (typeof value !== "string" || value === "") return null;
  try {
    const url = new URL(value, window.location.href);
    return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
  } catch {
    return null;
  }
}
