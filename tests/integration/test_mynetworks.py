"""mynetworks computed from mynetworks_style (as Postfix) when main.cf does
not set it: postconf against what Python finds on this machine's
interfaces, and a real smtpd relaying for the clients that list trusts.

The expected lists are computed here from `ip -j addr` (iproute2), or
/proc/net/if_inet6 plus `ip -o -4 addr`, never by the code under test.
Only loopback addresses (127.0.0.0/8, ::1) are used as SMTP clients.
"""
import ipaddress
import json
import os
import shutil
import smtplib
import subprocess

import pytest


def _up(name):
    try:
        with open(f"/sys/class/net/{name}/flags") as f:
            return int(f.read().strip(), 16) & 1 == 1
    except OSError:
        return True


def local_interfaces():
    """[(ipaddress interface object), ...] of interfaces that are up, in
    interface order, IPv4 and IPv6 (any scope, link-local included)."""
    ip = shutil.which("ip")
    out = []
    if ip:
        p = subprocess.run([ip, "-j", "addr"], capture_output=True, text=True)
        if p.returncode == 0 and p.stdout.strip().startswith("["):
            for link in json.loads(p.stdout):
                if "UP" not in link.get("flags", []):
                    continue
                for a in link.get("addr_info", []):
                    if a.get("family") in ("inet", "inet6"):
                        out.append(ipaddress.ip_interface(f"{a['local']}/{a['prefixlen']}"))
            return out
    if not ip:
        pytest.skip("no iproute2 to list the interfaces")
    p = subprocess.run([ip, "-o", "-4", "addr"], capture_output=True, text=True, check=True)
    for line in p.stdout.splitlines():
        f = line.split()
        if _up(f[1].rstrip(":")):
            out.append(ipaddress.ip_interface(f[3]))
    try:
        with open("/proc/net/if_inet6") as fp:
            for line in fp:
                hexaddr, _idx, plen, _scope, _flags, name = line.split()
                if _up(name):
                    addr = ipaddress.IPv6Address(bytes.fromhex(hexaddr))
                    out.append(ipaddress.ip_interface(f"{addr}/{int(plen, 16)}"))
    except OSError:
        pass
    return out


def pattern(net):
    return f"{net.network_address}/{net.prefixlen}" if net.version == 4 \
        else f"[{net.network_address}]/{net.prefixlen}"


def expected(style, ifaces, versions=(4, 6)):
    """The mynetworks list Postfix would compute: IPv4 first, no repeats."""
    result = []
    for version in (4, 6):
        if version not in versions:
            continue
        for i in ifaces:
            if i.version != version or i.ip.is_unspecified:
                continue
            if style == "host":
                net = ipaddress.ip_network(f"{i.ip}/{i.max_prefixlen}")
            elif style == "class" and version == 4:
                first = int(i.ip) >> 24
                plen = 8 if first < 128 else 16 if first < 192 else 24 if first < 224 else 4
                net = ipaddress.ip_network(f"{i.ip}/{plen}", strict=False)
            else:
                net = i.network
            text = pattern(net)
            if text not in result:
                result.append(text)
    return result


def postconf(inst, *args):
    p = inst.command("postconf", *args)
    assert p.returncode == 0, p.stderr
    return p


@pytest.mark.parametrize("style", ["host", "subnet", "class"])
def test_postconf_style_all_interfaces(instance, style):
    ifaces = local_interfaces()
    instance.write_main_cf({"inet_interfaces": "all", "inet_protocols": "all",
                            "mynetworks_style": style})
    got = postconf(instance, "-h", "mynetworks").stdout.split()
    want = expected(style, ifaces)
    assert got == want, (got, want)
    if style == "host":
        assert "127.0.0.1/32" in got
    else:
        assert "127.0.0.0/8" in got
    # $mynetworks elsewhere sees the computed list
    assert postconf(instance, "-xh", "smtpd_client_event_limit_exceptions").stdout.split() == got


def test_postconf_d_is_host_style(instance):
    instance.write_main_cf({"mynetworks_style": "subnet", "mynetworks": "10.0.0.0/8"})
    got = postconf(instance, "-dh", "mynetworks").stdout.split()
    assert got == expected("host", local_interfaces())


def test_postconf_protocols_and_loopback_only(instance):
    ifaces = local_interfaces()
    instance.write_main_cf({"inet_interfaces": "all", "inet_protocols": "ipv4",
                            "mynetworks_style": "subnet"})
    got = postconf(instance, "-h", "mynetworks").stdout.split()
    assert got == expected("subnet", ifaces, versions=(4,))
    assert all(not x.startswith("[") for x in got)

    loop = [i for i in ifaces if i.ip.is_loopback]
    instance.write_main_cf({"inet_interfaces": "loopback-only", "inet_protocols": "all"})
    for style in ("host", "subnet", "class"):
        instance.write_main_cf({"mynetworks_style": style})
        got = postconf(instance, "-h", "mynetworks").stdout.split()
        assert got == expected(style, loop), style

    # a list of addresses: each with its interface netmask
    instance.write_main_cf({"inet_interfaces": "127.0.0.1", "mynetworks_style": "subnet"})
    want = expected("subnet", [i for i in ifaces if str(i.ip) == "127.0.0.1"])
    assert postconf(instance, "-h", "mynetworks").stdout.split() == want


def test_explicit_mynetworks_wins(instance):
    instance.write_main_cf({"inet_interfaces": "all", "mynetworks_style": "class",
                            "mynetworks": "192.0.2.0/24, [2001:db8::]/32"})
    assert postconf(instance, "mynetworks").stdout == \
        "mynetworks = 192.0.2.0/24, [2001:db8::]/32\n"
    assert postconf(instance, "-xh", "smtpd_client_event_limit_exceptions").stdout == \
        "192.0.2.0/24, [2001:db8::]/32\n"
    # explicit, even when inet_interfaces names an address that is not ours
    instance.write_main_cf({"inet_interfaces": "203.0.113.254"})
    assert postconf(instance, "-h", "mynetworks").stdout == "192.0.2.0/24, [2001:db8::]/32\n"


def test_bad_style(instance):
    instance.write_main_cf({"mynetworks_style": "bogus"})
    p = instance.command("postconf", "mynetworks")
    assert p.returncode == 0
    assert p.stdout == "mynetworks =\n"
    want = (f"{instance.dir}/main.cf, line {list(instance.params).index('mynetworks_style') + 1}: "
            f"parameter mynetworks_style: invalid value \"bogus\" (expected host, subnet, class)")
    assert f"postconf: warning: {want}" in p.stderr
    # the programs refuse to start, naming the parameter
    instance.write_master_cf(f"127.0.0.1:{instance.free_port()} inet n - n - - smtpd\n")
    p = instance.start(check=False)
    assert p.returncode != 0
    assert "parameter mynetworks_style: invalid value \"bogus\"" in p.stderr + instance.log()


def test_interface_not_local(instance):
    instance.write_main_cf({"inet_interfaces": "203.0.113.254"})
    p = instance.command("postconf", "mynetworks")
    assert p.stdout == "mynetworks =\n"
    assert "parameter inet_interfaces: no local interface found for 203.0.113.254" in p.stderr


def test_address_in_loopback_network(instance):
    """Linux treats every address of lo's 127.0.0.0/8 as local, and our
    daemons listen on such addresses (the tests use 127.0.77.50 and the
    like): one counts as on lo, with lo's netmask."""
    instance.write_main_cf({"inet_interfaces": "127.0.77.50"})
    p = postconf(instance, "mynetworks")
    assert p.stdout == "mynetworks = 127.0.77.50/32\n", p.stdout + p.stderr
    instance.write_main_cf({"inet_interfaces": "127.0.77.50", "mynetworks_style": "subnet"})
    assert postconf(instance, "mynetworks").stdout == "mynetworks = 127.0.0.0/8\n"


BASE = {
    "mydestination": "$myhostname, localhost, example.com",
    "alias_maps": "",
    "local_recipient_maps": "inline:{ alice=x }",
    "smtpd_relay_restrictions": "permit_mynetworks, reject",
}


def start_smtpd(instance_factory, extra):
    params = dict(BASE)
    params.update(extra)
    inst = instance_factory(main_cf=params)
    assert "mynetworks" not in inst.params
    port = inst.free_port()
    inst.write_master_cf(f"127.0.0.1:{port} inet n - n - - smtpd\n"
                         f"anvil unix - - n - 1 anvil\n")
    inst.start()
    inst.port = port
    return inst


def relay_code(inst, source):
    s = smtplib.SMTP("127.0.0.1", inst.port, source_address=(source, 0), timeout=15)
    try:
        s.ehlo("client.example")
        assert s.mail("sender@example.net")[0] == 250
        return s.rcpt("victim@remote.test")[0]
    finally:
        s.quit()


def test_smtpd_host_style(instance_factory):
    inst = start_smtpd(instance_factory, {"mynetworks_style": "host"})
    assert relay_code(inst, "127.0.0.1") == 250
    assert relay_code(inst, "127.0.0.2") == 554


def test_smtpd_subnet_loopback_only(instance_factory):
    inst = start_smtpd(instance_factory, {"mynetworks_style": "subnet",
                                          "inet_interfaces": "loopback-only"})
    assert relay_code(inst, "127.0.0.1") == 250
    assert relay_code(inst, "127.0.0.2") == 250
