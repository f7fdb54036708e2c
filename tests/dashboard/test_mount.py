"""How the server serves the dashboard: the page, its assets, its headers, and nothing more."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from memosys.governance.models import AUDIT_ACTIONS
from memosys.server.dashboard import STATIC_DIR

# the module named by an import or re-export statement (also in minified code)
IMPORT = re.compile(r"""(?:^|;)\s*(?:import|export)\b[^;"']*?\bfrom\s*["']([^"'\n]+)["']""", re.M)


@pytest.fixture(scope="module")
def http(site: Any) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=site.url, timeout=10.0) as client:
        yield client


def test_the_page_is_served_at_the_root_with_a_strict_policy(http: httpx.Client) -> None:
    response = http.get("/")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    policy = response.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "unsafe-inline" not in policy
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "<script>" not in response.text  # no inline script: only the module file
    assert http.head("/").status_code == 200


def test_every_module_the_page_loads_is_served_as_javascript(http: httpx.Client) -> None:
    modules = sorted(p.relative_to(STATIC_DIR).as_posix() for p in STATIC_DIR.rglob("*.js"))
    assert "assets/js/main.js" in modules and "assets/vendor/preact.js" in modules
    for module in modules:
        response = http.get(f"/{module}")
        assert response.status_code == 200, module
        assert response.headers["content-type"].startswith("text/javascript"), module
        # every import is relative to this origin: no CDN, no bare names needing an import map
        targets = IMPORT.findall(response.text)
        assert all(t.startswith(("./", "../")) for t in targets), (module, targets)


def test_assets_are_revalidated_so_an_upgrade_never_mixes_versions(http: httpx.Client) -> None:
    first = http.get("/assets/js/main.js")
    assert first.headers["cache-control"] == "no-cache"
    assert first.headers["x-content-type-options"] == "nosniff"
    again = http.get("/assets/js/main.js", headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304


def test_no_file_outside_the_assets_is_reachable(http: httpx.Client) -> None:
    for path in ("/assets/../__init__.py", "/assets/%2e%2e/__init__.py", "/assets/missing.js"):
        assert http.get(path).status_code == 404, path


def test_the_dashboard_is_not_part_of_the_api_schema(http: httpx.Client) -> None:
    paths = http.get("/openapi.json").json()["paths"]
    assert "/" not in paths
    assert not [path for path in paths if path.startswith("/assets")]


def test_the_audit_views_action_filter_offers_every_action_the_log_records() -> None:
    script = (STATIC_DIR / "assets" / "js" / "views" / "audit.js").read_text(encoding="utf-8")
    listed = re.search(r"const ACTIONS = \[(.*?)\];", script, re.S)
    assert listed is not None, "audit.js no longer lists its ACTIONS"
    assert sorted(re.findall(r'"([a-z_.]+)"', listed.group(1))) == sorted(AUDIT_ACTIONS)
