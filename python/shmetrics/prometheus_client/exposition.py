# SPDX-License-Identifier: MIT
"""prometheus_client.exposition on shmetrics: shmetrics.exposition itself
(the text formats, their negotiation, the HTTP apps and servers, and the
Pushgateway client of shmetrics.gateway).  The module replaces itself by
that one, so that patching a name of prometheus_client.exposition (as
programs and prometheus_client's tests do with unittest.mock) changes what
its functions call."""

import sys

from .. import exposition as _exposition

sys.modules[__name__] = _exposition
