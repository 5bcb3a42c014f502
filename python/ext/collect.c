/* SPDX-License-Identifier: MIT */
/*
 * python/ext/collect.c - owns reading an arena from Python: a snapshot
 * turned into Python tuples (the Python layer wraps them into Metric
 * objects), and the exposition formats encoded by the library.  Both read
 * the arena without holding the GIL.
 */
#include "smpy.h"

#include <stdlib.h>

/* Take a snapshot with the GIL released; the arena cannot be closed
 * meanwhile (close() refuses while `users` is nonzero). */
static int snapshot(smpy_arena *a, PyObject *at, shmetrics_snapshot_t **snap)
{
    if (smpy_arena_check(a) < 0)
        return -1;
    unsigned long long at_ns = 0;
    if (at && at != Py_None) {
        at_ns = PyLong_AsUnsignedLongLong(at);
        if (at_ns == (unsigned long long)-1 && PyErr_Occurred())
            return -1;
    }
    int rc;
    a->users++;
    Py_BEGIN_ALLOW_THREADS
    rc = at_ns ? shmetrics_collect_at(a->reg, at_ns, snap) : shmetrics_collect(a->reg, snap);
    Py_END_ALLOW_THREADS
    a->users--;
    if (rc < 0) {
        smpy_raise(rc, SMPY_CTX_ARENA);
        return -1;
    }
    return 0;
}

static PyObject *sample_tuple(const shmetrics_family_t *f, const shmetrics_sample_t *s, int created)
{
    PyObject *labels = PyDict_New();
    if (!labels)
        return NULL;
    for (size_t i = 0; i < s->nlabels; i++) {
        PyObject *v = PyUnicode_FromString(s->labels[i].value);
        if (!v || PyDict_SetItemString(labels, s->labels[i].name, v) < 0) {
            Py_XDECREF(v);
            Py_DECREF(labels);
            return NULL;
        }
        Py_DECREF(v);
    }
    if (created) /* the series' creation time too (0: none) */
        return Py_BuildValue("(NNdd)", PyUnicode_FromFormat("%s%s", f->name, s->suffix), labels, s->value, s->created);
    return Py_BuildValue("(NNd)", PyUnicode_FromFormat("%s%s", f->name, s->suffix), labels, s->value);
}

static PyObject *family_tuple(const shmetrics_family_t *f, int created)
{
    PyObject *samples = PyList_New((Py_ssize_t)f->nsamples);
    if (!samples)
        return NULL;
    for (size_t i = 0; i < f->nsamples; i++) {
        PyObject *t = sample_tuple(f, &f->samples[i], created);
        if (!t) {
            Py_DECREF(samples);
            return NULL;
        }
        PyList_SET_ITEM(samples, (Py_ssize_t)i, t);
    }
    /* A snapshot holds only types and modes the reader validated. */
    const char *mode_word = shmetrics_gauge_mode_name(f->gauge_mode), *type_word = shmetrics_type_name(f->type);
    PyObject *mode = f->type == SHMETRICS_GAUGE ? PyUnicode_FromString(mode_word ? mode_word : "all") : Py_None;
    if (mode == Py_None)
        Py_INCREF(mode);
    return Py_BuildValue("(ssNNNs)", f->name, f->help ? f->help : "",
                         PyUnicode_FromString(type_word ? type_word : "counter"), mode, samples,
                         f->unit ? f->unit : "");
}

PyObject *smpy_collect(smpy_arena *a, PyObject *args, PyObject *kwargs)
{
    static char *kw[] = {"at_ns", "created", NULL};
    PyObject *at = NULL;
    int created = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "|Op:_collect", kw, &at, &created))
        return NULL;
    shmetrics_snapshot_t *snap;
    if (snapshot(a, at, &snap) < 0)
        return NULL;
    PyObject *list = PyList_New((Py_ssize_t)snap->nfamilies);
    for (size_t i = 0; list && i < snap->nfamilies; i++) {
        PyObject *t = family_tuple(&snap->families[i], created);
        if (!t)
            Py_CLEAR(list);
        else
            PyList_SET_ITEM(list, (Py_ssize_t)i, t);
    }
    shmetrics_snapshot_free(snap);
    return list;
}

PyObject *smpy_expose(smpy_arena *a, PyObject *args, PyObject *kwargs)
{
    static char *kw[] = {"format", "at_ns", NULL};
    const char *name = "prometheus";
    PyObject *at = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "|sO:expose", kw, &name, &at))
        return NULL;
    shmetrics_format_t fmt;
    int rc = shmetrics_format_parse(name, &fmt);
    if (rc < 0)
        return smpy_raise(rc, SMPY_CTX_SPEC);
    shmetrics_snapshot_t *snap;
    if (snapshot(a, at, &snap) < 0)
        return NULL;
    char *text = NULL;
    size_t len = 0;
    Py_BEGIN_ALLOW_THREADS
    rc = shmetrics_format(snap, fmt, &text, &len);
    shmetrics_snapshot_free(snap);
    Py_END_ALLOW_THREADS
    if (rc < 0)
        return smpy_raise(rc, SMPY_CTX_ARENA);
    PyObject *b = PyBytes_FromStringAndSize(text, (Py_ssize_t)len);
    free(text);
    return b;
}
