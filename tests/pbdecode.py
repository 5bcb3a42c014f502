# SPDX-License-Identifier: MIT
"""tests/pbdecode.py - a reader of the Prometheus protobuf exposition format
written for the tests, independent of the C code: the varint-delimited
stream of MetricFamily messages, decoded field by field with the numbers
of proto/metrics.proto, and turned into series the way Prometheus turns
them (family name, _bucket/_sum/_count, le and quantile labels spelled as
Go spells floats), so that a test can compare them with a text scrape.

    fams = families(body)          # [{"name", "help", "type", "metrics"}]
    s = series(fams)               # {(name, ((label, value), ...)): value}
    native_buckets(histogram)      # (schema, {index: count}, {index: count})

A malformed stream (a truncated varint or field, an unknown wire type, a
length past the end) raises ValueError naming the offset.
"""
import decimal
import math
import struct

TYPES = {0: "counter", 1: "gauge", 2: "summary", 3: "untyped", 4: "histogram", 5: "gaugehistogram"}


def varint(buf, pos):
    """(value, next position) of the varint at pos."""
    v = shift = 0
    while True:
        if pos >= len(buf):
            raise ValueError("truncated varint at %d" % pos)
        b = buf[pos]
        pos += 1
        v |= (b & 0x7F) << shift
        if b < 0x80:
            return v, pos
        shift += 7
        if shift >= 70:
            raise ValueError("varint longer than 10 bytes at %d" % pos)


def fields(buf):
    """[(field number, wire type, value)]: an int for a varint, 8 bytes for
    fixed64, 4 for fixed32, bytes for a length-delimited field."""
    out, pos = [], 0
    while pos < len(buf):
        key, pos = varint(buf, pos)
        num, wire = key >> 3, key & 7
        if wire == 0:
            v, pos = varint(buf, pos)
        elif wire in (1, 5):
            n = 8 if wire == 1 else 4
            if pos + n > len(buf):
                raise ValueError("truncated fixed field %d at %d" % (num, pos))
            v, pos = buf[pos:pos + n], pos + n
        elif wire == 2:
            n, pos = varint(buf, pos)
            if pos + n > len(buf):
                raise ValueError("field %d: length %d past the end at %d" % (num, n, pos))
            v, pos = buf[pos:pos + n], pos + n
        else:
            raise ValueError("wire type %d of field %d at %d" % (wire, num, pos))
        out.append((num, wire, v))
    return out


def double(raw):
    return struct.unpack("<d", raw)[0]


def unzigzag(v):
    return (v >> 1) ^ -(v & 1)


def message(buf, spec):
    """A dict from the fields of buf: spec maps a field number to (key,
    kind, repeated); kind is "string", "double", "uint", or a spec (a
    nested message).  Unknown fields are kept under "unknown"."""
    out = {}
    for num, wire, v in fields(buf):
        if num not in spec:
            out.setdefault("unknown", []).append(num)
            continue
        key, kind, repeated = spec[num]
        want = {"string": 2, "double": 1, "uint": 0, "sint": 0}.get(kind, 2) if isinstance(kind, str) else 2
        if wire != want:
            raise ValueError("field %s (%d): wire type %d, not %d" % (key, num, wire, want))
        if kind == "string":
            v = v.decode("utf-8")
        elif kind == "double":
            v = double(v)
        elif kind == "sint":
            v = unzigzag(v)
        elif kind == "packed_sint":
            vals, pos = [], 0
            while pos < len(v):
                x, pos = varint(v, pos)
                vals.append(unzigzag(x))
            v = vals
        elif kind == "packed_double":
            v = [double(v[i:i + 8]) for i in range(0, len(v), 8)]
        elif kind != "uint":
            v = message(v, kind)
        if repeated:
            out.setdefault(key, []).append(v)
        else:
            out[key] = v
    return out


LABEL = {1: ("name", "string", False), 2: ("value", "string", False)}
VALUE = {1: ("value", "double", False)}
QUANTILE = {1: ("quantile", "double", False), 2: ("value", "double", False)}
SUMMARY = {1: ("sample_count", "uint", False), 2: ("sample_sum", "double", False), 3: ("quantile", QUANTILE, True)}
BUCKET = {1: ("cumulative_count", "uint", False), 4: ("cumulative_count_float", "double", False),
          2: ("upper_bound", "double", False)}
SPAN = {1: ("offset", "sint", False), 2: ("length", "uint", False)}
TIMESTAMP = {1: ("seconds", "uint", False), 2: ("nanos", "uint", False)}
HISTOGRAM = {1: ("sample_count", "uint", False), 4: ("sample_count_float", "double", False),
             2: ("sample_sum", "double", False), 3: ("bucket", BUCKET, True),
             5: ("schema", "sint", False), 6: ("zero_threshold", "double", False),
             7: ("zero_count", "uint", False), 8: ("zero_count_float", "double", False),
             9: ("negative_span", SPAN, True), 10: ("negative_delta", "packed_sint", False),
             11: ("negative_count", "packed_double", False), 12: ("positive_span", SPAN, True),
             13: ("positive_delta", "packed_sint", False), 14: ("positive_count", "packed_double", False),
             15: ("created_timestamp", TIMESTAMP, False)}
METRIC = {1: ("label", LABEL, True), 2: ("gauge", VALUE, False), 3: ("counter", VALUE, False),
          4: ("summary", SUMMARY, False), 5: ("untyped", VALUE, False), 7: ("histogram", HISTOGRAM, False),
          6: ("timestamp_ms", "uint", False)}
FAMILY = {1: ("name", "string", False), 2: ("help", "string", False), 3: ("type", "uint", False),
          4: ("metric", METRIC, True)}


def families(body):
    """The MetricFamily messages of a delimited stream, as dicts; "type" is
    the type's word ("counter", ...)."""
    out, pos = [], 0
    while pos < len(body):
        n, pos = varint(body, pos)
        if pos + n > len(body):
            raise ValueError("message of %d bytes at %d runs past the end (%d)" % (n, pos, len(body)))
        f = message(body[pos:pos + n], FAMILY)
        f["type"] = TYPES.get(f.get("type", 0), "type %s" % f.get("type"))
        f.setdefault("metric", [])
        out.append(f)
        pos += n
    return out


def native_buckets(h):
    """The native buckets of a decoded Histogram: (schema, {index: count}
    of the positive buckets, the same of the negative ones), from its
    spans and deltas; None when it has no schema (a classic histogram).
    Empty buckets inside a span are left out."""
    if "schema" not in h:
        return None
    out = []
    for side in ("positive", "negative"):
        counts, idx, count, k = {}, 0, 0, 0
        deltas = h.get(side + "_delta", [])
        for sp in h.get(side + "_span", []):
            idx += sp.get("offset", 0)
            for _ in range(sp.get("length", 0)):
                if k >= len(deltas):
                    raise ValueError("%s spans hold more buckets than deltas" % side)
                count += deltas[k]
                k += 1
                if count:
                    counts[idx] = count
                idx += 1
        if k != len(deltas):
            raise ValueError("%s: %d deltas for %d buckets" % (side, len(deltas), k))
        out.append(counts)
    return h["schema"], out[0], out[1]


def go_float(f):
    """A bound or quantile as Prometheus spells it in le and quantile:
    Go's shortest %g (an exponent below 1e-4 and from 1e+06), with ".0"
    added to a whole number."""
    if math.isnan(f):
        return "NaN"
    if math.isinf(f):
        return "+Inf" if f > 0 else "-Inf"
    if f == 0:
        return "0.0"
    sign, digits, exp = decimal.Decimal(repr(f)).normalize().as_tuple()
    d = "".join(map(str, digits))
    e = len(d) - 1 + exp  # the exponent of the first digit
    s = "-" if sign else ""
    if e < -4 or e >= 6:
        s += d[0] + ("." + d[1:] if len(d) > 1 else "") + "e%s%02d" % ("-" if e < 0 else "+", abs(e))
    elif e >= len(d) - 1:
        s += d + "0" * (e - len(d) + 1)
    elif e >= 0:
        s += d[:e + 1] + "." + d[e + 1:]
    else:
        s += "0." + "0" * (-e - 1) + d
    return s if ("." in s or "e" in s) else s + ".0"


def series(fams):
    """{(sample name, sorted label pairs): value}: what Prometheus ingests
    from these families (classic histograms: +Inf added from the count
    when the buckets leave it out)."""
    out = {}

    def put(name, labels, extra, value):
        key = (name, tuple(sorted(list(labels.items()) + extra)))
        if key in out:
            raise ValueError("series %r twice" % (key,))
        out[key] = value

    for f in fams:
        name, t = f["name"], f["type"]
        for m in f["metric"]:
            labels = {l.get("name", ""): l.get("value", "") for l in m.get("label", [])}
            if t in ("counter", "gauge", "untyped"):
                put(name, labels, [], m.get(t, {}).get("value", 0.0))
            elif t == "summary":
                s = m.get("summary", {})
                for q in s.get("quantile", []):
                    put(name, labels, [("quantile", go_float(q.get("quantile", 0.0)))], q.get("value", 0.0))
                put(name + "_sum", labels, [], s.get("sample_sum", 0.0))
                put(name + "_count", labels, [], float(s.get("sample_count", 0)))
            elif t in ("histogram", "gaugehistogram"):
                h = m.get("histogram", {})
                count = h.get("sample_count_float") or float(h.get("sample_count", 0))
                inf = False
                for b in h.get("bucket", []):
                    ub = b.get("upper_bound", 0.0)
                    inf = inf or ub == math.inf
                    put(name + "_bucket", labels, [("le", go_float(ub))],
                        b.get("cumulative_count_float") or float(b.get("cumulative_count", 0)))
                if not inf:
                    put(name + "_bucket", labels, [("le", "+Inf")], count)
                put(name + "_sum", labels, [], h.get("sample_sum", 0.0))
                put(name + "_count", labels, [], count)
    return out


def text_series(fams):
    """The same mapping from prometheus_client's text parser's families,
    but the name_created gauge families that follow a counter, histogram
    or summary family (prometheus_client's way of showing creation times in
    0.0.4): the protobuf format carries those in created_timestamp, not as
    series."""
    fams = list(fams)
    types = {f.name: f.type for f in fams}
    out = {}
    for f in fams:
        if f.name.endswith("_created") and types.get(f.name[: -len("_created")]) in ("counter", "histogram", "summary"):
            continue
        for s in f.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out
