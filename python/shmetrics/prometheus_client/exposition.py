# SPDX-License-Identifier: MIT
"""prometheus_client.exposition on shmetrics (the pushgateway functions
are not here: shmetrics.push and `shmetrics push` push an arena)."""

from ..exposition import *  # noqa: F401,F403
from ..exposition import __all__, _bake_output, gzip_accepted, ThreadingWSGIServer  # noqa: F401
