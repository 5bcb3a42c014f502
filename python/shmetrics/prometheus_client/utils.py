# SPDX-License-Identifier: MIT
"""prometheus_client.utils on shmetrics."""

from ..exposition import float_to_go_string as floatToGoString
from ..exposition import parse_version

INF = float("inf")
MINUS_INF = float("-inf")
NaN = float("NaN")

__all__ = ["INF", "MINUS_INF", "NaN", "floatToGoString", "parse_version"]
