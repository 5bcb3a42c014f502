# SPDX-License-Identifier: MIT
"""The Pushgateway client of prometheus_client's exposition module:
push_to_gateway (PUT: replaces the group), pushadd_to_gateway (POST:
replaces the pushed families only), delete_from_gateway (DELETE), the
request handlers they take (default, basic auth, TLS client certificate,
redirect pass-through) and instance_ip_grouping_key.

The body is the registry's text exposition (format 0.0.4, names escaped
with underscores), gzip or snappy compressed on request.  The URL is
GATEWAY/metrics/job/JOB{/LABEL/VALUE}, the grouping key sorted; a value
that is empty, or holds '/' or a space, goes in the Pushgateway's base64
form (LABEL@base64/URLSAFE-BASE64, '=' for an empty value).  A gateway
without an http:// or https:// scheme gets http://.

A handler is handler(url, method, timeout, headers, data) -> a callable
that sends the request and raises on failure (an HTTP status of 400 or
more raises urllib's HTTPError, an OSError).  shmetrics.push and
`shmetrics push` push an arena from C; this module pushes a registry,
custom collectors included.
"""

import base64
import gzip
import socket
import ssl
from urllib.parse import quote_plus, urlparse
from urllib.request import HTTPRedirectHandler, HTTPSHandler, Request, build_opener

from . import exposition

__all__ = [
    "basic_auth_handler",
    "default_handler",
    "delete_from_gateway",
    "instance_ip_grouping_key",
    "passthrough_redirect_handler",
    "push_to_gateway",
    "pushadd_to_gateway",
    "tls_auth_handler",
]


def _sender(url, method, timeout, headers, data, *handlers):
    def send():
        request = Request(url, data=data, method=method)
        for name, value in headers:
            request.add_header(name, value)
        with build_opener(*handlers).open(request, timeout=timeout) as response:
            response.read()

    return send


def default_handler(url, method, timeout, headers, data):
    """Sends the request over HTTP or HTTPS (the system's CA
    certificates); redirects only as urllib follows them (GET and HEAD)."""
    return _sender(url, method, timeout, headers, data)


class _RepeatOnRedirect(HTTPRedirectHandler):
    """Follows 301, 302, 303, 307 and 308 with the same method, headers
    and body."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        if code not in (301, 302, 303, 307, 308):
            return None
        again = Request(newurl.replace(" ", "%20"), data=req.data, headers=req.headers,
                        origin_req_host=req.origin_req_host, unverifiable=True, method=req.get_method())
        return again

    http_error_308 = HTTPRedirectHandler.http_error_302


def passthrough_redirect_handler(url, method, timeout, headers, data):
    """As default_handler, but a redirect repeats the very request (method,
    headers and body) at the new location: for a gateway behind a redirect
    one trusts."""
    return _sender(url, method, timeout, headers, data, _RepeatOnRedirect)


def basic_auth_handler(url, method, timeout, headers, data, username=None, password=None):
    """As default_handler, with HTTP basic authentication when both
    username and password are given."""

    def send():
        if username is not None and password is not None:
            token = base64.b64encode(f"{username}:{password}".encode("utf-8")).decode("ascii")
            headers.append(("Authorization", "Basic " + token))
        default_handler(url, method, timeout, headers, data)()

    return send


def tls_auth_handler(url, method, timeout, headers, data, certfile, keyfile, cafile=None,
                     protocol=ssl.PROTOCOL_TLS_CLIENT, insecure_skip_verify=False):
    """As default_handler, presenting the client certificate certfile (key
    keyfile) to an HTTPS gateway, verified against cafile (the system's CA
    certificates when None); insecure_skip_verify=True verifies neither
    the certificate nor the host name."""
    context = ssl.SSLContext(protocol=protocol)
    if cafile is not None:
        context.load_verify_locations(cafile)
    else:
        context.load_default_certs()
    if insecure_skip_verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    context.load_cert_chain(certfile=certfile, keyfile=keyfile)
    return _sender(url, method, timeout, headers, data, HTTPSHandler(context=context))


def _path_pair(name, value):
    """LABEL/VALUE of the URL, in base64 form when the value is empty or
    holds '/' or a space."""
    if value == "":
        return f"{name}@base64/="
    if "/" in value or " " in value:
        return f"{name}@base64/{base64.urlsafe_b64encode(value.encode('utf-8')).decode('ascii')}"
    return f"{name}/{quote_plus(value)}"


def _url(gateway, job, grouping_key):
    if not isinstance(job, str) or not job:
        raise ValueError(f"the job must be a non-empty string, not {job!r}")
    if urlparse(gateway).scheme not in ("http", "https"):
        gateway = "http://" + gateway
    url = gateway.rstrip("/") + "/metrics/" + _path_pair("job", job)
    for name, value in sorted((grouping_key or {}).items()):
        name = str(name)
        if not name or "/" in name:
            raise ValueError(f"grouping key label name {name!r} is empty or holds '/'")
        url += "/" + _path_pair(name, str(value))
    return url


def _compress(data, compression):
    if compression is None:
        return data, []
    encoding = str(compression).lower()
    if encoding == "gzip":
        return gzip.compress(data), [("Content-Encoding", "gzip")]
    if encoding == "snappy":
        try:
            import snappy
        except ImportError:
            raise RuntimeError("snappy compression needs the python-snappy package (Debian: python3-snappy)") from None
        try:
            compressor = snappy.StreamCompressor()
            body = compressor.compress(data)
            flush = getattr(compressor, "flush", None)
            if callable(flush):
                body += flush()
        except SystemError as exc:  # python-snappy 0.5 built for an older Python (Debian 12's)
            raise RuntimeError(f"python-snappy's stream compressor fails on this Python: {exc}") from exc
        return body, [("Content-Encoding", "snappy")]
    raise ValueError(f"Unsupported compression type: {compression} (gzip, snappy or None)")


def _use_gateway(method, gateway, job, registry, grouping_key, timeout, handler, compression):
    url = _url(gateway, job, grouping_key)
    headers = [("Content-Type", exposition.CONTENT_TYPE_PLAIN_0_0_4)]
    data = b""
    if method != "DELETE":
        data, extra = _compress(exposition.generate_latest(registry), compression)
        headers += extra
    handler(url=url, method=method, timeout=timeout, headers=headers, data=data)()


def push_to_gateway(gateway, job, registry, grouping_key=None, timeout=30, handler=default_handler,
                    compression=None):
    """PUT the registry's metrics (REGISTRY when None) to the Pushgateway
    at `gateway` under `job` and `grouping_key`: they replace every metric
    of that group.  `timeout` in seconds (None: none); `handler` sends the
    request (default_handler, basic_auth_handler, ...); `compression`
    None, 'gzip' or 'snappy'."""
    _use_gateway("PUT", gateway, job, registry, grouping_key, timeout, handler, compression)


def pushadd_to_gateway(gateway, job, registry, grouping_key=None, timeout=30, handler=default_handler,
                       compression=None):
    """POST the registry's metrics to the Pushgateway: they replace the
    group's metrics of the same names only (arguments as push_to_gateway)."""
    _use_gateway("POST", gateway, job, registry, grouping_key, timeout, handler, compression)


def delete_from_gateway(gateway, job, grouping_key=None, timeout=30, handler=default_handler):
    """DELETE the group `job` / `grouping_key` from the Pushgateway."""
    _use_gateway("DELETE", gateway, job, None, grouping_key, timeout, handler, None)


def instance_ip_grouping_key():
    """{'instance': IP}: this host's address toward localhost, a grouping
    key naming the pushing machine."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.connect(("localhost", 0))
        return {"instance": s.getsockname()[0]}
