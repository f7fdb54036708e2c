// The signed-in user's API keys: create one (shown once), see when each was used, revoke.
import { api, seg } from "../api.js";
import { Badge, Empty, ErrorNote, Field, Loading, Panel, ShortId, Time } from "../components.js";
import { useLoad } from "../data.js";
import { html, useState } from "../html.js";

function NewKey({ onCreated }) {
  const [name, setName] = useState("");
  const [issued, setIssued] = useState(null);
  const [error, setError] = useState(null);
  async function create(event) {
    event.preventDefault();
    setError(null);
    try {
      setIssued(await api("/v1/keys", { method: "POST", body: { name: name.trim() } }));
      setName("");
      onCreated();
    } catch (failure) {
      setError(failure);
    }
  }
  return html`<form class="inline-form" onSubmit=${create} aria-label="New key">
      <${Field} label="New key name" wide><input value=${name} placeholder="e.g. laptop"
        onInput=${(e) => setName(e.currentTarget.value)} /><//>
      <button type="submit">Create key</button>
    </form>
    <${ErrorNote} error=${error} />
    ${issued && html`<div class="issued" role="status">
      <p>Copy this key now; it is not shown again.</p>
      <code data-testid="issued-key">${issued.api_key}</code>
    </div>`}`;
}

export function KeysView({ me }) {
  const { data, error, loading, reload } = useLoad(() => api("/v1/keys"), []);
  const [revokeError, setRevokeError] = useState(null);
  async function revoke(key) {
    if (!window.confirm(`Revoke the key ${key.prefix}…? Programs using it stop working.`)) return;
    setRevokeError(null);
    try {
      await api(`/v1/keys/${seg(key.key_id)}`, { method: "DELETE" });
      reload();
    } catch (failure) {
      setRevokeError(failure);
    }
  }
  const keys = data?.keys || [];
  return html`<div class="view">
    <${Panel} title=${`API keys of ${me.user_id}`}>
      <${NewKey} onCreated=${reload} />
      <${ErrorNote} error=${error || revokeError} />
      ${loading && !data ? html`<${Loading} what="Loading keys" />` : keys.length === 0 ? html`<${Empty}>No keys.<//>` :
        html`<div class="table-scroll"><table aria-label="API keys">
          <thead><tr><th>Name</th><th>Key</th><th>Id</th><th>Created</th><th>Last used</th><th>Status</th><th></th></tr></thead>
          <tbody>${keys.map((key) => html`<tr>
            <td>${key.name || html`<span class="muted">—</span>`}</td><td><code>${key.prefix}…</code></td>
            <td><${ShortId} id=${key.key_id} /></td><td><${Time} value=${key.created_at} /></td>
            <td><${Time} value=${key.last_used_at} /></td>
            <td>${key.revoked_at ? html`<${Badge}>revoked<//>` : html`<${Badge} tone="ok">active<//>`}</td>
            <td>${!key.revoked_at && html`<button class="ghost danger" onClick=${() => revoke(key)}
              aria-label=${`Revoke ${key.name || key.prefix}`}>Revoke</button>`}</td>
          </tr>`)}</tbody></table></div>`}
    <//>
  </div>`;
}
