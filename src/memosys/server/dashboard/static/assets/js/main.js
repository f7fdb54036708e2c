// The dashboard shell: sign-in gate, navigation, theme, and the route -> view switch.
import { api, credentials } from "./api.js";
import { useLoad } from "./data.js";
import { html, render, useEffect, useState } from "./html.js";
import { href, useRoute } from "./router.js";
import { AuditView } from "./views/audit.js";
import { CubesView } from "./views/cubes.js";
import { ItemView } from "./views/item.js";
import { KeysView } from "./views/keys.js";
import { MemoriesView } from "./views/memories.js";
import { SignIn } from "./views/signin.js";
import { StatsView } from "./views/stats.js";

const THEME = "memosys.theme";
const NAV = [
  ["memories", "Memories"],
  ["cubes", "Cubes"],
  ["audit", "Audit log"],
  ["stats", "Stats"],
  ["keys", "Keys"],
];

function useTheme() {
  const [theme, setTheme] = useState(() => localStorage.getItem(THEME) || "auto");
  useEffect(() => {
    document.documentElement.dataset.theme = theme;
    localStorage.setItem(THEME, theme);
  }, [theme]);
  const next = { auto: "dark", dark: "light", light: "auto" }[theme];
  return [theme, () => setTheme(next)];
}

function Header({ me, view, user, onSignOut }) {
  const [theme, cycleTheme] = useTheme();
  return html`<header class="topbar">
    <a class="brand" href=${href("memories", null, { user })}><span class="logo" aria-hidden="true">m</span>memosys</a>
    <nav aria-label="Main">${NAV.map(([name, title]) => html`
      <a href=${href(name, null, { user })} aria-current=${view === name ? "page" : undefined}>${title}</a>`)}</nav>
    <div class="who">
      <button class="ghost" onClick=${cycleTheme} title="Theme" aria-label=${`Theme: ${theme}`}>
        ${{ auto: "◐", dark: "☾", light: "☀" }[theme]}</button>
      <span class="user" data-testid="signed-in-user">${me.user_id}${me.admin ? " · admin" : ""}</span>
      <button class="ghost" onClick=${onSignOut}>Sign out</button>
    </div>
  </header>`;
}

function Dashboard({ me, onSignOut }) {
  const { parts, params } = useRoute();
  const view = parts[0] || "memories";
  const user = params.get("user") || undefined;
  const cubes = useLoad(() => api("/v1/cubes", { query: { user_id: user } }), [user]);
  const cubeList = cubes.data?.cubes || [];
  let body;
  if (view === "memory" && parts[1]) body = html`<${ItemView} id=${parts[1]} params=${params} me=${me} cubes=${cubeList} />`;
  else if (view === "cubes") body = html`<${CubesView} me=${me} user=${user} cubes=${cubeList} reloadCubes=${cubes.reload} error=${cubes.error} />`;
  else if (view === "audit") body = html`<${AuditView} params=${params} me=${me} />`;
  else if (view === "stats") body = html`<${StatsView} me=${me} user=${user} cubes=${cubeList} cubesLoading=${cubes.loading} />`;
  else if (view === "keys") body = html`<${KeysView} me=${me} />`;
  else body = html`<${MemoriesView} params=${params} me=${me} cubes=${cubeList} />`;
  return html`<${Header} me=${me} view=${view === "memory" ? "memories" : view} user=${user} onSignOut=${onSignOut} />
    <main class="page">${body}</main>`;
}

function App() {
  const [me, setMe] = useState(null);
  const [checking, setChecking] = useState(Boolean(credentials.key));
  const [notice, setNotice] = useState("");

  useEffect(() => {
    if (credentials.key) {
      // a 401 signs out through the event below (its notice stays); any other failure keeps the key for a retry
      api("/v1/me")
        .then(setMe, (error) => error.status !== 401 && setNotice(`Could not load your account: ${error.message}`))
        .finally(() => setChecking(false));
    }
    const signedOut = (event) => {
      credentials.signOut();
      setMe(null);
      setNotice(`Signed out: ${event.detail}`);
    };
    window.addEventListener("memosys:signed-out", signedOut);
    return () => window.removeEventListener("memosys:signed-out", signedOut);
  }, []);

  if (checking) return html`<p class="boot">Loading memosys…</p>`;
  if (!me) return html`<${SignIn} notice=${notice} onSignedIn=${(who) => { setNotice(""); setMe(who); }} />`;
  const signOut = () => {
    credentials.signOut();
    setMe(null);
  };
  return html`<${Dashboard} me=${me} onSignOut=${signOut} />`;
}

const root = document.getElementById("app");
root.replaceChildren(); // drop the "Loading" placeholder: render() adds to what is there
render(html`<${App} />`, root);
