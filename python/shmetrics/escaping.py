# SPDX-License-Identifier: MIT
"""Name escaping schemes of the text formats, as prometheus_client 0.22+
and Prometheus negotiate them (the `escaping=` parameter of the
Accept and Content-Type headers):

  allow-utf-8   names go out as they are; one outside the legacy
                character set is quoted ("a.b" in a sample's braces)
  underscores   each character outside the legacy set becomes `_`
  dots          `_` doubles, `.` becomes `_dot_`, others outside the set `__`
  values        `U__` then `_` doubled and others outside the set as
                `_HEX_` (a surrogate as `_FFFD_`)

Legacy sets: a metric name [a-zA-Z_:][a-zA-Z0-9_:]*, a label name
[a-zA-Z_][a-zA-Z0-9_]* not starting with `__`.  Under underscores and
values a legacy name is left as it is; dots applies to every name.

prometheus_client's metric classes and metric families take UTF-8 names
unless legacy validation is on (PROMETHEUS_LEGACY_NAME_VALIDATION, or
prometheus_client.validation.enable_legacy_validation(): the switch is
kept here, where the families read it); shmetrics' own classes keep the
legacy rules.
"""

import os
import re

__all__ = [
    "ALLOWUTF8",
    "DOTS",
    "SCHEMES",
    "UNDERSCORES",
    "VALUES",
    "escape_label_name",
    "escape_metric_name",
    "escape_value",
    "is_legacy_label_name",
    "is_legacy_metric_name",
]

ALLOWUTF8 = "allow-utf-8"
UNDERSCORES = "underscores"
DOTS = "dots"
VALUES = "values"
SCHEMES = (ALLOWUTF8, UNDERSCORES, DOTS, VALUES)

_METRIC = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_LABEL = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")


_legacy_validation = os.environ.get("PROMETHEUS_LEGACY_NAME_VALIDATION", "False").lower() in ("true", "1", "t")


def legacy_validation():
    """prometheus_client's switch: True when the legacy name rules are asked for."""
    return _legacy_validation


def set_legacy_validation(on):
    global _legacy_validation
    _legacy_validation = bool(on)


def is_legacy_metric_name(name):
    return _METRIC.fullmatch(name) is not None


def is_legacy_label_name(name):
    return _LABEL.fullmatch(name) is not None and not name.startswith("__")


def _legal(ch, first, colon):
    if "a" <= ch <= "z" or "A" <= ch <= "Z" or ch == "_":
        return True
    if "0" <= ch <= "9":
        return not first
    return colon and ch == ":"


def escape_value(s):
    """A label value or help text in the text formats: backslash, newline
    and double quote escaped."""
    return s.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _rewrite(name, scheme, colon):
    if scheme == UNDERSCORES:
        return "".join(ch if _legal(ch, i == 0, colon) else "_" for i, ch in enumerate(name))
    if scheme == DOTS:
        out = []
        for i, ch in enumerate(name):
            if ch == "_":
                out.append("__")
            elif ch == ".":
                out.append("_dot_")
            else:
                out.append(ch if _legal(ch, i == 0, colon) else "__")
        return "".join(out)
    out = ["U__"]
    for i, ch in enumerate(name):
        if ch == "_":
            out.append("__")
        elif _legal(ch, i == 0, colon):
            out.append(ch)
        elif 0xD800 <= ord(ch) <= 0xDFFF:
            out.append("_FFFD_")
        else:
            out.append(f"_{ord(ch):x}_")
    return "".join(out)


def _escape_name(name, scheme, legacy, colon):
    if not name:
        return name
    if scheme == ALLOWUTF8:
        return name if legacy else '"' + escape_value(name) + '"'
    if scheme == DOTS:
        return _rewrite(name, scheme, colon)
    if scheme in (UNDERSCORES, VALUES):
        return name if legacy else _rewrite(name, scheme, colon)
    return name


def escape_metric_name(name, escaping=UNDERSCORES):
    """A metric name as `escaping` writes it (see the module's comment); an
    unknown scheme leaves it as it is, as prometheus_client does."""
    return _escape_name(name, escaping, is_legacy_metric_name(name), True)


def escape_label_name(name, escaping=UNDERSCORES):
    """A label name as `escaping` writes it (':' is outside a label
    name's set)."""
    return _escape_name(name, escaping, is_legacy_label_name(name), False)
