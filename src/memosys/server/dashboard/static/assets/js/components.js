// Small presentational pieces shared by the views.
import { ApiError } from "./api.js";
import { html } from "./html.js";

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });

/** A timestamp in the reader's locale; the exact ISO value on hover. */
export function Time({ value }) {
  if (!value) return html`<span class="muted">—</span>`;
  const date = new Date(value);
  return html`<time datetime=${value} title=${value}>${dateTime.format(date)}</time>`;
}

export function Chips({ values, kind = "" }) {
  if (!values || values.length === 0) return html`<span class="muted">—</span>`;
  return html`<span class="chips">${values.map((v) => html`<span class=${`chip ${kind}`} title=${v}>${v}</span>`)}</span>`;
}

export function Badge({ children, tone = "" }) {
  return html`<span class=${`badge ${tone}`}>${children}</span>`;
}

/** An id shortened for display, complete in the tooltip. */
export function ShortId({ id }) {
  if (!id) return html`<span class="muted">—</span>`;
  return html`<code class="id" title=${id}>${id.length > 13 ? `${id.slice(0, 8)}…${id.slice(-4)}` : id}</code>`;
}

export function Loading({ what = "Loading" }) {
  return html`<p class="loading" role="status"><span class="spinner" aria-hidden="true"></span>${what}…</p>`;
}

export function Empty({ children }) {
  return html`<div class="empty">${children}</div>`;
}

/** A failure, in one message: a server's memosys error name and its message (which says how to fix it). */
export function ErrorNote({ error }) {
  if (!error) return null;
  const name = error instanceof ApiError ? html`<strong>${error.name}</strong> ` : "";
  return html`<div class="error-note" role="alert">${name}${error.message}</div>`;
}

export function Json({ value }) {
  return html`<pre class="json">${JSON.stringify(value, null, 2)}</pre>`;
}

/** A definition list from [label, value] pairs; values may be markup. */
export function Facts({ rows }) {
  return html`<dl class="facts">
    ${rows.map(([label, value]) => html`<dt>${label}</dt><dd>${value ?? html`<span class="muted">—</span>`}</dd>`)}
  </dl>`;
}

export function Field({ label, children, wide = false }) {
  return html`<label class=${wide ? "field wide" : "field"}><span>${label}</span>${children}</label>`;
}

export function Panel({ title, actions, children }) {
  return html`<section class="panel" aria-label=${title}>
    <header><h2>${title}</h2>${actions}</header>
    ${children}
  </section>`;
}
