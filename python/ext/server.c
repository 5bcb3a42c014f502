/* SPDX-License-Identifier: MIT */
/*
 * python/ext/server.c - owns the Server type: the library's HTTP collector
 * (libmicrohttpd threads, no Python code per request) serving an arena
 * from inside a Python process, with the web configuration file's TLS
 * and basic auth when one is given, and stopping it.
 */
#include "smpy.h"

typedef struct {
    PyObject_HEAD
    smpy_arena *arena; /* strong; counted in arena->users while running */
    shmetrics_server_t *srv;
    unsigned port;
    int tls; /* 1: serving https (the web configuration file's TLS) */
} smpy_server;

PyObject *smpy_serve(smpy_arena *a, PyObject *args, PyObject *kwargs)
{
    static char *kw[] = {
        "listen",          "threads", "web_config_file", "max_connections", "max_connections_per_address",
        "request_timeout", NULL};
    const char *listen = NULL, *web_config_file = NULL;
    unsigned int threads = 0, max_conns = 0, per_address = 0;
    double timeout = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "|zIzIId:serve", kw, &listen, &threads, &web_config_file, &max_conns,
                                     &per_address, &timeout))
        return NULL;
    /* Seconds, as Python says durations; 0 means the default (10 s). */
    if (!(timeout >= 0 && timeout <= 3600) || (timeout > 0 && timeout < 0.001)) {
        char msg[128]; /* PyErr_Format has no %g */
        snprintf(msg, sizeof msg, "request_timeout %g is not from 0.001 to 3600 seconds (or 0: the default)", timeout);
        PyErr_SetString(PyExc_ValueError, msg);
        return NULL;
    }
    if (smpy_arena_check(a) < 0)
        return NULL;
    smpy_server *s = PyObject_New(smpy_server, &smpy_server_type);
    if (!s)
        return NULL;
    s->arena = NULL;
    s->srv = NULL;
    shmetrics_server_options_t o = {.listen = listen,
                                    .threads = threads,
                                    .web_config_file = web_config_file,
                                    .max_connections = max_conns,
                                    .max_connections_per_address = per_address,
                                    .request_timeout_ms = (unsigned)(timeout * 1000 + 0.5)};
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = shmetrics_server_start(a->reg, &o, &s->srv);
    Py_END_ALLOW_THREADS
    if (rc < 0) {
        Py_DECREF(s);
        return smpy_raise(rc, SMPY_CTX_ARENA);
    }
    Py_INCREF(a);
    s->arena = a;
    a->users++;
    s->port = shmetrics_server_port(s->srv);
    s->tls = strcmp(shmetrics_server_scheme(s->srv), "https") == 0;
    return (PyObject *)s;
}

static void server_stop_now(smpy_server *s)
{
    shmetrics_server_t *srv = s->srv;
    if (!srv)
        return;
    s->srv = NULL;
    Py_BEGIN_ALLOW_THREADS
    shmetrics_server_stop(srv);
    Py_END_ALLOW_THREADS
    s->arena->users--;
}

static PyObject *server_stop(smpy_server *s, PyObject *unused)
{
    (void)unused;
    server_stop_now(s);
    Py_RETURN_NONE;
}

static PyObject *server_enter(smpy_server *s, PyObject *unused)
{
    (void)unused;
    Py_INCREF(s);
    return (PyObject *)s;
}

static PyObject *server_exit(smpy_server *s, PyObject *args)
{
    (void)args;
    server_stop_now(s);
    Py_RETURN_FALSE;
}

static void server_dealloc(smpy_server *s)
{
    if (s->arena) {
        server_stop_now(s);
        Py_CLEAR(s->arena);
    }
    PyObject_Free(s);
}

static PyObject *get_port(smpy_server *s, void *c)
{
    (void)c;
    return PyLong_FromUnsignedLong(s->port);
}

static PyObject *get_scheme(smpy_server *s, void *c)
{
    (void)c;
    return PyUnicode_FromString(s->tls ? "https" : "http");
}

static PyObject *get_running(smpy_server *s, void *c)
{
    (void)c;
    return PyBool_FromLong(s->srv != NULL);
}

static PyMethodDef server_methods[] = {
    {"stop", (PyCFunction)server_stop, METH_NOARGS, "stop()\nStop serving (requests in flight finish)."},
    {"__enter__", (PyCFunction)server_enter, METH_NOARGS, NULL},
    {"__exit__", (PyCFunction)server_exit, METH_VARARGS, NULL},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef server_getset[] = {
    {"port", (getter)get_port, NULL, "The TCP port it listens on.", NULL},
    {"running", (getter)get_running, NULL, "False once stopped.", NULL},
    {"scheme", (getter)get_scheme, NULL, "'https' with the web configuration's TLS, else 'http'.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

/* PyVarObject_HEAD_INIT has no comma after it: clang-format would join lines. */
/* clang-format off */
PyTypeObject smpy_server_type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "shmetrics._shmetrics.Server",
    .tp_doc = "A running HTTP collector: GET /metrics (text 0.0.4, OpenMetrics, JSON) and /healthz.",
    .tp_basicsize = sizeof(smpy_server),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_dealloc = (destructor)server_dealloc,
    .tp_methods = server_methods,
    .tp_getset = server_getset,
};
/* clang-format on */
