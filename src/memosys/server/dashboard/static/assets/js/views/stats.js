// Stats: the server's counters, and this user's memories by kind.
import { api } from "../api.js";
import { ErrorNote, Loading, Panel } from "../components.js";
import { useLoad } from "../data.js";
import { html } from "../html.js";
import { href } from "../router.js";
import { KINDS } from "./memories.js";

const number = new Intl.NumberFormat();

function humanize(name, value) {
  if (typeof value !== "number") return typeof value === "object" ? JSON.stringify(value) : String(value);
  if (/bytes$/.test(name)) {
    const units = ["B", "KB", "MB", "GB", "TB"];
    let size = value;
    let unit = 0;
    while (size >= 1024 && unit < units.length - 1) {
      size /= 1024;
      unit += 1;
    }
    return `${size.toFixed(unit ? 1 : 0)} ${units[unit]}`;
  }
  return number.format(value);
}

const LABELS = { db_bytes: "database size" };
const label = (name) => LABELS[name] || name.replace(/_/g, " ");

function byKind() {
  const count = (kind) => api("/v1/memories/count", { query: { filters: { kind } } }).then((r) => [kind, r.count]);
  return Promise.all(KINDS.map(count));
}

export function StatsView() {
  const stats = useLoad(() => api("/v1/stats"), []);
  const kinds = useLoad(byKind, []);
  const total = (kinds.data || []).reduce((sum, [, n]) => sum + n, 0);
  return html`<div class="view">
    <${Panel} title="System">
      ${stats.loading ? html`<${Loading} what="Loading stats" />` : stats.error ? html`<${ErrorNote} error=${stats.error} />` :
        html`<div class="stat-grid">${Object.entries(stats.data).map(([name, value]) => html`
          <div class="stat"><span class="value">${humanize(name, value)}</span><span class="label">${label(name)}</span></div>`)}</div>`}
    <//>
    <${Panel} title="Your memories by kind">
      ${kinds.loading ? html`<${Loading} what="Counting" />` : kinds.error ? html`<${ErrorNote} error=${kinds.error} />` :
        html`<ul class="bars" aria-label="Memories by kind">${kinds.data.map(([kind, n]) => html`<li>
          <a href=${href("memories", null, { kind })}>${kind}</a>
          <span class="bar"><span class=${`fill kind-${kind}`} style=${{ width: `${total ? (100 * n) / total : 0}%` }}></span></span>
          <span class="count">${number.format(n)}</span></li>`)}</ul>`}
    <//>
  </div>`;
}
