"""The phone's queue in a real browser: a photo on a slow uplink is sent once, by the service worker while other
pages open, resumed from the server's offset when the connection drops (and by the next page without a worker); the
queue survives (exported to a file, the browser's data cleared, imported back: each entry stored once), warns when
entries have waited more than a day, and the sign-in page says how many entries wait for a session that ended."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest

from fieldlog import uploads
from fieldlog.db import scalar
from tests.conftest import browser_login, emulate_network
from tests.factories import SITE_AT, TZ, camera_photo, site
from tests.test_browser_log import (
    fill_leaflets,
    queued,
    ready_for_offline,
    wait_for,
    wait_js,
)

pytestmark = pytest.mark.browser

SLOW_UPLINK = {"offline": False, "latency": 50, "downloadThroughput": 700_000 / 8, "uploadThroughput": 160_000 / 8}


@pytest.fixture(scope="module")
def camera() -> bytes:
    """A 3 MB, 4000 x 3000 camera photo (the phone shrinks it before queueing)."""
    return camera_photo()


def uploads_on_server(cfg) -> list[dict]:
    """The partial uploads the server holds: sidecar counters and the bytes received so far."""
    folder = uploads.folder(cfg.media_dir)
    out = []
    for side in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            info = json.loads(side.read_text(encoding="utf-8"))
        except ValueError:
            continue  # being rewritten
        part = side.with_suffix(".part")
        out.append({**info, "held": part.stat().st_size if part.exists() else 0})
    return out


def save_patrol_with_photo(page, base: str, site_id: int, photo: bytes) -> str:
    page.goto(f"{base}/log/safety_patrol")
    page.click(f"label.pick:has(input[value='site:{site_id}'])")
    page.click(".seg label:has-text('无')")
    page.set_input_files("#photos", files=[{"name": "IMG_0001.jpg", "mimeType": "image/jpeg", "buffer": photo}])
    page.wait_for_selector("#thumbs img")
    page.click("#save-btn")
    page.wait_for_url("**/log?saved=*", timeout=15000)
    return page.url.split("saved=")[1]


def photo_puts(seen) -> list[dict]:
    """The upload API's PUTs that reached the server (from the page or its service worker), with their offsets."""
    return [{**r, "offset": int(re.search(r"offset=(\d+)", r["query"]).group(1))}
            for r in seen if r["method"] == "PUT" and "/uploads/" in r["path"]]


def stored_once(db, cfg, event_id: str, seen, size: int) -> list[dict]:
    """The server holds exactly one photo for the event, whole (the bytes whose SHA-256 the phone addressed it by,
    1600 px); every body byte it received for it, resent ones included, is at most 1.05 x the photo's size; no
    partial upload is left. The PUTs that reached it."""
    wait_for(lambda: scalar(db, "SELECT count(*) FROM event_photos WHERE event_id = ?", [event_id]) == 1, timeout=60)
    puts = wait_for(lambda: [p for p in photo_puts(seen) if p["status"]] == photo_puts(seen) and photo_puts(seen), 20)
    [(sha, width)] = db.execute("SELECT sha256, width FROM event_photos WHERE event_id = ?", [event_id]).fetchall()
    assert {p["path"].rsplit("/", 1)[1] for p in puts} == {sha} and width == 1600
    received = sum(p["body"] for p in puts)
    assert size <= received <= size * 1.05, (received, size, [(p["offset"], p["body"]) for p in puts])
    assert uploads_on_server(cfg) == [] and scalar(db, "SELECT count(*) FROM event_photos") == 1
    return puts


def test_a_photo_goes_on_in_the_service_worker_while_another_page_opens(phone, recorded_server, users, db, cfg, camera):
    base, seen = recorded_server
    site_id = site(db, name="衡东县城关镇安置小区", reg_no="Q-1", location=SITE_AT)
    page = phone.new_page()
    ready_for_offline(page, base, "alice")
    assert emulate_network(page, base, SLOW_UPLINK)  # the worker's uploads too
    event_id = save_patrol_with_photo(page, base, site_id, camera)
    # Saved and on /log at once; the photo goes on from there, slowly.
    assert scalar(db, "SELECT count(*) FROM events WHERE id = ?", [event_id]) == 1
    held = wait_for(lambda: [u for u in uploads_on_server(cfg) if u["held"] > 30_000], timeout=30)[0]
    size = held["size"]
    assert 120_000 <= size <= 300_000, size  # shrunk on the phone from 3 MB
    # The inspector opens other pages midway: the upload belongs to the worker, not to the page.
    page.goto(f"{base}/events/mine")
    page.goto(f"{base}/log")
    puts = stored_once(db, cfg, event_id, seen, size)
    assert [p["offset"] for p in puts] == [0]  # one request, never cut off by a page
    wait_js(page, "fieldlogQueue.all().then(rs => rs.length === 0)")
    page.wait_for_selector("#queue", state="hidden")  # shown only with entries


def test_a_photo_cut_off_by_the_network_resumes_from_the_servers_offset(phone, cuttable_server, users, db, cfg, camera):
    base, seen, proxy = cuttable_server
    site_id = site(db, name="衡东县吴集镇中学", reg_no="Q-3", location=SITE_AT)
    page = phone.new_page()
    ready_for_offline(page, base, "alice")
    emulate_network(page, base, SLOW_UPLINK)
    event_id = save_patrol_with_photo(page, base, site_id, camera)
    size = wait_for(lambda: [u for u in uploads_on_server(cfg) if u["held"] > 40_000], timeout=30)[0]["size"]
    phone.set_offline(True)  # the signal drops midway (for the page and its worker): nothing new gets out,
    proxy.cut()  # and the connection under way is gone (a retry finds no network either)
    page.wait_for_selector("#offline-banner:visible")
    page.wait_for_timeout(1500)
    [kept] = [u["held"] for u in uploads_on_server(cfg)]  # what arrived before the drop is kept
    assert 0 < kept < size and scalar(db, "SELECT count(*) FROM event_photos") == 0
    proxy.restore()
    phone.set_offline(False)  # back: `online` makes the page ask the worker, which asks the offset and sends the rest
    page.wait_for_selector("#offline-banner", state="hidden")
    puts = stored_once(db, cfg, event_id, seen, size)
    offsets = [p["offset"] for p in puts]
    assert offsets[0] == 0 and len(offsets) >= 2 and offsets[-1] >= kept, (offsets, kept)


def test_without_a_service_worker_the_next_page_resumes_the_photo(browser, recorded_server, users, db, cfg, camera):
    base, seen = recorded_server
    site_id = site(db, name="衡东县城关镇安置小区", reg_no="Q-4", location=SITE_AT)
    context = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True,
                                  locale="zh-CN", timezone_id="Asia/Shanghai", service_workers="block")
    try:
        page = context.new_page()
        browser_login(page, base, "alice")
        emulate_network(page, base, SLOW_UPLINK)
        event_id = save_patrol_with_photo(page, base, site_id, camera)
        held = wait_for(lambda: [u for u in uploads_on_server(cfg) if u["held"] > 30_000], timeout=30)[0]
        page.goto(f"{base}/events/mine")  # this page's upload is cut off; the next page resumes it
        puts = stored_once(db, cfg, event_id, seen, held["size"])
        offsets = [p["offset"] for p in puts]
        assert len(offsets) >= 2 and offsets[0] == 0 and offsets[-1] >= held["held"], offsets
    finally:
        context.close()


def test_export_clear_import_sends_each_entry_once(phone, live_server, users, db, cfg, camera):
    site_id = site(db, name="衡东县吴集镇卫生院", reg_no="Q-2", location=SITE_AT)
    page = phone.new_page()
    ready_for_offline(page, live_server, "bob")
    phone.set_offline(True)
    fill_leaflets(page, live_server, "城关镇集市", "120")
    save_patrol_with_photo(page, live_server, site_id, camera)
    page.wait_for_selector("#queue .queue-count:text-is('2')")
    with page.expect_download() as info:
        page.click("#queue-export")
    download = info.value
    assert download.suggested_filename == f"待发送记录-{datetime.now(TZ).date().isoformat()}.json"  # the phone's day
    exported = download.path().read_bytes()
    doc = json.loads(exported)
    assert doc["format"] == "fieldlog-queue" and len(doc["entries"]) == 2
    assert sum(len(e["photos"]) for e in doc["entries"]) == 1
    assert "已导出 2 条记录" in page.text_content("#queue-status")
    ids = sorted(e["id"] for e in doc["entries"])
    # The browser's data is cleared (what a "clear site data" or a new phone amounts to).
    page.evaluate("new Promise(ok => { const r = indexedDB.deleteDatabase('fieldlog-queue'); r.onsuccess = r.onerror = ok; })")
    page.reload()
    page.wait_for_selector("#queue", state="hidden")  # shown only with entries
    # A malformed file is refused, in Chinese, and nothing is added.
    page.set_input_files("#queue-import", files=[{"name": "x.json", "mimeType": "application/json", "buffer": b'{"entries": 3}'}])
    page.wait_for_selector("#queue-status:has-text('不是有效的待发送记录导出文件')")
    broken = json.dumps({**doc, "entries": [{**doc["entries"][0], "id": "not-a-uuid"}]}).encode()
    page.set_input_files("#queue-import", files=[{"name": "y.json", "mimeType": "application/json", "buffer": broken}])
    page.wait_for_selector("#queue-status:has-text('不是有效的待发送记录导出文件')")
    assert queued(page) == []
    page.set_input_files("#queue-import", files=[{"name": download.suggested_filename, "mimeType": "application/json",
                                                   "buffer": exported}])
    page.wait_for_selector("#queue-status:has-text('已导入 2 条记录')")
    page.set_input_files("#queue-import", files=[{"name": "again.json", "mimeType": "application/json", "buffer": exported}])
    page.wait_for_selector("#queue-status:has-text('已导入 0 条记录。2 条已在待发送队列中')")
    assert sorted(r["id"] for r in queued(page)) == ids
    # Back online, the page sends them by itself (its `online` listener): a click on 立即发送 here would race that
    # and find the button gone with the emptied queue (it failed CI that way).
    phone.set_offline(False)
    wait_for(lambda: scalar(db, "SELECT count(*) FROM event_photos") == 1, timeout=60)
    page.wait_for_selector("#queue", state="hidden", timeout=30000)
    # Imported once more after they were sent (the same file on another phone): the server has them, nothing doubles.
    page.set_input_files("#queue-import", files=[{"name": "late.json", "mimeType": "application/json", "buffer": exported}])
    page.wait_for_selector("#queue-status:has-text('已导入 2 条记录')")
    # Online, the import sends them at once (the queue, shown only with entries, may be gone before a tap).
    wait_js(page, "fieldlogQueue.all().then(rs => rs.length === 0)", timeout=30)
    page.wait_for_selector("#queue", state="hidden", timeout=30000)
    assert sorted(r[0] for r in db.execute("SELECT id FROM events").fetchall()) == ids
    assert scalar(db, "SELECT count(*) FROM event_photos") == 1


def test_entries_waiting_more_than_a_day_are_pointed_out(phone, live_server, users, db):
    page = phone.new_page()
    ready_for_offline(page, live_server, "alice")
    phone.set_offline(True)
    fill_leaflets(page, live_server, "霞流镇集市", "40")
    page.wait_for_selector("#queue .queue-count:text-is('1')")
    assert page.is_hidden("#queue-stale")  # made a moment ago
    [entry] = queued(page)
    old = (datetime.now(UTC) - timedelta(hours=25)).isoformat()
    page.evaluate("([id, at]) => fieldlogQueue.get(id).then(r => { r.createdAt = at; return fieldlogQueue.put(r); })",
                  [entry["id"], old])
    page.reload()
    page.wait_for_selector("#queue-stale:has-text('已等待超过一天')")
    assert page.text_content("#queue-stale .stale-count") == "1"


def test_the_sign_in_page_counts_the_entries_waiting_for_a_session(phone, live_server, users, db, clock):
    page = phone.new_page()
    page.goto(f"{live_server}/login")
    page.wait_for_load_state("load")
    assert page.is_hidden("#queue-waiting")  # nothing waits on this phone
    ready_for_offline(page, live_server, "bob")
    phone.set_offline(True)
    fill_leaflets(page, live_server, "杨林镇集市", "30")
    fill_leaflets(page, live_server, "新塘镇集市", "20")
    db.execute("UPDATE sessions SET ended_at = ? WHERE ended_at IS NULL", [clock().isoformat(timespec="seconds")])
    phone.set_offline(False)
    page.wait_for_selector("#queue-list li.q-auth", timeout=20000)
    assert page.get_attribute("#queue-list a:has-text('重新登录')", "href") == "/login?next=/log"
    page.goto(f"{live_server}/login?next=/log")
    page.wait_for_selector("#queue-waiting:has-text('登录后将自动发送')")
    assert page.text_content("#queue-waiting .queue-count") == "2"
    assert page.text_content("#queue-waiting .queue-users") == "bob"
    assert scalar(db, "SELECT count(*) FROM events") == 0
    page.fill("input[name=username]", "bob")
    page.fill("input[name=password]", "correct-horse-battery")
    page.click("button[type=submit]")
    wait_for(lambda: scalar(db, "SELECT count(*) FROM events") == 2, timeout=30)


def test_persistent_storage_is_asked_for_and_its_answer_shown(phone, live_server, users, db):
    page = phone.new_page()
    browser_login(page, live_server, "alice")
    page.goto(f"{live_server}/log")
    page.wait_for_selector("#storage-granted:visible, #storage-denied:visible")
    granted = page.evaluate("navigator.storage.persisted()")
    assert page.is_visible("#storage-granted") is granted and page.is_visible("#storage-denied") is not granted


def test_queue_writes_ask_for_strict_durability(phone, live_server, users, db):
    # Recorded from inside the page: the options every IndexedDB transaction of the queue is opened with.
    # Kept in sessionStorage: the entry is written on the form page, which then gives way to /log.
    phone.add_init_script("""(() => { const open = IDBDatabase.prototype.transaction;
      IDBDatabase.prototype.transaction = function (stores, mode, options) {
        const seen = JSON.parse(sessionStorage.getItem('modes') || '[]');
        seen.push([mode || 'readonly', (options && options.durability) || 'default']);
        sessionStorage.setItem('modes', JSON.stringify(seen));
        return open.apply(this, arguments); }; })()""")
    page = phone.new_page()
    ready_for_offline(page, live_server, "alice")
    phone.set_offline(True)
    fill_leaflets(page, live_server, "城关镇集市", "10")
    modes = page.evaluate("JSON.parse(sessionStorage.getItem('modes') || '[]')")
    writes = [d for m, d in modes if m == "readwrite"]
    assert writes and set(writes) == {"strict"}, modes
    assert page.evaluate("fieldlogQueue.all().then(rs => rs.length)") == 1
