// pier dashboard: confirmations, and uploads with progress (large files in parts).
// Plain script, no inline handlers (the CSP forbids them). Same-origin requests only; the
// session cookie authenticates them and the CSRF token rides in a header.
"use strict";

const PART_SIZE = 8 * 1024 * 1024;
const SINGLE_MAX = 16 * 1024 * 1024;

function csrf() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.content : "";
}

function send(method, url, body, onProgress, contentType) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open(method, url);
    xhr.setRequestHeader("x-csrf-token", csrf());
    if (contentType) xhr.setRequestHeader("content-type", contentType);
    if (onProgress) xhr.upload.onprogress = (e) => onProgress(e.loaded);
    xhr.onload = () => (xhr.status < 300 ? resolve(JSON.parse(xhr.responseText || "{}"))
                                         : reject(new Error(xhr.status + ": " + xhr.responseText)));
    xhr.onerror = () => reject(new Error("the connection failed"));
    xhr.send(body);
  });
}

async function uploadOne(bucket, key, file, show) {
  const base = "/api/b/" + encodeURIComponent(bucket);
  const q = "?key=" + encodeURIComponent(key);
  if (file.size <= SINGLE_MAX) {
    await send("PUT", base + "/object" + q, file, (n) => show(n), file.type);
    return;
  }
  const { uploadId } = await send("POST", base + "/uploads" + q, null, null, file.type);
  const parts = [];
  let done = 0;
  for (let start = 0, n = 1; start < file.size; start += PART_SIZE, n++) {
    const slice = file.slice(start, Math.min(start + PART_SIZE, file.size));
    const { etag } = await send("PUT", base + "/uploads/" + uploadId + "/" + n, slice,
                                (loaded) => show(done + loaded));
    done += slice.size;
    parts.push([n, etag]);
  }
  await send("POST", base + "/uploads/" + uploadId + "/complete", JSON.stringify({ parts }),
             null, "application/json");
}

async function uploadAll(section, files) {
  const bucket = section.dataset.bucket, prefix = section.dataset.prefix || "";
  const list = document.getElementById("progress");
  const jobs = Array.from(files).map((file, i) => {
    const li = document.createElement("li");
    const bar = document.createElement("progress");
    bar.max = Math.max(file.size, 1);
    bar.value = 0;
    bar.id = "progress-" + i;
    li.textContent = file.name + " ";
    li.appendChild(bar);
    list.appendChild(li);
    const show = (n) => { bar.value = n; li.dataset.loaded = String(n); };
    return uploadOne(bucket, prefix + file.name, file, show).then(
      () => { bar.value = bar.max; li.dataset.state = "done"; },
      (e) => { li.dataset.state = "error"; li.append(" failed: " + e.message); });
  });
  await Promise.all(jobs);
  if (!list.querySelector('[data-state="error"]')) {
    list.dataset.state = "done";
    setTimeout(() => location.reload(), 1500);
  }
}

document.addEventListener("DOMContentLoaded", () => {
  for (const form of document.querySelectorAll("form.confirm")) {
    form.addEventListener("submit", (e) => {
      if (!window.confirm(form.dataset.confirm || "Are you sure?")) e.preventDefault();
    });
  }
  const section = document.getElementById("upload");
  if (!section) return;
  const input = document.getElementById("files");
  input.addEventListener("change", () => uploadAll(section, input.files));
  const drop = document.getElementById("drop");
  drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    drop.classList.remove("over");
    uploadAll(section, e.dataTransfer.files);
  });
});
