"""cdp - a small client of the Chrome DevTools protocol for the browser
tests: starts Debian's chromium headless (its own process group, a
temporary profile, --remote-debugging-port=0 read back from the
profile's DevToolsActivePort), attaches to its page over a WebSocket
(python3-websocket), sends commands and waits for their replies by id,
keeps the events, and offers what a test needs: navigate, wait for a
JavaScript condition, type into a field (Input.insertText), click an
element with real mouse events, read the page, take a screenshot, and
the bytes each response body had. Every wait is bounded.

    b = Browser()
    try:
        b.navigate("http://127.0.0.1:8080/")
        b.wait_js("!!document.querySelector('input[name=user]')")
        b.type("input[name=user]", "admin")
        b.click("button")
        b.screenshot("shot.png")
    finally:
        b.close()
"""
import base64
import http.client
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

try:
    import websocket
except ImportError:  # Debian's python3-websocket under another python3
    sys.path.append("/usr/lib/python3/dist-packages")
    import websocket


class CDPError(Exception):
    pass


def chromium_path():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        p = shutil.which(name)
        if p:
            return p
    return None


class Browser:
    def __init__(self, width=1000, height=1400, timeout=30.0):
        exe = chromium_path()
        if not exe:
            raise CDPError("chromium not installed (tools/testdeps.sh)")
        self.timeout = timeout
        self.dir = tempfile.mkdtemp(prefix="tinymta-chromium-")
        self.log = open(os.path.join(self.dir, "chromium.log"), "wb")
        self.proc = subprocess.Popen(
            [exe, "--headless=new", "--no-sandbox", "--disable-gpu",
             "--disable-dev-shm-usage", "--no-first-run",
             "--no-default-browser-check", "--disable-extensions",
             "--disable-background-networking", "--disable-sync",
             "--disable-component-update", "--password-store=basic",
             "--remote-debugging-port=0", "--remote-debugging-address=127.0.0.1",
             f"--user-data-dir={self.dir}", f"--window-size={width},{height}",
             "about:blank"],
            stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True)
        self.ws = None
        self.next_id = 0
        self.events = []
        try:
            self._attach()
        except Exception:
            self.close()
            raise

    # ---- connection ----
    def _attach(self):
        port_file = os.path.join(self.dir, "DevToolsActivePort")
        end = time.time() + self.timeout
        port = None
        while time.time() < end and port is None:
            if self.proc.poll() is not None:
                raise CDPError(f"chromium exited {self.proc.returncode}: "
                               + self.chromium_log()[-2000:])
            try:
                with open(port_file) as f:
                    first = f.readline().strip()
                port = int(first) if first else None
            except (FileNotFoundError, ValueError):
                pass
            if port is None:
                time.sleep(0.05)
        if port is None:
            raise CDPError("no DevToolsActivePort: " + self.chromium_log()[-2000:])
        self.port = port
        page = None
        while time.time() < end and page is None:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            try:
                c.request("GET", "/json/list")
                targets = json.loads(c.getresponse().read())
                page = next((t for t in targets if t.get("type") == "page"), None)
            except (OSError, ValueError):
                pass
            finally:
                c.close()
            if page is None:
                time.sleep(0.05)
        if page is None:
            raise CDPError("no page target")
        # no Origin header: chromium refuses unknown origins
        self.ws = websocket.create_connection(page["webSocketDebuggerUrl"],
                                              timeout=self.timeout,
                                              suppress_origin=True)
        for domain in ("Page", "Runtime", "Network"):
            self.send(f"{domain}.enable")

    def chromium_log(self):
        try:
            with open(os.path.join(self.dir, "chromium.log"), errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def _recv(self, deadline):
        left = deadline - time.time()
        if left <= 0:
            raise CDPError("timeout waiting for chromium")
        self.ws.settimeout(left)
        try:
            return json.loads(self.ws.recv())
        except websocket.WebSocketTimeoutException:
            raise CDPError("timeout waiting for chromium")

    def send(self, method, params=None, timeout=None):
        """One command; its result (a dict), or CDPError."""
        self.next_id += 1
        mid = self.next_id
        self.ws.send(json.dumps({"id": mid, "method": method,
                                 "params": params or {}}))
        deadline = time.time() + (timeout or self.timeout)
        while True:
            m = self._recv(deadline)
            if m.get("id") == mid:
                if "error" in m:
                    raise CDPError(f"{method}: {m['error']}")
                return m.get("result", {})
            if "method" in m:
                self.events.append(m)

    def pump(self, seconds):
        """Collect the events that come within seconds."""
        deadline = time.time() + seconds
        while True:
            try:
                self.events.append(self._recv(deadline))
            except CDPError:
                return

    # ---- the page ----
    def evaluate(self, expr):
        r = self.send("Runtime.evaluate", {"expression": expr,
                                           "returnByValue": True,
                                           "awaitPromise": True})
        if "exceptionDetails" in r:
            raise CDPError(f"{expr}: {r['exceptionDetails']}")
        return r.get("result", {}).get("value")

    def wait_js(self, expr, timeout=None):
        """Poll a JavaScript expression until it is true (across
        navigations); True, or False at the timeout."""
        end = time.time() + (timeout or self.timeout)
        while time.time() < end:
            try:
                if self.evaluate(expr):
                    return True
            except CDPError:
                pass  # the context went away with a navigation
            self.pump(0.05)
        return False

    def navigate(self, url):
        self.mark()
        r = self.send("Page.navigate", {"url": url})
        if r.get("errorText"):
            raise CDPError(f"navigate {url}: {r['errorText']}")
        return self.wait_new_page()

    def mark(self):
        """Mark the current document, to see when another one replaced it."""
        self.evaluate("window.__tm_old = true")

    def wait_new_page(self, timeout=None):
        return self.wait_js("!window.__tm_old && document.readyState == 'complete'",
                            timeout)

    def type(self, selector, text):
        """Focus the field, select its text, and type over it."""
        ok = self.evaluate(f"(() => {{ const e = document.querySelector({json.dumps(selector)});"
                           " if (!e) return false; e.focus(); e.select(); return true; })()")
        if not ok:
            raise CDPError(f"no element {selector}")
        if text:
            self.send("Input.insertText", {"text": text})
        else:
            self.send("Input.dispatchKeyEvent", {"type": "keyDown", "key": "Delete",
                                                 "code": "Delete",
                                                 "windowsVirtualKeyCode": 46})
            self.send("Input.dispatchKeyEvent", {"type": "keyUp", "key": "Delete",
                                                 "code": "Delete",
                                                 "windowsVirtualKeyCode": 46})

    def select(self, selector, value):
        """Choose an option of a <select> (as a user's choice: change event)."""
        ok = self.evaluate(
            f"(() => {{ const e = document.querySelector({json.dumps(selector)});"
            f" if (!e) return false; e.value = {json.dumps(value)};"
            " e.dispatchEvent(new Event('change', {bubbles: true}));"
            f" return e.value === {json.dumps(value)}; }})()")
        if not ok:
            raise CDPError(f"cannot select {value!r} in {selector}")

    def click(self, selector):
        """A left click with mouse events at the element's centre."""
        box = self.evaluate(
            f"(() => {{ const e = document.querySelector({json.dumps(selector)});"
            " if (!e) return null; e.scrollIntoView({block: 'center'});"
            " const r = e.getBoundingClientRect();"
            " return [r.left + r.width / 2, r.top + r.height / 2]; })()")
        if not box:
            raise CDPError(f"no element {selector}")
        x, y = box
        for t in ("mouseMoved", "mousePressed", "mouseReleased"):
            p = {"type": t, "x": x, "y": y}
            if t != "mouseMoved":
                p.update(button="left", clickCount=1)
            self.send("Input.dispatchMouseEvent", p)

    def click_and_wait(self, selector, timeout=None):
        """Click something that submits a form; True once the new page
        has loaded."""
        self.mark()
        self.click(selector)
        return self.wait_new_page(timeout)

    def text(self, selector):
        return self.evaluate(
            f"(() => {{ const e = document.querySelector({json.dumps(selector)});"
            " return e ? e.textContent : null; })()")

    def screenshot(self, path):
        r = self.send("Page.captureScreenshot", {"format": "png",
                                                 "captureBeyondViewport": True})
        data = base64.b64decode(r["data"])
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)
        return len(data)

    def responses(self):
        """(url, mimeType, body bytes) of every response seen so far whose
        body chromium still holds; the events are kept."""
        out = []
        for e in list(self.events):
            if e.get("method") != "Network.responseReceived":
                continue
            p = e["params"]
            try:
                b = self.send("Network.getResponseBody",
                              {"requestId": p["requestId"]})
            except CDPError:
                continue  # no body (a redirect) or already dropped
            body = base64.b64decode(b["body"]) if b.get("base64Encoded") \
                else b["body"].encode()
            out.append((p["response"]["url"], p["response"].get("mimeType", ""),
                        len(body)))
        return out

    def close(self):
        if self.ws:
            try:
                self.ws.close()
            except Exception:
                pass
            self.ws = None
        if self.proc.poll() is None:
            for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 10)):
                try:
                    os.killpg(self.proc.pid, sig)
                except ProcessLookupError:
                    break
                try:
                    self.proc.wait(timeout=wait)
                    break
                except subprocess.TimeoutExpired:
                    continue
        # the group's other processes (renderer, zygote) go with it
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)
