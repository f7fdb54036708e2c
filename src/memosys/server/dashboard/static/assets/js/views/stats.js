// Stats: the server's counters, and the memories in this user's own cubes by kind.
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

/** [kind, count] of the memories in `cubeIds` (the user's own cubes, not those shared with it). */
function byKind(user, cubeIds) {
  if (cubeIds.length === 0) return Promise.resolve(KINDS.map((kind) => [kind, 0]));
  const count = (kind) => api("/v1/memories/count", {
    query: { user_id: user, filters: { kind, cube_id: { $in: cubeIds } } },
  }).then((r) => [kind, r.count]);
  return Promise.all(KINDS.map(count));
}

export function StatsView({ me, user, cubes, cubesLoading }) {
  const viewer = user || me.user_id;
  const own = cubes.filter((c) => c.owner === viewer).map((c) => c.id);
  const stats = useLoad(() => api("/v1/stats"), []);
  // until the cubes are known, keep counting (a promise that never settles) rather than show zeros
  const kinds = useLoad(() => (cubesLoading ? new Promise(() => {}) : byKind(user, own)), [user, cubesLoading, own.join()]);
  const total = (kinds.data || []).reduce((sum, [, n]) => sum + n, 0);
  return html`<div class="view">
    <${Panel} title="System">
      ${stats.loading ? html`<${Loading} what="Loading stats" />` : stats.error ? html`<${ErrorNote} error=${stats.error} />` :
        html`<div class="stat-grid">${Object.entries(stats.data).map(([name, value]) => html`
          <div class="stat"><span class="value">${humanize(name, value)}</span><span class="label">${label(name)}</span></div>`)}</div>`}
    <//>
    <${Panel} title=${user ? `Memories in ${user}’s own cubes, by kind` : "Memories in your own cubes, by kind"}>
      <p class="muted hint">Cubes shared with ${user ? user : "you"} are not counted.</p>
      ${kinds.loading ? html`<${Loading} what="Counting" />` : kinds.error ? html`<${ErrorNote} error=${kinds.error} />` :
        html`<ul class="bars" aria-label="Memories by kind">${kinds.data.map(([kind, n]) => html`<li>
          <a href=${href("memories", null, { kind, user })}>${kind}</a>
          <span class="bar"><span class=${`fill kind-${kind}`} style=${{ width: `${total ? (100 * n) / total : 0}%` }}></span></span>
          <span class="count">${number.format(n)}</span></li>`)}</ul>`}
    <//>
  </div>`;
}
