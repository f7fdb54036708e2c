// Sign in with an API key: checked against /v1/me before it is kept for the tab.
import { api, credentials } from "../api.js";
import { ErrorNote } from "../components.js";
import { html, useState } from "../html.js";

export function SignIn({ onSignedIn, notice }) {
  const [key, setKey] = useState("");
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);

  async function submit(event) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const me = await api("/v1/me", { key: key.trim() });
      credentials.signIn(key.trim());
      onSignedIn(me);
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(false);
    }
  }

  return html`<main class="signin">
    <form class="card" onSubmit=${submit}>
      <h1><span class="logo" aria-hidden="true">m</span> memosys</h1>
      <p class="muted">Sign in with an API key.${" " /* htm drops the white space of a line break */}
        Create one with <code>memosys init</code> or <code>memosys user add NAME</code>.</p>
      ${notice && html`<p class="notice">${notice}</p>`}
      <label class="field wide"><span>API key</span>
        <input type="password" name="api_key" autocomplete="off" required autofocus
          value=${key} onInput=${(e) => setKey(e.currentTarget.value)} /></label>
      <${ErrorNote} error=${error} />
      <button type="submit" class="primary" disabled=${busy || !key.trim()}>
        ${busy ? "Signing in…" : "Sign in"}</button>
      <p class="hint muted">The key stays in this tab only (session storage).</p>
    </form>
  </main>`;
}
