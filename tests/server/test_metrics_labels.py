"""``/metrics`` label values stay bounded whatever clients send."""

from __future__ import annotations

from typing import Any


def test_unknown_methods_share_one_label_value(http: Any) -> None:
    client = http()
    for n in range(5):
        client.request(f"BOGUS{n}", f"/no/such/path/{n}")
    client.request("PROPFIND", "/healthz")
    client.get("/healthz")
    text = client.get("/metrics").text
    assert "BOGUS" not in text and "PROPFIND" not in text
    assert 'method="OTHER",route="<unmatched>",status="404"} 5' in text
    assert 'method="GET",route="/healthz"' in text  # known methods keep their name
