# SPDX-License-Identifier: MIT
# On PYTHONPATH under `python3 -m shmetrics.run`: importing prometheus_client
# installs shmetrics' import finder and gives shmetrics.prometheus_client.
import sys

import shmetrics.activate

shmetrics.activate.install()
sys.modules[__name__] = sys.modules.get("shmetrics.prometheus_client") or __import__(
    "shmetrics.prometheus_client", fromlist=["*"])
