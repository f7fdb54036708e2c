// The one rendering toolkit: htm tagged templates bound to Preact, plus the hooks.
import { h, render } from "../vendor/preact.js";
import htm from "../vendor/htm.js";

export { render };
export { useCallback, useEffect, useMemo, useRef, useState } from "../vendor/hooks.js";
export const html = htm.bind(h);
