# SPDX-License-Identifier: MIT
"""prometheus_client.openmetrics.exposition on shmetrics."""

from ...exposition import OPENMETRICS_CONTENT_TYPE as CONTENT_TYPE_LATEST
from ...exposition import generate_latest_openmetrics as generate_latest

__all__ = ["CONTENT_TYPE_LATEST", "generate_latest"]
