# SPDX-License-Identifier: MIT
"""Exposition as prometheus_client does it (its exposition module and
openmetrics.exposition), for any registry whose collect() yields Metric
objects: a CollectorRegistry (arena metrics and custom collectors), a
restricted registry, or a shmetrics Registry.

The text formats are written from the families in Python, so a registry
mixing arena metrics and custom collectors gives one consistent page;
`shmetrics serve` and Registry.expose() are the C encoders for an arena
alone.  Names go out by an escaping scheme (escaping.py) that
choose_encoder negotiates from the Accept header with the format's
version, as prometheus_client 0.22+ does.  Also: the WSGI and ASGI apps
(name[] filter, gzip), start_http_server / start_wsgi_server (TLS and
client certificates), MetricsHandler and write_to_textfile; the
Pushgateway client is gateway.py's, re-exported here.

prometheus_client.exposition is this very module (not a copy of its
names), so a program or test that patches one of its functions changes
what the apps call.
"""

import functools
import gzip
import math
import os
import socket
import ssl
import threading
from http.server import BaseHTTPRequestHandler
from socketserver import ThreadingMixIn
from urllib.parse import parse_qs, urlparse
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from . import escaping as escaping_

__all__ = [
    "CONTENT_TYPE_LATEST",
    "CONTENT_TYPE_PLAIN_0_0_4",
    "CONTENT_TYPE_PLAIN_1_0_0",
    "MetricsHandler",
    "OPENMETRICS_CONTENT_TYPE",
    "choose_encoder",
    "delete_from_gateway",
    "generate_latest",
    "generate_latest_openmetrics",
    "instance_ip_grouping_key",
    "make_asgi_app",
    "make_wsgi_app",
    "push_to_gateway",
    "pushadd_to_gateway",
    "start_http_server",
    "start_wsgi_server",
    "write_to_textfile",
]

CONTENT_TYPE_PLAIN_0_0_4 = "text/plain; version=0.0.4; charset=utf-8"
CONTENT_TYPE_PLAIN_1_0_0 = "text/plain; version=1.0.0; charset=utf-8"
CONTENT_TYPE_LATEST = CONTENT_TYPE_PLAIN_1_0_0
OPENMETRICS_CONTENT_TYPE = "application/openmetrics-text; version=1.0.0; charset=utf-8"


def _default():
    from .collectors import REGISTRY

    return REGISTRY


def float_to_go_string(d):
    """A float as Go's strconv writes it, as Prometheus' clients do: +Inf,
    -Inf, NaN; a large value in exponent form (1.5e+16)."""
    d = float(d)
    if d == math.inf:
        return "+Inf"
    if d == -math.inf:
        return "-Inf"
    if d != d:
        return "NaN"
    s = repr(d)
    dot = s.find(".")
    if d > 0 and dot > 6:
        mantissa = f"{s[0]}.{s[1:dot]}{s[dot + 1:]}".rstrip("0.")
        return f"{mantissa}e+{dot - 1:02d}"
    return s


def _escape_help(v):
    return v.replace("\\", "\\\\").replace("\n", "\\n")


def _labels(labels, escaping=escaping_.UNDERSCORES):
    """The label pairs of a sample, sorted, without braces (a value that is
    not a str raises AttributeError, as in prometheus_client)."""
    return ",".join(f'{escaping_.escape_label_name(k, escaping)}="{escaping_.escape_value(v)}"'
                    for k, v in sorted(labels.items()))


def _name_and_labels(name, labels, scheme):
    """name{labels}, or {"name",labels} for a name the allow-utf-8 scheme
    quotes."""
    pairs = _labels(labels, scheme) if labels else ""
    if scheme == escaping_.ALLOWUTF8 and not escaping_.is_legacy_metric_name(name):
        return "{" + escaping_.escape_metric_name(name, scheme) + ("," + pairs if pairs else "") + "}"
    return escaping_.escape_metric_name(name, scheme) + ("{" + pairs + "}" if pairs else "")


def _text_sample(s, scheme):
    line = f"{_name_and_labels(s.name, s.labels, scheme)} {float_to_go_string(s.value)}"
    if s.timestamp is not None:
        line += f" {int(float(s.timestamp) * 1000):d}"
    return line + "\n"


def generate_latest(registry=None, escaping=escaping_.UNDERSCORES):
    """The Prometheus text format of a registry's families, bytes, names
    written by `escaping` (escaping.py: underscores by default, as the
    0.0.4 format needs).  Counters are typed under name_total; _created,
    _gsum and _gcount samples get gauge families of their own; info and
    stateset are gauges, gaugehistogram a histogram, unknown untyped (as
    prometheus_client)."""
    if registry is None:
        registry = _default()
    scheme = escaping
    out = []
    for metric in registry.collect():
        try:
            mname, mtype = metric.name, metric.type
            if mtype == "counter":
                mname += "_total"
            elif mtype == "info":
                mname += "_info"
                mtype = "gauge"
            elif mtype == "stateset":
                mtype = "gauge"
            elif mtype == "gaugehistogram":
                mtype = "histogram"
            elif mtype == "unknown":
                mtype = "untyped"
            ename = escaping_.escape_metric_name(mname, scheme)
            out.append(f"# HELP {ename} {_escape_help(metric.documentation)}\n# TYPE {ename} {mtype}\n")
            extra = {}
            for s in metric.samples:
                for suffix in ("_created", "_gsum", "_gcount"):
                    if s.name == metric.name + suffix:
                        extra.setdefault(suffix, []).append(_text_sample(s, scheme))
                        break
                else:
                    out.append(_text_sample(s, scheme))
        except Exception as exception:
            exception.args = (exception.args or ("",)) + (metric,)
            raise
        for suffix, lines in sorted(extra.items()):
            name = escaping_.escape_metric_name(metric.name + suffix, scheme)
            out.append(f"# HELP {name} {_escape_help(metric.documentation)}\n# TYPE {name} gauge\n")
            out.extend(lines)
    return "".join(out).encode("utf-8")


def parse_version(version):
    """A version string as a tuple to compare: numeric parts as int, the
    others as str ("1.0.0" -> (1, 0, 0))."""
    parts = []
    for part in version.split("."):
        try:
            parts.append(int(part))
        except ValueError:
            parts.append(part)
    return tuple(parts)


def _at_least(version, minimum):
    """Whether a version string is `minimum` or later; False for one that
    does not compare (a part that is not a number where one is needed)."""
    try:
        return parse_version(version) >= minimum
    except TypeError:
        return False


def _om_exemplar(metric, s, exemplar, scheme):
    """An exemplar's text, its label names written by `scheme` as every
    other name (as the collector writes them)."""
    ok = ((metric.type == "counter" and s.name.endswith("_total"))
          or (metric.type in ("histogram", "gaugehistogram") and s.name.endswith("_bucket"))
          or (metric.type == "histogram" and s.name == metric.name))
    if not ok:
        raise ValueError(f"Metric {metric.name} has exemplars, but is not a histogram bucket or counter")
    text = f" # {{{_labels(exemplar.labels, scheme)}}} {float_to_go_string(exemplar.value)}"
    if exemplar.timestamp is not None:
        text += f" {exemplar.timestamp}"
    return text


def _om_spans(spans):
    return ",".join(f"{span[0]}:{span[1]}" for span in spans)


def _om_native(nh):
    """A native histogram's value in OpenMetrics 2.0's text syntax."""
    parts = [f"count:{nh.count_value}", f"sum:{nh.sum_value}", f"schema:{nh.schema}",
             f"zero_threshold:{nh.zero_threshold}", f"zero_count:{nh.zero_count}"]
    for side, spans, deltas in (("negative", nh.neg_spans, nh.neg_deltas),
                                ("positive", nh.pos_spans, nh.pos_deltas)):
        if spans:
            parts.append(f"{side}_spans:[{_om_spans(spans)}]")
            parts.append(f"{side}_deltas:[{','.join(str(d) for d in deltas or ())}]")
    return "{" + ",".join(parts) + "}"


def _om_sample(metric, s, scheme, native):
    exemplars = ""
    if s.exemplar:
        exemplars = _om_exemplar(metric, s, s.exemplar, scheme)
    if s.native_histogram is not None:
        value = _om_native(s.native_histogram)
        for exemplar in s.native_histogram.nh_exemplars or ():
            exemplars += _om_exemplar(metric, s, exemplar, scheme)
    else:
        value = float_to_go_string(s.value)
    ts = f" {s.timestamp}" if s.timestamp is not None else ""
    return f"{_name_and_labels(s.name, s.labels, scheme)} {value}{ts}{exemplars}\n"


def generate_latest_openmetrics(registry=None, escaping=escaping_.UNDERSCORES, version="1.0.0"):
    """The OpenMetrics text format of a registry's families, bytes, ending
    with # EOF; exemplars of counters and histogram buckets.  Native
    histogram samples are written for `version` 2.0.0 and later, left out
    before (1.0.0 has no syntax for them)."""
    if registry is None:
        registry = _default()
    scheme = escaping
    native = _at_least(version, (2, 0, 0))
    out = []
    for metric in registry.collect():
        try:
            ename = escaping_.escape_metric_name(metric.name, scheme)
            out.append(f"# HELP {ename} {escaping_.escape_value(metric.documentation)}\n")
            out.append(f"# TYPE {ename} {metric.type}\n")
            if metric.unit:
                out.append(f"# UNIT {ename} {metric.unit}\n")
            for s in metric.samples:
                if s.native_histogram is not None and not native:
                    continue
                out.append(_om_sample(metric, s, scheme, native))
        except Exception as exception:
            exception.args = (exception.args or ("",)) + (metric,)
            raise
    out.append("# EOF\n")
    return "".join(out).encode("utf-8")


def _parameter(params, key):
    """The value of `key=` among an Accept entry's parameters, or ''."""
    for param in params:
        name, eq, value = param.partition("=")
        if eq and name.strip() == key:
            return value.strip()
    return ""


def choose_encoder(accept_header):
    """(encoder, content type) for an Accept header, as prometheus_client
    negotiates: application/openmetrics-text gives OpenMetrics (a version
    of 1.0.0 or more is echoed with its escaping scheme; none gives 1.0.0
    with underscores); text/plain with a version of 1.0.0 or more gives
    the text format with the asked escaping scheme (CONTENT_TYPE_LATEST);
    anything else the text format 0.0.4, underscores.  An unknown scheme
    is underscores."""
    for accepted in (accept_header or "").split(","):
        media, *params = accepted.split(";")
        media = media.strip()
        if media not in ("application/openmetrics-text", "text/plain"):
            continue
        version = _parameter(params, "version")
        scheme = _parameter(params, "escaping")
        if scheme not in escaping_.SCHEMES:
            scheme = escaping_.UNDERSCORES
        if media == "application/openmetrics-text":
            if not version:
                return (functools.partial(generate_latest_openmetrics, escaping=escaping_.UNDERSCORES,
                                          version="1.0.0"), OPENMETRICS_CONTENT_TYPE)
            if _at_least(version, (1, 0, 0)):
                return (functools.partial(generate_latest_openmetrics, escaping=scheme, version=version),
                        f"application/openmetrics-text; version={version}; charset=utf-8; escaping={scheme}")
        elif _at_least(version, (1, 0, 0)):
            return functools.partial(generate_latest, escaping=scheme), f"{CONTENT_TYPE_LATEST}; escaping={scheme}"
    return generate_latest, CONTENT_TYPE_PLAIN_0_0_4


def gzip_accepted(accept_encoding_header):
    for encoding in (accept_encoding_header or "").split(","):
        if encoding.split(";")[0].strip().lower() == "gzip":
            return True
    return False


def _bake_output(registry, accept_header, accept_encoding_header, params, disable_compression):
    """Status, headers and body of a scrape: the encoder the client asks
    for, the name[] filter, gzip when accepted."""
    encoder, content_type = choose_encoder(accept_header)
    if "name[]" in params:
        registry = registry.restricted_registry(params["name[]"])
    output = encoder(registry)
    headers = [("Content-Type", content_type)]
    if not disable_compression and gzip_accepted(accept_encoding_header):
        output = gzip.compress(output)
        headers.append(("Content-Encoding", "gzip"))
    return "200 OK", headers, output


def make_wsgi_app(registry=None, disable_compression=False):
    """A WSGI application serving the registry's metrics (REGISTRY by
    default) on any path for GET; OPTIONS answers the allowed methods,
    other methods get 405; /favicon.ico gets an empty 200."""
    if registry is None:
        registry = _default()

    def prometheus_app(environ, start_response):
        method = environ.get("REQUEST_METHOD", "GET")
        if method == "OPTIONS":
            status, headers, output = "200 OK", [("Allow", "OPTIONS,GET")], b""
        elif method != "GET":
            status, headers = "405 Method Not Allowed", [("Allow", "OPTIONS,GET")]
            output = f"# HTTP {status}: {method}; use OPTIONS or GET\n".encode()
        elif environ.get("PATH_INFO") == "/favicon.ico":
            status, headers, output = "200 OK", [], b""
        else:
            status, headers, output = _bake_output(registry, environ.get("HTTP_ACCEPT"),
                                                   environ.get("HTTP_ACCEPT_ENCODING"),
                                                   parse_qs(environ.get("QUERY_STRING", "")), disable_compression)
        start_response(status, headers)
        return [output]

    return prometheus_app


def make_asgi_app(registry=None, disable_compression=False):
    """An ASGI application (HTTP scopes) serving the registry's metrics: it
    reads the request, then sends the response start and its body."""
    if registry is None:
        registry = _default()

    async def prometheus_app(scope, receive, send):
        assert scope.get("type") == "http"
        params = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        headers_in = scope.get("headers") or ()
        accept_header = ",".join(v.decode("latin-1") for k, v in headers_in if k.lower() == b"accept")
        accept_encoding_header = ",".join(v.decode("latin-1") for k, v in headers_in if k.lower() == b"accept-encoding")
        status, headers, output = _bake_output(registry, accept_header, accept_encoding_header, params,
                                               disable_compression)
        request = await receive()
        if request.get("type") != "http.request":
            return  # the client went away (http.disconnect)
        await send({
            "type": "http.response.start",
            "status": int(status.split(" ")[0]),
            "headers": [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers],
        })
        await send({"type": "http.response.body", "body": output})

    return prometheus_app


class _SilentHandler(WSGIRequestHandler):
    def log_message(self, format, *args):
        """No access log on stderr."""


class ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    """One thread per request, daemon threads."""

    daemon_threads = True


def _tls_context(certfile, keyfile, protocol, cafile, capath, client_auth_required, tls_min_version,
                 tls_max_version):
    """The server's TLS context; an unreadable file raises the error of its
    kind with a message naming the file."""
    context = ssl.SSLContext(protocol=protocol)
    try:
        if cafile is not None or capath is not None:
            context.load_verify_locations(cafile, capath)
        else:
            context.load_default_certs(purpose=ssl.Purpose.CLIENT_AUTH)
    except OSError as exc:
        raise type(exc)(f"cannot load the client CA certificates from file {cafile!r} or directory {capath!r}: "
                        f"{exc}") from exc
    if client_auth_required:
        context.verify_mode = ssl.CERT_REQUIRED
    try:
        context.load_cert_chain(certfile=certfile, keyfile=keyfile)
    except OSError as exc:
        raise type(exc)(f"cannot load the server certificate {certfile!r} or its key {keyfile!r}: {exc}") from exc
    if tls_min_version is not None:
        context.minimum_version = tls_min_version
    if tls_max_version is not None:
        context.maximum_version = tls_max_version
    return context


def start_wsgi_server(port, addr="0.0.0.0", registry=None, certfile=None, keyfile=None, client_cafile=None,
                      client_capath=None, protocol=ssl.PROTOCOL_TLS_SERVER, client_auth_required=False,
                      tls_min_version=None, tls_max_version=None):
    """Serve the registry on addr:port from a daemon thread; returns
    (server, thread) as recent prometheus_client releases do (server.server_port
    is the port; port 0 picks a free one).  The address family is the
    first getaddrinfo gives for addr.  With certfile and keyfile it serves
    HTTPS: client_cafile / client_capath verify client certificates
    (client_auth_required=True demands one), tls_min_version and
    tls_max_version bound the protocol versions."""
    if registry is None:
        registry = _default()
    family, _, _, _, sockaddr = socket.getaddrinfo(addr, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
    context = None
    if certfile and keyfile:
        context = _tls_context(certfile, keyfile, protocol, client_cafile, client_capath, client_auth_required,
                               tls_min_version, tls_max_version)

    class Server(ThreadingWSGIServer):
        address_family = family

    httpd = make_server(sockaddr[0], port, make_wsgi_app(registry), Server, handler_class=_SilentHandler)
    if context is not None:
        httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    t = threading.Thread(target=httpd.serve_forever, name="shmetrics-wsgi", daemon=True)
    t.start()
    return httpd, t


start_http_server = start_wsgi_server


class MetricsHandler(BaseHTTPRequestHandler):
    """An http.server handler serving `registry` (REGISTRY unless
    factory(registry) made a subclass for another)."""

    registry = None

    def do_GET(self):
        registry = self.registry if self.registry is not None else _default()
        params = parse_qs(urlparse(self.path).query)
        try:
            status, headers, output = _bake_output(registry, self.headers.get("Accept"),
                                                   self.headers.get("Accept-Encoding"), params, False)
        except Exception:
            self.send_error(500, "error generating metric output")
            raise
        self.send_response(int(status.split(" ")[0]))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(output)

    def log_message(self, format, *args):
        """No access log on stderr."""

    @classmethod
    def factory(cls, registry):
        """A handler class serving `registry`."""
        return type(cls.__name__, (cls, object), {"registry": registry})


def write_to_textfile(path, registry, escaping=escaping_.ALLOWUTF8, tmpdir=None):
    """Write the registry's text exposition to `path` atomically (a
    temporary file, then rename), for the node exporter's textfile
    collector; the temporary file is beside `path`, or in `tmpdir` (which
    must be on the same filesystem), and goes on an error."""
    directory = os.path.dirname(path) if tmpdir is None else tmpdir
    tmppath = os.path.join(directory, f"{os.path.basename(path)}.{os.getpid()}.{threading.current_thread().ident}")
    try:
        with open(tmppath, "wb") as f:
            f.write(generate_latest(registry, escaping))
        os.rename(tmppath, path)
    except Exception:
        if os.path.exists(tmppath):
            os.remove(tmppath)
        raise


# The Pushgateway client is prometheus_client.exposition's too.
from .gateway import (  # noqa: E402
    basic_auth_handler,
    default_handler,
    delete_from_gateway,
    instance_ip_grouping_key,
    passthrough_redirect_handler,
    push_to_gateway,
    pushadd_to_gateway,
    tls_auth_handler,
)
