/* SPDX-License-Identifier: MIT */
/*
 * python/ext/push.c - owns the Pusher type and push(): the library's
 * pusher (shmetrics_pusher_*, docs/push.md) sending an arena to StatsD,
 * OTLP, Prometheus remote-write or nowhere (null) from a Python process.
 * Options come as Python keywords (durations in seconds, labels as dicts)
 * and are turned into a shmetrics_push_options_t, which the library checks
 * and copies; its thread, its sockets and its HTTP client are C: no Python
 * code runs per push.
 */
#include "smpy.h"

#include <math.h>

typedef struct {
    PyObject_HEAD
    smpy_arena *arena;     /* strong; counted in arena->users while the pusher lives */
    shmetrics_pusher_t *p; /* NULL once stopped */
    int threaded;          /* 1: the library's thread pushes every interval */
    PyObject *backend, *target;
    /* Calls into the pusher running without the GIL (push(), stats()),
     * and the pusher stop() took from `p` while they ran: the last of
     * them stops it. */
    Py_ssize_t busy;
    shmetrics_pusher_t *stopping;
} smpy_pusher;

/* The options of a pusher, and the memory that holds them until the
 * library has copied them. */
struct push_args {
    shmetrics_push_options_t o;
    shmetrics_label_t *resource, *labels;
    const char **headers;
    int thread;
    PyObject *backend_obj, *target_obj;
};

static void push_args_free(struct push_args *a)
{
    PyMem_Free(a->resource);
    PyMem_Free(a->labels);
    PyMem_Free(a->headers);
}

/* Seconds (a number, finite, >= 0; 0 means the library's default) to whole
 * milliseconds of a uint32_t. */
static int seconds_ms(PyObject *o, const char *what, uint32_t *out)
{
    if (!o || o == Py_None)
        return 0;
    double d;
    if (smpy_double(o, &d) < 0)
        return -1;
    double ms = nearbyint(d * 1000.0);
    if (!(d >= 0) || !isfinite(d) || ms > 4294967295.0 || (d > 0 && ms < 1)) {
        char msg[160]; /* PyErr_Format has no %g */
        snprintf(msg, sizeof msg, "%s %g is not a duration in seconds from 0.001 to 4294967 (or 0: the default)", what,
                 d);
        PyErr_SetString(PyExc_ValueError, msg);
        return -1;
    }
    *out = (uint32_t)ms;
    return 0;
}

/* A dict of str to str into a PyMem array of labels pointing into the
 * dict's strings (which the caller's dict keeps alive). */
static int label_array(PyObject *d, const char *what, shmetrics_label_t **out, size_t *n)
{
    if (!d || d == Py_None)
        return 0;
    if (!PyDict_Check(d)) {
        PyErr_Format(PyExc_TypeError, "%s must be a dict of str to str, not %.100s", what, Py_TYPE(d)->tp_name);
        return -1;
    }
    Py_ssize_t len = PyDict_Size(d), pos = 0, i = 0;
    shmetrics_label_t *l = PyMem_Calloc((size_t)(len ? len : 1), sizeof *l);
    if (!l) {
        PyErr_NoMemory();
        return -1;
    }
    PyObject *k, *v;
    while (PyDict_Next(d, &pos, &k, &v)) {
        if (!(l[i].name = smpy_utf8(k, what)) || !(l[i].value = smpy_utf8(v, what))) {
            PyMem_Free(l);
            return -1;
        }
        i++;
    }
    *out = l;
    *n = (size_t)len;
    return 0;
}

/* Headers: a dict {name: value} or a sequence of "Name: value" strings,
 * as "Name: value" strings; the dict's are made here and kept in `keep`. */
static int header_array(PyObject *h, PyObject *keep, const char ***out, size_t *n)
{
    if (!h || h == Py_None)
        return 0;
    PyObject *seq;
    if (PyDict_Check(h)) {
        if (!(seq = PyList_New(0)))
            return -1;
        Py_ssize_t pos = 0;
        PyObject *k, *v;
        while (PyDict_Next(h, &pos, &k, &v)) {
            PyObject *line = PyUnicode_FromFormat("%S: %S", k, v);
            if (!line || PyList_Append(seq, line) < 0) {
                Py_XDECREF(line);
                Py_DECREF(seq);
                return -1;
            }
            Py_DECREF(line);
        }
    } else if (PyUnicode_Check(h)) {
        PyErr_SetString(PyExc_TypeError, "headers must be a dict or a sequence of 'Name: value' strings, not a str");
        return -1;
    } else if (!(seq = PySequence_List(h))) {
        return -1;
    }
    if (PyList_Append(keep, seq) < 0) {
        Py_DECREF(seq);
        return -1;
    }
    Py_DECREF(seq);
    Py_ssize_t len = PyList_GET_SIZE(seq);
    const char **a = PyMem_Calloc((size_t)(len ? len : 1), sizeof *a);
    if (!a) {
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t i = 0; i < len; i++)
        if (!(a[i] = smpy_utf8(PyList_GET_ITEM(seq, i), "a header"))) {
            PyMem_Free(a);
            return -1;
        }
    *out = a;
    *n = (size_t)len;
    return 0;
}

/* Parse the keywords shared by Pusher() and push(); `keep` (a list) holds
 * the objects the pointers point into. */
static int parse_push_args(PyObject *args, PyObject *kwargs, const char *fname, PyObject *keep, smpy_arena **arena,
                           struct push_args *a)
{
    static char *kw[] = {"arena",        "backend",         "target", "interval",  "timeout",  "retry_min", "retry_max",
                         "prefix",       "max_datagram",    "tags",   "otlp_json", "resource", "labels",    "headers",
                         "self_metrics", "process_metrics", "final",  "thread",    NULL};
    PyObject *target = Py_None, *interval = NULL, *timeout = NULL, *rmin = NULL, *rmax = NULL, *prefix = Py_None,
             *resource = NULL, *labels = NULL, *headers = NULL, *backend;
    unsigned int max_datagram = 0;
    int tags = 0, otlp_json = 0, self_metrics = 1, process_metrics = 1, final = 1, thread = 1;
    char fmt[64];
    snprintf(fmt, sizeof fmt, "O!U|O$OOOOOIppOOOpppp:%s", fname);
    memset(a, 0, sizeof *a);
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, fmt, kw, &smpy_arena_type, arena, &backend, &target, &interval,
                                     &timeout, &rmin, &rmax, &prefix, &max_datagram, &tags, &otlp_json, &resource,
                                     &labels, &headers, &self_metrics, &process_metrics, &final, &thread))
        return -1;
    const char *b = smpy_utf8(backend, "the backend");
    if (!b)
        return -1;
    int rc = shmetrics_push_backend_parse(b, &a->o.backend);
    if (rc < 0) {
        smpy_raise(rc, SMPY_CTX_SPEC);
        return -1;
    }
    if (target != Py_None && !(a->o.target = smpy_utf8(target, "the target")))
        return -1;
    if (prefix != Py_None && !(a->o.prefix = smpy_utf8(prefix, "the prefix")))
        return -1;
    if (seconds_ms(interval, "interval", &a->o.interval_ms) < 0 ||
        seconds_ms(timeout, "timeout", &a->o.timeout_ms) < 0 || seconds_ms(rmin, "retry_min", &a->o.retry_min_ms) < 0 ||
        seconds_ms(rmax, "retry_max", &a->o.retry_max_ms) < 0)
        return -1;
    a->o.max_datagram = max_datagram;
    a->o.flags = (tags ? SHMETRICS_PUSH_TAGS : 0) | (otlp_json ? SHMETRICS_PUSH_OTLP_JSON : 0) |
                 (self_metrics ? 0 : SHMETRICS_PUSH_NO_SELF) |
                 (process_metrics ? 0 : SHMETRICS_PUSH_NO_PROCESS_METRICS) | (final ? SHMETRICS_PUSH_FINAL : 0);
    if (label_array(resource, "resource", &a->resource, &a->o.nresource) < 0 ||
        label_array(labels, "labels", &a->labels, &a->o.nlabels) < 0 ||
        header_array(headers, keep, &a->headers, &a->o.nheaders) < 0)
        return -1;
    a->o.resource = a->resource;
    a->o.labels = a->labels;
    a->o.headers = a->headers;
    a->thread = thread;
    a->backend_obj = backend;
    a->target_obj = target;
    return 0;
}

/* ------------------------------------------------------------- Pusher */

static PyObject *pusher_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    smpy_arena *arena;
    struct push_args a;
    PyObject *keep = PyList_New(0);
    if (!keep)
        return NULL;
    if (parse_push_args(args, kwargs, "Pusher", keep, &arena, &a) < 0 || smpy_arena_check(arena) < 0) {
        push_args_free(&a);
        Py_DECREF(keep);
        return NULL;
    }
    smpy_pusher *self = (smpy_pusher *)type->tp_alloc(type, 0);
    if (!self) {
        push_args_free(&a);
        Py_DECREF(keep);
        return NULL;
    }
    shmetrics_pusher_t *p = NULL;
    int rc;
    /* Resolving the target may take a while: without the GIL, with the
     * arena counted as in use so that no other thread closes it. */
    arena->users++;
    Py_BEGIN_ALLOW_THREADS
    rc = a.thread ? shmetrics_pusher_start(arena->reg, &a.o, &p) : shmetrics_pusher_create(arena->reg, &a.o, &p);
    Py_END_ALLOW_THREADS
    push_args_free(&a);
    Py_DECREF(keep);
    if (rc < 0) {
        arena->users--;
        Py_DECREF(self);
        return smpy_raise(rc, rc == -EINVAL ? SMPY_CTX_SPEC : SMPY_CTX_ARENA);
    }
    Py_INCREF(arena);
    self->arena = arena;
    self->p = p;
    self->threaded = a.thread;
    Py_INCREF(a.backend_obj);
    self->backend = a.backend_obj;
    Py_INCREF(a.target_obj);
    self->target = a.target_obj;
    return (PyObject *)self;
}

static void pusher_free(smpy_pusher *s, shmetrics_pusher_t *p)
{
    Py_BEGIN_ALLOW_THREADS
    shmetrics_pusher_stop(p);
    Py_END_ALLOW_THREADS
    s->arena->users--;
}

/* Stop and free the pusher, or, while another thread is inside push() or
 * stats(), leave that to the last of them (pusher_leave). */
static void pusher_stop_now(smpy_pusher *s)
{
    shmetrics_pusher_t *p = s->p;
    if (!p)
        return;
    s->p = NULL;
    if (s->busy)
        s->stopping = p;
    else
        pusher_free(s, p);
}

/* Around a call into the pusher without the GIL: the object and the
 * pusher stay alive until pusher_leave. */
static shmetrics_pusher_t *pusher_enter_call(smpy_pusher *s)
{
    if (!s->p) {
        PyErr_SetString(PyExc_ValueError, "the pusher is stopped");
        return NULL;
    }
    s->busy++;
    Py_INCREF(s);
    return s->p;
}

static void pusher_leave(smpy_pusher *s)
{
    if (--s->busy == 0 && s->stopping) {
        shmetrics_pusher_t *p = s->stopping;
        s->stopping = NULL;
        pusher_free(s, p);
    }
    Py_DECREF(s);
}

static PyObject *pusher_push(smpy_pusher *s, PyObject *unused)
{
    (void)unused;
    shmetrics_pusher_t *p = pusher_enter_call(s);
    if (!p)
        return NULL;
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = shmetrics_pusher_push(p);
    Py_END_ALLOW_THREADS
    /* The message is this thread's: read it before anything else runs. */
    PyObject *ret = rc < 0 ? smpy_raise(rc, SMPY_CTX_ARENA) : Py_NewRef(Py_None);
    pusher_leave(s);
    return ret;
}

static PyObject *pusher_stop(smpy_pusher *s, PyObject *unused)
{
    (void)unused;
    pusher_stop_now(s);
    Py_RETURN_NONE;
}

static PyObject *stats_dict(const shmetrics_push_stats_t *st)
{
    PyObject *last = st->last_success_ns ? PyFloat_FromDouble((double)st->last_success_ns / 1e9) : Py_None;
    if (last == Py_None)
        Py_INCREF(last);
    return Py_BuildValue("{s:K,s:K,s:K,s:K,s:K,s:I,s:N,s:d}", "attempts", (unsigned long long)st->attempts, "failures",
                         (unsigned long long)st->failures, "samples", (unsigned long long)st->samples, "bytes",
                         (unsigned long long)st->bytes, "reattached", (unsigned long long)st->reattached,
                         "consecutive_failures", (unsigned)st->consecutive_failures, "last_success", last,
                         "last_duration", (double)st->last_duration_ns / 1e9);
}

static PyObject *pusher_stats(smpy_pusher *s, PyObject *unused)
{
    (void)unused;
    shmetrics_pusher_t *p = pusher_enter_call(s);
    if (!p)
        return NULL;
    shmetrics_push_stats_t st;
    Py_BEGIN_ALLOW_THREADS
    shmetrics_pusher_stats(p, &st); /* waits for a push in progress */
    Py_END_ALLOW_THREADS
    pusher_leave(s);
    return stats_dict(&st);
}

static PyObject *pusher_enter(smpy_pusher *s, PyObject *unused)
{
    (void)unused;
    Py_INCREF(s);
    return (PyObject *)s;
}

static PyObject *pusher_exit(smpy_pusher *s, PyObject *args)
{
    (void)args;
    pusher_stop_now(s);
    Py_RETURN_FALSE;
}

static void pusher_dealloc(smpy_pusher *s)
{
    if (s->arena) {
        pusher_stop_now(s);
        Py_CLEAR(s->arena);
    }
    Py_CLEAR(s->backend);
    Py_CLEAR(s->target);
    Py_TYPE(s)->tp_free((PyObject *)s);
}

static PyObject *get_running(smpy_pusher *s, void *c)
{
    (void)c;
    return PyBool_FromLong(s->p != NULL);
}

static PyObject *get_threaded(smpy_pusher *s, void *c)
{
    (void)c;
    return PyBool_FromLong(s->threaded);
}

static PyObject *get_backend(smpy_pusher *s, void *c)
{
    (void)c;
    PyObject *o = s->backend ? s->backend : Py_None;
    Py_INCREF(o);
    return o;
}

static PyObject *get_target(smpy_pusher *s, void *c)
{
    (void)c;
    PyObject *o = s->target ? s->target : Py_None;
    Py_INCREF(o);
    return o;
}

static PyMethodDef pusher_methods[] = {
    {"push", (PyCFunction)pusher_push, METH_NOARGS,
     "push()\nPush now, in this thread (the GIL released); OSError with the errno when it fails."},
    {"stats", (PyCFunction)pusher_stats, METH_NOARGS, "stats()\nThe pusher's counts, a dict."},
    {"stop", (PyCFunction)pusher_stop, METH_NOARGS,
     "stop()\nStop the thread (with final=True, after one last push) and free the pusher."},
    {"__enter__", (PyCFunction)pusher_enter, METH_NOARGS, NULL},
    {"__exit__", (PyCFunction)pusher_exit, METH_VARARGS, NULL},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef pusher_getset[] = {
    {"running", (getter)get_running, NULL, "False once stopped.", NULL},
    {"threaded", (getter)get_threaded, NULL, "True when the library's thread pushes every interval.", NULL},
    {"backend", (getter)get_backend, NULL, "The backend's name, as given.", NULL},
    {"target", (getter)get_target, NULL, "The target, as given (None for the null backend).", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

/* clang-format off */
PyTypeObject smpy_pusher_type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "shmetrics._shmetrics.Pusher",
    .tp_doc = "Pusher(arena, backend, target=None, **options): the library's pusher over an arena.",
    .tp_basicsize = sizeof(smpy_pusher),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
    .tp_new = pusher_new,
    .tp_dealloc = (destructor)pusher_dealloc,
    .tp_methods = pusher_methods,
    .tp_getset = pusher_getset,
};
/* clang-format on */

/* --------------------------------------------------------------- push */

PyObject *smpy_push_once(PyObject *module, PyObject *args, PyObject *kwargs)
{
    (void)module;
    smpy_arena *arena;
    struct push_args a;
    PyObject *keep = PyList_New(0);
    if (!keep)
        return NULL;
    if (parse_push_args(args, kwargs, "push", keep, &arena, &a) < 0 || smpy_arena_check(arena) < 0) {
        push_args_free(&a);
        Py_DECREF(keep);
        return NULL;
    }
    int rc;
    arena->users++;
    Py_BEGIN_ALLOW_THREADS
    rc = shmetrics_push(arena->reg, &a.o);
    Py_END_ALLOW_THREADS
    arena->users--;
    push_args_free(&a);
    Py_DECREF(keep);
    if (rc < 0)
        return smpy_raise(rc, rc == -EINVAL ? SMPY_CTX_SPEC : SMPY_CTX_ARENA);
    Py_RETURN_NONE;
}
