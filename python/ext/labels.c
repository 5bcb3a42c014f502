/* SPDX-License-Identifier: MIT */
/*
 * python/ext/labels.c - owns the label sets of a metric object: resolving
 * label values (by position or by name, converted with str()) to child
 * objects through the library's series cache, the parent's map from series
 * handle to child (so that labels() returns the same object for the same
 * label set), the warning given once when a metric's label sets start to
 * fold into its overflow series, and remove() and clear().
 */
#include "smpy.h"

#include <string.h>

/* ------------------------------------------------------------ children */

void smpy_children_drop(smpy_metric *m)
{
    PyObject **c = m->children;
    Py_ssize_t cap = m->cap;
    PyMem_Free(m->keys);
    m->keys = NULL;
    m->children = NULL;
    m->cap = m->nchildren = 0;
    for (Py_ssize_t i = 0; i < cap; i++)
        Py_XDECREF(c[i]);
    PyMem_Free(c);
}

static size_t slot_of(const void *key, Py_ssize_t cap)
{
    uintptr_t h = (uintptr_t)key;
    h ^= h >> 17;
    h *= (uintptr_t)0x9E3779B97F4A7C15ull;
    return (size_t)(h >> 7) & (size_t)(cap - 1);
}

static PyObject *children_find(smpy_metric *m, const void *key)
{
    if (!m->cap)
        return NULL;
    for (size_t i = slot_of(key, m->cap);; i = (i + 1) & (size_t)(m->cap - 1)) {
        if (m->keys[i] == key)
            return m->children[i];
        if (!m->keys[i])
            return NULL;
    }
}

/* Insert a new key (not present); the map takes a reference. */
static int children_add(smpy_metric *m, void *key, PyObject *child)
{
    if ((m->nchildren + 1) * 2 > m->cap) {
        Py_ssize_t cap = m->cap ? m->cap * 2 : 16;
        void **keys = PyMem_Calloc((size_t)cap, sizeof *keys);
        PyObject **vals = PyMem_Calloc((size_t)cap, sizeof *vals);
        if (!keys || !vals) {
            PyMem_Free(keys);
            PyMem_Free(vals);
            PyErr_NoMemory();
            return -1;
        }
        for (Py_ssize_t i = 0; i < m->cap; i++)
            if (m->keys[i]) {
                size_t j = slot_of(m->keys[i], cap);
                while (keys[j])
                    j = (j + 1) & (size_t)(cap - 1);
                keys[j] = m->keys[i];
                vals[j] = m->children[i];
            }
        PyMem_Free(m->keys);
        PyMem_Free(m->children);
        m->keys = keys;
        m->children = vals;
        m->cap = cap;
    }
    size_t j = slot_of(key, m->cap);
    while (m->keys[j])
        j = (j + 1) & (size_t)(m->cap - 1);
    m->keys[j] = key;
    Py_INCREF(child);
    m->children[j] = child;
    m->nchildren++;
    return 0;
}

/* -------------------------------------------------------------- labels */

struct values {
    const char *p[SHMETRICS_MAX_LABELS];
    PyObject *str[SHMETRICS_MAX_LABELS]; /* the str of each value */
    int own[SHMETRICS_MAX_LABELS];       /* str[i] is a str() result to release */
    Py_ssize_t n;
};

static void values_release(struct values *v)
{
    for (Py_ssize_t i = 0; i < v->n; i++)
        if (v->own[i])
            Py_DECREF(v->str[i]);
}

/* The label values as UTF-8, each converted with str() as prometheus_client
 * does.  Values beyond the SHMETRICS_MAX_LABELS a metric can have are not converted: the
 * library reports the count mismatch. */
static int values_add(struct values *v, smpy_metric *m, PyObject *o)
{
    Py_ssize_t i = v->n;
    if (i >= SHMETRICS_MAX_LABELS)
        return 0;
    PyObject *s = o;
    v->own[i] = 0;
    if (!PyUnicode_CheckExact(o)) {
        if (!(s = PyObject_Str(o)))
            return -1;
        v->own[i] = 1;
    }
    v->str[i] = s;
    v->n++;
    Py_ssize_t len;
    const char *p = PyUnicode_AsUTF8AndSize(s, &len);
    if (!p)
        return -1;
    if ((size_t)len != strlen(p)) {
        PyErr_Format(PyExc_ValueError, "label value %zd of %U contains a NUL character", i + 1, smpy_metric_name(m));
        return -1;
    }
    v->p[i] = p;
    return 0;
}

static PyObject *labels_error(smpy_metric *self, const char *what)
{
    PyErr_Format(PyExc_ValueError, "%s:%U %s", smpy_kind_name(smpy_kind_of(self)), smpy_metric_name(self), what);
    return NULL;
}

/* prometheus_client's words, then ours. */
static PyObject *no_label_names(smpy_metric *self, const char *func)
{
    const char *kind = smpy_kind_name(smpy_kind_of(self));
    PyObject *name = smpy_metric_name(self);
    PyErr_Format(PyExc_ValueError,
                 "No label names were set when constructing %s:%U (%U has no label names: %s() needs a metric "
                 "constructed with labelnames)",
                 kind, name, name, func);
    return NULL;
}

static int count_error(smpy_metric *self, Py_ssize_t count)
{
    PyErr_Format(PyExc_ValueError, "Incorrect label count: %U has %zd label names, %zd values given",
                 smpy_metric_name(self), self->nlabels, count);
    return -1;
}

/* Gather positional or keyword label values into v (in label-name order);
 * *count gets how many were given. */
static int gather(smpy_metric *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames, struct values *v,
                  Py_ssize_t *count)
{
    Py_ssize_t nkw = kwnames ? PyTuple_GET_SIZE(kwnames) : 0;
    if (nargs && nkw) {
        PyErr_SetString(PyExc_ValueError, "Can't pass both *args and **kwargs");
        return -1;
    }
    if (!nkw) {
        *count = nargs;
        for (Py_ssize_t i = 0; i < nargs; i++)
            if (values_add(v, self, args[i]) < 0)
                return -1;
        return 0;
    }
    *count = nkw;
    int match = nkw == self->nlabels;
    for (Py_ssize_t i = 0; match && i < self->nlabels; i++) {
        PyObject *want = PyTuple_GET_ITEM(self->labelnames, i), *got = NULL;
        for (Py_ssize_t j = 0; j < nkw && !got; j++) {
            PyObject *kn = PyTuple_GET_ITEM(kwnames, j);
            if (kn == want || PyUnicode_Compare(kn, want) == 0)
                got = args[j];
        }
        if (!got)
            match = 0;
        else if (values_add(v, self, got) < 0)
            return -1;
    }
    if (!match) {
        PyObject *sep = PyUnicode_FromString(", ");
        PyObject *a = sep ? PyUnicode_Join(sep, self->labelnames) : NULL;
        PyObject *b = sep ? PyUnicode_Join(sep, kwnames) : NULL;
        if (a && b)
            PyErr_Format(PyExc_ValueError, "Incorrect label names: %U has (%U), not (%U)", smpy_metric_name(self), a,
                         b);
        Py_XDECREF(sep);
        Py_XDECREF(a);
        Py_XDECREF(b);
        return -1;
    }
    return 0;
}

/* The values array handed to the library: the converted values, or, when
 * the count is wrong, `count` empty strings so that the library names the
 * mismatch in its own words. */
static const char *const *values_for_library(struct values *v, Py_ssize_t count, const char ***spare)
{
    *spare = NULL;
    if (count == v->n)
        return v->p;
    const char **d = PyMem_Malloc(sizeof *d * (size_t)(count ? count : 1));
    if (!d)
        return NULL;
    for (Py_ssize_t i = 0; i < count; i++)
        d[i] = "";
    *spare = d;
    return d;
}

static PyObject *make_child(smpy_metric *self, void *series, struct values *v)
{
    PyTypeObject *t = Py_TYPE(self);
    smpy_metric *c = (smpy_metric *)t->tp_alloc(t, 0);
    if (!c)
        return NULL;
    PyObject *vals = PyTuple_New(v->n);
    if (!vals) {
        Py_DECREF(c);
        return NULL;
    }
    for (Py_ssize_t i = 0; i < v->n; i++) {
        Py_INCREF(v->str[i]);
        PyTuple_SET_ITEM(vals, i, v->str[i]);
    }
    Py_INCREF(self->arena);
    c->arena = self->arena;
    Py_INCREF(self);
    c->parent = self;
    c->family = self->family;
    c->series = series;
    c->nlabels = self->nlabels;
    c->flags = self->flags & (SMPY_F_MOSTRECENT | SMPY_F_UTF8);
    c->labelvalues = vals;
    /* Allocating may have run a collection, and finalizers with it, that
     * made this child already: keep the first one. */
    PyObject *first = children_find(self, series);
    if (first) {
        Py_DECREF(c);
        Py_INCREF(first);
        return first;
    }
    if (children_add(self, series, (PyObject *)c) < 0) {
        Py_DECREF(c);
        return NULL;
    }
    return (PyObject *)c;
}

PyObject *smpy_metric_labels(smpy_metric *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    if (self->parent) {
        PyObject *d = PyDict_New();
        for (Py_ssize_t i = 0; d && i < self->nlabels; i++)
            if (PyDict_SetItem(d, PyTuple_GET_ITEM(self->parent->labelnames, i),
                               PyTuple_GET_ITEM(self->labelvalues, i)) < 0)
                Py_CLEAR(d);
        if (d) {
            PyErr_Format(PyExc_ValueError, "%s:%U already has labels set (%R); can not chain calls to .labels()",
                         smpy_kind_name(smpy_kind_of(self)), smpy_metric_name(self), d);
            Py_DECREF(d);
        }
        return NULL;
    }
    if (!self->family)
        return smpy_not_observable(self);
    if (!self->nlabels)
        return no_label_names(self, "labels");
    if (smpy_arena_check(self->arena) < 0)
        return NULL;
    struct values v = {.n = 0};
    Py_ssize_t count = 0;
    PyObject *ret = NULL;
    const char **spare;
    const char *const *vals;
    void *series;
    /* str() of a value may run Python code that closes the registry:
     * check again once no more Python code runs before the library call. */
    if (gather(self, args, nargs, kwnames, &v, &count) < 0 || smpy_arena_check(self->arena) < 0)
        goto out;
    if (count != self->nlabels) {
        count_error(self, count);
        goto out;
    }
    if (!(vals = values_for_library(&v, count, &spare))) {
        PyErr_NoMemory();
        goto out;
    }
    int rc = smpy_labelv(smpy_kind_of(self), self->family, (size_t)count, vals, &series);
    PyMem_Free(spare);
    if (rc < 0) {
        smpy_raise(rc, SMPY_CTX_SPEC);
        goto out;
    }
    if ((ret = children_find(self, series)))
        Py_INCREF(ret);
    else if ((ret = make_child(self, series, &v)) && !(self->flags & SMPY_F_WARNED) && smpy_overflow_check(self) < 0)
        Py_CLEAR(ret);
out:
    values_release(&v);
    return ret;
}

/* ------------------------------------------------------------ overflow */

/*
 * Past its max_series, the library gives a new label set of a metric the
 * metric's overflow series and counts the fold in the counter
 * shmetrics_cardinality_overflow{metric=NAME}, which it registers at the
 * first fold in the arena.  Checked when labels() makes a new child, until
 * the parent has warned: a look-up of that family by name (a hash table
 * read; -ENOENT while no metric of the arena ever folded), and once it
 * exists, of this metric's series in it.
 */
int smpy_overflow_check(smpy_metric *p)
{
    shmetrics_counter_t *over;
    shmetrics_counter_series_t *s;
    if (!p->arena || !p->arena->reg ||
        shmetrics_counter_get(p->arena->reg, "shmetrics_cardinality_overflow", &over) < 0)
        return 0;
    const char *name = PyUnicode_AsUTF8(p->name);
    if (!name) {
        PyErr_Clear();
        return 0;
    }
    if (shmetrics_counter_labelv(over, 1, &name, &s) < 0 || shmetrics_counter_sum(s) <= 0)
        return 0;
    p->flags |= SMPY_F_WARNED;
    uint32_t limit = p->max_series ? p->max_series : SHMETRICS_MAX_SERIES_DEFAULT;
    return PyErr_WarnFormat(PyExc_RuntimeWarning, 1,
                            "%s:%U reached its max_series (%lu label sets): further label sets are counted together "
                            "in one series labelled otel_metric_overflow=\"true\" (folds counted in "
                            "shmetrics_cardinality_overflow_total{metric=\"%U\"}); raise the limit with max_series=",
                            smpy_kind_name(smpy_kind_of(p)), p->name, (unsigned long)limit, p->name);
}

/* ------------------------------------------------------ remove, clear */

PyObject *smpy_metric_remove(smpy_metric *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (self->parent)
        return labels_error(self, "is a child: remove() is a method of the metric itself");
    if (!self->family)
        return smpy_not_observable(self);
    if (!self->nlabels)
        return no_label_names(self, "remove");
    if (smpy_arena_check(self->arena) < 0)
        return NULL;
    struct values v = {.n = 0};
    PyObject *ret = NULL;
    const char **spare;
    const char *const *vals;
    if (nargs != self->nlabels) {
        count_error(self, nargs);
        goto out;
    }
    for (Py_ssize_t i = 0; i < nargs; i++)
        if (values_add(&v, self, args[i]) < 0)
            goto out;
    if (smpy_arena_check(self->arena) < 0) /* as in labels() */
        goto out;
    if (!(vals = values_for_library(&v, nargs, &spare))) {
        PyErr_NoMemory();
        goto out;
    }
    int rc;
    switch (smpy_kind_of(self)) {
    case SMPY_GAUGE:
        rc = shmetrics_gauge_removev(self->family, (size_t)nargs, vals);
        break;
    case SMPY_HISTOGRAM:
        rc = shmetrics_histogram_removev(self->family, (size_t)nargs, vals);
        break;
    case SMPY_SUMMARY:
        rc = shmetrics_summary_removev(self->family, (size_t)nargs, vals);
        break;
    case SMPY_INFO:
        rc = shmetrics_info_removev(self->family, (size_t)nargs, vals);
        break;
    case SMPY_ENUM:
        rc = shmetrics_enum_removev(self->family, (size_t)nargs, vals);
        break;
    default:
        rc = shmetrics_counter_removev(self->family, (size_t)nargs, vals);
        break;
    }
    PyMem_Free(spare);
    if (rc < 0) {
        smpy_raise(rc, SMPY_CTX_REMOVE);
        goto out;
    }
    smpy_children_drop(self);
    ret = Py_None;
    Py_INCREF(ret);
out:
    values_release(&v);
    return ret;
}

/* Counter.reset(): remove the series' label set and bring it back at 0
 * (created now), as the library does for a removed label set that is used
 * again; the object's handle stays valid.  For every process: the series
 * is shared. */
PyObject *smpy_counter_reset(smpy_metric *self, PyObject *unused)
{
    (void)unused;
    if (!self->series || !self->arena || smpy_arena_check(self->arena) < 0)
        return smpy_not_observable(self);
    smpy_metric *root = self->parent ? self->parent : self;
    Py_ssize_t n = self->labelvalues ? PyTuple_GET_SIZE(self->labelvalues) : 0;
    const char *vals[SHMETRICS_MAX_LABELS];
    for (Py_ssize_t i = 0; i < n && i < (Py_ssize_t)SHMETRICS_MAX_LABELS; i++)
        if (!(vals[i] = PyUnicode_AsUTF8(PyTuple_GET_ITEM(self->labelvalues, i))))
            return NULL;
    void *series;
    int rc = shmetrics_counter_removev(root->family, (size_t)n, vals);
    if (rc == 0 || rc == -ENOENT) /* -ENOENT: another process removed it */
        rc = shmetrics_counter_labelv(root->family, (size_t)n, vals, (shmetrics_counter_series_t **)&series);
    if (rc < 0)
        return smpy_raise(rc, SMPY_CTX_ARENA);
    Py_RETURN_NONE;
}

PyObject *smpy_metric_clear_series(smpy_metric *self, PyObject *unused)
{
    (void)unused;
    if (self->parent)
        return labels_error(self, "is a child: clear() is a method of the metric itself");
    if (!self->family)
        return smpy_not_observable(self);
    /* As in prometheus_client, a metric without labels keeps its value. */
    if (!self->nlabels)
        Py_RETURN_NONE;
    if (smpy_arena_check(self->arena) < 0)
        return NULL;
    int rc;
    switch (smpy_kind_of(self)) {
    case SMPY_GAUGE:
        rc = shmetrics_gauge_clear(self->family);
        break;
    case SMPY_HISTOGRAM:
        rc = shmetrics_histogram_clear(self->family);
        break;
    case SMPY_SUMMARY:
        rc = shmetrics_summary_clear(self->family);
        break;
    case SMPY_INFO:
        rc = shmetrics_info_clear(self->family);
        break;
    case SMPY_ENUM:
        rc = shmetrics_enum_clear(self->family);
        break;
    default:
        rc = shmetrics_counter_clear(self->family);
        break;
    }
    if (rc < 0)
        return smpy_raise(rc, SMPY_CTX_REMOVE);
    smpy_children_drop(self);
    Py_RETURN_NONE;
}
