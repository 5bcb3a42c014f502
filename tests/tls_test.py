# SPDX-License-Identifier: MIT
"""TLS and basic auth of `shmetrics serve --web.config.file`, from the
outside: a CA, a server certificate (SAN 127.0.0.1, localhost) and client
certificates made by openssl in a temporary directory; bcrypt hashes made
by Python's crypt module (libxcrypt).

  - promtool check web-config accepts every valid file used here;
  - the right password gets the metrics, a wrong one, none or an unknown
    user 401 with WWW-Authenticate: Basic and no metrics, /healthz too
    (an unknown user after as long as a known one);
    the configured headers are on both;
  - a verified password is cached (later requests skip bcrypt), a wrong
    one is never (each pays bcrypt);
  - plain HTTP to the TLS port gets no metrics;
  - each client_auth_type against no certificate, one the CA signed for
    clients, one it signed for servers only, and a self-signed foreign one;
  - min_version TLS13 refuses a TLS 1.2 client, max_version TLS12 a
    TLS 1.3-only one;
  - basic auth without TLS serves http;
  - malformed files are refused at start: exit status 1 and the message
    naming the file and the exact line;
  - a real Prometheus (Debian's) scrapes over https with a client
    certificate and basic auth, and its query API returns the exact value;
    a job with a wrong password is down.

Everything started here listens on 127.0.0.1, is bounded in time and
stopped by PID.  Needs SHMETRICS_CLI; run by Debian's python3.
"""
import base64
import http.client
import os
import re
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import warnings

from prom_server import Prometheus, scrape_config
from serve_proc import Server
from tap import check, failed, summary

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import crypt  # libxcrypt: bcrypt as $2b$

CLI = os.environ["SHMETRICS_CLI"]
PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"
ARENA = "/dev/shm/shmetrics-tls-%d" % os.getpid()
METRIC = 'tls_requests_total{code="200"} 42'
TMP = tempfile.mkdtemp(prefix="shmetrics-tls-")


def path(name):
    return os.path.join(TMP, name)


def openssl(*args):
    subprocess.run(["openssl"] + list(args), cwd=TMP, check=True, capture_output=True, timeout=60)


def make_pki():
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    openssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.crt", "-days", "2", "-subj", "/CN=shmetrics test CA",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign")
    for name, ext in (("server", "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n"),
                      ("client", "extendedKeyUsage=clientAuth\n")):
        openssl("req", *ec, "-keyout", name + ".key", "-out", name + ".csr", "-subj", "/CN=" + name)
        with open(path(name + ".ext"), "w") as f:
            f.write(ext)
        openssl("x509", "-req", "-in", name + ".csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
                "-out", name + ".crt", "-days", "2", "-extfile", name + ".ext")
    # A client certificate no configured CA signed, and a key of no certificate.
    openssl("req", "-x509", *ec, "-keyout", "foreign.key", "-out", "foreign.crt", "-days", "2", "-subj", "/CN=foreign")
    openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", "other.key")
    openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-aes256", "-pass", "pass:x",
            "-out", "encrypted.key")
    with open(path("garbage.crt"), "w") as f:
        f.write("this is not a certificate\n")


def bcrypt(password, cost):
    return crypt.crypt(password, crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=1 << cost))


def write(name, text):
    with open(path(name), "w") as f:
        f.write(text)
    return path(name)


def promtool_ok(name):
    r = subprocess.run([PROMTOOL, "check", "web-config", path(name)], capture_output=True, text=True, timeout=60)
    check(r.returncode == 0, "promtool check web-config accepts %s" % name, r.stdout + r.stderr)


def Serve(config, equals=False):
    """The collector with the web configuration file `config`, given as
    --web.config.file=FILE (equals) or as two arguments."""
    arg = ["--web.config.file=" + path(config)] if equals else ["--web.config.file", path(config)]
    return Server(ARENA, *arg)


def context(cert=None, key=None, max_version=None, min_version=None):
    c = ssl.create_default_context(cafile=path("ca.crt"))
    if cert:
        c.load_cert_chain(path(cert), path(key))
    if max_version:
        c.maximum_version = max_version
    if min_version:
        c.minimum_version = min_version
    return c


def get(port, urlpath="/metrics", auth=None, ctx=None, tls=True):
    """(status, lower-cased headers, body, TLS version); status None and
    the error as body when the connection failed."""
    if tls:
        conn = http.client.HTTPSConnection("127.0.0.1", port, timeout=15, context=ctx or context())
    else:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
    headers = {"Authorization": "Basic " + base64.b64encode(auth.encode()).decode()} if auth else {}
    try:
        conn.request("GET", urlpath, headers=headers)
        version = conn.sock.version() if tls else None
        r = conn.getresponse()
        body = r.read().decode()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, body, version
    except (OSError, http.client.HTTPException) as e:
        return None, {}, repr(e), None
    finally:
        conn.close()


def test_basic_auth_over_tls():
    alice = bcrypt("alice-pw", 10)
    bob = bcrypt("bob-pw", 4).replace("$2b$", "$2y$", 1)  # htpasswd's prefix
    carol = bcrypt("carol-pw", 12)  # slow enough to see the cache
    write("auth.yml", "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n"
          "http_server_config:\n  headers:\n    X-Content-Type-Options: nosniff\n"
          "    Strict-Transport-Security: max-age=31536000\n"
          "basic_auth_users:\n  alice: '%s'\n  bob: '%s'\n  carol: '%s'\n" % (alice, bob, carol))
    promtool_ok("auth.yml")
    srv = Serve("auth.yml", equals=True)
    try:
        check(srv.scheme == "https", "the port line says https", srv.scheme)
        st, h, body, _ = get(srv.port, auth="alice:alice-pw")
        check(st == 200 and METRIC in body, "right password ($2b$): 200 with the metrics", (st, body[:200]))
        check(h.get("x-content-type-options") == "nosniff" and
              h.get("strict-transport-security") == "max-age=31536000", "configured headers on the 200", h)
        st, h, body, _ = get(srv.port, auth="bob:bob-pw")
        check(st == 200 and METRIC in body, "right password ($2y$): 200 with the metrics", (st, body[:200]))
        for what, auth in (("wrong password", "alice:bob-pw"), ("no password", None), ("unknown user", "dave:x"),
                           ("empty password", "alice:")):
            st, h, body, _ = get(srv.port, auth=auth)
            check(st == 401 and h.get("www-authenticate") == "Basic" and "tls_requests" not in body,
                  "%s: 401, WWW-Authenticate: Basic, no metrics" % what, (st, h, body[:200]))
        check(h.get("strict-transport-security") == "max-age=31536000", "configured headers on the 401", h)
        st, _, body, _ = get(srv.port, "/healthz")
        check(st == 401 and body == "unauthorized\n", "/healthz needs the password too", (st, body))
        st, _, body, _ = get(srv.port, "/healthz", auth="bob:bob-pw")
        check(st == 200 and body == "ok\n", "/healthz with it: ok", (st, body))

        # The cache, counted by the collector (a test asserts no timing):
        # each password check is admitted from the cache, or pays one
        # bcrypt that admits or refuses it.
        def checks():
            _, _, body, _ = get(srv.port, auth="bob:bob-pw")
            out = []
            for result in ("cached", "verified", "refused"):
                m = re.search(r'^shmetrics_collector_password_checks_total\{result="%s"\} (\S+)$' % result, body, re.M)
                out.append(float(m.group(1)) if m else None)
            return out

        c0 = checks()  # bob's own scrape is admitted from the cache or verified
        st, _, body, _ = get(srv.port, auth="carol:carol-pw")
        c1 = checks()
        check(st == 200 and METRIC in body, "carol's first request: 200 with the metrics")
        check([c1[0] - c0[0], c1[1] - c0[1], c1[2] - c0[2]] == [1, 1, 0],
              "carol's first password pays one bcrypt (and bob's next scrape is cached)", (c0, c1))
        for _ in range(5):
            st, _, body, _ = get(srv.port, auth="carol:carol-pw")
            check(st == 200 and METRIC in body, "cached password: 200 with the metrics")
        c2 = checks()
        check([c2[0] - c1[0], c2[1] - c1[1], c2[2] - c1[2]] == [6, 0, 0],
              "carol's 5 next requests (and bob's scrape) come from the cache: no bcrypt", (c1, c2))
        for _ in range(3):
            st, _, _, _ = get(srv.port, auth="carol:carol-pX")
            check(st == 401, "wrong password after the right one: 401")
        c3 = checks()
        check([c3[0] - c2[0], c3[1] - c2[1], c3[2] - c2[2]] == [1, 0, 3],
              "a wrong password is never cached: each of 3 pays bcrypt", (c2, c3))
        st, _, _, _ = get(srv.port, auth="mallory:x")
        c4 = checks()
        check(st == 401 and [c4[0] - c3[0], c4[1] - c3[1], c4[2] - c3[2]] == [1, 0, 1],
              "an unknown user pays bcrypt as a known one does", (c3, c4))

        # Plain HTTP to the TLS port: the handshake fails, no metrics.
        s = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
        s.sendall(b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Basic "
                  + base64.b64encode(b"alice:alice-pw") + b"\r\n\r\n")
        out = b""
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                out += chunk
        except (socket.timeout, ConnectionResetError):
            pass
        s.close()
        check(b"tls_requests" not in out and b"200 OK" not in out, "plain HTTP to the TLS port: no metrics", out[:100])
    finally:
        srv.stop()


def test_client_certificates():
    # (mode, {certificate: metrics served?})
    # "server": signed by the CA, but for servers only (extendedKeyUsage).
    cases = (("RequireAndVerifyClientCert", {None: False, "client": True, "server": False, "foreign": False}),
             ("VerifyClientCertIfGiven", {None: True, "client": True, "server": False, "foreign": False}),
             ("RequireAnyClientCert", {None: False, "client": True, "server": True, "foreign": True}),
             ("RequestClientCert", {None: True, "client": True, "server": True, "foreign": True}))
    for mode, expect in cases:
        name = "mtls-%s.yml" % mode
        write(name, "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n"
              "  client_auth_type: %s\n  client_ca_file: ca.crt\n" % mode)
        promtool_ok(name)
        srv = Serve(name)
        try:
            for cert, served in expect.items():
                ctx = context(cert + ".crt", cert + ".key") if cert else context()
                st, _, body, _ = get(srv.port, ctx=ctx)
                want = 200 if served else 403
                check(st == want and (METRIC in body) == served, "%s, %s certificate: %d%s" %
                      (mode, cert or "no", want, " with the metrics" if served else ", no metrics"), (st, body[:200]))
        finally:
            srv.stop()


def test_versions():
    write("tls13.yml", "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  min_version: TLS13\n")
    write("tls12.yml", "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  max_version: TLS12\n"
          "  prefer_server_cipher_suites: false\n")
    for name in ("tls13.yml", "tls12.yml"):
        promtool_ok(name)
    srv = Serve("tls13.yml")
    try:
        st, _, body, _ = get(srv.port, ctx=context(max_version=ssl.TLSVersion.TLSv1_2))
        check(st is None and "tls_requests" not in body, "min_version TLS13: a TLS 1.2 client is refused", body)
        st, _, body, version = get(srv.port)
        check(st == 200 and METRIC in body and version == "TLSv1.3", "min_version TLS13: TLS 1.3 gets 200", version)
    finally:
        srv.stop()
    srv = Serve("tls12.yml")
    try:
        st, _, body, _ = get(srv.port, ctx=context(min_version=ssl.TLSVersion.TLSv1_3))
        check(st is None, "max_version TLS12: a TLS 1.3-only client is refused", body)
        st, _, body, version = get(srv.port)
        check(st == 200 and METRIC in body and version == "TLSv1.2", "max_version TLS12: TLS 1.2 gets 200", version)
    finally:
        srv.stop()


def test_basic_auth_without_tls():
    write("plain-auth.yml", "basic_auth_users:\n  alice: '%s'\n" % bcrypt("pw", 4))
    write("empty.yml", "")
    promtool_ok("plain-auth.yml")
    promtool_ok("empty.yml")
    srv = Serve("plain-auth.yml")
    try:
        check(srv.scheme == "http", "basic auth alone: the port line says http")
        st, _, body, _ = get(srv.port, tls=False)
        check(st == 401 and "tls_requests" not in body, "basic auth alone: no password, 401")
        st, _, body, _ = get(srv.port, auth="alice:pw", tls=False)
        check(st == 200 and METRIC in body, "basic auth alone: right password, 200 with the metrics")
    finally:
        srv.stop()
    srv = Serve("empty.yml")
    try:
        st, _, body, _ = get(srv.port, tls=False)
        check(srv.scheme == "http" and st == 200 and METRIC in body, "an empty file: plain HTTP, no auth")
    finally:
        srv.stop()


def test_malformed_files():
    tls = "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n"
    cases = (
        ("unknown key", tls + "  client_auth: RequireAndVerifyClientCert\n",
         "4: unknown key 'client_auth' in tls_server_config"),
        ("YAML syntax", "basic_auth_users:\n  alice: x\n bob: y\n",
         "3: not valid YAML: did not find expected key while parsing a block mapping"),
        ("bad enum", tls + "  min_version: TLS1.3\n",
         "4: min_version 'TLS1.3' is not one of TLS10, TLS11, TLS12, TLS13"),
        ("bad bcrypt hash", "\n\nbasic_auth_users:\n  alice: '$2y$10$tooshort'\n",
         "4: the password hash of user 'alice' is not a bcrypt hash ($2y$, $2b$ or $2a$, a cost of 04 to 31, "
         "53 characters of salt and hash)"),
        ("unsupported cipher_suites", tls + "  cipher_suites: [TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256]\n",
         "4: cipher_suites is not supported by shmetrics: its TLS library (GnuTLS) names and orders them otherwise, "
         "and its defaults apply; remove the key"),
        ("key of another certificate", "tls_server_config:\n  cert_file: server.crt\n\n  key_file: other.key\n",
         "4: key_file 'other.key' is not the key of the certificate in cert_file 'server.crt'"),
        ("certificate not PEM", "tls_server_config:\n  key_file: server.key\n  cert_file: garbage.crt\n",
         "3: cert_file 'garbage.crt' holds no PEM certificate (No certificate was found.)"),
        ("key not PEM", "tls_server_config:\n  cert_file: server.crt\n  key_file: server.crt\n",
         "3: key_file 'server.crt' holds no unencrypted PEM private key (The requested data were not available.)"),
        ("encrypted key", "tls_server_config:\n  cert_file: server.crt\n  key_file: encrypted.key\n",
         "3: key_file 'encrypted.key' holds no unencrypted PEM private key (Decryption has failed.)"),
        ("CA not PEM", tls + "  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: garbage.crt\n",
         "5: client_ca_file 'garbage.crt' holds no PEM certificate (none found)"),
        ("missing key file", tls.replace("server.key", "missing.key"),
         "3: key_file 'missing.key': cannot read %s: No such file or directory" % path("missing.key")),
        ("client_auth_type without client_ca_file", tls + "  client_auth_type: VerifyClientCertIfGiven\n",
         "4: client_auth_type VerifyClientCertIfGiven needs client_ca_file (the CA whose certificates are asked "
         "for)"),
    )
    for what, text, want in cases:
        f = write("bad.yml", text)
        r = subprocess.run([CLI, "serve", "--arena", ARENA, "--listen", "127.0.0.1:0", "--web.config.file", f],
                           capture_output=True, text=True, timeout=30)
        expect = "shmetrics: starting the server: %s:%s (Invalid argument)\n" % (f, want)
        check(r.returncode == 1 and r.stdout == "" and r.stderr == expect,
              "refused at start, the file and line named: %s" % what, (r.returncode, r.stderr, expect))
    r = subprocess.run([CLI, "serve", "--arena", ARENA, "--web.config.file", path("none.yml")],
                       capture_output=True, text=True, timeout=30)
    check(r.returncode == 1 and r.stderr == "shmetrics: starting the server: cannot read the web configuration file "
          "%s: No such file or directory (No such file or directory)\n" % path("none.yml"),
          "a missing file: its errno", r.stderr)


def test_prometheus_scrapes_https():
    write("prom-web.yml", "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n"
          "  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.crt\n"
          "basic_auth_users:\n  prometheus: '%s'\n" % bcrypt("scrape-pw", 10))
    promtool_ok("prom-web.yml")
    srv = Serve("prom-web.yml")
    prom = None
    try:
        job = ("    scheme: https\n    basic_auth:\n      username: prometheus\n      password: %s\n"
               "    tls_config:\n      ca_file: %s\n      cert_file: %s\n      key_file: %s\n")
        tls = (path("ca.crt"), path("client.crt"), path("client.key"))
        target = "127.0.0.1:%d" % srv.port
        config = (scrape_config("shmetrics_tls", target, job % (("scrape-pw",) + tls))
                  + scrape_config("wrong_password", target, job % (("guess",) + tls)).split("scrape_configs:\n")[1])
        prom = Prometheus(path("prom"), config)

        def state():
            return (prom.scalar('up{job="shmetrics_tls"}'), prom.scalar('up{job="wrong_password"}'),
                    prom.scalar('tls_requests_total{job="shmetrics_tls",code="200"}'))

        prom.wait(lambda: state()[0] == 1 and state()[1] == 0 and state()[2] is not None)
        up, down, value = state()
        check(up == 1.0, "Prometheus scrapes over https with a client certificate and basic auth: up == 1", up)
        check(value == 42.0, "Prometheus holds the exact value: tls_requests_total{code=\"200\"} == 42", value)
        check(down == 0.0, "a job with a wrong password: up == 0", down)
        check(prom.scalar('count(tls_requests_total{job="wrong_password"})') is None,
              "and no sample of the wrong-password job")
    finally:
        if prom:
            if failed():
                sys.stdout.write(prom.tail())
            prom.stop()
        srv.stop()


def main():
    try:
        make_pki()
        r = subprocess.run([CLI, "inc", "--arena", ARENA, "--help", "Requests.", "tls_requests_total", "code=200", "42"],
                           capture_output=True, text=True, timeout=60)
        check(r.returncode == 0, "arena filled", r.stderr)
        test_basic_auth_over_tls()
        test_client_certificates()
        test_versions()
        test_basic_auth_without_tls()
        test_malformed_files()
        test_prometheus_scrapes_https()
    finally:
        try:
            os.unlink(ARENA)
        except FileNotFoundError:
            pass
        shutil.rmtree(TMP, ignore_errors=True)
    return summary()


if __name__ == "__main__":
    sys.exit(main())
