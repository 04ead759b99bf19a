"""A scriptable SMTP/LMTP server for the smtp client tests (threads, no
asyncio, no third-party modules).

    s = Sink("127.0.77.12", 25)                # starts listening at once
    s.ext = ["PIPELINING", "SIZE 1000000", "8BITMIME", "DSN"]
    s.greeting = "220 mx2 ESMTP"               # or "421 4.3.2 busy"
    s.mail_reply = None                        # or "451 4.3.0 try later"
    s.tls = ssl_context                         # offers STARTTLS ("broken": garbage)
    s.auth = {"user": "secret"}                 # offers AUTH PLAIN LOGIN, requires it
    s.lmtp = True                               # LHLO, one reply per recipient
    s.messages -> [Msg(helo, mail, rcpts, data, tls, auth_user)]
    s.connections -> count

Recipients by local part: rej* -> 550 5.1.1, tmp* -> 450 4.2.1, lmtpfail* ->
accepted at RCPT but 552 after DATA (LMTP only); anything else 250.
"""
import base64
import socket
import ssl
import threading


class Msg:
    def __init__(self):
        self.helo = None
        self.mail = None
        self.rcpts = []
        self.data = b""
        self.tls = False
        self.auth_user = None


class Sink:
    def __init__(self, host, port, lmtp=False, unix_path=None):
        self.host, self.port = host or "lmtp.sink", port
        self.lmtp = lmtp
        self.ext = ["PIPELINING", "SIZE 10240000", "8BITMIME", "DSN"]
        self.greeting = f"220 {host} ESMTP sink"
        self.mail_reply = None
        self.tls = None
        self.auth = None
        self.messages = []
        self.commands = []
        self.connections = 0
        self.lock = threading.Lock()
        if unix_path:
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.bind(unix_path)
        else:
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self.sock.bind((host, port))
        self.sock.listen(50)
        self.stopped = False
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def close(self):
        self.stopped = True
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()

    def _accept(self):
        while not self.stopped:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            with self.lock:
                self.connections += 1
            threading.Thread(target=self._session, args=(c,), daemon=True).start()

    def _session(self, conn):
        conn.settimeout(30)
        f = conn.makefile("rb")
        state = {"conn": conn, "f": f, "tls": False, "auth": None}

        def send(line):
            state["conn"].sendall(line.encode() + b"\r\n")

        def readline():
            line = state["f"].readline(10000)
            if not line:
                raise EOFError
            return line.decode("utf-8", "replace").rstrip("\r\n")

        try:
            send(self.greeting)
            if not self.greeting.startswith("2"):
                readline()
                return
            msg = Msg()
            while True:
                line = readline()
                with self.lock:
                    self.commands.append(line)
                verb = line.split(" ", 1)[0].upper()
                arg = line[len(verb) + 1:]
                if verb in ("EHLO", "LHLO"):
                    state["helo"] = arg
                    ext = list(self.ext)
                    if self.tls and not state["tls"]:
                        ext.append("STARTTLS")
                    if self.auth:
                        ext.append("AUTH PLAIN LOGIN")
                    lines = [self.host] + ext
                    for i, e in enumerate(lines):
                        send(("250 " if i == len(lines) - 1 else "250-") + e)
                elif verb == "HELO":
                    state["helo"] = arg
                    send(f"250 {self.host}")
                elif verb == "STARTTLS" and self.tls == "broken":
                    send("220 2.0.0 Ready to start TLS")
                    state["conn"].sendall(b"this is not a TLS server hello\r\n" * 4)
                    return
                elif verb == "STARTTLS" and self.tls:
                    send("220 2.0.0 Ready to start TLS")
                    tconn = self.tls.wrap_socket(state["conn"], server_side=True)
                    state["conn"] = tconn
                    state["f"] = tconn.makefile("rb")
                    state["tls"] = True
                elif verb == "AUTH" and self.auth:
                    parts = arg.split()
                    mech = parts[0].upper()
                    if mech == "PLAIN":
                        if len(parts) > 1:
                            resp = parts[1]
                        else:
                            send("334 ")
                            resp = readline()
                        try:
                            _, u, p = base64.b64decode(resp).decode().split("\0")
                        except Exception:
                            send("501 5.5.2 bad")
                            continue
                    elif mech == "LOGIN":
                        send("334 " + base64.b64encode(b"Username:").decode())
                        u = base64.b64decode(readline()).decode()
                        send("334 " + base64.b64encode(b"Password:").decode())
                        p = base64.b64decode(readline()).decode()
                    else:
                        send("504 5.5.4 unknown mechanism")
                        continue
                    if self.auth.get(u) == p:
                        state["auth"] = u
                        send("235 2.7.0 Authentication successful")
                    else:
                        send("535 5.7.8 Error: authentication failed")
                elif verb == "MAIL":
                    if self.auth and not state["auth"]:
                        send("530 5.7.0 Authentication required")
                        continue
                    if self.mail_reply:
                        send(self.mail_reply)
                        continue
                    msg = Msg()
                    msg.helo = state.get("helo")
                    msg.mail = arg
                    msg.tls = state["tls"]
                    msg.auth_user = state["auth"]
                    send("250 2.1.0 Ok")
                elif verb == "RCPT":
                    if msg.mail is None:
                        send("503 5.5.1 need MAIL")
                        continue
                    addr = arg.split(":", 1)[1].split(">")[0].lstrip("<")
                    local = addr.split("@")[0]
                    if local.startswith("rej"):
                        send(f"550 5.1.1 <{addr}>: Recipient address rejected: User unknown")
                    elif local.startswith("tmp"):
                        send(f"450 4.2.1 <{addr}>: Recipient address rejected: try again")
                    else:
                        msg.rcpts.append(arg)
                        send("250 2.1.5 Ok")
                elif verb == "DATA":
                    if not msg.rcpts:
                        send("554 5.5.1 Error: no valid recipients")
                        continue
                    send("354 End data with <CR><LF>.<CR><LF>")
                    data = b""
                    while True:
                        raw = state["f"].readline(100000)
                        if not raw:
                            raise EOFError
                        if raw == b".\r\n":
                            break
                        if raw.startswith(b"."):
                            raw = raw[1:]
                        data += raw
                    msg.data = data
                    with self.lock:
                        self.messages.append(msg)
                    if self.lmtp:
                        for r in msg.rcpts:
                            a = r.split(":", 1)[1].split(">")[0].lstrip("<")
                            if a.startswith("lmtpfail"):
                                send(f"552 5.2.2 <{a}> Mailbox full")
                            else:
                                send(f"250 2.0.0 <{a}> Saved")
                    else:
                        send(f"250 2.0.0 Ok: queued as SINK{len(self.messages)}")
                    msg = Msg()
                elif verb == "RSET":
                    msg = Msg()
                    send("250 2.0.0 Ok")
                elif verb == "NOOP":
                    send("250 2.0.0 Ok")
                elif verb == "QUIT":
                    send("221 2.0.0 Bye")
                    return
                else:
                    send("502 5.5.2 Error: command not recognized")
        except (EOFError, OSError, ssl.SSLError):
            pass
        finally:
            try:
                state["conn"].close()
            except OSError:
                pass
