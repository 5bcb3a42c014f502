/* SPDX-License-Identifier: MIT */
/*
 * python/ext/info_enum.c - owns the update methods of info and enum
 * objects, prometheus_client's Info.info(dict) and Enum.state(name): each
 * converts its argument and calls the library's shmetrics_info_set or
 * shmetrics_enum_state, whose refusals (a key that overlaps a label name,
 * a state not in the list) become ValueError with the library's message.
 */
#include "smpy.h"

/* The series of `m`, or NULL with the exception that explains why not. */
static void *series_of(smpy_metric *m)
{
    if (!m->series || !m->arena->reg) {
        smpy_not_observable(m);
        return NULL;
    }
    return m->series;
}

static PyObject *info_info(smpy_metric *self, PyObject *val)
{
    shmetrics_info_series_t *s = series_of(self);
    if (!s)
        return NULL;
    if (!PyDict_Check(val)) {
        PyErr_Format(PyExc_TypeError, "info() takes a dict of str to str, not %.100s", Py_TYPE(val)->tp_name);
        return NULL;
    }
    /* A copy: converting the keys cannot change what is iterated. */
    PyObject *items = PyDict_Items(val);
    if (!items)
        return NULL;
    Py_ssize_t n = PyList_GET_SIZE(items);
    shmetrics_label_t *pairs = PyMem_Malloc(sizeof *pairs * (size_t)(n ? n : 1));
    PyObject *ret = NULL;
    if (!pairs) {
        PyErr_NoMemory();
        goto out;
    }
    for (Py_ssize_t i = 0; i < n; i++)
        if (PyTuple_GET_ITEM(PyList_GET_ITEM(items, i), 1) == Py_None) {
            /* prometheus_client's check and words */
            PyErr_Format(PyExc_ValueError, "Label value cannot be None (info key %R)",
                         PyTuple_GET_ITEM(PyList_GET_ITEM(items, i), 0));
            goto out;
        }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *kv = PyList_GET_ITEM(items, i);
        if (!(pairs[i].name = smpy_utf8(PyTuple_GET_ITEM(kv, 0), "an info key")) ||
            !(pairs[i].value = smpy_utf8(PyTuple_GET_ITEM(kv, 1), "an info value")))
            goto out;
    }
    if (smpy_arena_check(self->arena) < 0)
        goto out;
    int rc = shmetrics_info_set(s, pairs, (size_t)n);
    if (rc < 0) {
        smpy_raise(rc, SMPY_CTX_SPEC);
        goto out;
    }
    ret = Py_None;
    Py_INCREF(ret);
out:
    PyMem_Free(pairs);
    Py_DECREF(items);
    return ret;
}

static PyObject *enum_state(smpy_metric *self, PyObject *state)
{
    shmetrics_enum_series_t *s = series_of(self);
    const char *name;
    if (!s || !(name = smpy_utf8(state, "the state")))
        return NULL;
    int rc = shmetrics_enum_state(s, name);
    if (rc < 0)
        return smpy_raise(rc, SMPY_CTX_SPEC);
    Py_RETURN_NONE;
}

PyMethodDef smpy_info_methods[] = {
    {"info", (PyCFunction)info_info, METH_O,
     "info(val)\nReplace the value set of this series with the dict `val` (str to str); the set made last, by "
     "any process, is shown."},
    {NULL, NULL, 0, NULL},
};

PyMethodDef smpy_enum_methods[] = {
    {"state", (PyCFunction)enum_state, METH_O,
     "state(state)\nSet this series to one of its states; the state set last, by any process, is shown."},
    {NULL, NULL, 0, NULL},
};
