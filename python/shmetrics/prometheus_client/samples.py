# SPDX-License-Identifier: MIT
"""prometheus_client.samples on shmetrics."""

from ..samples import BucketSpan, Exemplar, NativeHistogram, Sample, Timestamp

__all__ = ["BucketSpan", "Exemplar", "NativeHistogram", "Sample", "Timestamp"]
