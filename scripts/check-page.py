#!/usr/bin/env python3
"""The try-it page of `nextword serve` in headless Chromium, as a user would use it: type into the
text area, see three suggestions come from the service, take the first with Tab, learn the text
with Ctrl+Enter. Talks to Chromium over the DevTools protocol with a small WebSocket client from
the standard library (no Selenium, no Puppeteer).

usage: scripts/check-page.py NEXTWORD_BINARY [SCREENSHOT.png]
"""
import base64, json, os, shutil, socket, struct, subprocess, sys, tempfile, time, urllib.request


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class DevTools:
    """One WebSocket connection to a DevTools target; call() sends a command and waits for its answer."""

    def __init__(self, url):
        host_port, path = url[len("ws://"):].split("/", 1)
        host, port = host_port.split(":")
        self.sock = socket.create_connection((host, int(port)), timeout=30)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((f"GET /{path} HTTP/1.1\r\nHost: {host_port}\r\nUpgrade: websocket\r\n"
                           f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
        response = b""
        while b"\r\n\r\n" not in response:
            response += self.sock.recv(4096)
        if b" 101 " not in response.split(b"\r\n")[0]:
            raise RuntimeError("DevTools refused the WebSocket: " + response.decode(errors="replace"))
        self.buffer = response.split(b"\r\n\r\n", 1)[1]
        self.next_id = 0

    def _read(self, n):
        while len(self.buffer) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise RuntimeError("DevTools closed the connection")
            self.buffer += chunk
        data, self.buffer = self.buffer[:n], self.buffer[n:]
        return data

    def _frame(self):
        message = b""
        while True:
            first, second = self._read(2)
            length = second & 0x7F
            if length == 126:
                length = struct.unpack(">H", self._read(2))[0]
            elif length == 127:
                length = struct.unpack(">Q", self._read(8))[0]
            payload = self._read(length)
            message += payload
            if first & 0x80:
                return message

    def call(self, method, **params):
        self.next_id += 1
        data = json.dumps({"id": self.next_id, "method": method, "params": params}).encode()
        header = bytes([0x81])
        mask = os.urandom(4)
        if len(data) < 126:
            header += bytes([0x80 | len(data)])
        elif len(data) < 65536:
            header += bytes([0x80 | 126]) + struct.pack(">H", len(data))
        else:
            header += bytes([0x80 | 127]) + struct.pack(">Q", len(data))
        self.sock.sendall(header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data)))
        while True:
            reply = json.loads(self._frame())
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})

    def evaluate(self, expression):
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        return result.get("result", {}).get("value")

    def wait_for(self, expression, what, seconds=10):
        deadline = time.time() + seconds
        while time.time() < deadline:
            value = self.evaluate(expression)
            if value:
                return value
            time.sleep(0.05)
        raise RuntimeError("timed out waiting for " + what)

    def key(self, key, code, keycode, modifiers=0):
        for kind in ("rawKeyDown", "keyUp"):
            self.call("Input.dispatchKeyEvent", type=kind, key=key, code=code, windowsVirtualKeyCode=keycode,
                      nativeVirtualKeyCode=keycode, modifiers=modifiers)


def main():
    binary = sys.argv[1]
    screenshot = sys.argv[2] if len(sys.argv) > 2 else None
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if not browser:
        sys.exit("check-page: needs chromium (apt-get install -y chromium)")
    work = tempfile.mkdtemp()
    processes = []
    try:
        port, devtools_port = free_port(), free_port()
        server = subprocess.Popen([binary, "serve", "--port", str(port), "--data-dir", os.path.join(work, "data")],
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        processes.append(server)
        line = server.stdout.readline()
        if "listening" not in line:
            sys.exit("check-page: the service did not start: " + line)
        processes.append(subprocess.Popen(
            [browser, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
             f"--remote-debugging-port={devtools_port}", f"--user-data-dir={os.path.join(work, 'profile')}",
             "--window-size=900,700", "about:blank"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        targets = None
        for _ in range(100):
            try:
                targets = json.load(urllib.request.urlopen(f"http://127.0.0.1:{devtools_port}/json/list"))
                if any(t.get("type") == "page" for t in targets):
                    break
            except OSError:
                pass
            time.sleep(0.1)
        page = next(t for t in targets if t.get("type") == "page")
        tab = DevTools(page["webSocketDebuggerUrl"])
        tab.call("Page.enable")
        tab.call("Page.navigate", url=f"http://127.0.0.1:{port}/")
        tab.wait_for("document.readyState === 'complete' && !!document.getElementById('text')", "the page")
        tab.evaluate("document.getElementById('text').focus()")

        typed = "See you tomo"
        for character in typed:
            tab.call("Input.insertText", text=character)
        texts = tab.wait_for(
            "(() => { const b = [...document.querySelectorAll('#suggestions .suggestion')].map(e => e.textContent);"
            " return b.length === 3 && document.getElementById('suggestions').dataset.forText === " + json.dumps(typed) + " ? b : null })()",
            "three suggestions")
        print(f"typed {typed!r}: suggestions {texts}")
        if not all(t.lower().startswith("tomo") for t in texts):
            sys.exit(f"check-page: suggestions do not complete 'tomo': {texts}")
        if texts[0] != "tomorrow":
            sys.exit(f"check-page: 'tomorrow' should come first for {typed!r}, not {texts[0]!r}")

        tab.key("Tab", "Tab", 9)
        expected = "See you " + texts[0] + " "
        value = tab.wait_for("(() => { const v = document.getElementById('text').value; return v === "
                             + json.dumps(expected) + " ? v : null })()", "the accepted suggestion in the text")
        print(f"Tab took the first: {value!r}")
        next_words = tab.wait_for(
            "(() => { const b = [...document.querySelectorAll('#suggestions .suggestion')].map(e => e.textContent);"
            " return b.length === 3 && document.getElementById('suggestions').dataset.forText === " + json.dumps(expected) + " ? b : null })()",
            "next-word suggestions after the accepted word")
        print(f"next words: {next_words}")

        tab.key("Enter", "Enter", 13, modifiers=2)  # Ctrl+Enter learns the text
        status = tab.wait_for("(() => { const s = document.getElementById('status').textContent; return s ? s : null })()",
                              "the learn status")
        print(f"Ctrl+Enter: {status!r}")
        if status != "Learned.":
            sys.exit("check-page: learning from the page failed: " + status)
        if screenshot:
            for character in "See you tomo":
                tab.call("Input.insertText", text=character)
            tab.wait_for("document.getElementById('suggestions').dataset.forText === 'See you tomo'", "suggestions again")
            png = tab.call("Page.captureScreenshot", format="png")["data"]
            with open(screenshot, "wb") as out:
                out.write(base64.b64decode(png))
            print("screenshot:", screenshot)
        print("check-page: ok")
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
