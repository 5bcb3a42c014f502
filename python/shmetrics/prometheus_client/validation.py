# SPDX-License-Identifier: MIT
"""prometheus_client.validation on shmetrics: the switch between the
legacy name rules and UTF-8 names, and the checks programs call.

shmetrics keeps names in the arena under the legacy rules whatever the
switch says (metric names [a-zA-Z_:][a-zA-Z0-9_:]*, label names
[a-zA-Z_][a-zA-Z0-9_]*, the 0.0.4 text format's rules that every
collector of the arena must be able to write): with legacy validation
off, a metric whose name is UTF-8 beyond them is refused with ValueError
all the same (docs/python.md)."""

import os
import re

METRIC_NAME_RE = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
METRIC_LABEL_NAME_RE = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
RESERVED_METRIC_LABEL_NAME_RE = re.compile(r"^__.*$")

__all__ = ["disable_legacy_validation", "enable_legacy_validation", "get_legacy_validation"]


def _from_environment():
    return os.environ.get("PROMETHEUS_LEGACY_NAME_VALIDATION", "False").lower() in ("true", "1", "t")


_legacy_validation = _from_environment()


def get_legacy_validation():
    """Whether the legacy name rules are asked for (the switch alone)."""
    return _legacy_validation


def disable_legacy_validation():
    """Ask for UTF-8 names (the arena keeps legacy names all the same)."""
    global _legacy_validation
    _legacy_validation = False


def enable_legacy_validation():
    """Ask for the legacy name rules."""
    global _legacy_validation
    _legacy_validation = True


def _validate_metric_name(name):
    if not name:
        raise ValueError("metric name cannot be empty")
    if not METRIC_NAME_RE.match(name):
        raise ValueError("invalid metric name " + name)


def _validate_labelname(name):
    if not METRIC_LABEL_NAME_RE.match(name):
        raise ValueError("Invalid label metric name: " + name)
    if RESERVED_METRIC_LABEL_NAME_RE.match(name):
        raise ValueError("Reserved label metric name: " + name)


def _is_valid_legacy_metric_name(name):
    return bool(name) and METRIC_NAME_RE.match(name) is not None


def _is_valid_legacy_labelname(name):
    return bool(name) and METRIC_LABEL_NAME_RE.match(name) is not None and not RESERVED_METRIC_LABEL_NAME_RE.match(name)
