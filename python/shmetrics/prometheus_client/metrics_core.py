# SPDX-License-Identifier: MIT
"""prometheus_client.metrics_core on shmetrics."""

from ..metrics_core import *  # noqa: F401,F403
from ..metrics_core import __all__, METRIC_LABEL_NAME_RE, METRIC_NAME_RE, METRIC_TYPES  # noqa: F401
