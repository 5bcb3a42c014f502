/* SPDX-License-Identifier: MIT */
/*
 * python/ext/smpy.h - the shared declarations of the _shmetrics extension
 * module: the arena and metric object layouts, the four metric kinds, and
 * the helpers that turn library errors into Python exceptions.
 */
#ifndef SMPY_H
#define SMPY_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <shmetrics.h>

/* An open arena: one shmetrics registry of this process. */
typedef struct {
    PyObject_HEAD
    shmetrics_registry_t *reg; /* NULL once closed */
    int owned;                 /* 0 for the process's default registry */
    int readonly;
    int allow_foreign; /* opened with allow_foreign=True */
    Py_ssize_t users;  /* servers and calls running without the GIL */
    PyObject *path;    /* str, as given */
    /* The C state of this registry's samplers (python/ext/sampler.c),
     * freed after its shutdown. */
    shmetrics_sampler_t **samplers;
    Py_ssize_t nsamplers, capsamplers;
} smpy_arena;

/* In the order of shmetrics_type_t; the ready-made sets have the first
 * SMPY_NSETKINDS only. */
enum smpy_kind { SMPY_COUNTER, SMPY_GAUGE, SMPY_HISTOGRAM, SMPY_SUMMARY, SMPY_INFO, SMPY_ENUM, SMPY_NKINDS };
#define SMPY_NSETKINDS 4

/*
 * A metric or one of its series.  A parent (made by the Python layer's
 * constructor) has a name and label names; when it has no labels it is
 * also its own series.  A child (made by labels()) points at its parent
 * and holds the series handle the hot methods update.
 */
typedef struct smpy_metric {
    PyObject_HEAD
    smpy_arena *arena;          /* strong; the registry the handles come from */
    struct smpy_metric *parent; /* strong; NULL for a parent */
    void *family;               /* shmetrics_<kind>_t *, NULL until registered */
    void *series;               /* shmetrics_<kind>_series_t *, NULL for a labelled parent */
    PyObject *name;             /* parents: the full name (str) */
    PyObject *labelnames;       /* parents: tuple of str */
    PyObject *labelvalues;      /* children: tuple of str */
    Py_ssize_t nlabels;
    /* Parents and children: SMPY_F_* below. */
    unsigned flags;
    /* Parents: the cardinality limit asked for (0: the library's default),
     * for the warning given when label sets start to fold. */
    uint32_t max_series;
    /* Parents: the children made so far, by series handle, so that
     * labels() returns the same object for the same label set. */
    Py_ssize_t nchildren, cap;
    void **keys;
    PyObject **children;
} smpy_metric;

/* smpy_metric.flags */
#define SMPY_F_MOSTRECENT 0x1u /* a mostrecent or livemostrecent gauge: no inc() or dec() */
#define SMPY_F_WARNED 0x2u     /* the parent warned that its label sets fold */
#define SMPY_F_UTF8 0x4u       /* registered with utf8_names: exemplar label names may be UTF-8 */

extern PyTypeObject smpy_arena_type;
extern PyTypeObject smpy_server_type;
extern PyTypeObject smpy_sampler_type;
extern PyTypeObject smpy_metric_types[SMPY_NKINDS];

/* Error contexts: what an -EEXIST or -ENOENT from the library means. */
enum smpy_ctx {
    SMPY_CTX_ARENA,  /* opening, closing: OSError with the errno */
    SMPY_CTX_SPEC,   /* registering: a conflicting spec is a ValueError */
    SMPY_CTX_REMOVE, /* removing a label set: a missing one is a KeyError */
};

/* Raise the exception for library code `rc` (< 0) with the library's
 * message; returns NULL. */
PyObject *smpy_raise(int rc, enum smpy_ctx ctx);

/* A ValueError unless the arena is open; 0 if it is. */
int smpy_arena_check(smpy_arena *a);
/* Give a registry Python's time.time() as its clock (creation times,
 * exemplar times). */
void smpy_arena_set_clock(shmetrics_registry_t *reg);

/* The metric's type word ("counter", ...) and the full name of a parent
 * or child (borrowed). */
const char *smpy_kind_name(enum smpy_kind k);
PyObject *smpy_metric_name(smpy_metric *m);

/* Convert a number the way prometheus_client does with float(x): floats and
 * ints directly, anything else through float().  -1 with an exception. */
static inline int smpy_double(PyObject *o, double *out)
{
    if (PyFloat_CheckExact(o)) {
        *out = PyFloat_AS_DOUBLE(o);
        return 0;
    }
    if (PyLong_CheckExact(o)) {
        *out = PyLong_AsDouble(o);
        return *out == -1.0 && PyErr_Occurred() ? -1 : 0;
    }
    PyObject *f = PyNumber_Float(o);
    if (!f)
        return -1;
    *out = PyFloat_AS_DOUBLE(f);
    Py_DECREF(f);
    return 0;
}

/* Parse up to `max` arguments given by position or by the keyword names in
 * `names` into out[] (entries not given are left as they are).  For the
 * hot methods: no allocation, no dictionary.  -1 with a TypeError. */
int smpy_parse_args(const char *func, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames,
                    const char *const *names, Py_ssize_t max, PyObject **out);

/* The hot methods of each kind (python/ext/hot.c) and the metric methods
 * they share (python/ext/metric.c). */
extern PyMethodDef smpy_counter_methods[];
extern PyMethodDef smpy_gauge_methods[];
extern PyMethodDef smpy_histogram_methods[];
extern PyMethodDef smpy_summary_methods[];
extern PyMethodDef smpy_info_methods[];
extern PyMethodDef smpy_enum_methods[];
int smpy_metric_types_ready(PyObject *module);

/* The "missing label values" error of a labelled parent; NULL. */
PyObject *smpy_not_observable(smpy_metric *m);
/* Free the samplers' C state: only after the registry's shutdown. */
void smpy_arena_free_samplers(smpy_arena *a);
/* flush_sampled(): shmetrics_sampler_flush for the calling thread. */
PyObject *smpy_flush_sampled(PyObject *module, PyObject *unused);

/* A metric object's kind, and the library's label look-up for that kind
 * (python/ext/metric.c). */
enum smpy_kind smpy_kind_of(smpy_metric *m);
int smpy_labelv(enum smpy_kind k, void *family, size_t n, const char *const *values, void **out);

/* Make `self` (a new, unregistered metric object) the parent of `family`:
 * `series` is the family's only series when labelnames is (), else NULL. */
void smpy_metric_bind(smpy_metric *self, smpy_arena *arena, void *family, void *series, PyObject *name,
                      PyObject *labelnames);

/* Argument conversion shared by registrations: a sequence of numbers as a
 * PyMem array of doubles (*n gets its length), and the UTF-8 of a str
 * without NUL characters (the library takes C strings).  -1 / NULL with an
 * exception naming `what`. */
int smpy_doubles(PyObject *seq, const char *what, double **out, size_t *n);
const char *smpy_utf8(PyObject *s, const char *what);

/* The ready-made sets (python/ext/sets.c): Arena methods. */
PyObject *smpy_register_vllm(smpy_arena *a, PyObject *args, PyObject *kwargs);
PyObject *smpy_register_inference(smpy_arena *a, PyObject *args, PyObject *kwargs);
PyObject *smpy_vllm_cache_config_info(smpy_arena *a, PyObject *args, PyObject *kwargs);

/* Label sets (python/ext/labels.c): labels(), remove(), clear(), and
 * dropping a parent's children. */
PyObject *smpy_metric_labels(smpy_metric *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames);
PyObject *smpy_metric_remove(smpy_metric *self, PyObject *const *args, Py_ssize_t nargs);
PyObject *smpy_metric_clear_series(smpy_metric *self, PyObject *unused);
PyObject *smpy_counter_reset(smpy_metric *self, PyObject *unused);
void smpy_children_drop(smpy_metric *m);

/* After labels() made a new child: warn once per parent when the
 * metric's label sets fold into its overflow series (python/ext/labels.c);
 * -1 when the warning became an exception. */
int smpy_overflow_check(smpy_metric *parent);

/* The pusher (python/ext/push.c): the Pusher type and push(). */
extern PyTypeObject smpy_pusher_type;
PyObject *smpy_push_once(PyObject *module, PyObject *args, PyObject *kwargs);

/* Snapshot reading (python/ext/collect.c). */
PyObject *smpy_collect(smpy_arena *a, PyObject *args, PyObject *kwargs);
PyObject *smpy_expose(smpy_arena *a, PyObject *args, PyObject *kwargs);

/* The HTTP server (python/ext/server.c) and the default registry
 * (python/ext/arena.c). */
PyObject *smpy_serve(smpy_arena *a, PyObject *args, PyObject *kwargs);
PyObject *smpy_default_arena(PyObject *module, PyObject *cls);

#endif
