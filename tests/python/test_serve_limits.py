# SPDX-License-Identifier: MIT
"""start_http_server's defences against connection floods: the limits and
the request timeout reach the server (the oldest waiting connection of an
address closed past its limit, a request trickled in closed at the
timeout), and values out of range raise ValueError naming them."""

import re
import select
import socket
import time
import urllib.request

import pytest

import shmetrics


def metric(port, name):
    body = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=10).read().decode()
    m = re.search("^" + re.escape(name) + r" (\S+)$", body, re.M)
    return float(m.group(1)) if m else None


def closed_within(s, seconds):
    r, _, _ = select.select([s], [], [], seconds)
    return bool(r) and s.recv(100) == b""


def test_limits_reach_the_server(registry):
    with shmetrics.start_http_server(0, addr="127.0.0.1", registry=registry, threads=1, max_connections=16,
                                     max_connections_per_address=2, request_timeout=30) as srv:
        assert metric(srv.port, "shmetrics_collector_connections_max") == 16.0
        first = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
        first.sendall(b"GET /metrics HTTP/1.1\r\n")
        time.sleep(0.1)
        second = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
        time.sleep(0.1)
        third = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
        assert closed_within(first, 5), "the address's oldest waiting connection is closed"
        assert not closed_within(second, 0.2)
        for s in (first, second, third):
            s.close()
        assert metric(srv.port, 'shmetrics_collector_connections_closed_total{reason="address_limit"}') >= 1.0


def test_request_timeout_in_seconds(registry):
    with shmetrics.start_http_server(0, addr="127.0.0.1", registry=registry, threads=1, request_timeout=0.3) as srv:
        s = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
        s.sendall(b"GET /metrics HTTP/1.1\r\n")
        t0 = time.monotonic()
        assert closed_within(s, 5)
        assert time.monotonic() - t0 >= 0.25
        s.close()
        assert metric(srv.port, 'shmetrics_collector_connections_closed_total{reason="request_timeout"}') == 1.0


def test_values_out_of_range(registry):
    for bad in (-1, 3601, 0.0001):
        with pytest.raises(ValueError) as e:
            shmetrics.start_http_server(0, addr="127.0.0.1", registry=registry, request_timeout=bad)
        assert str(e.value) == "request_timeout %g is not from 0.001 to 3600 seconds (or 0: the default)" % bad
    with pytest.raises(ValueError) as e:
        shmetrics.start_http_server(0, addr="127.0.0.1", registry=registry, max_connections=100,
                                    max_connections_per_address=101)
    assert "max_connections_per_address 101 is more than max_connections 100" in str(e.value)
    with pytest.raises(ValueError) as e:
        shmetrics.start_http_server(0, addr="127.0.0.1", registry=registry, max_connections=2000000)
    assert "max_connections 2000000 is more than 1,000,000" in str(e.value)
