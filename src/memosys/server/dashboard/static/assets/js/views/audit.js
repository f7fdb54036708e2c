// The audit log: the hash chain's status and the records, filtered.
import { api } from "../api.js";
import { Badge, Empty, ErrorNote, Field, Loading, Panel, ShortId, Time } from "../components.js";
import { useLoad } from "../data.js";
import { html, useState } from "../html.js";
import { href, navigate } from "../router.js";

const ACTIONS = [
  "memory.add", "memory.update", "memory.delete", "memory.forget", "memory.state", "cube.create",
  "cube.share", "cube.unshare", "cube.reembed", "snapshot.create", "snapshot.restore",
  "snapshot.delete", "adapter.distill", "adapter.rebuild", "adapter.drop", "adapter.offload",
  "user.create", "user.admin", "user.forget", "key.create", "key.revoke",
];

function ChainStatus() {
  const { data, error, loading, reload } = useLoad(() => api("/v1/audit/verify"), []);
  let body;
  if (loading) body = html`<${Loading} what="Verifying the chain" />`;
  else if (error) body = html`<${ErrorNote} error=${error} />`;
  else if (data.ok) body = html`<p class="chain ok" role="status"><strong>Chain intact</strong>${data.records == null ? "" : ` · ${data.records} records verified`}</p>`;
  else body = html`<p class="chain bad" role="alert"><strong>Chain broken</strong> at record #${data.first_bad_seq}: ${data.reason}</p>`;
  return html`<div class="chain-status">${body}<button class="ghost" onClick=${reload} disabled=${loading}>Verify again</button></div>`;
}

function Filters({ values }) {
  const [form, setForm] = useState(values);
  const set = (name) => (event) => setForm({ ...form, [name]: event.currentTarget.value });
  const submit = (event) => {
    event.preventDefault();
    navigate("audit", null, form);
  };
  return html`<form class="filter-grid" onSubmit=${submit} aria-label="Audit filters">
    <${Field} label="Action"><select value=${form.action} onChange=${set("action")}>
      <option value="">Any action</option>${ACTIONS.map((a) => html`<option value=${a}>${a}</option>`)}
    </select><//>
    <${Field} label="Cube id"><input value=${form.cube} onInput=${set("cube")} /><//>
    <${Field} label="Memory id"><input value=${form.item_id} onInput=${set("item_id")} /><//>
    <${Field} label="Since"><input type="datetime-local" value=${form.since} onInput=${set("since")} /><//>
    <div class="filter-actions"><button type="submit">Apply</button>
      <button type="button" class="ghost" onClick=${() => navigate("audit")}>Clear</button></div>
  </form>`;
}

/** The user a record's action was for (see the server's audit entries): an admin views its memory as them. */
const subject = (record) => record.detail?.user || record.actor;

const PAGE = 200;

export function AuditView({ params, me }) {
  const values = { action: "", cube: "", item_id: "", since: "" };
  for (const name of Object.keys(values)) values[name] = params.get(name) || "";
  const limit = Number(params.get("limit")) || PAGE;
  const before = params.get("before") || "";
  const query = { ...values, since: values.since ? new Date(values.since).toISOString() : "", limit, before_seq: before };
  const { data, error, loading } = useLoad(() => api("/v1/audit", { query }), [params.toString()]);
  const records = data?.records || [];
  const paging = { ...values, limit: limit === PAGE ? "" : String(limit) };
  const older = () => navigate("audit", null, { ...paging, before: String(records[records.length - 1].seq) });
  return html`<div class="view">
    <${Panel} title="Audit log" actions=${html`<${ChainStatus} />`}>
      <${Filters} key=${params.toString()} values=${values} />
      <${ErrorNote} error=${error} />
      ${loading ? html`<${Loading} what="Loading records" />` : records.length === 0 && !error ?
        html`<${Empty}>No records match.<//>` : html`<div class="table-scroll"><table aria-label="Audit records">
          <thead><tr><th>#</th><th>When</th><th>Actor</th><th>Action</th><th>Cube</th><th>Memory</th><th>Request</th><th>Detail</th></tr></thead>
          <tbody>${records.map((r) => html`<tr>
            <td><code title=${`hash ${r.hash}\nprev ${r.prev_hash}`}>${r.seq}</code></td>
            <td><${Time} value=${r.at} /></td><td>${r.actor}</td><td><${Badge}>${r.action}<//></td>
            <td><${ShortId} id=${r.cube_id} /></td>
            <td>${r.item_id ? html`<a href=${href("memory", r.item_id, { user: me.admin ? subject(r) : undefined })}><${ShortId} id=${r.item_id} /></a>` : "—"}</td>
            <td><${ShortId} id=${r.request_id} /></td>
            <td><code class="detail">${Object.keys(r.detail || {}).length ? JSON.stringify(r.detail) : ""}</code></td>
          </tr>`)}</tbody></table></div>`}
      ${loading || error ? "" : html`<div class="pager">
        ${before ? html`<button class="ghost" onClick=${() => navigate("audit", null, paging)}>Newest records</button>` : ""}
        ${records.length === limit ? html`<button class="more" onClick=${older}>Older records</button>` : ""}
      </div>`}
    <//>
  </div>`;
}
