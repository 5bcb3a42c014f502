# SPDX-License-Identifier: MIT
"""Exposition as prometheus_client does it (its exposition module and
openmetrics.exposition), for any registry whose collect() yields Metric
objects: a CollectorRegistry (arena metrics and custom collectors), a
restricted registry, or a shmetrics Registry.

The text formats are written from the families in Python, so a registry
mixing arena metrics and custom collectors gives one consistent page;
`shmetrics serve` and Registry.expose() are the C encoders for an arena
alone.  Also: choose_encoder, the WSGI and ASGI apps (name[] filter, gzip),
start_http_server / start_wsgi_server, MetricsHandler and
write_to_textfile.
"""

import gzip
import math
import os
import threading
from http.server import BaseHTTPRequestHandler
from socketserver import ThreadingMixIn
from urllib.parse import parse_qs, urlparse
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

__all__ = [
    "CONTENT_TYPE_LATEST",
    "MetricsHandler",
    "OPENMETRICS_CONTENT_TYPE",
    "choose_encoder",
    "generate_latest",
    "generate_latest_openmetrics",
    "make_asgi_app",
    "make_wsgi_app",
    "start_http_server",
    "start_wsgi_server",
    "write_to_textfile",
]

CONTENT_TYPE_LATEST = "text/plain; version=0.0.4; charset=utf-8"
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
        return f"{mantissa}e+0{dot - 1}"
    return s


def _escape_label(v):
    return v.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _escape_help(v):
    return v.replace("\\", "\\\\").replace("\n", "\\n")


def _labels(labels):
    if not labels:
        return ""
    return "{" + ",".join(f'{k}="{_escape_label(str(v))}"' for k, v in sorted(labels.items())) + "}"


def _text_sample(s):
    line = f"{s.name}{_labels(s.labels)} {float_to_go_string(s.value)}"
    if s.timestamp is not None:
        line += f" {int(float(s.timestamp) * 1000):d}"
    return line + "\n"


def generate_latest(registry=None):
    """The Prometheus text format (0.0.4) of a registry's families, bytes.
    Counters are typed under name_total; _created, _gsum and _gcount
    samples get gauge families of their own; info and stateset are gauges,
    gaugehistogram a histogram, unknown untyped (as prometheus_client)."""
    if registry is None:
        registry = _default()
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
            out.append(f"# HELP {mname} {_escape_help(metric.documentation)}\n# TYPE {mname} {mtype}\n")
            extra = {}
            for s in metric.samples:
                for suffix in ("_created", "_gsum", "_gcount"):
                    if s.name == metric.name + suffix:
                        extra.setdefault(suffix, []).append(_text_sample(s))
                        break
                else:
                    out.append(_text_sample(s))
            for suffix, lines in sorted(extra.items()):
                name = metric.name + suffix
                out.append(f"# HELP {name} {_escape_help(metric.documentation)}\n# TYPE {name} gauge\n")
                out.extend(lines)
        except Exception as exception:
            exception.args = (exception.args or ("",)) + (metric,)
            raise
    return "".join(out).encode("utf-8")


def _om_value(v):
    return float_to_go_string(v)


def _om_sample(metric, s):
    labels = _labels(s.labels)
    exemplar = ""
    if s.exemplar is not None:
        if metric.type not in ("histogram", "gaugehistogram", "counter") or (
                metric.type in ("histogram", "gaugehistogram") and not s.name.endswith("_bucket")) or (
                metric.type == "counter" and not s.name.endswith("_total")):
            raise ValueError(f"Metric {metric.name} has exemplars, but is not a histogram bucket or counter")
        exemplar = f" # {_labels(s.exemplar.labels) or '{}'} {_om_value(s.exemplar.value)}"
        if s.exemplar.timestamp is not None:
            exemplar += f" {s.exemplar.timestamp}"
    ts = f" {s.timestamp}" if s.timestamp is not None else ""
    return f"{s.name}{labels} {_om_value(s.value)}{ts}{exemplar}\n"


def generate_latest_openmetrics(registry=None):
    """The OpenMetrics text format (1.0.0) of a registry's families, bytes,
    ending with # EOF; exemplars of counters and histogram buckets."""
    if registry is None:
        registry = _default()
    out = []
    for metric in registry.collect():
        try:
            out.append(f"# HELP {metric.name} {_escape_label(metric.documentation)}\n")
            out.append(f"# TYPE {metric.name} {metric.type}\n")
            if metric.unit:
                out.append(f"# UNIT {metric.name} {metric.unit}\n")
            for s in metric.samples:
                out.append(_om_sample(metric, s))
        except Exception as exception:
            exception.args = (exception.args or ("",)) + (metric,)
            raise
    out.append("# EOF\n")
    return "".join(out).encode("utf-8")


def choose_encoder(accept_header):
    """(encoder, content type) for an Accept header: OpenMetrics when it
    asks for application/openmetrics-text, else the text format 0.0.4."""
    for accepted in (accept_header or "").split(","):
        if accepted.split(";")[0].strip() == "application/openmetrics-text":
            return generate_latest_openmetrics, OPENMETRICS_CONTENT_TYPE
    return generate_latest, CONTENT_TYPE_LATEST


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
    default); /favicon.ico gets an empty 200."""
    if registry is None:
        registry = _default()

    def prometheus_app(environ, start_response):
        accept_header = environ.get("HTTP_ACCEPT")
        accept_encoding_header = environ.get("HTTP_ACCEPT_ENCODING")
        params = parse_qs(environ.get("QUERY_STRING", ""))
        if environ.get("PATH_INFO") == "/favicon.ico":
            status, headers, output = "200 OK", [], b""
        else:
            status, headers, output = _bake_output(registry, accept_header, accept_encoding_header, params,
                                                   disable_compression)
        start_response(status, headers)
        return [output]

    return prometheus_app


def make_asgi_app(registry=None, disable_compression=False):
    """An ASGI application (HTTP scopes) serving the registry's metrics."""
    if registry is None:
        registry = _default()

    async def prometheus_app(scope, receive, send):
        assert scope.get("type") == "http"
        params = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        accept_header = ",".join(v.decode("latin-1") for k, v in scope.get("headers", ()) if k.lower() == b"accept")
        accept_encoding_header = ",".join(
            v.decode("latin-1") for k, v in scope.get("headers", ()) if k.lower() == b"accept-encoding")
        status, headers, output = _bake_output(registry, accept_header, accept_encoding_header, params,
                                               disable_compression)
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


def start_wsgi_server(port, addr="0.0.0.0", registry=None):
    """Serve the registry on addr:port from a daemon thread; returns
    (server, thread) as recent prometheus_client releases do (server.server_port
    is the port; port 0 picks a free one)."""
    if registry is None:
        registry = _default()
    import socket

    class Server(ThreadingWSGIServer):
        address_family = socket.AF_INET6 if ":" in addr else socket.AF_INET

    app = make_wsgi_app(registry)
    httpd = make_server(addr, port, app, Server, handler_class=_SilentHandler)
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


def write_to_textfile(path, registry):
    """Write the registry's text exposition to `path` atomically (a
    temporary file beside it, then rename), for the node exporter's
    textfile collector; the temporary file goes on an error."""
    tmppath = f"{path}.{os.getpid()}.{threading.current_thread().ident}"
    try:
        with open(tmppath, "wb") as f:
            f.write(generate_latest(registry))
        os.replace(tmppath, path)
    except Exception:
        if os.path.exists(tmppath):
            os.remove(tmppath)
        raise
