"""The dashboard in headless Chromium against a real server: sign-in, search, detail, sharing."""

from __future__ import annotations

from typing import Any

import httpx
from playwright.sync_api import expect

KEY_STORAGE = "memosys.apiKey"
STANDUP = "The team standup is at 9 on weekdays"
EDITED = "The team standup moved to 9:30 on weekdays"


def test_sign_in_with_an_api_key_and_sign_out(tab: Any) -> None:
    main = tab("ana")
    page = main.open()
    expect(page.get_by_role("button", name="Sign in")).to_be_disabled()
    main.shot("signin")

    page.get_by_label("API key").fill("msk_not-a-real-key")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("AuthenticationError")
    assert page.evaluate(f"sessionStorage.getItem('{KEY_STORAGE}')") is None

    page = main.sign_in("ana")
    expect(page.get_by_test_id("signed-in-user")).to_have_text("ana")
    assert page.evaluate(f"sessionStorage.getItem('{KEY_STORAGE}')") == main.site.keys["ana"]
    page.reload()  # the key survives a reload of the tab
    expect(page.get_by_test_id("signed-in-user")).to_have_text("ana")
    main.shot("signed-in")

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_label("API key")).to_be_visible()
    assert page.evaluate(f"sessionStorage.getItem('{KEY_STORAGE}')") is None


def test_a_revoked_key_signs_the_tab_out(tab: Any) -> None:
    main = tab("ana")
    auth = {"Authorization": f"Bearer {main.site.keys['ana']}"}
    with httpx.Client(base_url=main.site.url, headers=auth, timeout=10.0) as http:
        issued = http.post("/v1/keys", json={"name": "dashboard"}).json()
        page = main.open()
        page.get_by_label("API key").fill(issued["api_key"])
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_test_id("signed-in-user")).to_have_text("ana")
        # the first requests are answered before the key goes
        expect(page.get_by_text("4 memories")).to_be_visible()
        expect(page.get_by_label("Cube").locator("option", has_text="work")).to_have_count(1)
        assert http.delete(f"/v1/keys/{issued['key_id']}").status_code == 204

    page.get_by_role("link", name="Audit log").click()  # the next request is refused
    expect(page.get_by_text("Signed out:")).to_be_visible()
    expect(page.get_by_label("API key")).to_be_visible()
    assert page.evaluate(f"sessionStorage.getItem('{KEY_STORAGE}')") is None
    main.shot("revoked-key")


def test_search_and_filter_memories(tab: Any) -> None:
    main = tab("ana")
    page = main.sign_in("ana")
    cards = page.get_by_role("list", name="Memories").get_by_role("listitem")
    expect(page.get_by_text("4 memories")).to_be_visible()  # Bob's memory is not among them
    expect(cards).to_have_count(4)

    page.get_by_label("Search memories").fill("what does Ana drink in the morning")
    page.get_by_role("button", name="Search", exact=True).click()
    expect(cards.first).to_contain_text("Ana drinks green tea every morning")
    expect(cards.first).to_contain_text("score")
    expect(cards.first).to_contain_text("dense #")  # how the hit was found
    main.shot("search")
    tea = httpx.get(f"{main.site.url}v1/memories/{main.site.ids['tea']}",
                    headers={"Authorization": f"Bearer {main.site.keys['ana']}"}).json()
    assert tea["access_count"] == 0  # browsing is not use: decay and the caps see no access

    page.get_by_label("Search memories").fill("")
    page.get_by_label("Kind").select_option("message")
    page.get_by_label("Tags (any of)").fill("travel")
    page.get_by_role("button", name="Apply").click()
    expect(page.get_by_text("2 memories")).to_be_visible()
    expect(cards).to_have_count(2)
    expect(cards.first).to_contain_text("I am moving to Lisbon in May")
    assert "kind=message" in page.url and "tags=travel" in page.url

    page.get_by_role("button", name="Clear").click()
    expect(page.get_by_text("4 memories")).to_be_visible()  # cleared: the form is reset
    page.get_by_label("Cube").select_option(label="work")
    page.get_by_label("Session").fill("")
    page.get_by_role("button", name="Apply").click()
    expect(page.get_by_text("2 memories")).to_be_visible()
    expect(cards.filter(has_text="standup")).to_have_count(1)

    page.get_by_label("Search memories").fill("locker code")
    page.get_by_label("Cube").select_option(label="Your own cubes")
    page.get_by_role("button", name="Search", exact=True).click()
    expect(page.get_by_text("for “locker code”")).to_be_visible()
    expect(cards.filter(has_text="locker")).to_have_count(0)  # Bob's memory stays his
    main.shot("filtered")


def test_time_filter_and_an_admins_user_filter(tab: Any) -> None:
    main = tab("admin")
    page = main.sign_in("admin")
    expect(page.get_by_test_id("signed-in-user")).to_have_text("admin · admin")
    page.get_by_label("User").fill("bob")
    page.get_by_role("button", name="Apply").click()
    cards = page.get_by_role("list", name="Memories").get_by_role("listitem")
    expect(cards).to_have_count(1)
    expect(cards.first).to_contain_text("Bob's locker code is 4711")
    main.shot("user-bob")

    page.get_by_label("From", exact=True).fill("2999-01-01")  # nothing was recorded after this day
    page.get_by_role("button", name="Apply").click()
    expect(page.get_by_text("0 memories")).to_be_visible()
    page.get_by_label("From", exact=True).fill("")
    page.get_by_label("To", exact=True).fill("2999-01-01")
    page.get_by_role("button", name="Apply").click()
    expect(cards).to_have_count(1)

    cards.first.get_by_role("link").click()  # the detail page acts for bob too
    expect(page.get_by_test_id("item-content")).to_have_text("Bob's locker code is 4711")
    expect(page.get_by_role("region", name="Overview")).to_contain_text("bob")


def test_item_detail_shows_content_metadata_provenance_and_history(tab: Any) -> None:
    main = tab("ana")
    page = main.sign_in("ana")
    page.get_by_role("link").filter(has_text="Ana drinks green tea").click()

    expect(page.get_by_test_id("item-content")).to_have_text("Ana drinks green tea every morning")
    assert main.site.ids["tea"] in page.url
    overview = page.get_by_role("region", name="Overview")
    expect(overview).to_contain_text(main.site.ids["tea"])
    expect(overview.get_by_role("link", name="work")).to_be_visible()
    expect(page.get_by_role("region", name="Provenance")).to_contain_text("api")
    expect(page.get_by_role("region", name="Your metadata")).to_contain_text('"source": "crm"')
    expect(page.get_by_role("region", name="Audit trail")).to_contain_text("memory.add")
    versions = page.get_by_role("region", name="Versions")
    only = versions.get_by_role("listitem")
    expect(only).to_have_count(1)
    expect(only).to_contain_text("v1")
    expect(only).to_contain_text("current")
    main.shot("fact")

    page.goto(main.site.url + f"#/memory/{main.site.ids['lisbon']}")
    provenance = page.get_by_role("region", name="Provenance")
    expect(provenance.get_by_role("link", name="trip-1")).to_be_visible()
    expect(provenance).to_contain_text("Ana")
    expect(provenance).to_contain_text("conversation")
    main.shot("message")

    page.goto(main.site.url + f"#/memory/{main.site.ids['locker']}")  # Bob's: not found for Ana
    expect(page.get_by_role("alert")).to_contain_text("NotFoundError")


def test_edit_a_memory_and_restore_its_first_version(tab: Any) -> None:
    main = tab("ana")
    page = main.sign_in("ana")
    page.goto(main.site.url + f"#/memory/{main.site.ids['standup']}")
    expect(page.get_by_test_id("item-content")).to_have_text(STANDUP)

    page.get_by_role("button", name="Edit").click()
    form = page.get_by_role("form", name="Edit memory")
    form.get_by_label("Content").fill(EDITED)
    form.get_by_label("Tags").fill("work, meetings")
    form.get_by_role("button", name="Save").click()

    expect(page.get_by_test_id("item-content")).to_have_text(EDITED)
    memory = page.get_by_role("region", name="Memory")
    expect(memory.get_by_text("v2", exact=True)).to_be_visible()
    expect(memory.get_by_text("meetings", exact=True)).to_be_visible()
    expect(page.get_by_role("region", name="Audit trail")).to_contain_text("memory.update")
    versions = page.get_by_role("region", name="Versions")
    entries = versions.get_by_role("listitem")
    expect(entries).to_have_count(2)  # newest first
    expect(entries.nth(0)).to_contain_text("v2")
    expect(entries.nth(0)).to_contain_text("changed content, tags")
    expect(entries.nth(1)).to_contain_text("v1")
    expect(entries.nth(1)).to_contain_text(STANDUP)
    main.shot("edited")

    versions.get_by_role("button", name="Restore version 1").click()  # a new version, v3
    expect(page.get_by_test_id("item-content")).to_have_text(STANDUP)
    expect(entries).to_have_count(3)
    expect(entries.nth(0)).to_contain_text("v3")
    expect(entries.nth(0)).to_contain_text("current")
    main.shot("restored")

    page.get_by_role("button", name="Edit").click()
    form.get_by_label("Content").fill("   ")
    expect(form.get_by_role("button", name="Save")).to_be_disabled()
    form.get_by_role("button", name="Cancel").click()
    expect(page.get_by_test_id("item-content")).to_have_text(STANDUP)


def test_share_a_cube_read_only_then_revoke(tab: Any) -> None:
    owner, guest = tab("ana"), tab("bob")
    page = owner.sign_in("ana")
    page.get_by_role("link", name="Cubes").click()
    work = page.get_by_role("listitem").filter(has=page.get_by_role("heading", name="work"))
    work.get_by_role("button", name="Sharing").click()
    expect(work.get_by_text("Not shared with anyone.")).to_be_visible()
    work.get_by_label("Share with user").fill("bob")
    work.get_by_label("Access").select_option("read")
    work.get_by_role("button", name="Share", exact=True).click()
    shares = work.get_by_role("table", name="Shares of work")
    expect(shares.get_by_role("row").filter(has_text="bob")).to_contain_text("read")
    owner.shot("shared")

    bob = guest.sign_in("bob")
    bob.get_by_role("link", name="Cubes").click()
    shared = bob.get_by_role("listitem").filter(has=bob.get_by_role("heading", name="work"))
    expect(shared).to_contain_text("shared by ana")
    expect(shared.get_by_role("button", name="Sharing")).to_have_count(0)
    shared.get_by_role("link", name="Browse").click()
    expect(bob.get_by_text("2 memories")).to_be_visible()
    guest.shot("guest-browse")

    shares.get_by_role("button", name="Stop sharing with bob").click()
    expect(work.get_by_text("Not shared with anyone.")).to_be_visible()
    bob.get_by_role("link", name="Cubes").click()
    bob.reload()
    expect(bob.get_by_role("heading", name="private")).to_be_visible()
    expect(bob.get_by_role("heading", name="work")).to_have_count(0)
    owner.shot("revoked")


def test_create_a_key_use_it_and_revoke_it(tab: Any) -> None:
    owner, other = tab("ana"), tab("laptop")
    page = owner.sign_in("ana")
    page.get_by_role("link", name="Keys").click()
    page.get_by_label("New key name").fill("laptop")
    page.get_by_role("button", name="Create key").click()
    issued = page.get_by_test_id("issued-key")
    expect(issued).to_contain_text("msk_")
    key = issued.inner_text()
    keys = page.get_by_role("table", name="API keys")
    expect(keys.get_by_role("row").filter(has_text="laptop")).to_contain_text("active")
    owner.shot("created")

    laptop = other.open()
    laptop.get_by_label("API key").fill(key)
    laptop.get_by_role("button", name="Sign in").click()
    expect(laptop.get_by_test_id("signed-in-user")).to_have_text("ana")
    laptop.get_by_role("button", name="Sign out").click()

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Revoke laptop").click()
    expect(keys.get_by_role("row").filter(has_text="laptop")).to_contain_text("revoked")
    laptop.get_by_label("API key").fill(key)
    laptop.get_by_role("button", name="Sign in").click()
    expect(laptop.get_by_role("alert")).to_contain_text("AuthenticationError")
    owner.shot("revoked")


def test_audit_log_chain_status_and_stats(tab: Any) -> None:
    main = tab("ana")
    page = main.sign_in("ana")
    page.get_by_role("link", name="Audit log").click()
    chain = page.get_by_role("status").filter(has_text="Chain intact")
    expect(chain).to_be_visible()
    expect(chain).not_to_contain_text("records")  # the log's size is for admins only
    records = page.get_by_role("table", name="Audit records")
    expect(records.get_by_role("row").filter(has_text="memory.add").first).to_be_visible()
    page.get_by_label("Action").select_option("cube.create")
    page.get_by_role("button", name="Apply").click()
    expect(records.get_by_role("row").filter(has_text="memory.add")).to_have_count(0)
    expect(records.get_by_role("row").filter(has_text="cube.create").first).to_be_visible()
    main.shot("audit")

    texts = {"texts": ["Paging note one", "Paging note two", "Paging note three"]}
    added = httpx.post(f"{main.site.url}v1/memories/texts", json=texts,
                       headers={"Authorization": f"Bearer {main.site.keys['ana']}"})
    assert added.status_code == 201  # three more records: more than one page of two
    page.goto(main.site.url + "#/audit?limit=2")  # pages of two records
    older_button = page.get_by_role("button", name="Older records")
    expect(older_button).to_be_visible()  # shown once the first page has loaded
    seqs = records.locator("tbody tr td:first-child")
    expect(seqs).to_have_count(2)
    newest = [int(s) for s in seqs.all_inner_texts()]
    older_button.click()
    expect(page.get_by_role("button", name="Newest records")).to_be_visible()
    page.wait_for_function(  # the next page's rows are in (the old ones stay a moment)
        "(top) => { const cell = document.querySelector("
        "'table[aria-label=\"Audit records\"] tbody td'); "
        "return cell !== null && Number(cell.textContent) < top; }",
        arg=min(newest),
    )
    older = [int(s) for s in seqs.all_inner_texts()]
    assert older and max(older) < min(newest)

    page.get_by_role("link", name="Stats").click()
    system = page.get_by_role("region", name="System")
    expect(system).to_contain_text("items")
    expect(system).not_to_contain_text("users")  # ana's own figures, not the server's
    by_kind = page.get_by_role("list", name="Memories by kind")
    expect(by_kind.get_by_role("listitem").filter(has_text="fact")).to_contain_text("2")
    page.get_by_role("button", name="Theme: auto").click()
    expect(page.locator("html")).to_have_attribute("data-theme", "dark")
    main.shot("stats-dark")
