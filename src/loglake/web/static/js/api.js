// The JSON API of `loglake serve`. Every call carries the page's time range (since/until); errors come back as
// {"error": "..."} and are thrown as ApiError with that message.
import { rangeParams } from "./state.js";

export class ApiError extends Error {}

function url(path, params = {}) {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries({ ...rangeParams(), ...params })) {
    if (value !== null && value !== undefined && value !== "") query.set(key, value);
  }
  const text = query.toString();
  return `api/${path}${text ? `?${text}` : ""}`;
}

async function send(path, { params = {}, body = undefined } = {}) {
  const options = { credentials: "same-origin", headers: { Accept: "application/json" } };
  if (body !== undefined) {
    options.method = "POST";
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  const response = await fetch(url(path, params), options);
  if (!response.ok) throw new ApiError(await errorMessage(response));
  return response;
}

async function errorMessage(response) {
  try {
    const data = await response.json();
    if (data && data.error) return data.error;
    if (data && data.detail) return typeof data.detail === "string" ? data.detail : JSON.stringify(data.detail);
  } catch {
    // not JSON: fall through to the status line
  }
  return `${response.status} ${response.statusText || "error"}`;
}

export async function get(path, params = {}) {
  return (await send(path, { params })).json();
}

export async function post(path, body, params = {}) {
  return (await send(path, { params, body })).json();
}

// POST that returns a file: saved through a temporary link, named as the server says.
export async function download(path, body, fallbackName) {
  const response = await send(path, { body });
  const disposition = response.headers.get("Content-Disposition") || "";
  const match = disposition.match(/filename="?([^";]+)"?/);
  const blob = await response.blob();
  const link = document.createElement("a");
  link.href = URL.createObjectURL(blob);
  link.download = match ? match[1] : fallbackName;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 10000);
}
