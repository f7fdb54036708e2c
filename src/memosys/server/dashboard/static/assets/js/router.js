// Hash routing: `#/memories?q=tea` -> {parts: ["memories"], params: URLSearchParams}.
import { useEffect, useState } from "./html.js";

function current() {
  const raw = location.hash.replace(/^#\/?/, "");
  const [path, query = ""] = raw.split("?");
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  return { parts, params: new URLSearchParams(query) };
}

let previous = "";

/** The hash (e.g. `#/memories?kind=fact`) of the route shown before this one, or "". */
export const previousHash = () => previous;

/** The current route; re-renders on every hash change. */
export function useRoute() {
  const [route, setRoute] = useState(current);
  useEffect(() => {
    const update = (event) => {
      previous = new URL(event.oldURL).hash;
      setRoute(current());
    };
    window.addEventListener("hashchange", update);
    return () => window.removeEventListener("hashchange", update);
  }, []);
  return route;
}

/** A link target: `href("memory", id)` or `href("memories", null, {cube: "x"})`. */
export function href(view, id = null, params = {}) {
  const path = id === null || id === undefined ? view : `${view}/${encodeURIComponent(id)}`;
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== "") query.set(name, value);
  }
  const text = query.toString();
  return `#/${path}${text ? `?${text}` : ""}`;
}

export function navigate(view, id = null, params = {}) {
  location.hash = href(view, id, params);
}
