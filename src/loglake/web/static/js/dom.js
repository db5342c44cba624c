// Tiny DOM helpers: h() builds elements, so views read as a tree instead of string concatenation.

export function h(tag, attrs = {}, ...children) {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    setAttribute(element, key, value);
  }
  append(element, children);
  return element;
}

function setAttribute(element, key, value) {
  if (value === null || value === undefined || value === false) return;
  if (key.startsWith("on") && typeof value === "function") {
    element.addEventListener(key.slice(2).toLowerCase(), value);
  } else if (key === "class") {
    element.className = value;
  } else if (key === "style" && typeof value === "object") {
    for (const [name, v] of Object.entries(value)) element.style.setProperty(name, v);
  } else if (key === "value" || key === "checked" || key === "selected") {
    element[key] = value;
  } else {
    element.setAttribute(key, value === true ? "" : String(value));
  }
}

export function append(element, children) {
  for (const child of [children].flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : String(child));
  }
  return element;
}

export function replace(element, ...children) {
  element.replaceChildren();
  return append(element, children);
}

export function errorBox(error) {
  const message = error instanceof Error ? error.message : String(error);
  return h("div", { class: "error", role: "alert" }, message);
}

export function card(title, body, { span = 6, note = null, label = null } = {}) {
  return h(
    "section",
    { class: `card span-${span}`, "aria-label": label || title },
    h("h2", {}, title, note ? h("span", { class: "muted" }, note) : null),
    body,
  );
}

export function select(id, options, value, onChange) {
  const element = h("select", { id, onchange: (event) => onChange(event.target.value) });
  for (const option of options) {
    const [optionValue, text] = Array.isArray(option) ? option : [option, option];
    element.append(h("option", { value: optionValue, selected: optionValue === value }, text));
  }
  return element;
}

export function field(labelText, control) {
  return h("label", { class: "field" }, h("span", {}, labelText), control);
}

// Text with `backticks` shown as code, as rule descriptions are written.
export function richText(text) {
  return String(text || "")
    .split("`")
    .map((part, index) => (index % 2 ? h("code", {}, part) : part));
}

// The asset a row or alert is about, with its classification: "prod-int-payments-data restricted · internal".
export function assetLabel(name, sensitivity, reachability) {
  if (!name) return "";
  const classification = [sensitivity, reachability].filter(Boolean).join(" · ");
  return h(
    "span",
    { class: "asset" },
    name,
    classification ? h("span", { class: `classification sensitivity-${sensitivity || "none"}` }, classification) : "",
  );
}
