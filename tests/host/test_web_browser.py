"""The installer's page and the simulator's front page in a real browser
(Debian's headless Chromium through Selenium) against `make run`'s panel and
adapter emulator. Each step checks the panel's API or the emulator afterwards,
not only what the page shows. Screenshots of each screen at 360 and 1280 px
go to build/screenshots/."""

import json
import os
import shutil
import time
import urllib.request

import pytest

from support.panel_process import PanelProcess

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHOTS = os.path.join(ROOT, "build", "screenshots")
CHROMIUM = shutil.which("chromium")
DRIVER = shutil.which("chromedriver")

try:
    from selenium import webdriver
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait
except ImportError:  # a developer's venv without selenium: skip as sipp's tests do
    webdriver = None

if webdriver is None or CHROMIUM is None or DRIVER is None:
    if os.environ.get("CI"):
        raise RuntimeError("CI: selenium or chromium missing (make browser installs them)")
    pytest.skip("selenium or chromium not installed (make browser)", allow_module_level=True)


def emulator_port(data_dir):
    with open(os.path.join(data_dir, "adapter-emulator.log")) as handle:
        for line in handle:
            if line.startswith("{"):
                return json.loads(line)["http_port"]
    raise AssertionError("no emulator announcement")


def emulator(port, path):
    with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path), timeout=5) as response:
        return json.loads(response.read())


def wait_until(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("not reached in %s s" % timeout)


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    data = tmp_path_factory.mktemp("web")
    panel = PanelProcess(data, extra_args=["--sip-port", "0", "--adapter-http-port", "0"]).start()
    control = emulator_port(str(data))
    wait_until(lambda: panel.request("GET", "/api/info", auth=None).json["hybrid_enable"])
    yield panel, control
    panel.stop()


@pytest.fixture(scope="module")
def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--lang=en-US"):
        options.add_argument(argument)
    options.add_argument("--disable-dev-shm-usage")
    options.add_experimental_option("prefs", {"intl.accept_languages": "en-US"})
    driver = webdriver.Chrome(
        service=webdriver.ChromeService(executable_path=DRIVER), options=options
    )
    driver.set_window_size(1280, 900)
    os.makedirs(SHOTS, exist_ok=True)
    yield driver
    driver.quit()


def shoot(driver, name):
    """The whole page at 360 and 1280 px wide, then back to 1280."""
    for width in (360, 1280):
        driver.set_window_size(width, 900)
        height = driver.execute_script("return document.documentElement.scrollHeight")
        driver.set_window_size(width, min(max(height + 120, 600), 4000))
        driver.execute_script("window.scrollTo(0, 0)")
        driver.save_screenshot(os.path.join(SHOTS, "%s-%d.png" % (name, width)))
    driver.set_window_size(1280, 900)


def by_id(driver, element_id):
    return driver.find_element(By.ID, element_id)


def text_of(driver, element_id, wanted, timeout=10):
    WebDriverWait(driver, timeout).until(lambda d: wanted in by_id(d, element_id).text)
    return by_id(driver, element_id).text


def tab(driver, name):
    driver.find_element(By.CSS_SELECTOR, '[data-tab="%s"]' % name).click()


def log_keys(panel, name):
    reply = panel.request(
        "GET", "/api/v1/log/items?limit=100&filter=" + "name%20eq%20%27" + name + "%27"
    )
    return reply.json["list_items"]


def test_installer_page_flow(stack, browser):
    panel, _ = stack
    url = "http://127.0.0.1:%d" % panel.port
    browser.get(url + "/")
    shoot(browser, "login")
    # Log in: md5 in the page, a token in sessionStorage, never the password.
    by_id(browser, "login-password").send_keys("123456")
    by_id(browser, "login-submit").click()
    WebDriverWait(browser, 10).until(lambda d: by_id(d, "app-view").is_displayed())
    stored = browser.execute_script("return JSON.stringify(sessionStorage)")
    assert "123456" not in stored and "e10adc39" not in stored.lower()
    token = browser.execute_script("return sessionStorage.getItem('token')")
    assert len(token) == 40
    assert panel.request("GET", "/api/v1/forward/mode", auth="Bearer " + token).status == 200
    assert log_keys(panel, "successful_login_api_call")
    text_of(browser, "status-list", "IP-PANEL-HOST")
    text_of(browser, "status-list", "connected")  # the emulator's adapter
    shoot(browser, "status")

    # An apartment: a bad target shows the API's own message and stores nothing.
    tab(browser, "apartments")
    by_id(browser, "apartment-number").send_keys("23")
    targets = browser.find_elements(By.CSS_SELECTOR, "#apartment-targets input")
    targets[0].send_keys("sip:101@localhost")
    by_id(browser, "apartment-save").click()
    assert text_of(browser, "apartment-error", "Wrong number") == "Wrong number"
    assert panel.request("GET", "/api/v1/forward/item/23").status == 404
    shoot(browser, "apartment-error")
    targets[0].clear()
    targets[0].send_keys("sip:101@127.0.0.1")
    by_id(browser, "apartment-add-target").click()
    browser.find_elements(By.CSS_SELECTOR, "#apartment-targets input")[1].send_keys("laskomex:23")
    by_id(browser, "apartment-save").click()
    WebDriverWait(browser, 10).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, '#apartment-rows tr[data-number="23"]')
    )
    stored = panel.request("GET", "/api/v1/forward/item/23").json
    assert stored["forward_entity_list"] == ["sip:101@127.0.0.1", "laskomex:23"]
    # Edit it: move the analog handset first, add a Vizit one.
    row = browser.find_element(By.CSS_SELECTOR, '#apartment-rows tr[data-number="23"]')
    row.find_element(By.CSS_SELECTOR, "button").click()
    up = browser.find_elements(By.CSS_SELECTOR, "#apartment-targets li")[1]
    up.find_element(By.CSS_SELECTOR, "button").click()
    by_id(browser, "apartment-add-target").click()
    browser.find_elements(By.CSS_SELECTOR, "#apartment-targets input")[2].send_keys("vizit:7")
    by_id(browser, "apartment-save").click()
    wait_until(
        lambda: (
            panel.request("GET", "/api/v1/forward/item/23").json["forward_entity_list"]
            == ["laskomex:23", "sip:101@127.0.0.1", "vizit:7"]
        )
    )
    text_of(browser, "apartment-rows", "laskomex:23, sip:101@127.0.0.1, vizit:7")
    shoot(browser, "apartments")

    # A redirect rule with a schedule from the week view: Monday 09:00-11:00.
    tab(browser, "redirects")
    by_id(browser, "redirect-title").send_keys("Flat 23 mornings")
    Select(by_id(browser, "redirect-type")).select_by_value("noanswer")
    by_id(browser, "redirect-filter").send_keys("23")
    by_id(browser, "redirect-tran").send_keys("vizit:7")
    for hour in (9, 10):
        browser.find_element(By.CSS_SELECTOR, '#week [data-hour="%d"]' % hour).click()
    assert by_id(browser, "redirect-schedule").get_attribute("value") == "custom"
    by_id(browser, "redirect-save").click()
    rules = wait_until(lambda: panel.request("GET", "/rest/v1/uc/redirectrules").json)
    assert len(rules) == 1
    rule = panel.request("GET", "/rest/v1/uc/redirectrules/" + rules[0]["id"]).json
    assert rule["schedule"] == "custom" and rule["type"] == "noanswer"
    assert rule["periods"] == [{"daystart": 1, "timestart": 540, "daystop": 1, "timestop": 660}]
    assert rule["opts"]["title"] == "Flat 23 mornings"
    # Disable it from the list.
    box = WebDriverWait(browser, 10).until(
        lambda d: d.find_element(
            By.CSS_SELECTOR, '#redirect-rows tr[data-id="%s"] input' % rule["id"]
        )
    )
    box.click()
    wait_until(
        lambda: panel.request("GET", "/rest/v1/uc/redirectrules/" + rule["id"]).json["enabled"] == 0
    )
    shoot(browser, "redirects")

    # Open lock 1 from the page: the simulated relay sees it.
    tab(browser, "doors")
    before = panel.request("GET", "/sim/locks", auth=None).json["locks"][0]["openings"]
    WebDriverWait(browser, 10).until(lambda d: by_id(d, "open-lock-1")).click()
    text_of(browser, "notice", "1")
    locks = panel.request("GET", "/sim/locks", auth=None).json["locks"]
    assert locks[0]["openings"] == before + 1
    assert log_keys(panel, "access_granted_by_api_call")
    shoot(browser, "doors")

    tab(browser, "settings")
    WebDriverWait(browser, 10).until(lambda d: by_id(d, "talk-timeout").get_attribute("value"))
    talk = by_id(browser, "talk-timeout")
    talk.clear()
    talk.send_keys("5")  # below the API's 10..600
    talk.submit()
    assert "talk_timeout" in text_of(browser, "timeouts-error", "talk_timeout")
    talk.clear()
    talk.send_keys("120")
    talk.submit()
    wait_until(
        lambda: panel.request("GET", "/api/v1/device/call/talk/timeout").json["talk_timeout"] == 120
    )
    shoot(browser, "settings")

    # The language follows the switch (and the page's own text only).
    Select(by_id(browser, "lang")).select_by_value("ru")
    assert browser.find_element(By.CSS_SELECTOR, '[data-tab="apartments"]').text == "Квартиры"
    assert browser.execute_script("return document.documentElement.lang") == "ru"
    shoot(browser, "settings-ru")
    Select(by_id(browser, "lang")).select_by_value("en")
    assert browser.find_element(By.CSS_SELECTOR, '[data-tab="apartments"]').text == "Apartments"


def test_sim_front_dial_ring_answer_door(stack, browser):
    panel, control = stack
    url = "http://127.0.0.1:%d" % panel.port
    panel.request("POST", "/api/v1/forward/item/23", {"forward_entity_list": ["laskomex:23"]})
    browser.get(url + "/sim/")
    WebDriverWait(browser, 10).until(lambda d: "plugged" in by_id(d, "adapter-summary").text)
    shoot(browser, "sim-idle")
    for key in "23#":
        browser.find_element(By.CSS_SELECTOR, '#keys [data-key="%s"]' % key).click()
    tile = WebDriverWait(browser, 10).until(
        lambda d: d.find_element(By.CSS_SELECTOR, '.handset.ringing[data-line="laskomex:23"]')
    )
    assert emulator(control, "/lines/laskomex:23")["state"] == "ringing"
    assert panel.request("GET", "/sim/call", auth=None).json["state"] == "ringing"
    shoot(browser, "sim-ringing")
    tile.find_element(By.CSS_SELECTOR, '[data-action="answer"]').click()
    wait_until(lambda: emulator(control, "/lines/laskomex:23")["state"] == "talking")
    wait_until(
        lambda: panel.request("GET", "/sim/call", auth=None).json["answered_by"] == "laskomex:23"
    )
    # Lock 1 closed again after the other test opened it (its 5 s open time).
    wait_until(
        lambda: panel.request("GET", "/sim/locks", auth=None).json["locks"][0]["state"] == "closed"
    )
    before = panel.request("GET", "/sim/locks", auth=None).json["locks"][0]["openings"]
    door = WebDriverWait(browser, 10).until(
        lambda d: d.find_element(
            By.CSS_SELECTOR, '.handset.talking[data-line="laskomex:23"] [data-action="door_button"]'
        )
    )
    shoot(browser, "sim-talking")
    door.click()
    wait_until(
        lambda: panel.request("GET", "/sim/locks", auth=None).json["locks"][0]["openings"] > before
    )
    WebDriverWait(browser, 10).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, '#leds [data-state="open"]')
    )
    assert panel.request("GET", "/sim/call", auth=None).json["door_openings"]
    shoot(browser, "sim-door-open")
    hang_up = WebDriverWait(browser, 10).until(
        lambda d: d.find_element(
            By.CSS_SELECTOR, '[data-line="laskomex:23"] [data-action="hang_up"]'
        )
    )
    hang_up.click()
    wait_until(lambda: panel.request("GET", "/sim/call", auth=None).json["state"] == "idle")

    # The call from the keypad is in the installer page's call log.
    browser.get(url + "/")
    WebDriverWait(browser, 10).until(lambda d: by_id(d, "app-view").is_displayed())
    tab(browser, "log")
    rows = WebDriverWait(browser, 10).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, '#log-rows tr[data-key="outgoing_call"]')
    )
    assert "laskomex:23" in rows[0].text
    assert log_keys(panel, "outgoing_call")
    Select(by_id(browser, "log-name")).select_by_value("outgoing_call")
    by_id(browser, "log-filter").submit()
    WebDriverWait(browser, 10).until(
        lambda d: (
            {
                row.get_attribute("data-key")
                for row in d.find_elements(By.CSS_SELECTOR, "#log-rows tr")
            }
            == {"outgoing_call"}
        )
    )
    shoot(browser, "log")


def test_sim_proxy_passes_only_handset_actions(stack):
    panel, _ = stack
    bad = panel.request("POST", "/sim/adapter/lines/laskomex:23", {"action": "fault"}, auth=None)
    assert bad.status == 400 and bad.json == {"error": "Wrong action"}
    unknown = panel.request("POST", "/sim/adapter/lines/../unplug", {"action": "answer"}, auth=None)
    assert unknown.status == 404
    garbage = panel.request("POST", "/sim/adapter/lines/vizit:7", raw_body=b"{", auth=None)
    assert garbage.status == 400
    idle = panel.request("POST", "/sim/adapter/lines/vizit:7", {"action": "answer"}, auth=None)
    assert idle.status == 409  # the emulator's own answer: not ringing
    assert panel.request("GET", "/sim/adapter/state", auth=None).json["plugged"] is True
