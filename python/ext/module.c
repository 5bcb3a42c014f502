/* SPDX-License-Identifier: MIT */
/*
 * python/ext/module.c - owns the _shmetrics extension module itself: its
 * initialisation and constants, the translation of library errors into
 * Python exceptions, and the small keyword parser of the hot methods.
 */
#include "smpy.h"

#include <errno.h>
#include <string.h>

PyObject *smpy_raise(int rc, enum smpy_ctx ctx)
{
    const char *msg = shmetrics_errmsg();
    int e = rc < 0 ? -rc : EINVAL;
    if (e == EINVAL || (ctx == SMPY_CTX_SPEC && e == EEXIST)) {
        PyErr_SetString(PyExc_ValueError, msg);
    } else if (ctx == SMPY_CTX_REMOVE && e == ENOENT) {
        PyErr_SetString(PyExc_KeyError, msg);
    } else if (e == ENOMEM) {
        PyErr_SetString(PyExc_MemoryError, msg);
    } else {
        /* OSError(errno, message) becomes FileNotFoundError, PermissionError
         * and so on, as Python's own I/O errors do. */
        PyObject *args = Py_BuildValue("(is)", e, msg);
        if (args) {
            PyErr_SetObject(PyExc_OSError, args);
            Py_DECREF(args);
        }
    }
    return NULL;
}

int smpy_parse_args(const char *func, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames,
                    const char *const *names, Py_ssize_t max, PyObject **out)
{
    if (nargs > max) {
        PyErr_Format(PyExc_TypeError, "%s() takes at most %zd argument%s (%zd given)", func, max, max == 1 ? "" : "s",
                     nargs);
        return -1;
    }
    for (Py_ssize_t i = 0; i < nargs; i++)
        out[i] = args[i];
    Py_ssize_t nkw = kwnames ? PyTuple_GET_SIZE(kwnames) : 0;
    for (Py_ssize_t j = 0; j < nkw; j++) {
        PyObject *key = PyTuple_GET_ITEM(kwnames, j);
        Py_ssize_t i = 0;
        while (i < max && PyUnicode_CompareWithASCIIString(key, names[i]) != 0)
            i++;
        if (i == max) {
            PyErr_Format(PyExc_TypeError, "%s() got an unexpected keyword argument '%U'", func, key);
            return -1;
        }
        if (out[i]) {
            PyErr_Format(PyExc_TypeError, "%s() got multiple values for argument '%s'", func, names[i]);
            return -1;
        }
        out[i] = args[nargs + j];
    }
    return 0;
}

static PyObject *content_type(PyObject *module, PyObject *arg)
{
    (void)module;
    const char *name = PyUnicode_AsUTF8(arg);
    if (!name)
        return NULL;
    shmetrics_format_t f;
    int rc = shmetrics_format_parse(name, &f);
    if (rc < 0)
        return smpy_raise(rc, SMPY_CTX_SPEC);
    return PyUnicode_FromString(shmetrics_format_content_type(f));
}

static PyMethodDef module_methods[] = {
    {"push", (PyCFunction)(void (*)(void))smpy_push_once, METH_VARARGS | METH_KEYWORDS,
     "push(arena, backend, target=None, **options)\nPush the arena once (shmetrics_push); the options of Pusher."},
    {"content_type", content_type, METH_O,
     "content_type(format)\nThe HTTP Content-Type of 'prometheus', 'openmetrics', 'json' or 'protobuf'."},
    {"default_arena", smpy_default_arena, METH_O,
     "default_arena(cls)\nThe process's default registry (SHMETRICS_ARENA) as an instance of cls, a subclass\n"
     "of Arena; OSError if the variable is unset or the arena cannot be opened."},
    {"flush_sampled", smpy_flush_sampled, METH_NOARGS,
     "flush_sampled()\nAdd this thread's pending sampled calls to their counters (threads' calls are added\n"
     "anyway when they exit, when the registry closes and at exit)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT,
    .m_name = "shmetrics._shmetrics",
    .m_doc = "The C part of shmetrics: arenas, metric objects and their hot methods over libshmetrics.",
    .m_size = -1,
    .m_methods = module_methods,
};

/* Gauge modes by the names prometheus_client gives them. */
static int add_modes(PyObject *m)
{
    PyObject *d = PyDict_New();
    if (!d)
        return -1;
    const char *name;
    for (int mode = 0; (name = shmetrics_gauge_mode_name((shmetrics_gauge_mode_t)mode)); mode++) {
        PyObject *v = PyLong_FromLong(mode);
        if (!v || PyDict_SetItemString(d, name, v) < 0) {
            Py_XDECREF(v);
            Py_DECREF(d);
            return -1;
        }
        Py_DECREF(v);
    }
    if (PyModule_AddObject(m, "MODES", d) < 0) {
        Py_DECREF(d);
        return -1;
    }
    return 0;
}

static int add_buckets(PyObject *m)
{
    PyObject *t = PyTuple_New(SHMETRICS_DEFAULT_NBUCKETS);
    if (!t)
        return -1;
    for (Py_ssize_t i = 0; i < SHMETRICS_DEFAULT_NBUCKETS; i++) {
        PyObject *v = PyFloat_FromDouble(SHMETRICS_DEFAULT_BUCKETS[i]);
        if (!v) {
            Py_DECREF(t);
            return -1;
        }
        PyTuple_SET_ITEM(t, i, v);
    }
    if (PyModule_AddObject(m, "DEFAULT_BUCKETS", t) < 0) {
        Py_DECREF(t);
        return -1;
    }
    return 0;
}

static int add_type(PyObject *m, const char *name, PyTypeObject *t)
{
    if (PyType_Ready(t) < 0)
        return -1;
    Py_INCREF(t);
    if (PyModule_AddObject(m, name, (PyObject *)t) < 0) {
        Py_DECREF(t);
        return -1;
    }
    return 0;
}

PyMODINIT_FUNC PyInit__shmetrics(void)
{
    PyObject *m = PyModule_Create(&module_def);
    if (!m)
        return NULL;
    if (add_type(m, "Arena", &smpy_arena_type) < 0 || add_type(m, "Server", &smpy_server_type) < 0 ||
        add_type(m, "Sampler", &smpy_sampler_type) < 0 || add_type(m, "Pusher", &smpy_pusher_type) < 0 ||
        smpy_metric_types_ready(m) < 0 || add_modes(m) < 0 || add_buckets(m) < 0 ||
        PyModule_AddStringConstant(m, "VERSION", SHMETRICS_VERSION) < 0 ||
        PyModule_AddIntConstant(m, "MAX_SERIES_DEFAULT", SHMETRICS_MAX_SERIES_DEFAULT) < 0 ||
        PyModule_AddObject(m, "MAX_SERIES_UNLIMITED", PyLong_FromUnsignedLong(SHMETRICS_MAX_SERIES_UNLIMITED)) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
