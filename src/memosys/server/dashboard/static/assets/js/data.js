// Loading data in components: one hook, with loading and error states and a reload.
import { useCallback, useEffect, useState } from "./html.js";

/**
 * Run `load()` (a promise) when `deps` change: {data, error, loading, reload}.
 * A response that arrives after a newer request started is dropped.
 */
export function useLoad(load, deps) {
  const [state, setState] = useState({ data: undefined, error: null, loading: true });
  const [generation, setGeneration] = useState(0);
  const reload = useCallback(() => setGeneration((n) => n + 1), []);
  useEffect(() => {
    let live = true;
    setState((s) => ({ ...s, error: null, loading: true }));
    load().then(
      (data) => live && setState({ data, error: null, loading: false }),
      (error) => live && setState({ data: undefined, error, loading: false }),
    );
    return () => {
      live = false;
    };
  }, [...deps, generation]);
  return { ...state, reload };
}
