// An image for a job, from a file or a URL. A file is uploaded at once (POST /api/uploads)
// and previewed from the browser's own copy (an object URL: the CSP admits blob: images);
// the job then names the upload's id.
"use strict";

import { ApiError, UnauthorizedError, formatBytes, uploadFile } from "./api.js";

let pickers = 0; // gives each picker's radio buttons a name of their own

export class ImagePicker {
  // mount: where the picker goes. onChange: called when what it would send changes.
  // onUnauthorized: called with the error when the upload's key is refused.
  constructor(mount, { onChange = () => {}, onUnauthorized = () => {} } = {}) {
    const template = document.getElementById("image-picker-template");
    this.el = template.content.firstElementChild.cloneNode(true);
    this.onChange = onChange;
    this.onUnauthorized = onUnauthorized;
    this.upload = null; // the upload body once the file is stored
    this.pending = null; // the upload in flight (a promise)
    this.objectUrl = null;
    this.errorSource = null; // "upload" or "api": quotes clear only the API's
    this.q = (selector) => this.el.querySelector(selector);
    pickers += 1;
    for (const radio of this.el.querySelectorAll('input[type="radio"]')) {
      radio.name = `image-source-${pickers}`;
      radio.addEventListener("change", () => this.showSource());
    }
    this.q(".file").addEventListener("change", () => this.onFile());
    this.q(".url").addEventListener("input", () => {
      this.clearError("api");
      this.onChange();
    });
    mount.replaceChildren(this.el);
  }

  get source() {
    return this.el.querySelector('input[type="radio"]:checked').value;
  }

  showSource() {
    this.q(".from-file").hidden = this.source !== "file";
    this.q(".from-url").hidden = this.source !== "url";
    this.clearError();
    this.onChange();
  }

  // True once there is something to send: an uploaded file, or a URL.
  get chosen() {
    return this.source === "file" ? this.upload !== null : this.q(".url").value.trim() !== "";
  }

  // What a request carries for this image: {upload_id} or {url}, or null for nothing yet.
  value() {
    if (this.source === "file") return this.upload ? { upload_id: this.upload.upload_id } : null;
    const url = this.q(".url").value.trim();
    return url ? { url } : null;
  }

  // Waits for an upload in flight; answers whether the file is uploaded (or a URL given).
  async settled() {
    if (this.pending) {
      try {
        await this.pending;
      } catch {
        // onFile showed the error
      }
    }
    return this.chosen;
  }

  async onFile() {
    const file = this.q(".file").files[0] || null;
    this.upload = null;
    this.clearError();
    this.showPreview(file);
    this.onChange();
    if (!file) return;
    const caption = this.q("figcaption");
    caption.textContent = `${file.name} \u00b7 ${formatBytes(file.size)} \u00b7 uploading\u2026`;
    this.el.dataset.state = "uploading";
    const attempt = uploadFile(file);
    this.pending = attempt;
    try {
      const answer = await attempt;
      if (this.pending !== attempt) return; // another file was chosen meanwhile
      this.upload = answer;
      const shape = answer.width ? ` \u00b7 ${answer.width}\u00d7${answer.height}` : "";
      const size = formatBytes(answer.size);
      caption.textContent = `${file.name} \u00b7 ${size}${shape} \u00b7 uploaded`;
      this.el.dataset.state = "uploaded";
    } catch (err) {
      if (this.pending !== attempt) return;
      this.el.dataset.state = "failed";
      this.showPreview(null);
      if (err instanceof UnauthorizedError) this.onUnauthorized(err);
      else if (err instanceof ApiError) this.showError(err.message, "upload");
      else this.showError("The upload did not reach the API.", "upload");
    } finally {
      if (this.pending === attempt) this.pending = null;
      this.onChange();
    }
  }

  showPreview(file) {
    if (this.objectUrl) URL.revokeObjectURL(this.objectUrl);
    this.objectUrl = file ? URL.createObjectURL(file) : null;
    const img = this.q(".preview img");
    if (this.objectUrl) img.src = this.objectUrl;
    else img.removeAttribute("src");
    this.q(".preview").hidden = !this.objectUrl;
  }

  showError(message, source = "api") {
    const line = this.q(".field-error");
    line.textContent = message;
    line.hidden = false;
    this.errorSource = source;
  }

  // Clears the error shown (only if it came from `source`, when one is given).
  clearError(source) {
    if (source && this.errorSource !== source) return;
    const line = this.q(".field-error");
    line.textContent = "";
    line.hidden = true;
    this.errorSource = null;
  }

  reset() {
    this.pending = null;
    this.upload = null;
    this.q(".file").value = "";
    this.q(".url").value = "";
    this.showPreview(null);
    this.clearError();
    delete this.el.dataset.state;
  }
}
