"""The dashboard's links, loading and error states, date filters and forms, in headless
Chromium against a real server (a server of this module's own: these tests add memories)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from playwright.sync_api import expect

from memosys import MemOS
from memosys.settings import load_settings


def cards_of(page: Any) -> Any:
    return page.get_by_role("list", name="Memories").get_by_role("listitem")


class Held:
    """Requests to the API paths given, held (a slow network) until released."""

    def __init__(self, page: Any, pattern: str) -> None:
        self.page, self.pattern, self.routes = page, re.compile(pattern), []
        page.route(self.pattern, self.hold)

    def hold(self, route: Any) -> None:
        self.routes.append(route)

    def release(self) -> None:
        for route in self.routes:
            route.continue_()
        self.page.unroute(self.pattern, self.hold)


def api_as(site: Any, user: str) -> httpx.Client:
    """An HTTP client of the API signed in as ``user``."""
    auth = {"Authorization": f"Bearer {site.keys[user]}"}
    return httpx.Client(base_url=site.url, headers=auth, timeout=10.0)


def new_user(site: Any, user: str) -> None:
    """Create ``user`` through the admin API (its key kept in ``site.keys``): the tests that
    share cubes share them with a user of their own, so ana's and bob's lists stay as seeded."""
    with api_as(site, "admin") as http:
        site.keys[user] = http.post("/v1/users", json={"user_id": user}).json()["api_key"]


def shared_by_bob(site: Any, guest: str, cube: str, text: str) -> dict[str, Any]:
    """A new user ``guest``, and bob's memory ``text`` in ``cube`` shared with it read-only."""
    new_user(site, guest)
    with api_as(site, "bob") as http:
        body = {"texts": [text], "cube": cube}
        (item,) = http.post("/v1/memories/texts", json=body).json()["items"]
        share = {"with_user": guest, "access": "read"}
        assert http.post(f"/v1/cubes/{cube}/shares", json=share).status_code == 201
    return dict(item)


def contrast(page: Any, selector: str) -> float:
    """The WCAG contrast ratio of the text of the first element matching on its own background."""
    return float(page.locator(selector).first.evaluate("""(el) => {
        const rgb = (text) => text.match(/[\\d.]+/g).slice(0, 3).map(Number);
        const lum = (text) => {
            const [r, g, b] = rgb(text).map((v) => v / 255)
                .map((v) => (v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4));
            return 0.2126 * r + 0.7152 * g + 0.0722 * b;
        };
        const style = getComputedStyle(el);
        const [a, b] = [lum(style.color), lum(style.backgroundColor)].sort((x, y) => y - x);
        return (a + 0.05) / (b + 0.05);
    }"""))


def page_width(page: Any) -> int:
    return int(page.evaluate("document.documentElement.scrollWidth"))


def test_an_admins_links_keep_the_user_being_viewed(tab: Any) -> None:
    main = tab("admin")
    page = main.sign_in("admin")
    page.get_by_role("link", name="Audit log").click()
    page.get_by_label("Action").select_option("memory.add")
    page.get_by_role("button", name="Apply").click()
    records = page.get_by_role("table", name="Audit records")
    records.get_by_role("row").filter(has_text="ana").first.get_by_role("link").click()
    expect(page.get_by_test_id("item-content")).to_be_visible()  # viewed as ana, not NotFoundError
    assert "user=ana" in page.url

    page.goto(main.site.url + "#/memories?user=ana&kind=fact")
    expect(cards_of(page)).to_have_count(2)
    cards_of(page).filter(has_text="green tea").get_by_role("link").click()
    expect(page.get_by_test_id("item-content")).to_have_text("Ana drinks green tea every morning")
    overview = page.get_by_role("region", name="Overview")
    cube_link = overview.get_by_role("link", name="work")
    expect(cube_link).to_have_attribute("href", re.compile("&user=ana$"))
    page.get_by_role("link", name="← Memories").click()  # back to the list it came from
    expect(page.get_by_text("2 memories")).to_be_visible()
    assert page.url.endswith("#/memories?user=ana&kind=fact")

    page.goto(main.site.url + f"#/memory/{main.site.ids['lisbon']}?user=ana")
    page.reload()  # opened directly: no list to go back to
    provenance = page.get_by_role("region", name="Provenance")
    session_link = provenance.get_by_role("link", name="trip-1")
    expect(session_link).to_have_attribute("href", "#/memories?session=trip-1&user=ana")
    page.get_by_role("link", name="← Memories").click()
    expect(page.get_by_text("4 memories")).to_be_visible()  # ana's, not the admin's (none)

    page.get_by_role("link", name="Cubes").click()
    expect(page.get_by_role("heading", name="work")).to_be_visible()
    assert "user=ana" in page.url
    main.shot("cubes-of-ana")



def test_results_being_refreshed_are_dimmed_under_a_loading_sign(tab: Any) -> None:
    main = tab("ana")
    page = main.sign_in("ana")
    list_ = page.get_by_role("list", name="Memories")
    expect(page.get_by_text("4 memories")).to_be_visible()

    held = Held(page, r"/v1/(memories|search)\b")
    page.get_by_label("Kind").select_option("fact")
    page.get_by_role("button", name="Apply").click()
    expect(page.get_by_role("status").filter(has_text="Updating results")).to_be_visible()
    expect(list_).to_have_attribute("aria-busy", "true")
    expect(page.get_by_text("4 memories")).to_have_count(0)  # the old count is not shown as current
    main.shot("refreshing")
    held.release()
    expect(page.get_by_text("2 memories")).to_be_visible()
    expect(list_).to_have_attribute("aria-busy", "false")

    held = Held(page, r"/v1/(memories|search)\b")
    page.get_by_label("Search memories").fill("coffee")
    page.get_by_role("button", name="Search", exact=True).click()
    expect(page.get_by_role("status").filter(has_text="Updating results")).to_be_visible()
    expect(page.get_by_text("for “coffee”")).to_have_count(0)  # no new summary above old rows
    held.release()
    expect(page.get_by_text("for “coffee”")).to_be_visible()


def test_date_filters_are_local_days(tab: Any) -> None:
    main = tab("bob", timezone_id="Pacific/Auckland")  # UTC+13 in early April 2024
    message = {"role": "user", "content": "Booked the ferry", "timestamp": "2024-04-02T18:00:00Z"}
    with api_as(main.site, "bob") as http:
        body = {"messages": [message], "cube": "diary"}
        assert http.post("/v1/memories/messages", json=body).status_code == 201
    page = main.sign_in("bob")

    def between(first: str, last: str) -> Any:
        page.get_by_label("Time").select_option("event_time")
        page.get_by_label("From", exact=True).fill(first)
        page.get_by_label("To", exact=True).fill(last)
        page.get_by_role("button", name="Apply").click()
        return cards_of(page).filter(has_text="ferry")

    found = between("2024-04-03", "2024-04-03")
    expect(page.get_by_text("1 memory", exact=True)).to_be_visible()
    expect(found).to_have_count(1)
    expect(found).to_contain_text("Apr 3, 2024")  # the day it is shown on, in local time
    main.shot("local-day")
    expect(between("2024-04-02", "2024-04-02")).to_have_count(0)
    expect(page.get_by_text("0 memories")).to_be_visible()


def test_long_chips_narrow_screens_and_dark_badges_fit(tab: Any) -> None:
    wide = tab("bob")
    with api_as(wide.site, "bob") as http:
        body = {"texts": ["A tag with no break"], "cube": "diary", "kind": "fact"}
        body["tags"] = ["unbroken" * 30]
        (item,) = http.post("/v1/memories/texts", json=body).json()["items"]
    page = wide.sign_in("bob")
    page.goto(wide.site.url + f"#/memory/{item['id']}")
    expect(page.get_by_test_id("item-content")).to_be_visible()
    assert page_width(page) <= 1280  # the chip is cut short with an ellipsis (4)
    wide.shot("long-chip")
    page.get_by_role("button", name="Edit").click()
    form = page.get_by_role("form", name="Edit memory")
    assert form.bounding_box()["height"] < 260  # no tall empty gaps in the form (5)
    wide.shot("edit-form")

    page.get_by_role("button", name="Theme: auto").click()  # dark
    page.get_by_role("link", name="Memories", exact=True).click()
    for kind in ("note", "fact"):
        assert contrast(page, f".badge.kind-{kind}") >= 4.5, kind  # (12)
    wide.shot("dark-badges")
    page.get_by_role("button", name="Theme: dark").click()  # light
    for kind in ("note", "fact"):
        assert contrast(page, f".badge.kind-{kind}") >= 4.5, kind

    narrow = tab("ana", viewport={"width": 390, "height": 844})
    page = narrow.open()
    card = page.locator("form.card")
    assert card.bounding_box()["height"] < 420  # no gap under the API key box (5)
    narrow.shot("signin")
    page = narrow.sign_in("ana")
    expect(page.get_by_text("memories", exact=False).first).to_be_visible()
    header = page.locator("header.topbar")
    assert header.bounding_box()["height"] <= 100  # two rows at most (18)
    assert header.evaluate("(el) => getComputedStyle(el).position") != "sticky"
    narrow.shot("memories")
    page.get_by_role("link", name="Cubes").click()
    work = page.get_by_role("listitem").filter(has=page.get_by_role("heading", name="work"))
    work.get_by_role("button", name="Sharing").click()
    work.get_by_label("Share with user").fill("bob")
    work.get_by_role("button", name="Share", exact=True).click()
    expect(work.get_by_role("table", name="Shares of work")).to_be_visible()
    assert page_width(page) <= 390  # the table scrolls inside its box (8)
    narrow.shot("shares")


def test_the_edit_form_sends_only_changes_and_checks_importance(tab: Any) -> None:
    main = tab("ana")
    page = main.sign_in("ana")
    patches: list[Any] = []
    page.on("request", lambda r: r.method == "PATCH" and patches.append(r.post_data_json))
    page.goto(main.site.url + f"#/memory/{main.site.ids['tea']}")
    page.get_by_role("button", name="Edit").click()
    form = page.get_by_role("form", name="Edit memory")
    importance = form.get_by_label("Importance")

    form.get_by_role("button", name="Save").click()
    expect(form.get_by_role("status")).to_contain_text("Nothing changed")
    importance.fill("1.5")
    form.get_by_role("button", name="Save").click()
    expect(form.get_by_role("alert")).to_contain_text("Importance must be a number from 0 to 1")
    importance.fill("")  # left out: the importance is kept, not saved as 0
    form.get_by_label("Tags").fill("work, drinks")
    form.get_by_role("button", name="Save").click()

    memory = page.get_by_role("region", name="Memory")
    expect(memory.get_by_text("v2", exact=True)).to_be_visible()
    expect(page.get_by_role("region", name="Overview")).to_contain_text("importance0.5")
    # one request, with the one change, made over the version the form was opened on
    assert patches == [{"tags": ["work", "drinks"], "if_version": 1}]
    main.shot("saved-tags")


def _a_new_users_note_open(main: Any, user: str, text: str) -> tuple[Any, dict[str, Any]]:
    """A new ``user`` with one note ``text``, signed in on that note's page."""
    new_user(main.site, user)
    with api_as(main.site, user) as http:
        added = http.post("/v1/memories/texts", json={"texts": [text]})
    (note,) = added.json()["items"]
    page = main.sign_in(user)
    page.goto(main.site.url + f"#/memory/{note['id']}")
    return page, note


def test_an_edit_over_a_change_made_meanwhile_shows_it_before_saving(tab: Any) -> None:
    main = tab("fay")
    page, note = _a_new_users_note_open(main, "fay", "Water the ferns")
    page.get_by_role("button", name="Edit").click()
    form = page.get_by_role("form", name="Edit memory")
    form.get_by_label("Tags").fill("plants")
    with api_as(main.site, "fay") as http:  # someone else, while the form is open
        http.patch(f"/v1/memories/{note['id']}", json={"content": "Water the ferns daily"})

    form.get_by_role("button", name="Save").click()
    expect(form.get_by_role("alert")).to_contain_text("it is now version 2")
    memory = page.get_by_role("region", name="Memory")
    expect(memory.get_by_text("v2", exact=True)).to_be_visible()
    # the untouched content now shows the other change; the typed tags stay
    expect(form.get_by_label("Content")).to_have_value("Water the ferns daily")
    expect(form.get_by_label("Tags")).to_have_value("plants")
    main.shot("edit-conflict")
    form.get_by_role("button", name="Save").click()
    expect(memory.get_by_text("v3", exact=True)).to_be_visible()
    with api_as(main.site, "fay") as http:
        saved = http.get(f"/v1/memories/{note['id']}").json()
    assert (saved["content"], saved["tags"]) == ("Water the ferns daily", ["plants"])


def test_a_delete_of_a_memory_changed_meanwhile_shows_the_change_first(tab: Any) -> None:
    main = tab("hal")
    page, note = _a_new_users_note_open(main, "hal", "Old gate code 1234")
    memory = page.get_by_role("region", name="Memory")
    expect(memory.get_by_text("v1", exact=True)).to_be_visible()
    with api_as(main.site, "hal") as http:  # someone else, while the page is open
        http.patch(f"/v1/memories/{note['id']}", json={"content": "New gate code 9876"})

    page.once("dialog", lambda dialog: dialog.accept())
    memory.get_by_role("button", name="Delete").click()
    expect(memory.get_by_role("alert")).to_contain_text("Not deleted")
    expect(page.get_by_test_id("item-content")).to_have_text("New gate code 9876")
    main.shot("delete-conflict")
    with api_as(main.site, "hal") as http:
        assert http.get(f"/v1/memories/{note['id']}").status_code == 200
    page.once("dialog", lambda dialog: dialog.accept())
    memory.get_by_role("button", name="Delete").click()
    expect(page).to_have_url(re.compile(r"#/memories"))
    with api_as(main.site, "hal") as http:
        assert http.get(f"/v1/memories/{note['id']}").status_code == 404


def test_a_memory_of_a_window_of_messages_shows_every_speaker_and_its_end(
    tab: Any, embedder: Any
) -> None:
    main = tab("gus")
    new_user(main.site, "gus")
    start = datetime(2025, 6, 1, 9, 0, tzinfo=UTC)
    messages = [
        {"role": "user", "name": "Gus", "content": "Shall we hike on Sunday?", "timestamp": start},
        {"role": "user", "name": "Ida", "content": "Yes, the coastal trail!",
         "timestamp": start + timedelta(minutes=5)},
    ]
    windows = load_settings(reader={"window_size": 2})  # a second process on the same data
    with MemOS.open(main.site.data, embedder=embedder, settings=windows) as writer:
        (window,) = writer.add(messages, user_id="gus")
    page = main.sign_in("gus")
    page.goto(main.site.url + f"#/memory/{window.id}")
    provenance = page.get_by_role("region", name="Provenance")
    expect(provenance).to_contain_text("speakerGus, Ida")
    expect(page.get_by_role("region", name="Time")).to_contain_text("until")
    main.shot("window")


def test_a_read_only_share_offers_no_edit_or_delete(tab: Any) -> None:
    main = tab("cy")
    item = shared_by_bob(main.site, "cy", "recipes", "Slow-cook the beans overnight")
    page = main.sign_in("cy")
    page.goto(main.site.url + f"#/memory/{item['id']}")
    memory = page.get_by_role("region", name="Memory")
    expect(memory.get_by_text("read only")).to_be_visible()
    expect(memory.get_by_role("button", name="Edit")).to_have_count(0)
    expect(memory.get_by_role("button", name="Delete")).to_have_count(0)
    main.shot("read-only")

    with api_as(main.site, "cy") as http:
        (own,) = http.post("/v1/memories/texts", json={"texts": ["Cy's own note"]}).json()["items"]
    page.goto(main.site.url + f"#/memory/{own['id']}")  # cy's own: cy may change it
    expect(memory.get_by_role("button", name="Edit")).to_be_visible()
    expect(memory.get_by_role("button", name="Delete")).to_be_visible()


def test_the_owner_switches_a_shares_access_in_the_table(tab: Any) -> None:
    owner, guest = tab("bob"), tab("dee")
    item = shared_by_bob(owner.site, "dee", "camping", "Pack the tent poles")
    page = owner.sign_in("bob")
    page.get_by_role("link", name="Cubes").click()
    camping = page.get_by_role("listitem").filter(has=page.get_by_role("heading", name="camping"))
    camping.get_by_role("button", name="Sharing").click()
    access = camping.get_by_label("Access of dee")
    expect(access).to_have_value("read")
    with page.expect_response(lambda r: r.request.method == "POST" and "/shares" in r.url):
        access.select_option("write")
    expect(access).to_have_value("write")
    owner.shot("write-access")
    with api_as(owner.site, "bob") as http:
        shares = http.get("/v1/cubes/camping/shares").json()["shares"]
    assert [(s["user_id"], s["access"]) for s in shares] == [("dee", "write")]

    dee = guest.sign_in("dee")
    dee.goto(guest.site.url + f"#/memory/{item['id']}")
    memory = dee.get_by_role("region", name="Memory")
    expect(memory.get_by_role("button", name="Edit")).to_be_visible()


def test_a_failed_request_shows_one_clear_message_and_no_summary(tab: Any) -> None:
    main = tab("ana")
    page = main.sign_in("ana")
    expect(page.get_by_text("4 memories")).to_be_visible()
    alert = page.get_by_role("alert")

    page.route("**/v1/search", lambda r: r.fulfill(status=500, body="Internal Server Error"))
    page.get_by_label("Search memories").fill("tea")
    page.get_by_role("button", name="Search", exact=True).click()
    no_body = "ServerError The server answered HTTP 500 with no explanation; see its log."
    expect(alert).to_have_text(no_body)  # once, not "HTTP 500 HTTP 500"
    expect(page.get_by_text("best match")).to_have_count(0)
    main.shot("server-error")

    page.route(re.compile(r"/v1/memories\?"), lambda r: r.abort("connectionrefused"))
    page.get_by_label("Search memories").fill("")
    page.get_by_role("button", name="Apply").click()
    expect(alert).to_have_text(re.compile("^Cannot reach the server; check that `memosys serve`"))
    expect(page.locator(".summary")).to_have_count(0)  # not "… memories" for ever
    main.shot("network-error")

    page.unroute_all()
    page.goto(main.site.url + "#/memories?cube=nowhere")  # the server's own error, as it words it
    expect(alert).to_contain_text("NotFoundError")
    expect(alert).to_contain_text("nowhere")
    expect(page.locator(".summary")).to_have_count(0)


def test_wording_of_the_sign_in_card_counts_and_an_empty_search(tab: Any) -> None:
    main = tab("ana")
    page = main.open()
    expect(page.locator("form.card")).to_contain_text(
        "Sign in with an API key. Create one with memosys init or memosys user add NAME."
    )
    page = main.sign_in("ana")
    page.get_by_label("Search memories").fill("tea")
    page.get_by_label("Tags (any of)").fill("no-such-tag")
    page.get_by_role("button", name="Search", exact=True).click()
    empty = "Nothing matches “tea”. Try other words or fewer filters."
    expect(page.get_by_text(empty)).to_be_visible()
    expect(page.get_by_text("0 best matches")).to_have_count(0)
    page.goto(main.site.url + f"#/memory/{main.site.ids['standup']}")
    accessed = page.get_by_role("region", name="Overview").locator("dt:text-is('accessed') + dd")
    assert re.fullmatch(r"1 time|(0|[2-9]|\d\d+) times", accessed.inner_text())


def test_stats_count_the_users_own_cubes_not_those_shared_with_it(tab: Any) -> None:
    main = tab("eve")
    new_user(main.site, "eve")
    with api_as(main.site, "eve") as http:
        body = {"texts": ["Eve keeps bees"], "kind": "fact"}
        assert http.post("/v1/memories/texts", json=body).status_code == 201
    with api_as(main.site, "bob") as http:
        body = {"texts": ["The pantry has rice"], "cube": "pantry", "kind": "fact"}
        assert http.post("/v1/memories/texts", json=body).status_code == 201
        share = {"with_user": "eve", "access": "read"}
        assert http.post("/v1/cubes/pantry/shares", json=share).status_code == 201
    page = main.sign_in("eve")
    page.get_by_role("link", name="Stats").click()
    panel = page.get_by_role("region", name="Memories in your own cubes, by kind")
    facts = panel.get_by_role("listitem").filter(has=page.get_by_role("link", name="fact"))
    expect(facts.locator(".count")).to_have_text("1")  # eve's own, not bob's shared one
    expect(panel).to_contain_text("Cubes shared with you are not counted.")


def test_an_invalid_stored_key_on_reload_shows_the_sign_out_notice(tab: Any) -> None:
    main = tab("ana")
    page = main.open()
    page.evaluate("sessionStorage.setItem('memosys.apiKey', 'msk_not-a-real-key')")
    page.reload()
    expect(page.get_by_text("Signed out:")).to_be_visible()
    expect(page.get_by_text("Could not load your account")).to_have_count(0)
    expect(page.get_by_label("API key")).to_be_visible()
