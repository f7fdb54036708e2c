// A memory's versions, newest first; an earlier one can be restored (as a new version).
import { api, seg } from "../api.js";
import { Badge, Empty, ErrorNote, Loading, Time } from "../components.js";
import { useLoad } from "../data.js";
import { html, useState } from "../html.js";

// fields derived from others, not worth naming in a version's list of changes
const DERIVED = new Set(["content_hash", "keywords", "entities", "time_refs"]);

function describe(changes) {
  const names = (changes || []).filter((name) => !DERIVED.has(name));
  if (names.length === 1 && names[0] === "created") return " · created";
  return names.length ? ` · changed ${names.join(", ")}` : "";
}

/** The versions of the item; null when the server has no history endpoint (404/405). */
async function loadHistory(id, user) {
  try {
    const data = await api(`/v1/memories/${seg(id)}/history`, { query: { user_id: user } });
    return Array.isArray(data) ? data : data.versions ?? [];
  } catch (error) {
    if (error.status === 404 || error.status === 405) return null;
    throw error;
  }
}

export function Versions({ id, user, onRestored }) {
  const { data, error, loading } = useLoad(() => loadHistory(id, user), [id]);
  const [failure, setFailure] = useState(null);
  async function restore(version) {
    setFailure(null);
    try {
      await api(`/v1/memories/${seg(id)}/rollback`, { method: "POST", body: { user_id: user, version } });
      onRestored();
    } catch (problem) {
      setFailure(problem);
    }
  }
  if (loading) return html`<${Loading} what="Loading versions" />`;
  if (error) return html`<${ErrorNote} error=${error} />`;
  if (data === null) return html`<${Empty}>Version history is not available on this server.<//>`;
  if (data.length === 0) return html`<${Empty}>No earlier versions.<//>`;
  return html`<${ErrorNote} error=${failure} />
    <ul class="versions" aria-label="Versions">
    ${[...data].reverse().map((v) => html`<li>
      <div class="meta"><${Badge}>v${v.version}<//> by ${v.changed_by} ·
        <${Time} value=${v.recorded_from} />
        ${v.recorded_to ? html`→ <${Time} value=${v.recorded_to} />` : html`<${Badge} tone="ok">current<//>`}
        ${describe(v.changes)}${v.note ? ` · ${v.note}` : ""}
        ${v.recorded_to && html`<button class="ghost restore" onClick=${() => restore(v.version)}
          aria-label=${`Restore version ${v.version}`}>Restore</button>`}</div>
      <p class="content">${v.item?.content}</p>
    </li>`)}
  </ul>`;
}
