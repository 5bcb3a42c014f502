/* SPDX-License-Identifier: MIT */
// tests/otlp_decode.js - reads one captured OTLP metrics request with the
// OpenTelemetry project's own generated protobufjs root (from the npm
// package @opentelemetry/otlp-transformer) and prints it as JSON.
//
//   node otlp_decode.js ROOT_JS protobuf|json FILE
//
// protobuf: ExportMetricsServiceRequest.decode, then verify.
// json:     JSON.parse, fromObject, verify; "roundtrip" tells whether
//           toObject gives back exactly what was sent (so no key was
//           misspelled and silently dropped).
// Prints {"ok": true, "request": {...}, "roundtrip": bool} or
// {"ok": false, "error": "..."}; exit status 0 either way, 2 on bad usage.
"use strict";
const fs = require("fs");

if (process.argv.length !== 5) {
  process.stderr.write("usage: node otlp_decode.js ROOT_JS protobuf|json FILE\n");
  process.exit(2);
}
const root = require(process.argv[2]);
const T = root.opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest;
const mode = process.argv[3];
const data = fs.readFileSync(process.argv[4]);
const opts = { longs: String, enums: Number, json: true };

// Keys sorted, so that two objects compare by their JSON text.
function canonical(v) {
  if (Array.isArray(v)) return v.map(canonical);
  if (v && typeof v === "object") {
    const out = {};
    for (const k of Object.keys(v).sort()) out[k] = canonical(v[k]);
    return out;
  }
  return v;
}

function main() {
  let msg, sent = null;
  try {
    if (mode === "protobuf") {
      msg = T.decode(data);
    } else if (mode === "json") {
      sent = JSON.parse(data.toString("utf8"));
      msg = T.fromObject(sent);
    } else {
      process.stderr.write("mode is protobuf or json\n");
      process.exit(2);
    }
  } catch (e) {
    return { ok: false, error: String(e) };
  }
  const err = T.verify(msg);
  if (err) return { ok: false, error: "verify: " + err };
  const request = T.toObject(msg, opts);
  const result = { ok: true, request };
  if (sent !== null)
    result.roundtrip = JSON.stringify(canonical(request)) === JSON.stringify(canonical(sent));
  return result;
}

process.stdout.write(JSON.stringify(main()) + "\n");
