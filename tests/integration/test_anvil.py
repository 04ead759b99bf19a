"""anvil: connection counts and rates per service:address, over its socket.

A whole instance runs anvil from master.cf (`anvil unix - - n - 1 anvil`);
the tests speak the attribute protocol (lib/attr.h) to
queue_directory/private/anvil directly, as smtpd's anvil_clnt does.
"""
import os
import socket
import time

import pytest


class AnvilClient:
    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(10)
        self.sock.connect(path)
        self.file = self.sock.makefile("rb")
        self.hello = self.read()

    def read(self):
        """One message as a list of (name, value); None at EOF."""
        attrs = []
        while True:
            line = self.file.readline()
            if not line:
                return None
            line = line.rstrip(b"\n").decode()
            if line == "":
                return attrs
            name, _, value = line.partition("=")
            attrs.append((name, value))

    def send_raw(self, data):
        self.sock.sendall(data)

    def request(self, request, ident):
        self.send_raw(f"request={request}\nident={ident}\n\n".encode())
        return dict(self.read())

    def connect(self, ident):
        r = self.request("connect", ident)
        assert r["status"] == "0", r
        return int(r["count"]), int(r["rate"])

    def disconnect(self, ident):
        assert self.request("disconnect", ident) == {"status": "0"}

    def message(self, ident):
        r = self.request("message", ident)
        assert r["status"] == "0", r
        return int(r["rate"])

    def lookup(self, ident):
        r = self.request("lookup", ident)
        assert r["status"] == "0", r
        return int(r["count"]), int(r["rate"]), int(r["message_rate"])

    def close(self):
        self.file.close()
        self.sock.close()


@pytest.fixture
def anvil(instance_factory):
    def start(**params):
        inst = instance_factory(main_cf=params)
        inst.write_master_cf("anvil unix - - n - 1 anvil\n")
        inst.start()
        path = os.path.join(inst.queue, "private", "anvil")
        inst.wait_for(lambda: os.path.exists(path), what="anvil socket")
        return inst, path
    return start


def test_hello_and_counts(anvil):
    inst, path = anvil()
    a = AnvilClient(path)
    assert a.hello == [("proto", "anvil"), ("version", "1")]
    assert a.connect("smtp:192.0.2.1") == (1, 1)
    assert a.connect("smtp:192.0.2.1") == (2, 2)
    # other services and addresses are counted apart
    assert a.connect("submission:192.0.2.1") == (1, 1)
    assert a.connect("smtp:192.0.2.2") == (1, 1)
    b = AnvilClient(path)
    assert b.connect("smtp:192.0.2.1") == (3, 3)
    a.disconnect("smtp:192.0.2.1")
    assert b.lookup("smtp:192.0.2.1") == (2, 3, 0)
    # a disconnect that this client never connected changes nothing
    b.disconnect("smtp:192.0.2.2")
    assert a.lookup("smtp:192.0.2.2") == (1, 1, 0)
    inst.wait_log(r"anvil\[\d+\]: warning: disconnect for smtp:192.0.2.2 without a matching connect")
    assert a.message("smtp:192.0.2.1") == 1
    assert a.message("smtp:192.0.2.1") == 2
    assert b.lookup("smtp:192.0.2.1") == (2, 3, 2)
    assert b.lookup("smtp:198.51.100.1") == (0, 0, 0)
    a.close()
    b.close()


def test_counts_released_when_client_goes_away(anvil):
    """An smtpd that dies leaves no phantom connections behind."""
    inst, path = anvil()
    a = AnvilClient(path)
    b = AnvilClient(path)
    for _ in range(3):
        a.connect("smtp:192.0.2.7")
    b.connect("smtp:192.0.2.7")
    assert b.lookup("smtp:192.0.2.7")[0] == 4
    a.close()
    inst.wait_for(lambda: b.lookup("smtp:192.0.2.7")[0] == 1, what="release of a's counts")
    b.close()


def test_rate_window(anvil):
    inst, path = anvil(anvil_rate_time_unit="1s")
    a = AnvilClient(path)
    assert a.connect("smtp:192.0.2.9") == (1, 1)
    assert a.connect("smtp:192.0.2.9") == (2, 2)
    assert a.message("smtp:192.0.2.9") == 1
    time.sleep(1.2)
    # a new window: the rate starts over, the simultaneous count does not
    assert a.connect("smtp:192.0.2.9") == (3, 1)
    assert a.message("smtp:192.0.2.9") == 1
    a.close()


def test_bad_requests(anvil):
    inst, path = anvil()
    a = AnvilClient(path)
    assert a.request("explode", "smtp:192.0.2.1") == {"status": "1"}
    assert a.request("connect", "no-colon") == {"status": "1"}
    assert a.request("connect", "smtp:" + "x" * 400) == {"status": "1"}
    a.send_raw(b"request=connect\nident=smtp:1.2.3.4\nextra=1\n\n")
    assert dict(a.read()) == {"status": "1"}
    # still usable after refused requests
    assert a.connect("smtp:192.0.2.1") == (1, 1)
    # broken attribute syntax ends the connection, not the daemon
    a.send_raw(b"this is not an attribute\n\n")
    assert a.read() is None
    a.close()
    b = AnvilClient(path)
    assert b.lookup("smtp:192.0.2.1")[0] == 0
    b.close()
    inst.wait_log(r"anvil\[\d+\]: warning: anvil client: unknown request \"explode\"")


def test_anvil_ignores_max_use(anvil):
    """Counts must not split over processes when many smtpds come and go."""
    inst, path = anvil(max_use="2")
    a = AnvilClient(path)
    a.connect("smtp:192.0.2.5")
    for _ in range(4):
        c = AnvilClient(path)
        assert c.lookup("smtp:192.0.2.5")[0] == 1
        c.close()
    a.close()
    assert len(inst.children("anvil")) == 1


def test_half_request_does_not_stall_others(anvil):
    inst, path = anvil()
    slow = AnvilClient(path)
    slow.send_raw(b"request=connect\nident=smtp:19")     # and then nothing, for now
    fast = AnvilClient(path)
    t0 = time.monotonic()
    assert fast.connect("smtp:192.0.2.30") == (1, 1)
    assert time.monotonic() - t0 < 2
    # the slow request completes in pieces, then works
    slow.send_raw(b"2.0.2.30\n")
    time.sleep(0.2)
    slow.send_raw(b"\nrequest=lookup\nident=smtp:192.0.2.30\n\n")
    assert dict(slow.read()) == {"status": "0", "count": "2", "rate": "2"}
    assert dict(slow.read()) == {"status": "0", "count": "2", "rate": "2", "message_rate": "0"}
    # a request that never ends is cut off at a bound, not buffered forever
    try:
        slow.send_raw(b"request=connect\nident=smtp:" + b"9" * 70000)
        assert slow.read() is None
    except (ConnectionResetError, BrokenPipeError):
        pass
    inst.wait_log(r"anvil\[\d+\]: warning: anvil client: request longer than 65536 bytes")
    assert fast.lookup("smtp:192.0.2.30")[0] == 1
    slow.close()
    fast.close()
