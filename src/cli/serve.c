/* SPDX-License-Identifier: MIT */
/*
 * src/cli/serve.c - owns `shmetrics serve`: open the arena read-only, run
 * the HTTP collector until SIGTERM or SIGINT, stop cleanly.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static int run_serve(int argc, char **argv)
{
    const char *arena = NULL, *listen = "127.0.0.1:9400", *web_config = NULL;
    uint32_t threads = 0, max_conns = 0, per_address = 0, request_timeout_ms = 0;
    unsigned flags = 0;
    unsigned format_flags = 0;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (cli_is_help(arg)) {
            fputs(verb_serve.usage, stdout);
            return EXIT_OK;
        }
        /* Prometheus' exporters spell it with '=': both forms are taken. */
        if (strncmp(arg, "--web.config.file=", 18) == 0) {
            web_config = arg + 18;
            continue;
        }
        if (strcmp(arg, "--no-process-metrics") == 0) {
            flags |= SHMETRICS_SERVER_NO_PROCESS_METRICS;
            continue;
        }
        if (strcmp(arg, "--no-created") == 0) {
            format_flags |= SHMETRICS_FORMAT_NO_CREATED;
            continue;
        }
        if (i + 1 >= argc)
            return cli_usage_error(&verb_serve, "%s needs a value, or is unknown", arg);
        const char *val = argv[++i];
        if (strcmp(arg, "--arena") == 0)
            arena = val;
        else if (strcmp(arg, "--listen") == 0)
            listen = val;
        else if (strcmp(arg, "--web.config.file") == 0)
            web_config = val;
        else if (strcmp(arg, "--threads") == 0) {
            if (!cli_parse_u32(val, 1, 256, &threads))
                return cli_usage_error(&verb_serve, "--threads takes a whole number from 1 to 256, not '%s'", val);
        } else if (strcmp(arg, "--max-connections") == 0) {
            if (!cli_parse_u32(val, 16, 1000000, &max_conns))
                return cli_usage_error(&verb_serve,
                                       "--max-connections takes a whole number from 16 to 1000000, not '%s'", val);
        } else if (strcmp(arg, "--max-connections-per-address") == 0) {
            if (!cli_parse_u32(val, 1, 1000000, &per_address))
                return cli_usage_error(
                    &verb_serve, "--max-connections-per-address takes a whole number from 1 to 1000000, not '%s'", val);
        } else if (strcmp(arg, "--request-timeout") == 0) {
            if (!cli_parse_duration(val, &request_timeout_ms) || request_timeout_ms > 3600000)
                return cli_usage_error(&verb_serve,
                                       "--request-timeout takes a duration from 1ms to 1h (10s, 500ms), not '%s'", val);
        } else
            return cli_usage_error(&verb_serve, "unknown option %s", arg);
    }
    arena = cli_arena(arena);
    if (!arena)
        return cli_usage_error(&verb_serve, "no arena: give --arena PATH or set SHMETRICS_ARENA");

    /* The stop signals are blocked in every thread; the main thread waits
     * for them below. */
    sigset_t stop;
    shmetrics_registry_t *reg;
    int rc = cli_open_collector(arena, &stop, &reg);
    if (rc)
        return rc;
    shmetrics_server_options_t so = {.listen = listen,
                                     .threads = threads,
                                     .max_connections = max_conns,
                                     .max_connections_per_address = per_address,
                                     .request_timeout_ms = request_timeout_ms,
                                     .web_config_file = web_config,
                                     .flags = flags,
                                     .format_flags = format_flags};
    shmetrics_server_t *srv;
    if ((rc = shmetrics_server_start(reg, &so, &srv)) < 0) {
        shmetrics_shutdown(reg, 0);
        return cli_fail("starting the server", rc);
    }
    /* The port line is what scripts wait for (port 0 picks a free one). */
    char host[128];
    const char *colon = strrchr(listen, ':');
    snprintf(host, sizeof host, "%.*s", (int)(colon - listen), listen);
    printf("serving %s://%s:%u/metrics from %s\n", shmetrics_server_scheme(srv), *host ? host : "0.0.0.0",
           shmetrics_server_port(srv), arena);
    fflush(stdout);

    int sig = 0;
    sigwait(&stop, &sig);
    shmetrics_server_stop(srv);
    shmetrics_shutdown(reg, 0);
    fprintf(stderr, "shmetrics serve: stopped by %s\n", sig == SIGTERM ? "SIGTERM" : "SIGINT");
    return EXIT_OK;
}

const struct verb verb_serve = {
    "serve",
    "serve the arena over HTTP for Prometheus to scrape",
    "usage: shmetrics serve [--arena PATH] [--listen HOST:PORT] [--threads N]\n"
    "                       [--max-connections N] [--max-connections-per-address N]\n"
    "                       [--request-timeout DURATION]\n"
    "                       [--web.config.file FILE] [--no-process-metrics]\n"
    "                       [--no-created]\n"
    "\n"
    "Opens the arena read-only and serves it over HTTP until SIGTERM or SIGINT:\n"
    "  GET /metrics   Prometheus text 0.0.4, or OpenMetrics 1.0.0 or the protobuf\n"
    "                 format (delimited MetricFamily messages) when the Accept\n"
    "                 header prefers it, gzip when Accept-Encoding allows it;\n"
    "                 ?format=prometheus|openmetrics|json|protobuf chooses\n"
    "                 explicitly; UTF-8 names (a writer's spec.utf8_names) by\n"
    "                 the Accept header's escaping= (underscores, allow-utf-8,\n"
    "                 dots, values; underscores when it names none)\n"
    "  GET /healthz   ok\n"
    "The collector's own metrics (shmetrics_collector_*, shmetrics_arena_*)\n"
    "follow the arena's, then each attached worker's process_* metrics, read\n"
    "from /proc and labelled pid.  Counters, histograms and summaries carry\n"
    "the time each series was created (name_created in OpenMetrics).  Prints\n"
    "'serving http://HOST:PORT/metrics from ARENA' (https with TLS) once it\n"
    "listens.\n"
    "\n"
    "  --arena PATH        the arena (default: $SHMETRICS_ARENA)\n"
    "  --listen HOST:PORT  address to listen on (default 127.0.0.1:9400; [::1]:PORT\n"
    "                      for IPv6, :PORT for every address, port 0 for any free one)\n"
    "  --threads N         request threads (default: online CPUs)\n"
    "  --max-connections N connections kept open at most (default 1024, fewer if\n"
    "                      the open-file limit is lower after raising it to the hard\n"
    "                      limit); past it, the connection that has waited longest\n"
    "                      for a request is closed\n"
    "  --max-connections-per-address N\n"
    "                      the same, for the connections of one client address\n"
    "                      (default 256)\n"
    "  --request-timeout DURATION\n"
    "                      a request must arrive whole within this of its connection\n"
    "                      opening, or of the previous response (default 10s; 500ms)\n"
    "  --web.config.file FILE\n"
    "                      TLS, client certificates and basic auth, in the web\n"
    "                      configuration format of Prometheus' exporters\n"
    "                      (tls_server_config: cert_file, key_file, client_auth_type,\n"
    "                      client_ca_file, min_version, max_version; basic_auth_users:\n"
    "                      bcrypt hashes; http_server_config: headers); every path\n"
    "                      then needs them.  Checked at start: a bad file names its\n"
    "                      line, and the server does not start\n"
    "  --no-process-metrics\n"
    "                      leave out the workers' process_* metrics (CPU, memory,\n"
    "                      open files, start time), and their reads of /proc\n"
    "  --no-created        leave the creation times of series out (as does the\n"
    "                      environment variable PROMETHEUS_DISABLE_CREATED_SERIES=true)\n"
    "  --help              this message\n",
    run_serve,
};
