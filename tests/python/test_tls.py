# SPDX-License-Identifier: MIT
"""start_http_server with a web configuration file: https with a
certificate made by openssl, basic auth against a bcrypt hash (the right
password gets the metrics, a wrong one 401 and no metrics), and a bad file
refused with ValueError naming its line."""

import base64
import http.client
import os
import ssl
import subprocess
import sys

import pytest

import shmetrics



def bcrypt(password):
    """A bcrypt hash ($2b$, cost 4) from libxcrypt through Python's crypt
    module, in an interpreter of its own: under the sanitizers this one
    runs with their runtimes preloaded, whose crypt wrapper cannot call
    libxcrypt."""
    env = {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", "PYTHONMALLOC")}
    code = ("import sys, warnings\nwarnings.simplefilter('ignore')\nimport crypt\n"
            "print(crypt.crypt(sys.argv[1], crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=1 << 4)))")
    r = subprocess.run([sys.executable, "-c", code, password], env=env, capture_output=True, text=True, timeout=60,
                       check=True)
    return r.stdout.strip()


def openssl(*args, cwd):
    subprocess.run(["openssl"] + list(args), cwd=cwd, check=True, capture_output=True, timeout=60)


@pytest.fixture
def pki(tmp_path):
    d = str(tmp_path)
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    openssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.crt", "-days", "2", "-subj", "/CN=test ca", cwd=d)
    openssl("req", *ec, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost", cwd=d)
    with open(os.path.join(d, "server.ext"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
            "-out", "server.crt", "-days", "2", "-extfile", "server.ext", cwd=d)
    return d


def fetch(port, path, ca, auth=None):
    conn = http.client.HTTPSConnection("127.0.0.1", port, timeout=15,
                                       context=ssl.create_default_context(cafile=ca))
    headers = {"Authorization": "Basic " + base64.b64encode(auth.encode()).decode()} if auth else {}
    conn.request("GET", path, headers=headers)
    r = conn.getresponse()
    body = r.read().decode()
    conn.close()
    return r.status, r.getheader("WWW-Authenticate"), body


def test_https_with_basic_auth(registry, pki):
    shmetrics.Counter("tls_served_total", "Served.", registry=registry).inc(7)
    hashed = bcrypt("right")
    assert hashed.startswith("$2b$04$") and len(hashed) == 60
    web = os.path.join(pki, "web.yml")
    with open(web, "w") as f:
        f.write("tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n"
                "basic_auth_users:\n  alice: '%s'\n" % hashed)
    ca = os.path.join(pki, "ca.crt")
    with shmetrics.start_http_server(0, addr="127.0.0.1", registry=registry, threads=2,
                                     web_config_file=web) as srv:
        assert srv.scheme == "https"
        status, _, body = fetch(srv.port, "/metrics", ca, "alice:right")
        assert status == 200
        assert "tls_served_total 7.0\n" in body or "tls_served_total 7\n" in body
        status, challenge, body = fetch(srv.port, "/metrics", ca, "alice:wrong")
        assert (status, challenge) == (401, "Basic")
        assert "tls_served" not in body
        status, challenge, body = fetch(srv.port, "/healthz", ca)
        assert (status, challenge, body) == (401, "Basic", "unauthorized\n")
    assert not srv.running


def test_plain_http_without_a_file(registry):
    with shmetrics.start_http_server(0, addr="127.0.0.1", registry=registry, threads=2) as srv:
        assert srv.scheme == "http"


def test_bad_file_raises_value_error_with_its_line(registry, tmp_path):
    web = str(tmp_path / "web.yml")
    with open(web, "w") as f:
        f.write("basic_auth_users:\n  alice: not-a-hash\n")
    with pytest.raises(ValueError) as e:
        shmetrics.start_http_server(0, addr="127.0.0.1", registry=registry, web_config_file=web)
    assert str(e.value) == (web + ":2: the password hash of user 'alice' is not a bcrypt hash ($2y$, $2b$ or "
                            "$2a$, a cost of 04 to 31, 53 characters of salt and hash)")
    missing = str(tmp_path / "none.yml")
    with pytest.raises(FileNotFoundError):
        shmetrics.start_http_server(0, addr="127.0.0.1", registry=registry, web_config_file=missing)
