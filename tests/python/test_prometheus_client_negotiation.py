# SPDX-License-Identifier: MIT
"""The exposition of the current prometheus_client release on
shmetrics.prometheus_client, beyond what Debian's 0.16 has: the name
escaping schemes, the content type negotiation (text 0.0.4 / 1.0.0,
OpenMetrics 1.0.0 / 2.0.0 and their escaping parameter), native histogram
samples in OpenMetrics 2.0, the WSGI app's methods, TLS and client
certificates for start_wsgi_server, write_to_textfile's tmpdir, and
prometheus_client.exposition being shmetrics.exposition itself."""

import os
import re
import ssl
import subprocess
import urllib.error
import urllib.request
from unittest import mock

import pytest

import shmetrics.exposition
import shmetrics.prometheus_client as pc
from shmetrics.prometheus_client import core
from shmetrics.prometheus_client import exposition
from shmetrics.prometheus_client.openmetrics import exposition as om


@pytest.fixture(autouse=True)
def single_process(monkeypatch):
    monkeypatch.delenv("SHMETRICS_ARENA", raising=False)
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)


@pytest.mark.parametrize("name,underscores,dots,values", [
    ("", "", "", ""),
    ("vllm:num_requests", "vllm:num_requests", "vllm:num__requests", "vllm:num_requests"),
    ("a.b-c", "a_b_c", "a_dot_b__c", "U__a_2e_b_2d_c"),
    ("9lives", "_lives", "__lives", "U___39_lives"),
    ("é\ud800", "__", "____", "U___e9__FFFD_"),
])
def test_escape_metric_name(name, underscores, dots, values):
    assert om.escape_metric_name(name, om.UNDERSCORES) == underscores
    assert om.escape_metric_name(name, om.DOTS) == dots
    assert om.escape_metric_name(name, om.VALUES) == values
    quoted = name if name == "" or name == underscores else '"' + name + '"'
    assert om.escape_metric_name(name, om.ALLOWUTF8) == quoted


def test_escape_label_name():
    # ':' is outside a label name's set; '__' names are not legacy ones.
    assert om.escape_label_name("a:b", om.UNDERSCORES) == "a_b"
    assert om.escape_label_name("a:b", om.VALUES) == "U__a_3a_b"
    assert om.escape_label_name("__x", om.ALLOWUTF8) == '"__x"'
    assert om.escape_label_name("a_b", "no-such-scheme") == "a_b"


def registry():
    reg = pc.CollectorRegistry()
    pc.Counter("my_hits", "Hits.", ["the_path"], registry=reg).labels("/").inc(2)
    return reg


LEGACY_TEXT = b'# HELP my_hits_total Hits.\n# TYPE my_hits_total counter\nmy_hits_total{the_path="/"} 2.0\n'
DOTS_TEXT = b'# HELP my__hits__total Hits.\n# TYPE my__hits__total counter\nmy__hits__total{the__path="/"} 2.0\n'


@pytest.mark.parametrize("accept,content_type,body", [
    (None, "text/plain; version=0.0.4; charset=utf-8", LEGACY_TEXT),
    ("text/plain", "text/plain; version=0.0.4; charset=utf-8", LEGACY_TEXT),
    ("text/plain; charset=utf-8; escaping=allow-utf-8", "text/plain; version=0.0.4; charset=utf-8", LEGACY_TEXT),
    ("text/plain; version=1.0.0", "text/plain; version=1.0.0; charset=utf-8; escaping=underscores", LEGACY_TEXT),
    ("text/plain; version=1.0.0; escaping=allow-utf-8",
     "text/plain; version=1.0.0; charset=utf-8; escaping=allow-utf-8", LEGACY_TEXT),
    ("text/plain; version=1.0.0; escaping=dots", "text/plain; version=1.0.0; charset=utf-8; escaping=dots", DOTS_TEXT),
    ("text/plain; version=1.0.0; escaping=bogus",
     "text/plain; version=1.0.0; charset=utf-8; escaping=underscores", LEGACY_TEXT),
    ("text/plain; version=x.y", "text/plain; version=0.0.4; charset=utf-8", LEGACY_TEXT),
    ("application/json, text/plain; version=0.0.4", "text/plain; version=0.0.4; charset=utf-8", LEGACY_TEXT),
])
def test_text_negotiation(accept, content_type, body):
    encoder, got = exposition.choose_encoder(accept)
    assert got == content_type
    assert b"".join(encoder(registry()).splitlines(True)[:3]) == body  # the _created family follows


def test_openmetrics_negotiation():
    encoder, got = exposition.choose_encoder("application/openmetrics-text; escaping=dots")
    assert got == "application/openmetrics-text; version=1.0.0; charset=utf-8"
    assert encoder(registry()).startswith(b"# HELP my_hits Hits.\n")
    encoder, got = exposition.choose_encoder("application/openmetrics-text; version=2.0.0; escaping=values")
    assert got == "application/openmetrics-text; version=2.0.0; charset=utf-8; escaping=values"
    assert encoder.keywords == {"escaping": "values", "version": "2.0.0"}
    encoder, got = exposition.choose_encoder("application/openmetrics-text; version=0.0.1")
    assert got == "text/plain; version=0.0.4; charset=utf-8"


class Native:
    def collect(self):
        h = core.HistogramMetricFamily("nh", "Native.")
        h.add_sample("nh", {"a": "b"}, 0, None, None, core.NativeHistogram(
            5, 7.5, 3, 0.001, 1, pos_spans=(core.BucketSpan(0, 2), core.BucketSpan(3, 1)), pos_deltas=(1, 0, 1),
            nh_exemplars=(core.Exemplar({"t": "1"}, 0.5, 12),)))
        h.add_sample("nh_count", {"a": "b"}, 5)
        yield h


def test_native_histograms_in_openmetrics_2_only():
    reg = pc.CollectorRegistry()
    reg.register(Native())
    assert om.generate_latest(reg, version="2.0.0") == (
        b'# HELP nh Native.\n# TYPE nh histogram\n'
        b'nh{a="b"} {count:5,sum:7.5,schema:3,zero_threshold:0.001,zero_count:1,positive_spans:[0:2,3:1],'
        b'positive_deltas:[1,0,1]} # {t="1"} 0.5 12\n'
        b'nh_count{a="b"} 5.0\n# EOF\n')
    assert om.generate_latest(reg) == b'# HELP nh Native.\n# TYPE nh histogram\nnh_count{a="b"} 5.0\n# EOF\n'


def test_wsgi_methods():
    app = pc.make_wsgi_app(registry())
    seen = []
    start = lambda status, headers: seen.append((status, headers))  # noqa: E731
    assert app({"REQUEST_METHOD": "OPTIONS", "PATH_INFO": "/metrics"}, start) == [b""]
    assert app({"REQUEST_METHOD": "POST", "PATH_INFO": "/metrics"}, start) == [
        b"# HTTP 405 Method Not Allowed: POST; use OPTIONS or GET\n"]
    assert seen == [("200 OK", [("Allow", "OPTIONS,GET")]), ("405 Method Not Allowed", [("Allow", "OPTIONS,GET")])]


def test_prometheus_client_exposition_is_one_module():
    assert exposition is shmetrics.exposition
    app = pc.make_wsgi_app(registry())
    with mock.patch("shmetrics.prometheus_client.exposition._bake_output",
                    return_value=("200 OK", [], b"patched")) as bake:
        assert app({"REQUEST_METHOD": "GET", "PATH_INFO": "/"}, lambda *a: None) == [b"patched"]
    assert bake.call_count == 1


def test_write_to_textfile_tmpdir_and_escaping(tmp_path):
    (tmp_path / "tmp").mkdir()
    path = tmp_path / "out.prom"
    pc.write_to_textfile(str(path), registry(), escaping=om.DOTS, tmpdir=str(tmp_path / "tmp"))
    assert path.read_bytes().startswith(DOTS_TEXT)  # then the _created family
    assert sorted(os.listdir(tmp_path)) == ["out.prom", "tmp"] and os.listdir(tmp_path / "tmp") == []
    with pytest.raises(FileNotFoundError):
        pc.write_to_textfile(str(path), registry(), tmpdir=str(tmp_path / "missing"))


@pytest.fixture
def pki(tmp_path):
    def openssl(*args):
        subprocess.run(["openssl"] + list(args), cwd=tmp_path, check=True, capture_output=True, timeout=60)

    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2"]
    openssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.crt", "-subj", "/CN=test ca")
    (tmp_path / "ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    for who in ("server", "client"):
        openssl("req", *ec, "-keyout", f"{who}.key", "-out", f"{who}.csr", "-subj", f"/CN={who}")
        openssl("x509", "-req", "-in", f"{who}.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
                "-out", f"{who}.crt", "-days", "2", "-extfile", "ext")
    openssl("req", "-x509", *ec, "-keyout", "other.key", "-out", "other.crt", "-subj", "/CN=other")
    return tmp_path


def fetch(port, ctx):
    with urllib.request.urlopen(f"https://127.0.0.1:{port}/metrics", context=ctx, timeout=10) as r:
        return r.read()


def client_context(pki, cert=None, version=None):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(str(pki / "ca.crt"))
    if cert:
        ctx.load_cert_chain(str(pki / f"{cert}.crt"), str(pki / f"{cert}.key"))
    if version:
        ctx.minimum_version = ctx.maximum_version = version
    return ctx


def test_tls_server_client_certificates_and_versions(pki):
    tls = {"certfile": str(pki / "server.crt"), "keyfile": str(pki / "server.key")}
    httpd, t = pc.start_wsgi_server(0, addr="127.0.0.1", registry=registry(), client_cafile=str(pki / "ca.crt"),
                                    client_auth_required=True, tls_max_version=ssl.TLSVersion.TLSv1_2, **tls)
    try:
        port = httpd.server_port
        assert fetch(port, client_context(pki, "client")).startswith(LEGACY_TEXT)
        for cert in (None, "other"):  # no client certificate, or one the CA did not sign
            with pytest.raises((ssl.SSLError, urllib.error.URLError, ConnectionError)):
                fetch(port, client_context(pki, cert))
        with pytest.raises(urllib.error.URLError):
            fetch(port, client_context(pki, "client", ssl.TLSVersion.TLSv1_3))
    finally:
        httpd.shutdown()
        httpd.server_close()
        t.join()
    with pytest.raises(FileNotFoundError, match="cannot load the server certificate '/nonexistent.crt'"):
        pc.start_wsgi_server(0, addr="127.0.0.1", certfile="/nonexistent.crt", keyfile=tls["keyfile"])
    with pytest.raises(FileNotFoundError, match="cannot load the client CA certificates from file '/no-ca.pem'"):
        pc.start_wsgi_server(0, addr="127.0.0.1", client_cafile="/no-ca.pem", **tls)


# Names beyond the legacy rules, as prometheus_client's current release
# takes them: a dotted OpenTelemetry-style name, a leading digit, a dash,
# non-ASCII letters, and legacy names beside them.
UTF8_NAMES = [("http.server.duration", ["http.method", "code"]), ("9lives", ["ünïcode"]), ("a-b", []),
              ("vllm:legacy_name", ["model_name"])]


def utf8_metrics(reg):
    for i, (name, labels) in enumerate(UTF8_NAMES):
        c = pc.Counter(name, "Help of %s." % name, labels, registry=reg)
        (c.labels(*["v%d" % j for j in range(len(labels))]) if labels else c).inc(i + 1)
    h = pc.Histogram("rpc.latency", "Latency.", ["rpc.method"], buckets=[0.5], registry=reg)
    h.labels("Get").observe(0.25)


@pytest.mark.parametrize("scheme", [None, "underscores", "allow-utf-8", "dots", "values"])
@pytest.mark.parametrize("fmt", ["text/plain;version=1.0.0", "application/openmetrics-text;version=1.0.0"])
def test_utf8_names_served_by_the_collector_as_prometheus_client_writes_them(scheme, fmt, arena_path, monkeypatch):
    """The C collector (the HTTP server over the arena) and prometheus_client's
    writers (this module's generate_latest) escape and quote the same names
    the same way, for every scheme a scraper may ask for: the bodies are
    equal, family by family (up to the order of a sample's labels and the
    spelling of its value, which the two writers choose apart)."""
    monkeypatch.setenv("PROMETHEUS_DISABLE_CREATED_SERIES", "true")
    registry = shmetrics.Registry(arena_path, families=64, series=256, processes=8)
    try:
        utf8_metrics(registry)
        accept = fmt + ("; escaping=" + scheme if scheme else "")
        generator, content_type = exposition.choose_encoder(accept)
        want = generator(registry).decode()
        with shmetrics.start_http_server(0, addr="127.0.0.1", registry=registry, threads=1) as srv:
            req = urllib.request.Request(f"http://127.0.0.1:{srv.port}/metrics", headers={"Accept": accept})
            with urllib.request.urlopen(req, timeout=10) as r:
                got, got_type = r.read().decode(), r.headers["Content-Type"]
    finally:
        registry.close(unlink=True)

    def sample(line):
        if line.startswith("#"):
            return line
        if "{" not in line:
            name, value = line.rsplit(" ", 1)
            return "%s %r" % (name, float(value))
        head, rest = line.split("{", 1)
        inner, value = rest.rsplit("} ", 1)
        name, pairs = head, []
        for k, v in re.findall(r'("(?:[^"\\]|\\.)*"|[^,="]+)(?:=("(?:[^"\\]|\\.)*"))?', inner):
            if v:
                pairs.append(k + "=" + v)
            else:
                name = k
        return "%s{%s} %r" % (name, ",".join(sorted(pairs)), float(value))

    def families(text):
        out, cur = {}, None
        for line in text.splitlines():
            if line.startswith(("# HELP ", "# TYPE ", "# UNIT ")):
                cur = line.split(" ", 3)[2]
            if line and line != "# EOF":
                out.setdefault(cur, set()).add(sample(line))
        return out

    ours = families(got)
    # The collector's own families (shmetrics_*) and the workers' process
    # metrics are not prometheus_client's.
    ours = {k: v for k, v in ours.items() if k and not k.startswith(("shmetrics_", "process_"))}
    assert ours == families(want), (got, want)
    if scheme:
        assert got_type.endswith("; escaping=" + scheme), got_type
    # The names the scheme gives, spelled out for two of them.
    expect = {None: "http_server_duration_total{http_method=", "underscores": "http_server_duration_total{",
              "allow-utf-8": '{"http.server.duration_total","http.method"=',
              "dots": "http_dot_server_dot_duration__total{http_dot_method=",
              "values": "U__http_2e_server_2e_duration__total{U__http_2e_method="}[scheme]
    assert expect in got, got
    assert ('vllm:legacy_name_total{model_name="v0"} 4' if scheme != "dots" else
            'vllm:legacy__name__total{model__name="v0"} 4') in got, got


def test_utf8_exemplar_label_names():
    """prometheus_client's classes take UTF-8 exemplar label names unless
    legacy validation is on (read at the call); the expositions escape them
    as they escape every other name; an empty or reserved name is refused
    and nothing is counted."""
    from shmetrics.prometheus_client import validation
    reg = pc.CollectorRegistry()
    c = pc.Counter("ex", "Exemplars.", registry=reg)
    c.inc(exemplar={"trace.id": "abc"})
    assert '# {trace_id="abc"} 1.0' in om.generate_latest(reg).decode()
    gen, _ = exposition.choose_encoder("application/openmetrics-text; version=1.0.0; escaping=allow-utf-8")
    assert '# {"trace.id"="abc"} 1.0' in gen(reg).decode()
    for bad, msg in (({"": "x"}, "Invalid label metric name: "), ({"__a": "x"}, "Reserved label metric name: __a")):
        with pytest.raises(ValueError, match=msg):
            c.inc(exemplar=bad)
    validation.enable_legacy_validation()
    try:
        with pytest.raises(ValueError, match="Invalid label metric name: trace.id"):
            c.inc(exemplar={"trace.id": "abc"})
    finally:
        validation.disable_legacy_validation()
    assert reg.get_sample_value("ex_total") == 1.0
