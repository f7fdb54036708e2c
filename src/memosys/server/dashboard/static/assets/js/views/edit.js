// Edit a memory's content, tags and importance; the server keeps the old version.
import { api, seg } from "../api.js";
import { ErrorNote, Field } from "../components.js";
import { html, useState } from "../html.js";

const splitTags = (text) => text.split(",").map((t) => t.trim()).filter(Boolean);
const sameList = (a, b) => a.length === b.length && a.every((value, i) => value === b[i]);

/**
 * The PATCH body for the form's values: only the fields that changed (else each save makes
 * a new version). An empty importance keeps it; one outside 0..1 throws with what to type.
 */
function changes(item, { content, tags, importance }) {
  const body = {};
  if (content !== item.content) body.content = content;
  if (!sameList(splitTags(tags), item.tags)) body.tags = splitTags(tags);
  if (importance.trim() !== "") {
    const value = Number(importance);
    if (!Number.isFinite(value) || value < 0 || value > 1) {
      throw new Error("Importance must be a number from 0 to 1 (leave it empty to keep it).");
    }
    if (value !== item.importance) body.importance = value;
  }
  return body;
}

export function EditForm({ item, user, onSaved, onCancel }) {
  const [content, setContent] = useState(item.content);
  const [tags, setTags] = useState(item.tags.join(", "));
  const [importance, setImportance] = useState(String(item.importance));
  const [state, setState] = useState({ busy: false, error: null, note: "" });

  async function save(event) {
    event.preventDefault();
    let body;
    try {
      body = changes(item, { content, tags, importance });
    } catch (error) {
      setState({ busy: false, error, note: "" });
      return;
    }
    if (Object.keys(body).length === 0) {
      setState({ busy: false, error: null, note: "Nothing changed: no new version saved." });
      return;
    }
    setState({ busy: true, error: null, note: "" });
    try {
      onSaved(await api(`/v1/memories/${seg(item.id)}`, { method: "PATCH", body: { user_id: user, ...body } }));
    } catch (error) {
      setState({ busy: false, error, note: "" });
    }
  }

  return html`<form class="edit-form" onSubmit=${save} aria-label="Edit memory" novalidate>
    <${Field} label="Content" wide><textarea rows="4" required value=${content}
      onInput=${(e) => setContent(e.currentTarget.value)}></textarea><//>
    <div class="inline-form">
      <${Field} label="Tags" wide><input value=${tags} onInput=${(e) => setTags(e.currentTarget.value)} /><//>
      <${Field} label="Importance"><input type="number" min="0" max="1" step="any" value=${importance}
        onInput=${(e) => setImportance(e.currentTarget.value)} /><//>
      <button type="submit" class="primary" disabled=${state.busy || !content.trim()}>Save</button>
      <button type="button" class="ghost" onClick=${onCancel}>Cancel</button>
    </div>
    <${ErrorNote} error=${state.error} />
    ${state.note && html`<p class="muted" role="status">${state.note}</p>`}
  </form>`;
}
