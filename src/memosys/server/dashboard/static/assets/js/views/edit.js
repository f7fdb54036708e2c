// Edit a memory's content, tags and importance; the server keeps the old version.
import { api, seg } from "../api.js";
import { ErrorNote, Field } from "../components.js";
import { html, useEffect, useState } from "../html.js";

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

/** What to say when someone else changed the memory after the form opened (409). */
const changedMeanwhile = (error) => new Error(
  `Someone changed this memory while you edited it: it is now version ${error.detail.version}. `
  + "The fields you did not touch show it now, yours keep your edits: Save again, or Cancel.",
);

/** The form's values for `item`. */
const fieldsOf = (item) => ({
  content: item.content, tags: item.tags.join(", "), importance: String(item.importance),
});

/**
 * The form saves only over the version it was opened on (`if_version`). A change made
 * meanwhile is loaded (`onStale`): the fields the user has not touched take its values,
 * the others keep the user's edits, and the next save goes over that version.
 */
export function EditForm({ item, user, onSaved, onStale, onCancel }) {
  const [base, setBase] = useState(item);
  const [fields, setFields] = useState(fieldsOf(item));
  const { content, tags, importance } = fields;
  const edit = (name) => (e) => {
    const { value } = e.currentTarget;
    setFields((typed) => ({ ...typed, [name]: value }));
  };
  const [state, setState] = useState({ busy: false, error: null, note: "" });

  useEffect(() => {
    if (item.version === base.version) return;
    const [before, now] = [fieldsOf(base), fieldsOf(item)];
    setFields((typed) => Object.fromEntries(Object.entries(typed).map(
      ([name, value]) => [name, value === before[name] ? now[name] : value],
    )));
    setBase(item);
  }, [item.version]);

  async function save(event) {
    event.preventDefault();
    let body;
    try {
      body = changes(item, fields);
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
      const patch = { user_id: user, if_version: item.version, ...body };
      onSaved(await api(`/v1/memories/${seg(item.id)}`, { method: "PATCH", body: patch }));
    } catch (error) {
      const stale = error.name === "VersionConflictError";
      setState({ busy: false, error: stale ? changedMeanwhile(error) : error, note: "" });
      if (stale) onStale();
    }
  }

  return html`<form class="edit-form" onSubmit=${save} aria-label="Edit memory" novalidate>
    <${Field} label="Content" wide><textarea rows="4" required value=${content}
      onInput=${edit("content")}></textarea><//>
    <div class="inline-form">
      <${Field} label="Tags" wide><input value=${tags} onInput=${edit("tags")} /><//>
      <${Field} label="Importance"><input type="number" min="0" max="1" step="any" value=${importance}
        onInput=${edit("importance")} /><//>
      <button type="submit" class="primary" disabled=${state.busy || !content.trim()}>Save</button>
      <button type="button" class="ghost" onClick=${onCancel}>Cancel</button>
    </div>
    <${ErrorNote} error=${state.error} />
    ${state.note && html`<p class="muted" role="status">${state.note}</p>`}
  </form>`;
}
