// What common/api.js does not cover: raw-body uploads (product images) and authenticated
// file downloads (settlement CSVs), with problem+json errors as ApiError all the same.
import { ApiError, token } from "../common/api.js";

async function send(method, path, body, contentType) {
  const headers = { Accept: "application/json, text/csv, */*" };
  if (token()) headers.Authorization = `Bearer ${token()}`;
  if (contentType) headers["Content-Type"] = contentType;
  let r;
  try {
    r = await fetch(path, { method, headers, body });
  } catch {
    throw new ApiError(0, { code: "network" });
  }
  if (!r.ok) {
    let problem = null;
    try { problem = await r.json(); } catch { /* not JSON */ }
    throw new ApiError(r.status, problem);
  }
  return r;
}

// POSTs a File/Blob as the raw body with its own Content-Type; answers the JSON.
export async function uploadRaw(path, file) {
  const r = await send("POST", path, file, file.type || "application/octet-stream");
  return r.json();
}

// GETs a file with the session token and hands it to the browser as a download.
export async function downloadFile(path, filename) {
  const r = await send("GET", path);
  saveBlob(await r.blob(), filename);
}

export function saveBlob(blob, filename) {
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = filename;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
