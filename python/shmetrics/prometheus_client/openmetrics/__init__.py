# SPDX-License-Identifier: MIT
"""prometheus_client.openmetrics on shmetrics."""
