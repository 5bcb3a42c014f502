# SPDX-License-Identifier: MIT
"""prometheus_client.samples on shmetrics."""

from ..samples import Exemplar, Sample, Timestamp

__all__ = ["Exemplar", "Sample", "Timestamp"]
