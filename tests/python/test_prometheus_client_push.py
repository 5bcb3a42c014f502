# SPDX-License-Identifier: MIT
"""The Pushgateway client of shmetrics.prometheus_client (push_to_gateway,
pushadd_to_gateway, delete_from_gateway, the handlers, grouping keys,
compression): the requests it makes, recorded by a small HTTP server in
the test, side by side with Debian's prometheus_client (0.16) where it has
the feature, and pushes into a real Pushgateway (Debian's
prometheus-pushgateway on 127.0.0.1, started and stopped by the test)."""

import base64
import gzip
import http.server
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

import pytest

import shmetrics.prometheus_client as ours

real = pytest.importorskip("prometheus_client")
BOTH = [pytest.param(real, id="prometheus_client"), pytest.param(ours, id="shmetrics")]
BODY = b"# HELP g help\n# TYPE g gauge\ng 2.5\n"


@pytest.fixture(autouse=True)
def single_process(monkeypatch):
    monkeypatch.delenv("SHMETRICS_ARENA", raising=False)
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)


class Recorder(http.server.ThreadingHTTPServer):
    """Records (method, path, headers, body) of every request; /fail
    answers 500, /auth 401 without the right basic auth, /redirect 301 to
    /moved."""

    daemon_threads = True

    def __init__(self):
        self.requests = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_PUT(h):
                body = h.rfile.read(int(h.headers.get("Content-Length") or 0))
                self.requests.append((h.command, h.path, dict(h.headers), body))
                if "/fail" in h.path:
                    h.send_response(500)
                elif "/auth" in h.path and h.headers.get("Authorization") != "Basic " + base64.b64encode(
                        b"user:pass").decode():
                    h.send_response(401)
                elif "/redirect" in h.path:
                    h.send_response(301)
                    h.send_header("Location", f"http://127.0.0.1:{self.server_port}/moved")
                else:
                    h.send_response(202)
                h.send_header("Content-Length", "0")
                h.end_headers()

            do_POST = do_PUT
            do_DELETE = do_PUT

            def log_message(h, *args):
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server_port}"
        threading.Thread(target=self.serve_forever, daemon=True).start()


@pytest.fixture
def gw():
    server = Recorder()
    yield server
    server.shutdown()
    server.server_close()


def registry(pc):
    reg = pc.CollectorRegistry()
    pc.Gauge("g", "help", registry=reg).set(2.5)
    return reg


@pytest.mark.parametrize("pc", BOTH)
def test_push_pushadd_delete_requests(pc, gw):
    reg = registry(pc)
    pc.push_to_gateway(gw.url, "my_job", reg)
    pc.pushadd_to_gateway(gw.url + "/", "my_job", reg, {"a": 9})
    pc.delete_from_gateway(gw.url.replace("http://", ""), "my_job", {"b": "x"})
    got = [(m, p, h.get("Content-Type"), b) for m, p, h, b in gw.requests]
    assert got == [
        ("PUT", "/metrics/job/my_job", "text/plain; version=0.0.4; charset=utf-8", BODY),
        ("POST", "/metrics/job/my_job/a/9", "text/plain; version=0.0.4; charset=utf-8", BODY),
        ("DELETE", "/metrics/job/my_job/b/x", "text/plain; version=0.0.4; charset=utf-8", b""),
    ]


@pytest.mark.parametrize("pc", BOTH)
def test_grouping_key_and_job_escaping(pc, gw):
    reg = registry(pc)
    pc.push_to_gateway(gw.url, "my/job", reg, {"z": "a/ z", "a": 9, "m": "x+y&"})
    assert gw.requests[0][1] == "/metrics/job@base64/bXkvam9i/a/9/m/x%2By%26/z@base64/YS8geg=="


def test_empty_and_spaced_grouping_values(gw):
    # The current release's forms (prometheus_client 0.16 writes a bare '/'
    # for an empty value and '+' for a space).
    ours.push_to_gateway(gw.url, "j", registry(ours), {"a": "", "s": "two words"})
    assert gw.requests[0][1] == "/metrics/job/j/a@base64/=/s@base64/dHdvIHdvcmRz"


@pytest.mark.parametrize("pc", BOTH)
def test_handler_gets_the_request_and_default_timeout(pc, gw):
    seen = {}

    def handler(url, method, timeout, headers, data):
        seen.update(url=url, method=method, timeout=timeout, data=data)
        headers.append(("X-Test", "foobar"))
        return pc.exposition.default_handler(url, method, timeout, headers, data)

    pc.push_to_gateway(gw.url, "j", registry(pc), handler=handler)
    assert seen == {"url": gw.url + "/metrics/job/j", "method": "PUT", "timeout": 30, "data": BODY}
    assert gw.requests[0][2]["X-Test"] == "foobar"


@pytest.mark.parametrize("pc", BOTH)
def test_basic_auth_handler(pc, gw):
    def good(url, method, timeout, headers, data):
        return pc.exposition.basic_auth_handler(url, method, timeout, headers, data, "user", "pass")

    def bad(url, method, timeout, headers, data):
        return pc.exposition.basic_auth_handler(url, method, timeout, headers, data, "user", "wrong")

    pc.push_to_gateway(gw.url, "auth", registry(pc), handler=good)
    with pytest.raises(urllib.error.HTTPError) as err:
        pc.push_to_gateway(gw.url, "auth", registry(pc), handler=bad)
    assert err.value.code == 401
    assert [r[1] for r in gw.requests] == ["/metrics/job/auth", "/metrics/job/auth"]


def test_passthrough_redirect_repeats_the_request(gw):
    def handler(url, method, timeout, headers, data):
        return ours.exposition.passthrough_redirect_handler(url, method, timeout, headers, data)

    ours.push_to_gateway(gw.url, "redirect", registry(ours), handler=handler)
    assert [(m, p, b) for m, p, _, b in gw.requests] == [("PUT", "/metrics/job/redirect", BODY),
                                                         ("PUT", "/moved", BODY)]
    # The default handler does not follow a redirect of a PUT (urllib's rule).
    with pytest.raises(urllib.error.HTTPError) as err:
        ours.push_to_gateway(gw.url, "redirect", registry(ours))
    assert err.value.code == 301


def test_tls_auth_handler_over_plain_http_still_sends(gw, tmp_path):
    # The handler adds a TLS client certificate for https:// gateways; an
    # http:// one gets the request without it (as prometheus_client).
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-keyout", "key.pem", "-out", "cert.pem", "-days", "2", "-subj", "/CN=client"],
                   cwd=tmp_path, check=True, capture_output=True, timeout=60)

    def handler(url, method, timeout, headers, data):
        return ours.exposition.tls_auth_handler(url, method, timeout, headers, data, str(tmp_path / "cert.pem"),
                                                str(tmp_path / "key.pem"))

    ours.push_to_gateway(gw.url, "tls", registry(ours), handler=handler)
    assert gw.requests[0][:2] == ("PUT", "/metrics/job/tls")
    with pytest.raises(FileNotFoundError):
        ours.exposition.tls_auth_handler("https://x", "PUT", 1, [], b"", str(tmp_path / "none.pem"),
                                         str(tmp_path / "key.pem"))


def test_gzip_compression(gw):
    ours.push_to_gateway(gw.url, "j", registry(ours), compression="gzip")
    _, _, headers, body = gw.requests[0]
    assert headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(body) == BODY


def test_bad_input_sends_nothing(gw, monkeypatch):
    reg = registry(ours)
    with pytest.raises(ValueError, match="Unsupported compression type: brotli"):
        ours.push_to_gateway(gw.url, "j", reg, compression="brotli")
    with pytest.raises(ValueError, match="the job must be a non-empty string, not ''"):
        ours.push_to_gateway(gw.url, "", reg)
    with pytest.raises(ValueError, match="grouping key label name 'a/b' is empty or holds '/'"):
        ours.pushadd_to_gateway(gw.url, "j", reg, {"a/b": 1})
    with pytest.raises(ValueError, match="grouping key label name '' is empty"):
        ours.delete_from_gateway(gw.url, "j", {"": 1})
    monkeypatch.setitem(sys.modules, "snappy", None)  # python-snappy missing
    with pytest.raises(RuntimeError, match="snappy compression needs the python-snappy package"):
        ours.push_to_gateway(gw.url, "j", reg, compression="snappy")
    assert gw.requests == []


def test_gateway_errors_are_raised(gw):
    with pytest.raises(urllib.error.HTTPError) as err:
        ours.push_to_gateway(gw.url, "fail", registry(ours))
    assert err.value.code == 500
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    with pytest.raises(urllib.error.URLError):
        ours.push_to_gateway(f"127.0.0.1:{port}", "j", registry(ours), timeout=5)


@pytest.mark.parametrize("pc", BOTH)
def test_instance_ip_grouping_key(pc):
    assert pc.instance_ip_grouping_key() == {"instance": "127.0.0.1"}


PUSHGATEWAY = "/usr/bin/prometheus-pushgateway"


@pytest.fixture
def pushgateway(tmp_path):
    if not os.path.exists(PUSHGATEWAY):
        pytest.fail("prometheus-pushgateway is missing: run scripts/install-deps.sh")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = open(tmp_path / "pushgateway.log", "wb")
    proc = subprocess.Popen([PUSHGATEWAY, f"--web.listen-address=127.0.0.1:{port}"], stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(url + "/-/ready", timeout=2):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError((tmp_path / "pushgateway.log").read_text()) from None
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


def gateway_samples(url, name):
    """The gateway's samples of `name`: {sorted label pairs: value}."""
    parser = pytest.importorskip("prometheus_client.parser")
    with urllib.request.urlopen(url + "/metrics", timeout=10) as r:
        text = r.read().decode()
    return {tuple(sorted(s.labels.items())): s.value
            for f in parser.text_string_to_metric_families(text) for s in f.samples if s.name == name}


def test_real_pushgateway(pushgateway):
    reg = ours.CollectorRegistry()
    c = ours.Counter("batch_records", "Records.", ["kind"], registry=reg)
    c.labels("a").inc(7)
    g = ours.Gauge("batch_last_seconds", "Last run.", registry=reg)
    g.set(12.5)
    key = {"instance": "host 1/a", "shard": ""}
    ours.push_to_gateway(pushgateway, "nightly/batch", reg, key, compression="gzip")
    labels = (("instance", "host 1/a"), ("job", "nightly/batch"), ("shard", ""))
    counter = tuple(sorted(labels + (("kind", "a"),)))
    assert gateway_samples(pushgateway, "batch_records_total") == {counter: 7.0}
    assert gateway_samples(pushgateway, "batch_last_seconds") == {labels: 12.5}
    # POST replaces the families pushed only; PUT the whole group.
    other = ours.CollectorRegistry()
    ours.Gauge("batch_last_seconds", "Last run.", registry=other).set(13)
    ours.pushadd_to_gateway(pushgateway, "nightly/batch", other, key)
    assert gateway_samples(pushgateway, "batch_records_total") == {counter: 7.0}
    assert gateway_samples(pushgateway, "batch_last_seconds") == {labels: 13.0}
    ours.push_to_gateway(pushgateway, "nightly/batch", other, key)
    assert gateway_samples(pushgateway, "batch_records_total") == {}
    ours.delete_from_gateway(pushgateway, "nightly/batch", key)
    assert gateway_samples(pushgateway, "batch_last_seconds") == {}
