#!/usr/bin/python3
"""The page in a real browser: Debian's Chromium, driven by Selenium
(python3-selenium, chromium-driver), against a live norc-web over the real
services. Run by tests/e2e/test_page.c, which starts them.

usage: page_check.py URL ADMIN_TOKEN SCREENSHOT_DIR

It makes, through the API: tasks, a cron schedule in Europe/London, a
failed run, a viewer and an operator. Then, in the browser:
  - the viewer logs in; every section renders with real data and no
    console error; the viewer sees no control anywhere, and a control it
    forces (a request made by hand from the page) is refused (403);
  - the operator logs in and kills a running instance from the page: the
    row turns KILLED without a reload;
  - a run's end shows on the page within 1 s of its end;
  - a reader of logs (logs:read) watches a log follow its run, scrolls up
    and keeps their place, and a huge log is held in part (a few MiB).
Screenshots of every view go to SCREENSHOT_DIR. Exit 0 when all holds; else
each failure on its own line and exit 1.
"""
import json
import os
import sys
import time
import urllib.error
import urllib.request
from datetime import datetime, timezone

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException

URL, TOKEN, SHOTS = sys.argv[1].rstrip("/"), sys.argv[2], sys.argv[3]
failures = []


def fail(text):
    failures.append(text)
    print("FAIL: " + text, flush=True)


def api(method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(URL + "/api/v1" + path, data=data, method=method, headers={
        "Authorization": "Bearer " + TOKEN, "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            return json.loads(response.read() or b"null")
    except urllib.error.HTTPError as e:
        raise SystemExit("setup: %s %s: %s %s" % (method, path, e.code, e.read().decode()))


def wait_instance(instance_id, done, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        row = api("GET", "/instances/%d" % instance_id)
        if done(row):
            return row
        time.sleep(0.05)
    raise SystemExit("setup: instance %d never got there: %s" % (instance_id, row))


# ---------------------------------------------------------------------------
# Real data, through the API

api("POST", "/tasks", {"name": "Sleepy", "command": "sleep 120"})
api("POST", "/tasks", {"name": "Quick", "command": "echo quick"})
api("POST", "/tasks", {"name": "Bad", "command": "echo failing; exit 3"})
schedule = api("POST", "/schedules", {"task": "Quick", "queue": "Q", "cron": "0 30 1 * * *", "tz": "Europe/London"})
api("POST", "/users", {"name": "vic", "password": "viewer password 1", "roles": "viewer"})
api("POST", "/users", {"name": "olga", "password": "operator password 1", "roles": "operator"})
api("POST", "/users", {"name": "lena", "password": "logs password 1", "roles": "viewer,logs:read"})
api("POST", "/tasks", {"name": "Chatty", "command": "for i in $(seq 1 300); do echo line $i; sleep 0.02; done"})
api("POST", "/tasks", {"name": "Huge", "command": "sleep 1; head -c 6000000 /dev/zero | tr '\\0' y | fold -w 100; "
                                                  "sleep 1; echo TAIL-END | tr A-Z a-z"})
bad = api("POST", "/runs", {"task": "Bad", "queue": "Q"})["id"]
wait_instance(bad, lambda r: r["status"] >= 7)
executors = api("GET", "/executors")["items"]

# ---------------------------------------------------------------------------
# The browser

options = webdriver.ChromeOptions()
options.binary_location = "/usr/bin/chromium"
for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1000",
                 "--disable-gpu", "--no-first-run"):
    options.add_argument(argument)
options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
driver.set_script_timeout(20)
os.makedirs(SHOTS, exist_ok=True)


def until(condition, timeout=10.0, what="condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            value = condition()
            if value:
                return value
        except Exception:
            pass
        time.sleep(0.02)
    fail("timed out waiting for " + what)
    return None


def click(selector):
    """Click what selector finds, again if the view was drawn anew meanwhile"""
    for _ in range(50):
        try:
            driver.find_element(By.CSS_SELECTOR, selector).click()
            return
        except (StaleElementReferenceException, NoSuchElementException):
            time.sleep(0.05)
    fail("cannot click " + selector)


def console_errors(when):
    for entry in driver.get_log("browser"):
        if entry["level"] == "SEVERE":
            fail("console error %s: %s" % (when, entry["message"]))


def shot(name):
    driver.save_screenshot(os.path.join(SHOTS, name + ".png"))


def text():
    return driver.find_element(By.ID, "view").text


def show(hash_, expect, name):
    driver.get(URL + "/" + hash_)
    ok = until(lambda: expect in text() and not driver.find_elements(By.CSS_SELECTOR, "#view .error"),
               what="%s to show %r" % (hash_, expect))
    if not ok:
        errors = [e.text for e in driver.find_elements(By.CSS_SELECTOR, "#view .error")]
        fail("%s: %s" % (hash_, errors or text()[:300]))
    shot(name)


def login(name, password):
    driver.get(URL + "/")
    until(lambda: driver.find_element(By.ID, "login").is_displayed() or driver.find_element(By.ID, "who").is_displayed(),
          what="the page to load")
    if driver.find_element(By.ID, "who").is_displayed():
        driver.find_element(By.ID, "logout").click()
        until(lambda: driver.find_element(By.ID, "login").is_displayed(), what="the login form")
    form = driver.find_element(By.ID, "login")
    form.find_element(By.NAME, "name").clear()
    form.find_element(By.NAME, "name").send_keys(name)
    form.find_element(By.NAME, "password").send_keys(password)
    form.find_element(By.CSS_SELECTOR, "button").click()
    until(lambda: name in driver.find_element(By.ID, "me").text, what=name + " logged in")
    until(lambda: "Executors" in text(), what="the status view")


try:
    # The viewer: every section, real data, no control
    login("vic", "viewer password 1")
    until(lambda: executors[0]["host"] in text() and "Q" in text(), what="the executor and the queue on the status view")
    shot("status")
    views = [
        ("#/", "Schedulers", "status"),
        ("#/", "Log-archivers", "status-archivers"),
        ("#/?since=all", "Executors", "status-all"),
        ("#/instances?since=all", "Bad", "instances"),
        ("#/instances?since=all&group=failed", "FAILURE", "instances-failed"),
        ("#/instances?since=all&queue=Q&task=Bad", "Bad", "instances-filtered"),
        ("#/instance/%d" % bad, "Instance %d" % bad, "instance"),
        ("#/schedules", "0 30 1 * * *", "schedules"),
        ("#/schedule/%d" % schedule["id"], "Next fire times (Europe/London)", "schedule"),
        ("#/tasks", "Sleepy", "tasks"),
        ("#/task/Quick", "echo quick", "task"),
        ("#/daemon/%d" % executors[0]["id"], "executor", "daemon"),
    ]
    for hash_, expect, name in views:
        show(hash_, expect, name)
        if driver.find_elements(By.CSS_SELECTOR, "[data-control]"):
            fail("the viewer sees a control on " + hash_)
    # Every status-group and timeframe link answers
    driver.get(URL + "/#/instances?since=all")
    until(lambda: driver.find_elements(By.CSS_SELECTOR, "[data-group]"), what="the status groups")
    for group in ("waiting", "running", "succeeded", "failed", "all"):
        click("[data-group='%s']" % group)
        until(lambda: ("group=" + group) in driver.current_url and "Instances (" in text(), what="group " + group)
    for since in ("10m", "30m", "1h", "3h", "12h", "1d", "7d", "all"):
        click("[data-since='%s']" % since)
        until(lambda: ("since=" + since) in driver.current_url and "Instances (" in text(), what="timeframe " + since)
    # The schedule's next fire times: the end of summer time marked
    driver.get(URL + "/#/schedule/%d" % schedule["id"])
    until(lambda: "Next fire times" in text(), what="the schedule")
    console_errors("for the viewer")
    # A control forced by hand: refused by the server
    status = driver.execute_async_script("""
        const done = arguments[arguments.length - 1];
        fetch('/api/v1/session').then(r => r.json()).then(s =>
          fetch('/api/v1/instances/%d/rerun', {method: 'POST', headers: {'X-CSRF-Token': s.csrf,
                'Content-Type': 'application/json'}, body: '{}'})).then(r => done(r.status));""" % bad)
    if status != 403:
        fail("a viewer forcing a rerun got %s, not 403" % status)
    driver.get_log("browser")      # that refusal's console line is expected

    # The log viewer: at the tail, following, never stealing the scroll,
    # holding at most a few MiB of a huge log
    login("lena", "logs password 1")
    chatty = api("POST", "/runs", {"task": "Chatty", "queue": "Q"})["id"]
    wait_instance(chatty, lambda r: r["status"] == 2)
    driver.get(URL + "/#/instance/%d" % chatty)
    log = "pre[data-log='%d']" % chatty
    until(lambda: "line 20" in driver.find_element(By.CSS_SELECTOR, log).text, what="the log's first lines")
    until(lambda: "line 60" in driver.find_element(By.CSS_SELECTOR, log).text, what="the log followed")
    place = "const p = document.querySelector(\"%s\"); return [p.scrollTop, p.clientHeight, p.scrollHeight];" % log
    top, client, height = driver.execute_script(place)
    if top + client < height - 4:
        fail("following, the log is not scrolled to its end: %s" % [top, client, height])
    driver.execute_script("document.querySelector(\"%s\").scrollTop = 10;" % log)
    time.sleep(1.5)
    top, client, later = driver.execute_script(place)
    if later <= height:
        fail("the log did not grow while followed (%d then %d)" % (height, later))
    if top != 10:
        fail("the viewer moved the scroll of a reader above the end: %d, not 10" % top)
    shot("log-following")
    until(lambda: "complete" in driver.find_element(By.CSS_SELECTOR, "[data-log-info]").text, timeout=30,
          what="the log's end")
    if "line 300" not in driver.find_element(By.CSS_SELECTOR, log).text:
        fail("the log's last line is not shown")
    huge = api("POST", "/runs", {"task": "Huge", "queue": "Q"})["id"]
    driver.get(URL + "/#/instance/%d" % huge)
    until(lambda: "tail-end" in driver.find_element(By.CSS_SELECTOR, "pre[data-log='%d']" % huge).text, timeout=60,
          what="the huge log's end")
    held = driver.execute_script("return [state.viewer.end - state.viewer.start, "
                                 "document.querySelector(\"pre[data-log='%d']\").textContent.length, state.viewer.end];" % huge)
    if held[0] > 4 * 1024 * 1024 + 256 * 1024 or held[1] > 4 * 1024 * 1024 + 256 * 1024 or held[2] < 6000000:
        fail("the viewer holds %d bytes (%d characters) of a log of %d bytes" % tuple(held))
    if not driver.find_element(By.CSS_SELECTOR, "[data-earlier]").is_displayed():
        fail("no way to earlier output of a log held in part")
    shot("log-huge")
    console_errors("in the log viewer")

    # The operator kills a running instance from the page
    login("olga", "operator password 1")
    sleepy = api("POST", "/runs", {"task": "Sleepy", "queue": "Q"})["id"]
    wait_instance(sleepy, lambda r: r["status"] == 2)
    driver.get(URL + "/#/instances?since=all")
    row = "tr[data-id='%d']" % sleepy
    until(lambda: "RUNNING" in driver.find_element(By.CSS_SELECTOR, row).text, what="the running instance")
    shot("operator-before-kill")
    click(row + " [data-control='Kill']")
    until(lambda: driver.find_element(By.ID, "confirm").is_displayed(), what="the confirmation")
    driver.find_element(By.ID, "confirm-ok").click()
    if until(lambda: "KILLED" in driver.find_element(By.CSS_SELECTOR, row).text or
             "INTERRUPTED" in driver.find_element(By.CSS_SELECTOR, row).text, timeout=15, what="the kill shown"):
        shot("operator-after-kill")
    ended = api("GET", "/instances/%d" % sleepy)
    if ended["status"] < 7:
        fail("the killed instance is %s" % ended["status_name"])

    # An instance's end shows within 1 s, without a reload
    driver.get(URL + "/#/instances?since=all")
    until(lambda: "Instances (" in text(), what="the instances")
    quick = api("POST", "/runs", {"task": "Quick", "queue": "Q"})["id"]
    row = "tr[data-id='%d']" % quick
    seen = until(lambda: "SUCCESS" in driver.find_element(By.CSS_SELECTOR, row).text and time.time(),
                 timeout=20, what="the quick run's end")
    done = api("GET", "/instances/%d" % quick)
    if seen and done["ended"]:
        ended_at = datetime.strptime(done["ended"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc).timestamp()
        lag = seen - ended_at
        print("the end showed %.3f s after the run ended" % lag, flush=True)
        if lag > 1.0:
            fail("the end showed %.3f s after it (more than 1 s)" % lag)
    shot("operator-live")
    console_errors("for the operator")
finally:
    driver.quit()

print("%d failure(s)" % len(failures))
sys.exit(1 if failures else 0)
