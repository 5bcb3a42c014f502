# SPDX-License-Identifier: MIT
"""prometheus_client.openmetrics.exposition on shmetrics: the OpenMetrics
writer, its content types and the name escaping schemes."""

from ...escaping import ALLOWUTF8, DOTS, UNDERSCORES, VALUES, escape_label_name, escape_metric_name
from ...exposition import OPENMETRICS_CONTENT_TYPE as CONTENT_TYPE_LATEST
from ...exposition import generate_latest_openmetrics as generate_latest

CONTENT_TYPE_LATEST_2_0 = "application/openmetrics-text; version=2.0.0; charset=utf-8"
ESCAPING_HEADER_TAG = "escaping"

__all__ = [
    "ALLOWUTF8",
    "CONTENT_TYPE_LATEST",
    "CONTENT_TYPE_LATEST_2_0",
    "DOTS",
    "ESCAPING_HEADER_TAG",
    "UNDERSCORES",
    "VALUES",
    "escape_label_name",
    "escape_metric_name",
    "generate_latest",
]
