// Cubes: the user's own and those shared with them; create a cube; share and unshare.
import { api, seg } from "../api.js";
import { Badge, Empty, ErrorNote, Field, Loading, Panel, ShortId, Time } from "../components.js";
import { useLoad } from "../data.js";
import { html, useState } from "../html.js";
import { href } from "../router.js";

/** Run an async action, keeping its error for display; `busy` while it runs. */
function useAction() {
  const [state, setState] = useState({ busy: false, error: null });
  async function run(action) {
    setState({ busy: true, error: null });
    try {
      await action();
      setState({ busy: false, error: null });
      return true;
    } catch (error) {
      setState({ busy: false, error });
      return false;
    }
  }
  return [state, run];
}

function CreateCube({ onCreated }) {
  const [name, setName] = useState("");
  const [description, setDescription] = useState("");
  const [{ busy, error }, run] = useAction();
  async function submit(event) {
    event.preventDefault();
    const body = { name: name.trim(), description };
    if (await run(() => api("/v1/cubes", { method: "POST", body }))) {
      setName("");
      setDescription("");
      onCreated();
    }
  }
  return html`<form class="inline-form" onSubmit=${submit} aria-label="New cube">
    <${Field} label="New cube"><input required placeholder="name" value=${name}
      onInput=${(e) => setName(e.currentTarget.value)} /><//>
    <${Field} label="Description" wide><input value=${description}
      onInput=${(e) => setDescription(e.currentTarget.value)} /><//>
    <button type="submit" disabled=${busy || !name.trim()}>Create</button>
    <${ErrorNote} error=${error} />
  </form>`;
}

function Shares({ cube }) {
  const path = `/v1/cubes/${seg(cube.id)}/shares`;
  const { data, error, loading, reload } = useLoad(() => api(path), [cube.id]);
  const [withUser, setWithUser] = useState("");
  const [access, setAccess] = useState("read");
  const [action, run] = useAction();

  async function share(event) {
    event.preventDefault();
    const body = { with_user: withUser.trim(), access };
    if (await run(() => api(path, { method: "POST", body }))) {
      setWithUser("");
      reload();
    }
  }
  // sharing again with another access is how the API changes a share's access
  async function change(user, newAccess) {
    if (await run(() => api(path, { method: "POST", body: { with_user: user, access: newAccess } }))) reload();
  }
  async function unshare(user) {
    if (await run(() => api(`${path}/${seg(user)}`, { method: "DELETE" }))) reload();
  }

  return html`<div class="shares">
    ${loading ? html`<${Loading} what="Loading shares" />` : error ? html`<${ErrorNote} error=${error} />` :
      data.shares.length === 0 ? html`<${Empty}>Not shared with anyone.<//>` :
      html`<div class="table-scroll"><table aria-label=${`Shares of ${cube.name}`}>
        <thead><tr><th>User</th><th>Access</th><th>Granted</th><th></th></tr></thead>
        <tbody>${data.shares.map((s) => html`<tr>
          <td>${s.user_id}</td><td><select aria-label=${`Access of ${s.user_id}`} value=${s.access} disabled=${action.busy}
            onChange=${(e) => change(s.user_id, e.currentTarget.value)}>
            <option value="read">read only</option><option value="write">read and write</option>
          </select></td>
          <td><${Time} value=${s.granted_at} /> by ${s.granted_by}</td>
          <td><button class="ghost danger" onClick=${() => unshare(s.user_id)}
            aria-label=${`Stop sharing with ${s.user_id}`}>Revoke</button></td>
        </tr>`)}</tbody>
      </table></div>`}
    <form class="inline-form" onSubmit=${share} aria-label=${`Share ${cube.name}`}>
      <${Field} label="Share with user"><input required value=${withUser}
        onInput=${(e) => setWithUser(e.currentTarget.value)} /><//>
      <${Field} label="Access"><select value=${access} onChange=${(e) => setAccess(e.currentTarget.value)}>
        <option value="read">read only</option><option value="write">read and write</option>
      </select><//>
      <button type="submit" disabled=${action.busy || !withUser.trim()}>Share</button>
    </form>
    <${ErrorNote} error=${action.error} />
  </div>`;
}

function CubeRow({ cube, user, mine, open, onToggle }) {
  return html`<li class=${open ? "cube open" : "cube"}>
    <div class="cube-head">
      <div><h3>${cube.name}</h3>
        <p class="muted">${cube.description || "No description"} · <${ShortId} id=${cube.id} /> · created <${Time} value=${cube.created_at} /></p></div>
      <div class="cube-actions">
        ${mine ? html`<${Badge} tone="ok">yours<//>` : html`<${Badge}>shared by ${cube.owner}<//>`}
        <a class="button" href=${href("memories", null, { cube: cube.id, user })}>Browse</a>
        ${mine && html`<button onClick=${onToggle} aria-expanded=${open}>Sharing</button>`}
      </div>
    </div>
    ${open && html`<${Shares} cube=${cube} />`}
  </li>`;
}

export function CubesView({ me, user, cubes, reloadCubes, error }) {
  const [open, setOpen] = useState(null);
  const mine = (cube) => cube.owner === me.user_id || me.admin;
  return html`<div class="view">
    <${Panel} title="Cubes">
      <${CreateCube} onCreated=${reloadCubes} />
      <${ErrorNote} error=${error} />
      ${cubes.length === 0 ? html`<${Empty}>No cubes yet. Adding a memory creates the cube “default”.<//>` :
        html`<ul class="cube-list">${cubes.map((cube) => html`<${CubeRow} key=${cube.id} cube=${cube} user=${user}
          mine=${mine(cube)} open=${open === cube.id} onToggle=${() => setOpen(open === cube.id ? null : cube.id)} />`)}</ul>`}
    <//>
  </div>`;
}
