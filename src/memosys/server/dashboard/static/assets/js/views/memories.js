// Search and browse memories. The filters live in the URL, so views are linkable and Back works.
import { api } from "../api.js";
import { Badge, Chips, Empty, ErrorNote, Field, Loading, Time } from "../components.js";
import { useLoad } from "../data.js";
import { html, useState } from "../html.js";
import { href, navigate } from "../router.js";

export const KINDS = ["message", "fact", "preference", "event", "chunk", "summary", "note"];
const PAGE = 25;
const FILTER_NAMES = ["q", "user", "cube", "session", "kind", "tags", "time", "from", "to", "mode"];

const pad = (n) => String(n).padStart(2, "0");

/**
 * The instant the local day `day` (YYYY-MM-DD) starts, `days` later, as ISO with the local
 * offset (e.g. "2024-04-03T00:00:00+13:00"): dates are shown in local time, so days are local.
 */
function localDayStart(day, days = 0) {
  const [year, month, date] = day.split("-").map(Number);
  const start = new Date(year, month - 1, date + days);
  const offset = -start.getTimezoneOffset();
  const zone = `${offset < 0 ? "-" : "+"}${pad(Math.floor(Math.abs(offset) / 60))}:${pad(Math.abs(offset) % 60)}`;
  return `${start.getFullYear()}-${pad(start.getMonth() + 1)}-${pad(start.getDate())}` +
    `T${pad(start.getHours())}:${pad(start.getMinutes())}:00${zone}`;
}

/** The memosys filter for the form's values (see memosys.core.filters). */
export function buildFilter(values) {
  const filter = {};
  if (values.session) filter.session_id = values.session;
  if (values.kind) filter.kind = values.kind;
  const tags = (values.tags || "").split(",").map((t) => t.trim()).filter(Boolean);
  if (tags.length === 1) filter.tags = tags[0];
  if (tags.length > 1) filter.tags = { $in: tags };
  const range = {};
  if (values.from) range.$gte = localDayStart(values.from);
  if (values.to) range.$lt = localDayStart(values.to, 1);
  if (Object.keys(range).length) filter[values.time || "created_at"] = range;
  return Object.keys(filter).length ? filter : undefined;
}

function load(values, limit) {
  const user_id = values.user || undefined;
  const cube = values.cube || undefined;
  const filters = buildFilter(values);
  if (values.q) {
    // browsing is not use: the hits' access counts (read by decay and the caps) stay as they are
    const body = { user_id, query: values.q, cube, top_k: limit, filters, mode: values.mode || "hybrid", record_access: false };
    return api("/v1/search", { method: "POST", body }).then(({ hits }) => ({ q: values.q, hits, count: null }));
  }
  const query = { user_id, cube, filters };
  return Promise.all([
    api("/v1/memories", { query: { ...query, limit } }),
    api("/v1/memories/count", { query }),
  ]).then(([{ items }, { count }]) => ({ q: "", hits: items.map((item) => ({ item })), count }));
}

function Filters({ values, me, cubes }) {
  const [form, setForm] = useState(values);
  const set = (name) => (event) => setForm({ ...form, [name]: event.currentTarget.value });
  const submit = (event) => {
    event.preventDefault();
    navigate("memories", null, form);
  };
  const clear = () => navigate("memories");
  return html`<form class="filters" role="search" onSubmit=${submit}>
    <div class="searchbar">
      <input type="search" name="q" aria-label="Search memories" placeholder="Search memories…"
        value=${form.q || ""} onInput=${set("q")} />
      <select aria-label="Search mode" value=${form.mode || "hybrid"} onChange=${set("mode")}>
        <option value="hybrid">hybrid</option><option value="bm25">keywords</option>
        <option value="dense">meaning</option>
      </select>
      <button type="submit" class="primary">Search</button>
    </div>
    <div class="filter-grid">
      ${me.admin && html`<${Field} label="User"><input name="user" placeholder=${me.user_id}
        value=${form.user || ""} onInput=${set("user")} /><//>`}
      <${Field} label="Cube"><select name="cube" value=${form.cube || ""} onChange=${set("cube")}>
        <option value="">Your own cubes</option>
        ${cubes.map((c) => html`<option value=${c.id}>${c.name}${c.owner !== me.user_id ? ` (${c.owner})` : ""}</option>`)}
      </select><//>
      <${Field} label="Session"><input name="session" value=${form.session || ""} onInput=${set("session")} /><//>
      <${Field} label="Kind"><select name="kind" value=${form.kind || ""} onChange=${set("kind")}>
        <option value="">Any kind</option>${KINDS.map((k) => html`<option value=${k}>${k}</option>`)}
      </select><//>
      <${Field} label="Tags (any of)"><input name="tags" placeholder="work, travel"
        value=${form.tags || ""} onInput=${set("tags")} /><//>
      <${Field} label="Time"><select name="time" value=${form.time || "created_at"} onChange=${set("time")}>
        <option value="created_at">recorded</option><option value="event_time">happened</option>
      </select><//>
      <${Field} label="From"><input type="date" name="from" value=${form.from || ""} onInput=${set("from")} /><//>
      <${Field} label="To"><input type="date" name="to" value=${form.to || ""} onInput=${set("to")} /><//>
      <div class="filter-actions"><button type="submit">Apply</button>
        <button type="button" class="ghost" onClick=${clear}>Clear</button></div>
    </div>
  </form>`;
}

/** How a hit was found, e.g. "bm25 #1 + dense #3 (rrf); matched: tea". */
function why(explain) {
  if (!explain) return "";
  const ranks = (explain.retrievers || []).map((r) => `${r.retriever} #${r.rank}`).join(" + ");
  const terms = explain.matched_terms?.length ? `; matched: ${explain.matched_terms.join(", ")}` : "";
  return `${ranks || "—"}${explain.fusion ? ` (${explain.fusion})` : ""}${terms}`;
}

export function MemoryCard({ item, score, explain, cubeName, user }) {
  return html`<li class="memory-card">
    <a href=${href("memory", item.id, { user })} class="memory-link">
      <p class="content">${item.speaker ? html`<strong>${item.speaker}: </strong>` : ""}${item.content}</p>
      <div class="meta">
        <${Badge} tone=${`kind-${item.kind}`}>${item.kind}<//>
        <span title="cube">${cubeName || item.cube_id}</span>
        ${item.session_id && html`<span title="session">session ${item.session_id}</span>`}
        <${Time} value=${item.event_time || item.created_at} />
        ${item.tags.length > 0 && html`<${Chips} values=${item.tags} />`}
        ${score !== undefined && html`<span class="score"><span class="why">${why(explain)}</span> score ${score.toFixed(3)}</span>`}
      </div>
    </a>
  </li>`;
}

/** What a result is, e.g. "4 memories" or "2 best matches for “tea”": from the query it was loaded for. */
function summarize({ q, hits, count }) {
  if (q) return `${hits.length} best match${hits.length === 1 ? "" : "es"} for “${q}”`;
  return `${count} memor${count === 1 ? "y" : "ies"}`;
}

export function MemoriesView({ params, me, cubes }) {
  const values = Object.fromEntries(FILTER_NAMES.map((n) => [n, params.get(n) || ""]));
  const limit = Number(params.get("limit")) || PAGE;
  const { data, error, loading } = useLoad(() => load(values, limit), [params.toString()]);
  const cubeNames = Object.fromEntries(cubes.map((c) => [c.id, c.name]));
  const more = () => navigate("memories", null, { ...values, limit: limit + PAGE });
  const hits = data?.hits || [];

  return html`<div class="view">
    <${Filters} key=${params.toString()} values=${values} me=${me} cubes=${cubes} />
    <${ErrorNote} error=${error} />
    ${error ? null : loading && !data ? html`<${Loading} what="Loading memories" />` : html`
      ${loading ? html`<${Loading} what="Updating results" />`
        : (hits.length > 0 || !data.q) && html`<p class="summary" aria-live="polite">${summarize(data)}</p>`}
      ${hits.length === 0
        ? html`<${Empty}>${data.q ? `Nothing matches “${data.q}”. Try other words or fewer filters.`
          : "No memories match. Try fewer filters."}<//>`
        : html`<ul class=${loading ? "memory-list stale" : "memory-list"} aria-label="Memories" aria-busy=${loading}>
            ${hits.map((h) => html`<${MemoryCard} key=${h.item.id} item=${h.item} score=${h.score}
              explain=${h.explain} cubeName=${cubeNames[h.item.cube_id]} user=${values.user} />`)}
          </ul>`}
      ${(values.q ? hits.length >= limit : hits.length < (data?.count ?? 0)) &&
        html`<button class="more" onClick=${more} disabled=${loading}>Show more</button>`}`}
  </div>`;
}
