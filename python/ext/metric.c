/* SPDX-License-Identifier: MIT */
/*
 * python/ext/metric.c - owns the metric objects of the extension module:
 * their four types (one per kind, the bases of the Python classes), their
 * life cycle, registering a metric in an arena, and their introspection
 * attributes.  Label sets are python/ext/labels.c, the hot update methods
 * python/ext/hot.c.
 */
#include "smpy.h"

#include <string.h>

const char *smpy_kind_name(enum smpy_kind k)
{
    return shmetrics_type_name((shmetrics_type_t)(k + SHMETRICS_COUNTER));
}

enum smpy_kind smpy_kind_of(smpy_metric *m)
{
    PyTypeObject *t = Py_TYPE(m);
    for (int k = 0; k < SMPY_NKINDS; k++)
        if (PyType_IsSubtype(t, &smpy_metric_types[k]))
            return (enum smpy_kind)k;
    return SMPY_COUNTER; /* unreachable: every instance is of one kind */
}

static smpy_metric *root_of(smpy_metric *m)
{
    return m->parent ? m->parent : m;
}

PyObject *smpy_metric_name(smpy_metric *m)
{
    PyObject *n = root_of(m)->name;
    return n ? n : Py_None;
}

PyObject *smpy_not_observable(smpy_metric *m)
{
    if (m->arena && smpy_arena_check(m->arena) < 0)
        return NULL;
    if (!root_of(m)->family)
        PyErr_Format(PyExc_ValueError, "%s metric is not registered", smpy_kind_name(smpy_kind_of(m)));
    else
        PyErr_Format(PyExc_ValueError, "%s metric is missing label values", smpy_kind_name(smpy_kind_of(m)));
    return NULL;
}

/* ---------------------------------------------------------- the type */

static PyObject *metric_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    (void)args;
    (void)kwargs;
    return type->tp_alloc(type, 0);
}

static int metric_traverse(smpy_metric *m, visitproc visit, void *arg)
{
    Py_VISIT(m->arena);
    Py_VISIT(m->parent);
    for (Py_ssize_t i = 0; i < m->cap; i++)
        Py_VISIT(m->children[i]);
    /* A Python subclass's traverse (subtype_traverse) visits the type. */
    return 0;
}

static int metric_clear(smpy_metric *m)
{
    /* Handles first: releasing references may run code that calls us. */
    m->series = NULL;
    m->family = NULL;
    smpy_children_drop(m);
    Py_CLEAR(m->parent);
    Py_CLEAR(m->arena);
    return 0;
}

static void metric_dealloc(smpy_metric *m)
{
    PyObject_GC_UnTrack(m);
    metric_clear(m);
    Py_CLEAR(m->name);
    Py_CLEAR(m->labelnames);
    Py_CLEAR(m->labelvalues);
    Py_TYPE(m)->tp_free((PyObject *)m);
}

/* ------------------------------------------------------------ register */

int smpy_doubles(PyObject *seq, const char *what, double **out, size_t *n)
{
    PyObject *fast = PySequence_Fast(seq, what);
    if (!fast)
        return -1;
    Py_ssize_t len = PySequence_Fast_GET_SIZE(fast);
    double *d = PyMem_Malloc(sizeof *d * (size_t)(len ? len : 1));
    if (!d) {
        Py_DECREF(fast);
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t i = 0; i < len; i++)
        if (smpy_double(PySequence_Fast_GET_ITEM(fast, i), &d[i]) < 0) {
            PyMem_Free(d);
            Py_DECREF(fast);
            return -1;
        }
    Py_DECREF(fast);
    *out = d;
    *n = (size_t)len;
    return 0;
}

const char *smpy_utf8(PyObject *s, const char *what)
{
    if (!PyUnicode_Check(s)) {
        PyErr_Format(PyExc_TypeError, "%s must be a str, not %.100s", what, Py_TYPE(s)->tp_name);
        return NULL;
    }
    Py_ssize_t len;
    const char *p = PyUnicode_AsUTF8AndSize(s, &len);
    if (p && (size_t)len != strlen(p)) {
        PyErr_Format(PyExc_ValueError, "%s contains a NUL character", what);
        return NULL;
    }
    return p;
}

static int register_kind(enum smpy_kind k, shmetrics_registry_t *reg, const shmetrics_spec_t *spec, void **out)
{
    switch (k) {
    case SMPY_GAUGE:
        return shmetrics_gauge_register(reg, spec, (shmetrics_gauge_t **)out);
    case SMPY_HISTOGRAM:
        return shmetrics_histogram_register(reg, spec, (shmetrics_histogram_t **)out);
    case SMPY_SUMMARY:
        return shmetrics_summary_register(reg, spec, (shmetrics_summary_t **)out);
    case SMPY_INFO:
        return shmetrics_info_register(reg, spec, (shmetrics_info_t **)out);
    case SMPY_ENUM:
        return shmetrics_enum_register(reg, spec, (shmetrics_enum_t **)out);
    default:
        return shmetrics_counter_register(reg, spec, (shmetrics_counter_t **)out);
    }
}

int smpy_labelv(enum smpy_kind k, void *family, size_t n, const char *const *values, void **out)
{
    switch (k) {
    case SMPY_GAUGE:
        return shmetrics_gauge_labelv(family, n, values, (shmetrics_gauge_series_t **)out);
    case SMPY_HISTOGRAM:
        return shmetrics_histogram_labelv(family, n, values, (shmetrics_histogram_series_t **)out);
    case SMPY_SUMMARY:
        return shmetrics_summary_labelv(family, n, values, (shmetrics_summary_series_t **)out);
    case SMPY_INFO:
        return shmetrics_info_labelv(family, n, values, (shmetrics_info_series_t **)out);
    case SMPY_ENUM:
        return shmetrics_enum_labelv(family, n, values, (shmetrics_enum_series_t **)out);
    default:
        return shmetrics_counter_labelv(family, n, values, (shmetrics_counter_series_t **)out);
    }
}

void smpy_metric_bind(smpy_metric *self, smpy_arena *arena, void *family, void *series, PyObject *name,
                      PyObject *labelnames)
{
    Py_INCREF(arena);
    Py_XSETREF(self->arena, arena);
    self->family = family;
    self->series = series;
    self->nlabels = PyTuple_GET_SIZE(labelnames);
    Py_INCREF(name);
    Py_XSETREF(self->name, name);
    Py_INCREF(labelnames);
    Py_XSETREF(self->labelnames, labelnames);
}

static PyObject *metric_register(smpy_metric *self, PyObject *args, PyObject *kwargs)
{
    static char *kw[] = {"arena",
                         "name",
                         "documentation",
                         "labelnames",
                         "mode",
                         "buckets",
                         "quantiles",
                         "max_age_seconds",
                         "age_buckets",
                         "unit",
                         "states",
                         "native",
                         "native_schema",
                         "native_zero_threshold",
                         "native_max_buckets",
                         "max_series",
                         "min_interval_seconds",
                         "utf8_names",
                         NULL};
    PyObject *arena, *name, *doc, *labelnames, *buckets = Py_None, *quantiles = Py_None, *unit = Py_None,
                                               *states = Py_None;
    int mode = 0, native = 0, native_schema = SHMETRICS_NATIVE_SCHEMA_DEFAULT;
    double max_age = 0, native_zero_threshold = 0;
    unsigned int age_buckets = 0, native_max_buckets = 0, max_series = 0;
    double min_interval = 0;
    int utf8_names = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O!UOO|$iOOdIOOiidIIdp:_register", kw, &smpy_arena_type, &arena,
                                     &name, &doc, &labelnames, &mode, &buckets, &quantiles, &max_age, &age_buckets,
                                     &unit, &states, &native, &native_schema, &native_zero_threshold,
                                     &native_max_buckets, &max_series, &min_interval, &utf8_names))
        return NULL;
    if (self->family || self->parent) {
        PyErr_SetString(PyExc_ValueError, "this metric is already registered");
        return NULL;
    }
    if (smpy_arena_check((smpy_arena *)arena) < 0)
        return NULL;
    enum smpy_kind k = smpy_kind_of(self);
    PyObject *names = PySequence_Tuple(labelnames);
    if (!names)
        return NULL;
    Py_ssize_t n = PyTuple_GET_SIZE(names);
    const char **lbl = PyMem_Malloc(sizeof *lbl * (size_t)(n ? n : 1));
    const char **st = NULL;
    PyObject *state_names = NULL;
    double *b = NULL, *q = NULL;
    size_t nb = 0, nq = 0;
    PyObject *ret = NULL;
    shmetrics_spec_t spec = {.gauge_mode = (shmetrics_gauge_mode_t)mode,
                             .max_age_seconds = max_age,
                             .age_buckets = age_buckets,
                             .max_series = max_series,
                             .min_interval_seconds = min_interval,
                             .utf8_names = utf8_names};
    /* The native fields only for a native histogram: the library refuses
     * them on any other. */
    if (native) {
        spec.native = (shmetrics_histogram_kind_t)native;
        spec.native_schema = native_schema;
        spec.native_zero_threshold = native_zero_threshold;
        spec.native_max_buckets = native_max_buckets;
    }
    if (!lbl) {
        PyErr_NoMemory();
        goto out;
    }
    for (Py_ssize_t i = 0; i < n; i++)
        if (!(lbl[i] = smpy_utf8(PyTuple_GET_ITEM(names, i), "a label name")))
            goto out;
    if (!(spec.name = smpy_utf8(name, "the metric name")))
        goto out;
    if (doc != Py_None && !(spec.help = smpy_utf8(doc, "the documentation")))
        goto out;
    if (buckets != Py_None && smpy_doubles(buckets, "buckets must be a sequence of numbers", &b, &nb) < 0)
        goto out;
    if (quantiles != Py_None && smpy_doubles(quantiles, "quantiles must be a sequence of numbers", &q, &nq) < 0)
        goto out;
    if (unit != Py_None && !(spec.unit = smpy_utf8(unit, "the unit")))
        goto out;
    if (states != Py_None) {
        if (!(state_names = PySequence_Tuple(states)))
            goto out;
        Py_ssize_t ns = PyTuple_GET_SIZE(state_names);
        if (!(st = PyMem_Malloc(sizeof *st * (size_t)(ns ? ns : 1)))) {
            PyErr_NoMemory();
            goto out;
        }
        for (Py_ssize_t i = 0; i < ns; i++)
            if (!(st[i] = smpy_utf8(PyTuple_GET_ITEM(state_names, i), "a state")))
                goto out;
        spec.states = st;
        spec.nstates = (size_t)ns;
    }
    spec.label_names = lbl;
    spec.nlabels = (size_t)n;
    spec.buckets = b;
    spec.nbuckets = nb;
    spec.quantiles = q;
    spec.nquantiles = nq;
    /* Converting the arguments may have run Python code that closed it. */
    if (smpy_arena_check((smpy_arena *)arena) < 0)
        goto out;
    shmetrics_registry_t *reg = ((smpy_arena *)arena)->reg;
    void *family, *series = NULL;
    int rc = register_kind(k, reg, &spec, &family);
    if (rc == 0 && n == 0)
        rc = smpy_labelv(k, family, 0, NULL, &series);
    if (rc < 0) {
        smpy_raise(rc, SMPY_CTX_SPEC);
        goto out;
    }
    smpy_metric_bind(self, (smpy_arena *)arena, family, series, name, names);
    self->max_series = max_series;
    if (k == SMPY_GAUGE && (mode == SHMETRICS_MODE_MOSTRECENT || mode == SHMETRICS_MODE_LIVEMOSTRECENT))
        self->flags |= SMPY_F_MOSTRECENT;
    if (utf8_names)
        self->flags |= SMPY_F_UTF8;
    ret = Py_None;
    Py_INCREF(ret);
out:
    PyMem_Free(lbl);
    PyMem_Free(st);
    Py_XDECREF(state_names);
    PyMem_Free(b);
    PyMem_Free(q);
    Py_DECREF(names);
    return ret;
}

/* ------------------------------------------------------- attributes */

static PyObject *get_name(smpy_metric *m, void *c)
{
    (void)c;
    PyObject *n = smpy_metric_name(m);
    Py_INCREF(n);
    return n;
}

static PyObject *get_labelnames(smpy_metric *m, void *c)
{
    (void)c;
    PyObject *t = root_of(m)->labelnames;
    if (!t)
        return PyTuple_New(0);
    Py_INCREF(t);
    return t;
}

static PyObject *get_labelvalues(smpy_metric *m, void *c)
{
    (void)c;
    if (!m->labelvalues)
        return PyTuple_New(0);
    Py_INCREF(m->labelvalues);
    return m->labelvalues;
}

static PyObject *get_parent(smpy_metric *m, void *c)
{
    (void)c;
    PyObject *p = m->parent ? (PyObject *)m->parent : Py_None;
    Py_INCREF(p);
    return p;
}

static PyObject *get_registry(smpy_metric *m, void *c)
{
    (void)c;
    PyObject *a = m->arena ? (PyObject *)m->arena : Py_None;
    Py_INCREF(a);
    return a;
}

static PyObject *get_observable(smpy_metric *m, void *c)
{
    (void)c;
    return PyBool_FromLong(m->series != NULL);
}

static PyObject *get_max_series(smpy_metric *m, void *c)
{
    (void)c;
    uint32_t n = root_of(m)->max_series;
    if (n == SHMETRICS_MAX_SERIES_UNLIMITED)
        Py_RETURN_NONE;
    return PyLong_FromUnsignedLong(n ? n : SHMETRICS_MAX_SERIES_DEFAULT);
}

static PyGetSetDef metric_getset[] = {
    {"_name", (getter)get_name, NULL, "The full name (counters: without _total).", NULL},
    {"_labelnames", (getter)get_labelnames, NULL, "The label names, a tuple.", NULL},
    {"_labelvalues", (getter)get_labelvalues, NULL, "A child's label values, a tuple (() for the metric).", NULL},
    {"_parent", (getter)get_parent, NULL, "A child's metric, None for the metric itself.", NULL},
    {"_registry", (getter)get_registry, NULL, "The registry the metric lives in.", NULL},
    {"_observable", (getter)get_observable, NULL, "True when the hot methods may be called.", NULL},
    {"_max_series", (getter)get_max_series, NULL, "The most label sets before they fold (None: no limit).", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyMethodDef metric_common[] = {
    {"_register", (PyCFunction)(void (*)(void))metric_register, METH_VARARGS | METH_KEYWORDS,
     "_register(arena, name, documentation, labelnames, *, mode=0, buckets=None, quantiles=None,\n"
     "          max_age_seconds=0, age_buckets=0, unit=None, states=None, native=0, native_schema=3,\n"
     "          native_zero_threshold=0, native_max_buckets=0, max_series=0, min_interval_seconds=0)\n"
     "Register the metric in an arena (the Python constructors call this)."},
    {"labels", (PyCFunction)(void (*)(void))smpy_metric_labels, METH_FASTCALL | METH_KEYWORDS,
     "labels(*values) or labels(**values)\n"
     "The child for one set of label values, by position or by name; values are converted with str()."},
    {"remove", (PyCFunction)(void (*)(void))smpy_metric_remove, METH_FASTCALL,
     "remove(*values)\nRemove one label set: it leaves the exposition at once (KeyError if it is not there)."},
    {"clear", (PyCFunction)smpy_metric_clear_series, METH_NOARGS, "clear()\nRemove every label set of the metric."},
    {NULL, NULL, 0, NULL},
};

/* ------------------------------------------------------- the types */

PyTypeObject smpy_metric_types[SMPY_NKINDS];

static const char *const type_names[SMPY_NKINDS] = {
    "shmetrics._shmetrics.CounterBase", "shmetrics._shmetrics.GaugeBase", "shmetrics._shmetrics.HistogramBase",
    "shmetrics._shmetrics.SummaryBase", "shmetrics._shmetrics.InfoBase",  "shmetrics._shmetrics.EnumBase",
};

static const char *const type_docs[SMPY_NKINDS] = {
    "The C part of shmetrics.Counter: labels, inc.",
    "The C part of shmetrics.Gauge: labels, inc, dec, set, set_to_current_time.",
    "The C part of shmetrics.Histogram: labels, observe.",
    "The C part of shmetrics.Summary: labels, observe.",
    "The C part of shmetrics.Info: labels, info.",
    "The C part of shmetrics.Enum: labels, state.",
};

/* A kind's hot methods followed by the common ones, in memory that lives
 * as long as the process (types are static). */
static PyMethodDef *methods_of(PyMethodDef *hot)
{
    size_t nh = 0, nc = 0;
    while (hot[nh].ml_name)
        nh++;
    while (metric_common[nc].ml_name)
        nc++;
    PyMethodDef *all = PyMem_RawCalloc(nh + nc + 1, sizeof *all);
    if (!all) {
        PyErr_NoMemory();
        return NULL;
    }
    memcpy(all, hot, nh * sizeof *all);
    memcpy(all + nh, metric_common, nc * sizeof *all);
    return all;
}

int smpy_metric_types_ready(PyObject *module)
{
    PyMethodDef *tables[SMPY_NKINDS] = {smpy_counter_methods, smpy_gauge_methods, smpy_histogram_methods,
                                        smpy_summary_methods, smpy_info_methods,  smpy_enum_methods};
    for (int k = 0; k < SMPY_NKINDS; k++) {
        PyTypeObject *t = &smpy_metric_types[k];
        memset(t, 0, sizeof *t);
        Py_SET_REFCNT((PyObject *)t, 1);
        t->tp_name = type_names[k];
        t->tp_doc = type_docs[k];
        t->tp_basicsize = sizeof(smpy_metric);
        t->tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC;
        t->tp_new = metric_new;
        t->tp_dealloc = (destructor)metric_dealloc;
        t->tp_traverse = (traverseproc)metric_traverse;
        t->tp_clear = (inquiry)metric_clear;
        if (!(t->tp_methods = methods_of(tables[k])))
            return -1;
        t->tp_getset = metric_getset;
        if (PyType_Ready(t) < 0)
            return -1;
        const char *short_name = strrchr(type_names[k], '.') + 1;
        Py_INCREF(t);
        if (PyModule_AddObject(module, short_name, (PyObject *)t) < 0) {
            Py_DECREF(t);
            return -1;
        }
    }
    return 0;
}
