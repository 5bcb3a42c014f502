/* SPDX-License-Identifier: MIT */
/*
 * python/ext/hot.c - owns the hot methods of the metric objects: inc, dec,
 * set, set_to_current_time and observe.  Each is a METH_FASTCALL C function
 * that checks that the object holds a series, converts its argument and
 * calls the library's static inline update from shmetrics/hot.h: no
 * keyword parsing unless keywords are given, no allocation, no Python
 * frame.  An exemplar (a dict given as exemplar=) is checked here with
 * prometheus_client's rules and messages, then stored by the library's
 * exemplar calls; a call without one never reaches that code.
 */
#include "smpy.h"

#include <stdbool.h>

#define SMPY_LIKELY(x) __builtin_expect(!!(x), 1)
#define SMPY_UNLIKELY(x) __builtin_expect(!!(x), 0)

/* The series of `m`, or NULL with the exception that explains why not (a
 * labelled metric without labels(), or a closed registry). */
static inline void *series_of(smpy_metric *m)
{
    void *s = m->series;
    if (SMPY_UNLIKELY(!s || !m->arena->reg)) {
        smpy_not_observable(m);
        return NULL;
    }
    return s;
}

static PyObject *value_error(int rc)
{
    return smpy_raise(rc, SMPY_CTX_SPEC);
}

/* ----------------------------------------------------------- exemplars */

/* At most this many characters of names and values (as prometheus_client);
 * each name has one at least, so there are at most as many labels. */
#define SMPY_EXEMPLAR_CHARS 128

static int label_name_ok(PyObject *k)
{
    Py_ssize_t n = PyUnicode_GET_LENGTH(k);
    if (n == 0)
        return 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_UCS4 c = PyUnicode_READ_CHAR(k, i);
        int alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
        if (!alpha && !(i > 0 && c >= '0' && c <= '9'))
            return 0;
    }
    return 1;
}

/*
 * The labels of `ex` (exemplar=) into out[SMPY_EXEMPLAR_CHARS]: the number
 * of labels, 0 for None or an empty dict (prometheus_client ignores a false
 * exemplar), -1 with an exception.  prometheus_client's checks, in its
 * order and with its messages: each name, then the total length.  The
 * strings point into the dict's str objects, which the caller holds.
 */
/* prometheus_client's switch (shmetrics.escaping.legacy_validation()), read
 * at the call as prometheus_client reads it: 1 on, 0 off, -1 with an
 * exception.  Asked only for a name outside the legacy rules. */
static int legacy_validation(void)
{
    PyObject *mod = PyImport_ImportModule("shmetrics.escaping");
    if (!mod)
        return -1;
    PyObject *on = PyObject_CallMethod(mod, "legacy_validation", NULL);
    Py_DECREF(mod);
    if (!on)
        return -1;
    int r = PyObject_IsTrue(on);
    Py_DECREF(on);
    return r;
}

static Py_ssize_t exemplar_labels(PyObject *ex, bool utf8, shmetrics_label_t *out)
{
    if (ex == Py_None)
        return 0;
    if (!PyDict_Check(ex)) {
        PyErr_Format(PyExc_TypeError, "exemplar must be a dict of str to str, not %.100s", Py_TYPE(ex)->tp_name);
        return -1;
    }
    Py_ssize_t pos = 0, chars = 0;
    PyObject *k, *v;
    while (PyDict_Next(ex, &pos, &k, &v)) {
        if (!PyUnicode_Check(k) || !PyUnicode_Check(v)) {
            PyErr_Format(PyExc_TypeError, "exemplar label names and values must be str, not %.100s",
                         Py_TYPE(PyUnicode_Check(k) ? v : k)->tp_name);
            return -1;
        }
        int legacy = 1;
        if (!label_name_ok(k) && (!utf8 || PyUnicode_GET_LENGTH(k) == 0 || (legacy = legacy_validation()) != 0)) {
            if (legacy < 0)
                return -1;
            PyErr_Format(PyExc_ValueError, "Invalid label metric name: %U", k);
            return -1;
        }
        if (PyUnicode_GET_LENGTH(k) >= 2 && PyUnicode_READ_CHAR(k, 0) == '_' && PyUnicode_READ_CHAR(k, 1) == '_') {
            PyErr_Format(PyExc_ValueError, "Reserved label metric name: %U", k);
            return -1;
        }
        chars += PyUnicode_GET_LENGTH(k) + PyUnicode_GET_LENGTH(v);
    }
    if (chars > SMPY_EXEMPLAR_CHARS) {
        PyErr_Format(PyExc_ValueError, "Exemplar labels have %zd UTF-8 characters, exceeding the limit of %d", chars,
                     SMPY_EXEMPLAR_CHARS);
        return -1;
    }
    Py_ssize_t n = 0;
    pos = 0;
    while (PyDict_Next(ex, &pos, &k, &v)) {
        if (!(out[n].name = smpy_utf8(k, "an exemplar label name")))
            return -1;
        if (!(out[n].value = smpy_utf8(v, "an exemplar label value")))
            return -1;
        n++;
    }
    return n;
}

/* The result of an update with an exemplar: a refused exemplar
 * (ValueError) changed nothing; without room for it (OSError ENOSPC) the
 * update was counted all the same. */
static PyObject *exemplar_status(int rc)
{
    if (SMPY_UNLIKELY(rc < 0))
        return smpy_raise(rc, SMPY_CTX_ARENA);
    Py_RETURN_NONE;
}

/* ------------------------------------------------------------ counters */

/* Whole non-negative ints below 2^64 take the exact integer add. */
static PyObject *counter_add(shmetrics_counter_series_t *s, PyObject *amount)
{
    if (PyLong_CheckExact(amount)) {
        int overflow;
        long long v = PyLong_AsLongLongAndOverflow(amount, &overflow);
        if (SMPY_LIKELY(!overflow && v >= 0)) {
            shmetrics_counter_add(s, (uint64_t)v);
            Py_RETURN_NONE;
        }
        if (v == -1 && PyErr_Occurred())
            return NULL;
        if (overflow > 0) {
            unsigned long long u = PyLong_AsUnsignedLongLong(amount);
            if (!(u == (unsigned long long)-1 && PyErr_Occurred())) {
                shmetrics_counter_add(s, (uint64_t)u);
                Py_RETURN_NONE;
            }
            PyErr_Clear();
        }
    }
    double d;
    if (smpy_double(amount, &d) < 0)
        return NULL;
    int rc = shmetrics_counter_inc(s, d);
    if (SMPY_UNLIKELY(rc < 0))
        return value_error(rc);
    Py_RETURN_NONE;
}

/* inc(amount, exemplar): the exact integer add for whole non-negative
 * ints below 2^64, as counter_add. */
static PyObject *counter_inc_exemplar(shmetrics_counter_series_t *s, PyObject *amount, PyObject *ex, bool utf8)
{
    shmetrics_label_t l[SMPY_EXEMPLAR_CHARS];
    double d = 1.0;
    if (amount && !PyLong_CheckExact(amount) && smpy_double(amount, &d) < 0)
        return NULL;
    Py_ssize_t n = exemplar_labels(ex, utf8, l);
    if (n < 0)
        return NULL;
    if (n == 0) { /* an empty dict: no exemplar */
        if (amount)
            return counter_add(s, amount);
        shmetrics_counter_add(s, 1);
        Py_RETURN_NONE;
    }
    if (!amount)
        return exemplar_status(shmetrics_counter_add_exemplar(s, 1, l, (size_t)n));
    if (PyLong_CheckExact(amount)) {
        int overflow;
        long long v = PyLong_AsLongLongAndOverflow(amount, &overflow);
        if (v == -1 && PyErr_Occurred())
            return NULL;
        if (!overflow && v >= 0)
            return exemplar_status(shmetrics_counter_add_exemplar(s, (uint64_t)v, l, (size_t)n));
        if (overflow > 0) {
            unsigned long long u = PyLong_AsUnsignedLongLong(amount);
            if (!(u == (unsigned long long)-1 && PyErr_Occurred()))
                return exemplar_status(shmetrics_counter_add_exemplar(s, (uint64_t)u, l, (size_t)n));
            PyErr_Clear();
        }
        if (smpy_double(amount, &d) < 0)
            return NULL;
    }
    return exemplar_status(shmetrics_counter_inc_exemplar(s, d, l, (size_t)n));
}

static const char *const inc_kw[] = {"amount", "exemplar"};

static PyObject *counter_inc(smpy_metric *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    shmetrics_counter_series_t *s = series_of(self);
    if (SMPY_UNLIKELY(!s))
        return NULL;
    PyObject *a[2] = {NULL, NULL};
    if (SMPY_LIKELY(!kwnames && nargs <= 1)) {
        if (nargs == 0) {
            shmetrics_counter_add(s, 1);
            Py_RETURN_NONE;
        }
        return counter_add(s, args[0]);
    }
    if (smpy_parse_args("inc", args, nargs, kwnames, inc_kw, 2, a) < 0)
        return NULL;
    if (!a[1] || a[1] == Py_None) {
        if (!a[0]) {
            shmetrics_counter_add(s, 1);
            Py_RETURN_NONE;
        }
        return counter_add(s, a[0]);
    }
    return counter_inc_exemplar(s, a[0], a[1], (self->flags & SMPY_F_UTF8) != 0);
}

static PyObject *counter_get(smpy_metric *self, PyObject *unused)
{
    (void)unused;
    shmetrics_counter_series_t *s = series_of(self);
    return s ? PyFloat_FromDouble(shmetrics_counter_sum(s)) : NULL;
}

PyMethodDef smpy_counter_methods[] = {
    {"inc", (PyCFunction)(void (*)(void))counter_inc, METH_FASTCALL | METH_KEYWORDS,
     "inc(amount=1, exemplar=None)\nAdd a non-negative amount; exemplar, a dict of str to str (a trace id, say), "
     "is kept with the amount as the series' exemplar."},
    {"get", (PyCFunction)counter_get, METH_NOARGS, "get()\nThe series' value: the sum over every process and CPU."},
    {"reset", (PyCFunction)smpy_counter_reset, METH_NOARGS,
     "reset()\nSet the series to 0, for every process, with a new creation time."},
    {NULL, NULL, 0, NULL},
};

/* -------------------------------------------------------------- gauges */

static PyObject *gauge_status(int rc)
{
    if (SMPY_UNLIKELY(rc < 0))
        return smpy_raise(rc, SMPY_CTX_ARENA);
    Py_RETURN_NONE;
}

static const char *const gauge_inc_kw[] = {"amount"};

/* inc and dec: one optional amount, 1 by default. */
static int gauge_amount(const char *func, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames, double *d)
{
    PyObject *a = NULL;
    if (SMPY_LIKELY(!kwnames && nargs <= 1))
        a = nargs ? args[0] : NULL;
    else if (smpy_parse_args(func, args, nargs, kwnames, gauge_inc_kw, 1, &a) < 0)
        return -1;
    *d = 1.0;
    return a ? smpy_double(a, d) : 0;
}

static PyObject *gauge_change(smpy_metric *self, double delta)
{
    int rc = shmetrics_gauge_inc((shmetrics_gauge_series_t *)self->series, delta);
    if (SMPY_UNLIKELY(rc < 0))
        return smpy_raise(rc, rc == -EINVAL ? SMPY_CTX_SPEC : SMPY_CTX_ARENA);
    Py_RETURN_NONE;
}

/* As prometheus_client: a mostrecent gauge is only set. */
static int most_recent(smpy_metric *self, const char *func)
{
    if (SMPY_LIKELY(!(self->flags & SMPY_F_MOSTRECENT)))
        return 0;
    PyErr_Format(PyExc_RuntimeError, "%s must not be used with the mostrecent mode", func);
    return -1;
}

static PyObject *gauge_inc(smpy_metric *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    double d;
    if (SMPY_UNLIKELY(most_recent(self, "inc") < 0 || !series_of(self)) ||
        gauge_amount("inc", args, nargs, kwnames, &d) < 0)
        return NULL;
    return gauge_change(self, d);
}

static PyObject *gauge_dec(smpy_metric *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    double d;
    if (SMPY_UNLIKELY(most_recent(self, "dec") < 0 || !series_of(self)) ||
        gauge_amount("dec", args, nargs, kwnames, &d) < 0)
        return NULL;
    return gauge_change(self, -d);
}

static const char *const set_kw[] = {"value"};

static PyObject *gauge_set(smpy_metric *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    shmetrics_gauge_series_t *s = series_of(self);
    if (SMPY_UNLIKELY(!s))
        return NULL;
    PyObject *a = NULL;
    if (SMPY_LIKELY(!kwnames && nargs == 1))
        a = args[0];
    else if (smpy_parse_args("set", args, nargs, kwnames, set_kw, 1, &a) < 0)
        return NULL;
    if (!a) {
        PyErr_SetString(PyExc_TypeError, "set() missing required argument 'value'");
        return NULL;
    }
    double d;
    if (smpy_double(a, &d) < 0)
        return NULL;
    return gauge_status(shmetrics_gauge_set(s, d));
}

static PyObject *gauge_set_now(smpy_metric *self, PyObject *unused)
{
    (void)unused;
    shmetrics_gauge_series_t *s = series_of(self);
    return s ? gauge_status(shmetrics_gauge_set_to_current_time(s)) : NULL;
}

static PyObject *gauge_get(smpy_metric *self, PyObject *unused)
{
    (void)unused;
    shmetrics_gauge_series_t *s = series_of(self);
    return s ? PyFloat_FromDouble(shmetrics_gauge_local(s)) : NULL;
}

PyMethodDef smpy_gauge_methods[] = {
    {"inc", (PyCFunction)(void (*)(void))gauge_inc, METH_FASTCALL | METH_KEYWORDS,
     "inc(amount=1)\nAdd to this process's value."},
    {"dec", (PyCFunction)(void (*)(void))gauge_dec, METH_FASTCALL | METH_KEYWORDS,
     "dec(amount=1)\nSubtract from this process's value."},
    {"set", (PyCFunction)(void (*)(void))gauge_set, METH_FASTCALL | METH_KEYWORDS,
     "set(value)\nSet this process's value."},
    {"set_to_current_time", (PyCFunction)gauge_set_now, METH_NOARGS,
     "set_to_current_time()\nSet this process's value to the Unix time in seconds."},
    {"get", (PyCFunction)gauge_get, METH_NOARGS, "get()\nThis process's value (0 if it never wrote it)."},
    {NULL, NULL, 0, NULL},
};

/* ------------------------------------------------ histograms, summaries */

static const char *const observe_kw[] = {"amount", "exemplar"};

/* The amount of observe(amount, exemplar) into *d, and its exemplar (NULL
 * when not given; summaries take none: max 1). */
static int observed(const char *func, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames, Py_ssize_t max,
                    double *d, PyObject **ex)
{
    PyObject *a[2] = {NULL, NULL};
    if (SMPY_LIKELY(!kwnames && nargs == 1))
        a[0] = args[0];
    else if (smpy_parse_args(func, args, nargs, kwnames, observe_kw, max, a) < 0)
        return -1;
    *ex = a[1];
    if (!a[0]) {
        PyErr_Format(PyExc_TypeError, "%s() missing required argument 'amount'", func);
        return -1;
    }
    if (SMPY_LIKELY(PyFloat_CheckExact(a[0]))) {
        *d = PyFloat_AS_DOUBLE(a[0]);
        return 0;
    }
    return smpy_double(a[0], d);
}

static PyObject *histogram_observe(smpy_metric *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    shmetrics_histogram_series_t *s = series_of(self);
    double d;
    PyObject *ex;
    if (SMPY_UNLIKELY(!s) || observed("observe", args, nargs, kwnames, 2, &d, &ex) < 0)
        return NULL;
    if (SMPY_UNLIKELY(ex && ex != Py_None)) {
        shmetrics_label_t l[SMPY_EXEMPLAR_CHARS];
        Py_ssize_t n = exemplar_labels(ex, (self->flags & SMPY_F_UTF8) != 0, l);
        if (n < 0)
            return NULL;
        if (n > 0)
            return exemplar_status(shmetrics_histogram_observe_exemplar(s, d, l, (size_t)n));
    }
    shmetrics_histogram_observe(s, d);
    Py_RETURN_NONE;
}

static PyObject *summary_observe(smpy_metric *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    shmetrics_summary_series_t *s = series_of(self);
    double d;
    PyObject *ex;
    if (SMPY_UNLIKELY(!s) || observed("observe", args, nargs, kwnames, 1, &d, &ex) < 0)
        return NULL;
    shmetrics_summary_observe(s, d);
    Py_RETURN_NONE;
}

PyMethodDef smpy_histogram_methods[] = {
    {"observe", (PyCFunction)(void (*)(void))histogram_observe, METH_FASTCALL | METH_KEYWORDS,
     "observe(amount, exemplar=None)\nRecord one observation; exemplar, a dict of str to str (a trace id, say), is "
     "kept with the amount as the exemplar of the bucket it falls in."},
    {NULL, NULL, 0, NULL},
};

PyMethodDef smpy_summary_methods[] = {
    {"observe", (PyCFunction)(void (*)(void))summary_observe, METH_FASTCALL | METH_KEYWORDS,
     "observe(amount)\nRecord one observation."},
    {NULL, NULL, 0, NULL},
};
