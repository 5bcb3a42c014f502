# SPDX-License-Identifier: MIT
"""prometheus_client.validation on shmetrics: the switch between the
legacy name rules (metric names [a-zA-Z_:][a-zA-Z0-9_:]*, label names
[a-zA-Z_][a-zA-Z0-9_]*) and UTF-8 names, and the checks programs call.
With legacy validation off (the default), prometheus_client's metric
classes register UTF-8 names in the arena, and the expositions escape
them for a scraper that does not ask for UTF-8 (docs/python.md)."""

import re

from .. import escaping as _escaping

METRIC_NAME_RE = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
METRIC_LABEL_NAME_RE = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
RESERVED_METRIC_LABEL_NAME_RE = re.compile(r"^__.*$")

__all__ = ["disable_legacy_validation", "enable_legacy_validation", "get_legacy_validation"]


def get_legacy_validation():
    """Whether the legacy name rules are asked for."""
    return _escaping.legacy_validation()


def disable_legacy_validation():
    """Allow UTF-8 metric and label names (the default)."""
    _escaping.set_legacy_validation(False)


def enable_legacy_validation():
    """Ask for the legacy name rules."""
    _escaping.set_legacy_validation(True)


def _validate_metric_name(name):
    if not name:
        raise ValueError("metric name cannot be empty")
    if get_legacy_validation() and not METRIC_NAME_RE.match(name):
        raise ValueError("invalid metric name " + name)


def _validate_labelname(name):
    if get_legacy_validation() and not METRIC_LABEL_NAME_RE.match(name):
        raise ValueError("Invalid label metric name: " + name)
    if RESERVED_METRIC_LABEL_NAME_RE.match(name):
        raise ValueError("Reserved label metric name: " + name)


def _is_valid_legacy_metric_name(name):
    return bool(name) and METRIC_NAME_RE.match(name) is not None


def _is_valid_legacy_labelname(name):
    return bool(name) and METRIC_LABEL_NAME_RE.match(name) is not None and not RESERVED_METRIC_LABEL_NAME_RE.match(name)
