"""capture - a scripted SMTP server for the integration tests: it records
every connection, every command line, the exact bytes received (also in
the chunks each recv() returned, to see pipelining) and each message's
DATA bytes as they came over the wire (dot-stuffed, CRLF), and answers
with scripted replies. Used by test_smtp_client.py and the scheduler's
tests.

    srv = CaptureServer(script={"rcpt": {"bad@x": "550 5.1.1 No such user"}})
    ... srv.port ...
    srv.wait_messages(1)
    srv.messages[0].data, srv.max_concurrent, srv.connections
    srv.stop()

script keys (each value: a reply string without CRLF, a list of reply
lines for a multi-line reply, a callable(session, argument) returning one
of these, bytes (sent raw, as is), or one of CLOSE / HANG):
  greeting  (default "220 capture.test ESMTP")
  ehlo      a list of extension keywords (default PIPELINING, SIZE
            10240000, 8BITMIME), or any reply value (e.g. "502 5.5.1 no")
  helo, mail, rcpt, data, dot, rset, quit, noop
  rcpt may also be a dict: address -> reply (others: 250 2.1.5 Ok)
  delay     seconds to wait before every reply (slow server)
CLOSE closes the connection without a reply; HANG sends nothing more and
keeps the connection open until stop()."""
import socket
import threading
import time

CLOSE = "<close>"
HANG = "<hang>"


class Message:
    def __init__(self, mail_from, rcpts):
        self.mail_from = mail_from   # the MAIL FROM line's argument
        self.rcpts = list(rcpts)     # accepted RCPT TO arguments
        self.data = b""              # wire bytes between DATA and the dot

    def __repr__(self):
        return f"Message({self.mail_from!r}, {self.rcpts!r}, {len(self.data)} bytes)"


class Session:
    def __init__(self, sock, peer):
        self.sock = sock
        self.peer = peer
        self.commands = []   # command lines, CRLF stripped
        self.chunks = []     # bytes of each recv(), in order
        self.raw = b""       # everything received
        self.messages = []
        self.closed = False


class CaptureServer:
    def __init__(self, port=0, script=None, host="127.0.0.1", family=None):
        self.script = dict(script or {})
        fam = family or (socket.AF_INET6 if ":" in host else socket.AF_INET)
        self.lsock = socket.socket(fam, socket.SOCK_STREAM)
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind((host, port))
        self.lsock.listen(128)
        self.host = host
        self.port = self.lsock.getsockname()[1]
        self.sessions = []
        self.lock = threading.Lock()
        self.cond = threading.Condition(self.lock)
        self.active = 0
        self.max_concurrent = 0
        self.stopping = False
        self.threads = []
        t = threading.Thread(target=self._accept, daemon=True)
        t.start()
        self.threads.append(t)

    # ---- what the tests read ----
    @property
    def connections(self):
        with self.lock:
            return len(self.sessions)

    @property
    def messages(self):
        with self.lock:
            return [m for s in self.sessions for m in s.messages]

    @property
    def commands(self):
        with self.lock:
            return [c for s in self.sessions for c in s.commands]

    def wait(self, pred, timeout=30.0):
        """Wait until pred() is true (under the lock); returns pred()."""
        end = time.monotonic() + timeout
        with self.cond:
            while not pred():
                left = end - time.monotonic()
                if left <= 0:
                    break
                self.cond.wait(min(left, 0.5))
            return pred()

    def wait_messages(self, n, timeout=30.0):
        return self.wait(lambda: sum(len(s.messages) for s in self.sessions) >= n,
                         timeout)

    def wait_idle(self, timeout=30.0):
        """All connections closed."""
        return self.wait(lambda: self.active == 0, timeout)

    def stop(self):
        self.stopping = True
        try:
            # shutdown wakes the thread blocked in accept(); close alone
            # would leave the socket bound until a connection came
            self.lsock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        try:
            self.lsock.close()
        except OSError:
            pass
        with self.lock:
            socks = [s.sock for s in self.sessions]
        for s in socks:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    # ---- the server ----
    def _accept(self):
        while not self.stopping:
            try:
                sock, peer = self.lsock.accept()
            except OSError:
                return
            sess = Session(sock, peer)
            with self.cond:
                self.sessions.append(sess)
                self.active += 1
                self.max_concurrent = max(self.max_concurrent, self.active)
                self.cond.notify_all()
            t = threading.Thread(target=self._serve, args=(sess,), daemon=True)
            t.start()

    def _send(self, sess, value, arg=None):
        """Send one scripted reply; False when the session must end."""
        if callable(value):
            value = value(sess, arg)
        delay = self.script.get("delay")
        if delay:
            time.sleep(delay)
        if value == CLOSE:
            return False
        if value == HANG:
            while not self.stopping:
                time.sleep(0.1)
            return False
        if isinstance(value, bytes):
            data = value
        elif isinstance(value, (list, tuple)):
            code = value[-1][:3]
            data = b"".join((code + "-" + v[4:] + "\r\n").encode()
                            for v in value[:-1]) + (value[-1] + "\r\n").encode()
        else:
            data = (value + "\r\n").encode()
        try:
            sess.sock.sendall(data)
        except OSError:
            return False
        return True

    def _reply(self, key, default, sess, arg=None):
        return self._send(sess, self.script.get(key, default), arg)

    def _ehlo(self, sess, arg):
        v = self.script.get("ehlo", ["PIPELINING", "SIZE 10240000", "8BITMIME"])
        if isinstance(v, list) and all(not x[:3].isdigit() for x in v):
            v = ["250 capture.test"] + ["250 " + x for x in v]
        return self._send(sess, v, arg)

    def _lines(self, sess):
        """Yield lines (CRLF stripped) as they arrive; also DATA bytes."""
        buf = b""
        while True:
            while b"\n" not in buf:
                try:
                    chunk = sess.sock.recv(65536)
                except OSError:
                    return
                if not chunk:
                    return
                with self.lock:
                    sess.chunks.append(chunk)
                    sess.raw += chunk
                buf += chunk
            line, buf = buf.split(b"\n", 1)
            yield line + b"\n"

    def _serve(self, sess):
        try:
            self._session(sess)
        finally:
            try:
                sess.sock.close()
            except OSError:
                pass
            with self.cond:
                sess.closed = True
                self.active -= 1
                self.cond.notify_all()

    def _session(self, sess):
        if not self._reply("greeting", "220 capture.test ESMTP", sess):
            return
        mail, rcpts, in_data, data = None, [], False, b""
        for raw in self._lines(sess):
            if in_data:
                if raw == b".\r\n":
                    msg = Message(mail, rcpts)
                    msg.data = data
                    with self.cond:
                        sess.messages.append(msg)
                        self.cond.notify_all()
                    in_data, mail, rcpts, data = False, None, [], b""
                    if not self._reply("dot", "250 2.0.0 Ok: queued as CAPTURE", sess):
                        return
                else:
                    data += raw
                continue
            line = raw.rstrip(b"\r\n").decode("latin-1")
            with self.lock:
                sess.commands.append(line)
            verb = line.split(" ", 1)[0].upper()
            arg = line[len(verb) + 1:] if " " in line else ""
            ok = True
            if verb == "EHLO":
                ok = self._ehlo(sess, arg)
            elif verb == "HELO":
                ok = self._reply("helo", "250 capture.test", sess, arg)
            elif verb == "MAIL":
                v = self.script.get("mail", "250 2.1.0 Ok")
                r = v(sess, arg) if callable(v) else v
                if isinstance(r, str) and r.startswith("2"):
                    mail, rcpts = arg[5:] if arg.upper().startswith("FROM:") else arg, []
                ok = self._send(sess, r, arg)
            elif verb == "RCPT":
                v = self.script.get("rcpt", "250 2.1.5 Ok")
                addr = arg[3:] if arg.upper().startswith("TO:") else arg
                key = addr.strip("<>").split(">")[0]
                if isinstance(v, dict):
                    r = v.get(key, "250 2.1.5 Ok")
                else:
                    r = v
                r = r(sess, arg) if callable(r) else r
                if mail is not None and isinstance(r, str) and r.startswith("2"):
                    rcpts.append(addr)
                ok = self._send(sess, r, arg)
            elif verb == "DATA":
                v = self.script.get("data", "354 End data with <CR><LF>.<CR><LF>")
                r = v(sess, arg) if callable(v) else v
                if mail is not None and rcpts and isinstance(r, str) and r.startswith("354"):
                    in_data, data = True, b""
                ok = self._send(sess, r, arg)
            elif verb == "RSET":
                mail, rcpts = None, []
                ok = self._reply("rset", "250 2.0.0 Ok", sess, arg)
            elif verb == "QUIT":
                self._reply("quit", "221 2.0.0 Bye", sess, arg)
                return
            elif verb == "NOOP":
                ok = self._reply("noop", "250 2.0.0 Ok", sess, arg)
            else:
                ok = self._send(sess, "502 5.5.2 Error: command not recognized")
            if not ok:
                return


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p
