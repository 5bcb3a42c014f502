/* SPDX-License-Identifier: MIT */
/*
 * python/ext/arena.c - owns the Arena type: opening an arena (or taking
 * the process's default registry), closing it, and the status calls
 * (info, processes, replaced, reset).  Reading metrics out is in
 * python/ext/collect.c, the HTTP server in python/ext/server.c.
 */
#include "smpy.h"

#include <errno.h>
#include <stdlib.h>

int smpy_arena_check(smpy_arena *a)
{
    if (a && a->reg)
        return 0;
    PyErr_SetString(PyExc_ValueError, "the registry is closed");
    return -1;
}

static PyObject *arena_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    (void)args;
    (void)kwargs;
    smpy_arena *a = (smpy_arena *)type->tp_alloc(type, 0);
    if (a)
        a->owned = 1;
    return (PyObject *)a;
}

/* An O& converter for capacities: a whole number in [0, 2^32), checked
 * (the "I" format would silently wrap). */
static int u32_arg(PyObject *o, void *out)
{
    unsigned long v = PyLong_AsUnsignedLong(o);
    if (v == (unsigned long)-1 && PyErr_Occurred()) {
        if (PyErr_ExceptionMatches(PyExc_OverflowError) || PyErr_ExceptionMatches(PyExc_ValueError)) {
            PyErr_Clear();
            PyErr_SetString(PyExc_ValueError, "capacities and modes must be whole numbers from 0 to 2**32-1");
        }
        return 0;
    }
    if (v > 0xffffffffu) {
        PyErr_SetString(PyExc_ValueError, "capacities and modes must be whole numbers from 0 to 2**32-1");
        return 0;
    }
    *(unsigned int *)out = (unsigned int)v;
    return 1;
}

static int u64_arg(PyObject *o, void *out)
{
    unsigned long long v = PyLong_AsUnsignedLongLong(o);
    if (v == (unsigned long long)-1 && PyErr_Occurred()) {
        if (PyErr_ExceptionMatches(PyExc_OverflowError) || PyErr_ExceptionMatches(PyExc_ValueError)) {
            PyErr_Clear();
            PyErr_SetString(PyExc_ValueError, "cells must be a whole number from 0 to 2**64-1");
        }
        return 0;
    }
    *(unsigned long long *)out = v;
    return 1;
}

static int arena_init(smpy_arena *self, PyObject *args, PyObject *kwargs)
{
    static char *kw[] = {"path",   "create", "readonly", "exclusive", "families",      "series", "processes",
                         "shards", "cells",  "mode",     "gauges",    "allow_foreign", NULL};
    PyObject *path, *bytes = NULL, *create_arg = Py_None;
    int create, readonly = 0, exclusive = 0, allow_foreign = 0;
    unsigned int families = 0, series = 0, processes = 0, shards = 0, mode = 0, gauges = 0;
    unsigned long long cells = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O|Opp$O&O&O&O&O&O&O&p:Registry", kw, &path, &create_arg, &readonly,
                                     &exclusive, u32_arg, &families, u32_arg, &series, u32_arg, &processes, u32_arg,
                                     &shards, u64_arg, &cells, u32_arg, &mode, u32_arg, &gauges, &allow_foreign))
        return -1;
    /* create=None: create a missing arena unless opening read-only. */
    if ((create = create_arg == Py_None ? !readonly : PyObject_IsTrue(create_arg)) < 0)
        return -1;
    if (self->reg) {
        PyErr_SetString(PyExc_ValueError, "the registry is already open");
        return -1;
    }
    PyObject *fspath = PyOS_FSPath(path);
    if (!fspath)
        return -1;
    if (!PyUnicode_FSConverter(fspath, &bytes)) {
        Py_DECREF(fspath);
        return -1;
    }
    shmetrics_options_t o = {
        .path = PyBytes_AS_STRING(bytes),
        .flags = (create ? SHMETRICS_OPEN_CREATE : 0u) | (readonly ? SHMETRICS_OPEN_READONLY : 0u) |
                 (exclusive ? SHMETRICS_OPEN_EXCL : 0u) | (allow_foreign ? SHMETRICS_OPEN_ALLOW_FOREIGN : 0u),
        .families = families,
        .series = series,
        .processes = processes,
        .shards = shards,
        .file_mode = mode,
        .cells = cells,
        .gauges = gauges,
    };
    shmetrics_registry_t *reg = NULL;
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = shmetrics_open(&o, &reg);
    Py_END_ALLOW_THREADS
    Py_DECREF(bytes);
    if (rc < 0) {
        Py_DECREF(fspath);
        smpy_raise(rc, SMPY_CTX_ARENA);
        return -1;
    }
    smpy_arena_set_clock(reg);
    self->reg = reg;
    self->owned = 1;
    self->readonly = readonly;
    self->allow_foreign = allow_foreign;
    Py_XSETREF(self->path, fspath);
    return 0;
}

/*
 * The registries' clock (shmetrics_registry_set_clock): Python's
 * time.time(), looked up at each call as prometheus_client calls it, so
 * that a test that replaces it fixes the _created samples and exemplar
 * times it checks.  The library calls it only when this process makes a
 * series, resets, or keeps an exemplar.  In a thread that does not hold
 * the GIL, or when the call fails, 0: the library's own clock.
 */
static double python_clock(void *arg)
{
    (void)arg;
    static PyObject *time_module, *time_name;
    if (!PyGILState_Check())
        return 0;
    double t = 0;
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    if (!time_module)
        time_module = PyImport_ImportModule("time");
    if (!time_name)
        time_name = PyUnicode_InternFromString("time");
    PyObject *r = time_module && time_name ? PyObject_CallMethodNoArgs(time_module, time_name) : NULL;
    if (r) {
        t = PyFloat_AsDouble(r);
        Py_DECREF(r);
    }
    if (PyErr_Occurred()) {
        PyErr_Clear();
        t = 0;
    }
    PyErr_Restore(type, value, tb);
    return t;
}

void smpy_arena_set_clock(shmetrics_registry_t *reg)
{
    shmetrics_registry_set_clock(reg, python_clock, NULL);
}

static void arena_dealloc(smpy_arena *self)
{
    /* Metrics and servers hold references: none is left when this runs. */
    if (self->reg && self->owned) {
        shmetrics_shutdown(self->reg, 0); /* adds every thread's sampled calls */
        smpy_arena_free_samplers(self);
    }
    self->reg = NULL;
    Py_CLEAR(self->path);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

PyObject *smpy_default_arena(PyObject *module, PyObject *cls)
{
    (void)module;
    if (!PyType_Check(cls) || !PyType_IsSubtype((PyTypeObject *)cls, &smpy_arena_type)) {
        PyErr_SetString(PyExc_TypeError, "default_arena() needs a subclass of Arena");
        return NULL;
    }
    shmetrics_registry_t *reg = shmetrics_default();
    if (!reg) {
        /* The library keeps the first failure; open once more to learn
         * the errno of the message it gave. */
        char msg[600];
        snprintf(msg, sizeof msg, "%s", shmetrics_errmsg());
        const char *env = getenv("SHMETRICS_ARENA");
        int rc = -ENOENT;
        if (env && *env) {
            shmetrics_options_t o = {.path = env, .flags = SHMETRICS_OPEN_CREATE};
            shmetrics_registry_t *r;
            if ((rc = shmetrics_open(&o, &r)) == 0) {
                shmetrics_shutdown(r, 0);
                rc = -EIO;
            }
        }
        PyObject *args = Py_BuildValue("(is)", -rc, msg);
        if (args) {
            PyErr_SetObject(PyExc_OSError, args);
            Py_DECREF(args);
        }
        return NULL;
    }
    smpy_arena *a = (smpy_arena *)PyObject_CallMethod(cls, "__new__", "O", cls);
    if (!a)
        return NULL;
    const char *env = getenv("SHMETRICS_ARENA");
    a->path = PyUnicode_DecodeFSDefault(env ? env : "");
    if (!a->path) {
        Py_DECREF(a);
        return NULL;
    }
    smpy_arena_set_clock(reg);
    a->reg = reg;
    a->owned = 0;
    return (PyObject *)a;
}

static PyObject *arena_close(smpy_arena *self, PyObject *args, PyObject *kwargs)
{
    static char *kw[] = {"unlink", NULL};
    int unlink = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "|$p:close", kw, &unlink))
        return NULL;
    if (!self->reg)
        Py_RETURN_NONE;
    if (!self->owned) {
        PyErr_SetString(PyExc_ValueError, "the default registry stays open for the life of the process");
        return NULL;
    }
    if (self->users) {
        PyErr_Format(PyExc_ValueError, "the registry is in use by %zd running server(s) or calls: stop them first",
                     self->users);
        return NULL;
    }
    shmetrics_registry_t *reg = self->reg;
    self->reg = NULL;
    int rc = shmetrics_shutdown(reg, unlink ? SHMETRICS_SHUTDOWN_UNLINK : 0u);
    smpy_arena_free_samplers(self); /* the shutdown added their pending calls */
    if (rc < 0)
        return smpy_raise(rc, SMPY_CTX_ARENA);
    Py_RETURN_NONE;
}

#define SET_ITEM(d, key, expr)                                 \
    do {                                                       \
        PyObject *v_ = (expr);                                 \
        if (!v_ || PyDict_SetItemString((d), (key), v_) < 0) { \
            Py_XDECREF(v_);                                    \
            Py_DECREF(d);                                      \
            return NULL;                                       \
        }                                                      \
        Py_DECREF(v_);                                         \
    } while (0)

static PyObject *arena_info(smpy_arena *self, PyObject *unused)
{
    (void)unused;
    if (smpy_arena_check(self) < 0)
        return NULL;
    shmetrics_arena_info_t in;
    int rc = shmetrics_arena_info(self->reg, &in);
    if (rc < 0)
        return smpy_raise(rc, SMPY_CTX_ARENA);
    PyObject *d = PyDict_New();
    if (!d)
        return NULL;
    SET_ITEM(d, "path", PyUnicode_DecodeFSDefault(in.path));
    SET_ITEM(d, "file_bytes", PyLong_FromUnsignedLongLong(in.file_bytes));
    SET_ITEM(d, "generation", PyLong_FromUnsignedLongLong(in.generation));
    SET_ITEM(d, "created_ns", PyLong_FromUnsignedLongLong(in.created_ns));
    SET_ITEM(d, "creator_pid", PyLong_FromUnsignedLong(in.creator_pid));
    SET_ITEM(d, "families_cap", PyLong_FromUnsignedLong(in.families_cap));
    SET_ITEM(d, "families_used", PyLong_FromUnsignedLong(in.families_used));
    SET_ITEM(d, "series_cap", PyLong_FromUnsignedLong(in.series_cap));
    SET_ITEM(d, "series_used", PyLong_FromUnsignedLong(in.series_used));
    SET_ITEM(d, "processes_cap", PyLong_FromUnsignedLong(in.processes_cap));
    SET_ITEM(d, "shards", PyLong_FromUnsignedLong(in.shards));
    SET_ITEM(d, "heap_bytes", PyLong_FromUnsignedLongLong(in.heap_bytes));
    SET_ITEM(d, "heap_used", PyLong_FromUnsignedLongLong(in.heap_used));
    SET_ITEM(d, "cells_cap", PyLong_FromUnsignedLongLong(in.cells_cap));
    SET_ITEM(d, "cells_used", PyLong_FromUnsignedLongLong(in.cells_used));
    SET_ITEM(d, "gauges_cap", PyLong_FromUnsignedLong(in.gauges_cap));
    SET_ITEM(d, "gauges_used", PyLong_FromUnsignedLong(in.gauges_used));
    SET_ITEM(d, "proc_cells_cap", PyLong_FromUnsignedLongLong(in.proc_cells_cap));
    SET_ITEM(d, "proc_cells_used", PyLong_FromUnsignedLongLong(in.proc_cells_used));
    SET_ITEM(d, "refused", PyLong_FromUnsignedLongLong(in.refused));
    SET_ITEM(d, "abandoned", PyLong_FromUnsignedLongLong(in.abandoned));
    SET_ITEM(d, "reclaimed", PyLong_FromUnsignedLongLong(in.reclaimed));
    SET_ITEM(d, "fs_refused", PyLong_FromUnsignedLongLong(in.fs_refused));
    SET_ITEM(d, "striped", PyLong_FromUnsignedLongLong(in.striped));
    SET_ITEM(d, "stripes_refused", PyLong_FromUnsignedLongLong(in.stripes_refused));
    SET_ITEM(d, "allocated_bytes", PyLong_FromUnsignedLongLong(in.allocated_bytes));
    return d;
}

static PyObject *process_dict(const shmetrics_process_t *p)
{
    PyObject *d = PyDict_New();
    if (!d)
        return NULL;
    SET_ITEM(d, "slot", PyLong_FromUnsignedLong(p->slot));
    SET_ITEM(d, "pid", PyLong_FromUnsignedLong(p->pid));
    SET_ITEM(d, "alive", PyBool_FromLong(p->alive));
    SET_ITEM(d, "exited", PyBool_FromLong(p->exited));
    SET_ITEM(d, "start_time", PyLong_FromUnsignedLongLong(p->start_time));
    SET_ITEM(d, "attach_ns", PyLong_FromUnsignedLongLong(p->attach_ns));
    SET_ITEM(d, "detach_ns", PyLong_FromUnsignedLongLong(p->detach_ns));
    return d;
}

static PyObject *arena_processes(smpy_arena *self, PyObject *unused)
{
    (void)unused;
    if (smpy_arena_check(self) < 0)
        return NULL;
    size_t n = 0;
    int rc = shmetrics_processes(self->reg, NULL, 0, &n);
    shmetrics_process_t *p = PyMem_Calloc(n ? n : 1, sizeof *p);
    if (!p)
        return PyErr_NoMemory();
    size_t cap = n;
    if (rc >= 0)
        rc = shmetrics_processes(self->reg, p, cap, &n);
    if (rc < 0) {
        PyMem_Free(p);
        return smpy_raise(rc, SMPY_CTX_ARENA);
    }
    PyObject *list = PyList_New(0);
    for (size_t i = 0; list && i < n && i < cap; i++) {
        PyObject *d = process_dict(&p[i]);
        if (!d || PyList_Append(list, d) < 0)
            Py_CLEAR(list);
        Py_XDECREF(d);
    }
    PyMem_Free(p);
    return list;
}

static PyObject *arena_reset(smpy_arena *self, PyObject *unused)
{
    (void)unused;
    if (smpy_arena_check(self) < 0)
        return NULL;
    int rc = shmetrics_reset(self->reg);
    if (rc < 0)
        return smpy_raise(rc, SMPY_CTX_ARENA);
    Py_RETURN_NONE;
}

static PyObject *arena_replaced(smpy_arena *self, PyObject *unused)
{
    (void)unused;
    if (smpy_arena_check(self) < 0)
        return NULL;
    int rc = shmetrics_arena_replaced(self->reg);
    if (rc < 0)
        return smpy_raise(rc, SMPY_CTX_ARENA);
    return PyBool_FromLong(rc);
}

static PyMethodDef arena_methods[] = {
    {"close", (PyCFunction)(void (*)(void))arena_close, METH_VARARGS | METH_KEYWORDS,
     "close(*, unlink=False)\nDetach from the arena (and remove its file with unlink=True).  Metrics of this\n"
     "registry raise ValueError afterwards.  The default registry cannot be closed."},
    {"info", (PyCFunction)arena_info, METH_NOARGS, "info()\nCapacities and usage of the arena, a dict."},
    {"processes", (PyCFunction)arena_processes, METH_NOARGS,
     "processes()\nThe processes that hold a slot in the arena, a list of dicts."},
    {"reset", (PyCFunction)arena_reset, METH_NOARGS, "reset()\nSet every value of every metric to zero."},
    {"replaced", (PyCFunction)arena_replaced, METH_NOARGS,
     "replaced()\nTrue when the path now names another arena (removed and created again)."},
    {"_collect", (PyCFunction)(void (*)(void))smpy_collect, METH_VARARGS | METH_KEYWORDS,
     "_collect(at_ns=None, full=False)\nEvery family as (name, help, type, mode, [(sample name, labels, value), ...], "
     "unit);\nwith full=True each sample is (name, labels, value, created, exemplar), created 0 for none and exemplar "
     "None or (labels, value, timestamp)."},
    {"expose", (PyCFunction)(void (*)(void))smpy_expose, METH_VARARGS | METH_KEYWORDS,
     "expose(format='prometheus')\nThe exposition of every metric, bytes, encoded by the library:\n"
     "'prometheus' (text 0.0.4), 'openmetrics', 'json' or 'protobuf' (binary)."},
    {"_register_vllm", (PyCFunction)(void (*)(void))smpy_register_vllm, METH_VARARGS | METH_KEYWORDS,
     "_register_vllm(classes, max_model_len, buckets_override=None, features=0, num_speculative_tokens=0, "
     "engines=None)\nRegister vLLM's set (the core and the feature groups of the mask `features`) and create the "
     "start-up series\nof each (model_name, engine) of `engines`; [(field, metric, help, mode|bounds|None), ...]\n"
     "with each metric an instance of classes = (Counter, Gauge, Histogram, Summary)."},
    {"_vllm_cache_config_info", (PyCFunction)(void (*)(void))smpy_vllm_cache_config_info, METH_VARARGS | METH_KEYWORDS,
     "_vllm_cache_config_info(config, engine)\nSet vllm:cache_config_info{config..., engine} to 1."},
    {"_register_inference", (PyCFunction)(void (*)(void))smpy_register_inference, METH_VARARGS | METH_KEYWORDS,
     "_register_inference(classes, namespace=None)\nRegister the inference set; as _register_vllm."},
    {"serve", (PyCFunction)(void (*)(void))smpy_serve, METH_VARARGS | METH_KEYWORDS,
     "serve(listen='127.0.0.1:9400', threads=0, web_config_file=None, max_connections=0, "
     "max_connections_per_address=0, request_timeout=0)\nServe the arena over HTTP from C threads "
     "(https and basic auth as the web configuration file says; the connection limits and request timeout, in "
     "seconds, of docs/collector.md, 0 meaning the default); returns a Server."},
    {NULL, NULL, 0, NULL},
};

static PyObject *get_closed(smpy_arena *a, void *c)
{
    (void)c;
    return PyBool_FromLong(a->reg == NULL);
}

static PyObject *get_path(smpy_arena *a, void *c)
{
    (void)c;
    PyObject *p = a->path ? a->path : Py_None;
    Py_INCREF(p);
    return p;
}

static PyObject *get_readonly(smpy_arena *a, void *c)
{
    (void)c;
    return PyBool_FromLong(a->readonly);
}

static PyObject *get_allow_foreign(smpy_arena *a, void *c)
{
    (void)c;
    return PyBool_FromLong(a->allow_foreign);
}

static PyObject *get_is_default(smpy_arena *a, void *c)
{
    (void)c;
    return PyBool_FromLong(!a->owned);
}

static PyGetSetDef arena_getset[] = {
    {"closed", (getter)get_closed, NULL, "True once closed.", NULL},
    {"path", (getter)get_path, NULL, "The path given when opening.", NULL},
    {"readonly", (getter)get_readonly, NULL, "True when opened read-only.", NULL},
    {"is_default", (getter)get_is_default, NULL, "True for the process's default registry.", NULL},
    {"allow_foreign", (getter)get_allow_foreign, NULL, "True when opened with allow_foreign=True.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

/* PyVarObject_HEAD_INIT has no comma after it: clang-format would join lines. */
/* clang-format off */
PyTypeObject smpy_arena_type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "shmetrics._shmetrics.Arena",
    .tp_doc = "Arena(path, create=None, readonly=False, exclusive=False, *, families=0, series=0,\n"
              "      processes=0, shards=0, cells=0, mode=0, gauges=0, allow_foreign=False)\n"
              "One process's handle on a shmetrics arena (a name without '/' is under /dev/shm);\n"
              "create=None creates a missing arena unless readonly is true.  A writer refuses\n"
              "an arena another user owns, or that others may write to (PermissionError),\n"
              "unless allow_foreign=True or SHMETRICS_ALLOW_FOREIGN_ARENA=1.",
    .tp_basicsize = sizeof(smpy_arena),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
    .tp_new = arena_new,
    .tp_init = (initproc)arena_init,
    .tp_dealloc = (destructor)arena_dealloc,
    .tp_methods = arena_methods,
    .tp_getset = arena_getset,
};
/* clang-format on */
