// One memory: its content, every metadata field, where it came from, its versions and audit trail.
import { api, seg } from "../api.js";
import { Badge, Chips, Empty, ErrorNote, Facts, Json, Loading, Panel, ShortId, Time } from "../components.js";
import { useLoad } from "../data.js";
import { html, useState } from "../html.js";
import { href, navigate, previousHash } from "../router.js";
import { EditForm } from "./edit.js";
import { Versions } from "./versions.js";

/** Links to other memories by id (viewed as `user`), or null (shown as a dash) when there are none. */
function itemLinks(ids, user) {
  const present = (ids || []).filter(Boolean);
  if (present.length === 0) return null;
  return html`<span class="chips">${present.map((id) => html`<a href=${href("memory", id, { user })}><${ShortId} id=${id} /></a>`)}</span>`;
}

/** Back to the list: the list this page was opened from (with its filters), else all of `user`'s memories. */
function BackLink({ user }) {
  const from = previousHash();
  const fromList = /^#\/memories(\?|$)/.test(from);
  const back = (event) => {
    event.preventDefault();
    history.back();
  };
  return html`<a href=${fromList ? from : href("memories", null, { user })} class="back"
    onClick=${fromList ? back : undefined}>← Memories</a>`;
}

function AuditTrail({ id }) {
  const { data, error, loading } = useLoad(() => api("/v1/audit", { query: { item_id: id, limit: 50 } }), [id]);
  if (loading) return html`<${Loading} what="Loading audit trail" />`;
  if (error) return html`<${ErrorNote} error=${error} />`;
  if (!data.records.length) return html`<${Empty}>No audit records for this memory.<//>`;
  return html`<ul class="trail">${data.records.map((r) => html`<li>
    <code>#${r.seq}</code> <${Badge}>${r.action}<//> by <strong>${r.actor}</strong> <${Time} value=${r.at} />
  </li>`)}</ul>`;
}

/** Deletes the version shown (`if_version`): one changed meanwhile is loaded (`onStale`) first. */
function DeleteButton({ item, user, onStale }) {
  const [error, setError] = useState(null);
  async function remove() {
    if (!window.confirm("Delete this memory? This cannot be undone.")) return;
    try {
      const query = { user_id: user, if_version: item.version };
      await api(`/v1/memories/${seg(item.id)}`, { method: "DELETE", query });
      navigate("memories", null, { user });
    } catch (failure) {
      const stale = failure.name === "VersionConflictError";
      setError(stale ? new Error(`Not deleted: someone changed this memory since it was shown; `
        + `here is version ${failure.detail.version}. Delete again if you still want to.`) : failure);
      if (stale) onStale();
    }
  }
  return html`<button class="danger" onClick=${remove}>Delete</button><${ErrorNote} error=${error} />`;
}

/**
 * Whether `viewer` may change the memories of `cube`: the cubes list names a share's access in
 * `acl`; a cube not (yet) known is left to the server to decide.
 */
const mayWrite = (cube, viewer) => !cube || cube.acl?.[viewer] !== "read";

export function ItemView({ id, params, me, cubes }) {
  const user = params.get("user") || undefined;
  const [editing, setEditing] = useState(false);
  const { data: item, error, loading, reload } = useLoad(
    () => api(`/v1/memories/${seg(id)}`, { query: { user_id: user } }),
    [id, user],
  );
  if (loading && !item) return html`<${Loading} what="Loading memory" />`;
  if (error) return html`<div class="view"><${BackLink} user=${user} /><${ErrorNote} error=${error} /></div>`;
  const cube = cubes.find((c) => c.id === item.cube_id);
  const own = Object.keys(item.metadata || {}).length > 0;
  const actions = mayWrite(cube, user || me.user_id)
    ? html`<div class="cube-actions">
      <button onClick=${() => setEditing(!editing)} aria-expanded=${editing}>Edit</button>
      <${DeleteButton} item=${item} user=${user} onStale=${reload} /></div>`
    : html`<${Badge} tone="warn"><span title=${`${cube.owner} shared the cube ${cube.name} read-only`}>read only</span><//>`;

  return html`<div class="view item-view">
    <${BackLink} user=${user} />
    <${Panel} title="Memory" actions=${actions}>
      ${editing
        ? html`<${EditForm} item=${item} user=${user} onCancel=${() => setEditing(false)}
            onSaved=${() => { setEditing(false); reload(); }} onStale=${reload} />`
        : html`<p class="content big" data-testid="item-content">${item.content}</p>`}
      <div class="meta"><${Badge} tone=${`kind-${item.kind}`}>${item.kind}<//>
        <${Badge}>${item.state}<//><${Badge}>v${item.version}<//><${Chips} values=${item.tags} /></div>
    <//>
    <div class="columns">
      <${Panel} title="Overview"><${Facts} rows=${[
        ["id", html`<code>${item.id}</code>`],
        ["cube", cube ? html`<a href=${href("memories", null, { cube: cube.id, user })}>${cube.name}</a>` : html`<code>${item.cube_id}</code>`],
        ["owner", item.owner], ["user", item.user_id], ["type", item.type],
        ["importance", item.importance], ["priority", item.priority],
        ["visibility", item.visibility], ["sensitivity", item.sensitivity],
        ["accessed", `${item.access_count} time${item.access_count === 1 ? "" : "s"}`], ["last access", html`<${Time} value=${item.last_accessed_at} />`],
      ]} /><//>
      <${Panel} title="Provenance"><${Facts} rows=${[
        ["source", item.source_type], ["reference", item.source_ref],
        ["session", item.session_id && html`<a href=${href("memories", null, { session: item.session_id, user })}>${item.session_id}</a>`],
        ["position", item.position], ["messages", item.message_count],
        ["message ids", item.message_ids.length ? html`<${Chips} values=${item.message_ids} />` : null],
        ["speaker", (item.speakers?.length > 1 ? item.speakers.join(", ") : item.speaker)],
        ["role", item.role],
        ["headings", item.headings.length ? item.headings.join(" › ") : null],
        ["supersedes", itemLinks(item.supersedes, user)],
        ["superseded by", itemLinks([item.superseded_by], user)],
        ["merged from", itemLinks(item.merged_from, user)],
      ]} /><//>
      <${Panel} title="Time"><${Facts} rows=${[
        ["recorded", html`<${Time} value=${item.created_at} />`], ["updated", html`<${Time} value=${item.updated_at} />`],
        ["happened", html`<${Time} value=${item.event_time} />`],
        ...(item.event_end ? [["until", html`<${Time} value=${item.event_end} />`]] : []),
        ["valid from", html`<${Time} value=${item.valid_from} />`],
        ["valid to", html`<${Time} value=${item.valid_to} />`], ["expires", html`<${Time} value=${item.expires_at} />`],
      ]} /><//>
      <${Panel} title="Extracted"><${Facts} rows=${[
        ["keywords", html`<${Chips} values=${item.keywords} />`],
        ["entities", html`<${Chips} values=${item.entities} />`],
        ["time refs", item.time_refs.length ? item.time_refs.map((t) => t.text).join(", ") : null],
      ]} /><//>
    </div>
    <${Panel} title="Your metadata">${own ? html`<${Json} value=${item.metadata} />` : html`<${Empty}>None.<//>`}<//>
    <${Panel} title="Versions"><${Versions} key=${item.version} id=${item.id} user=${user}
      onRestored=${reload} /><//>
    <${Panel} title="Audit trail"><${AuditTrail} key=${item.version} id=${item.id} /><//>
    <details class="raw"><summary>All fields (JSON)</summary><${Json} value=${item} /></details>
  </div>`;
}
