/* SPDX-License-Identifier: MIT */
// tests/statsd_capture.js - a backend for the StatsD daemon (npm package
// statsd) that appends what each flush hands to its backends, as one JSON
// line {"counters": {...}, "gauges": {...}}, to the file named by the
// daemon's configuration key "captureFile".  The push tests read it back.
"use strict";
const fs = require("fs");

exports.init = function (startupTime, config, events) {
  const file = config.captureFile;
  events.on("flush", function (timestamp, metrics) {
    const line = JSON.stringify({ counters: metrics.counters, gauges: metrics.gauges });
    fs.appendFileSync(file, line + "\n");
  });
  return true;
};
