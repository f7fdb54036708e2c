// Edit a memory's content, tags and importance; the server keeps the old version.
import { api, seg } from "../api.js";
import { ErrorNote, Field } from "../components.js";
import { html, useState } from "../html.js";

const splitTags = (text) => text.split(",").map((t) => t.trim()).filter(Boolean);

export function EditForm({ item, user, onSaved, onCancel }) {
  const [content, setContent] = useState(item.content);
  const [tags, setTags] = useState(item.tags.join(", "));
  const [importance, setImportance] = useState(String(item.importance));
  const [state, setState] = useState({ busy: false, error: null });

  async function save(event) {
    event.preventDefault();
    const body = { user_id: user, tags: splitTags(tags), importance: Number(importance) };
    if (content !== item.content) body.content = content;
    setState({ busy: true, error: null });
    try {
      onSaved(await api(`/v1/memories/${seg(item.id)}`, { method: "PATCH", body }));
    } catch (error) {
      setState({ busy: false, error });
    }
  }

  return html`<form class="edit-form" onSubmit=${save} aria-label="Edit memory">
    <${Field} label="Content" wide><textarea rows="4" required value=${content}
      onInput=${(e) => setContent(e.currentTarget.value)}></textarea><//>
    <div class="inline-form">
      <${Field} label="Tags" wide><input value=${tags} onInput=${(e) => setTags(e.currentTarget.value)} /><//>
      <${Field} label="Importance"><input type="number" min="0" max="1" step="0.05" value=${importance}
        onInput=${(e) => setImportance(e.currentTarget.value)} /><//>
      <button type="submit" class="primary" disabled=${state.busy || !content.trim()}>Save</button>
      <button type="button" class="ghost" onClick=${onCancel}>Cancel</button>
    </div>
    <${ErrorNote} error=${state.error} />
  </form>`;
}
