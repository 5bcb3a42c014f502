# SPDX-License-Identifier: MIT
"""prometheus_client.asgi on shmetrics."""

from ..exposition import make_asgi_app

__all__ = ["make_asgi_app"]
