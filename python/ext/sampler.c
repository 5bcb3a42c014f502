/* SPDX-License-Identifier: MIT */
/*
 * python/ext/sampler.c - owns the Sampler type: a sampled counter over one
 * counter series (shmetrics_sampler_inc: each thread adds N on every N-th
 * call), and where the samplers' C state lives.
 *
 * The library requires a sampler to stay in place while any thread may
 * hold calls of it, which a Python object cannot promise: it may be freed
 * while another thread still has calls pending in its slot.  So the C
 * state is not in the object: the arena keeps it (smpy_arena.samplers) and
 * frees it after its registry's shutdown, which adds every thread's
 * pending calls first.  A sampler of the default registry, which is never
 * shut down, lives as long as the process; its pending calls are added
 * when threads exit and at exit.
 */
#include "smpy.h"

typedef struct {
    PyObject_HEAD
    smpy_metric *metric;    /* strong: the counter series (and through it the arena) */
    shmetrics_sampler_t *s; /* the arena's */
    double rate;
} smpy_sampler;

/* Keep `s` in the arena until its shutdown; -1 with MemoryError. */
static int arena_keep(smpy_arena *a, shmetrics_sampler_t *s)
{
    if (a->nsamplers == a->capsamplers) {
        Py_ssize_t cap = a->capsamplers ? 2 * a->capsamplers : 8;
        shmetrics_sampler_t **n = PyMem_RawRealloc(a->samplers, (size_t)cap * sizeof *n);
        if (!n) {
            PyErr_NoMemory();
            return -1;
        }
        a->samplers = n;
        a->capsamplers = cap;
    }
    a->samplers[a->nsamplers++] = s;
    return 0;
}

void smpy_arena_free_samplers(smpy_arena *a)
{
    for (Py_ssize_t i = 0; i < a->nsamplers; i++)
        PyMem_RawFree(a->samplers[i]);
    PyMem_RawFree(a->samplers);
    a->samplers = NULL;
    a->nsamplers = a->capsamplers = 0;
}

static PyObject *sampler_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    static char *kw[] = {"counter", "rate", NULL};
    PyObject *counter;
    double rate;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "Od:Sampler", kw, &counter, &rate))
        return NULL;
    if (!PyObject_TypeCheck(counter, &smpy_metric_types[SMPY_COUNTER])) {
        PyErr_Format(PyExc_TypeError, "a sampler counts on a Counter, not on %s", Py_TYPE(counter)->tp_name);
        return NULL;
    }
    smpy_metric *m = (smpy_metric *)counter;
    if (!m->series || !m->arena->reg)
        return smpy_not_observable(m);
    if (m->arena->readonly) {
        PyErr_SetString(PyExc_ValueError, "the registry is read-only: a sampler cannot count");
        return NULL;
    }
    shmetrics_sampler_t *s = PyMem_RawCalloc(1, sizeof *s);
    if (!s)
        return PyErr_NoMemory();
    int rc = shmetrics_sampler_init(s, m->series, rate);
    if (rc < 0) {
        PyMem_RawFree(s);
        return smpy_raise(rc, SMPY_CTX_SPEC);
    }
    if (arena_keep(m->arena, s) < 0) {
        PyMem_RawFree(s);
        return NULL;
    }
    smpy_sampler *self = (smpy_sampler *)type->tp_alloc(type, 0);
    if (!self)
        return NULL; /* s stays with the arena, unused */
    Py_INCREF(m);
    self->metric = m;
    self->s = s;
    self->rate = rate;
    return (PyObject *)self;
}

static void sampler_dealloc(smpy_sampler *self)
{
    Py_CLEAR(self->metric);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *sampler_inc(smpy_sampler *self, PyObject *unused)
{
    (void)unused;
    if (__builtin_expect(!self->metric->arena->reg, 0))
        return smpy_not_observable(self->metric);
    shmetrics_sampler_inc(self->s);
    Py_RETURN_NONE;
}

PyObject *smpy_flush_sampled(PyObject *module, PyObject *unused)
{
    (void)module;
    (void)unused;
    shmetrics_sampler_flush();
    Py_RETURN_NONE;
}

static PyObject *sampler_get_rate(smpy_sampler *self, void *closure)
{
    (void)closure;
    return PyFloat_FromDouble(self->rate);
}

static PyObject *sampler_get_counter(smpy_sampler *self, void *closure)
{
    (void)closure;
    Py_INCREF(self->metric);
    return (PyObject *)self->metric;
}

/* clang-format off */
static PyMethodDef sampler_methods[] = {
    {"inc", (PyCFunction)sampler_inc, METH_NOARGS,
     "inc()\nCount one call: this thread adds N = round(1/rate) to the counter on every N-th call."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef sampler_getset[] = {
    {"rate", (getter)sampler_get_rate, NULL, "the sampling rate given", NULL},
    {"counter", (getter)sampler_get_counter, NULL, "the counter series counted on", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

PyTypeObject smpy_sampler_type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "shmetrics._shmetrics.Sampler",
    .tp_doc = "Sampler(counter, rate): a sampled counter over one counter series, for very hot paths.",
    .tp_basicsize = sizeof(smpy_sampler),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = sampler_new,
    .tp_dealloc = (destructor)sampler_dealloc,
    .tp_methods = sampler_methods,
    .tp_getset = sampler_getset,
};
/* clang-format on */
