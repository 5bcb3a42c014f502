/* SPDX-License-Identifier: MIT */
/*
 * python/ext/sets.c - owns the ready-made metric sets of the extension
 * module: registering vLLM's set and the inference set through the C
 * library, and wrapping each handle the library fills in as an object of
 * the Python metric classes.  The specs are the library's tables
 * (shmetrics_vllm_members, shmetrics_inference_members): nothing about a
 * family is restated here.
 */
#include "smpy.h"

#include <string.h>

/* The full name of a member under `ns`, as the library registered it. */
static PyObject *full_name(const shmetrics_set_member_t *m, const char *ns)
{
    shmetrics_spec_t spec = {.name = m->name, .namespace_name = ns, .subsystem = m->subsystem};
    char buf[SHMETRICS_MAX_NAME + 1];
    int rc = shmetrics_full_name(&spec, m->type, buf, sizeof buf);
    return rc < 0 ? smpy_raise(rc, SMPY_CTX_SPEC) : PyUnicode_FromString(buf);
}

static PyObject *label_tuple(const shmetrics_set_member_t *m)
{
    PyObject *t = PyTuple_New((Py_ssize_t)m->nlabels);
    for (size_t i = 0; t && i < m->nlabels; i++) {
        PyObject *s = PyUnicode_FromString(m->label_names[i]);
        if (!s) {
            Py_CLEAR(t);
            break;
        }
        PyTuple_SET_ITEM(t, (Py_ssize_t)i, s);
    }
    return t;
}

/* The class for each kind, checked: classes is (Counter, Gauge, Histogram,
 * Summary), each a subclass of the kind's base. */
static int check_classes(PyObject *classes, PyTypeObject *out[SMPY_NSETKINDS])
{
    if (!PyTuple_Check(classes) || PyTuple_GET_SIZE(classes) != SMPY_NSETKINDS) {
        PyErr_SetString(PyExc_TypeError, "classes must be a tuple (Counter, Gauge, Histogram, Summary)");
        return -1;
    }
    for (int k = 0; k < SMPY_NSETKINDS; k++) {
        PyObject *c = PyTuple_GET_ITEM(classes, k);
        if (!PyType_Check(c) || !PyType_IsSubtype((PyTypeObject *)c, &smpy_metric_types[k])) {
            PyErr_Format(PyExc_TypeError, "classes[%d] must be a subclass of %s", k, smpy_metric_types[k].tp_name);
            return -1;
        }
        out[k] = (PyTypeObject *)c;
    }
    return 0;
}

/* What the Python classes keep beside the handle: a gauge's mode (an int
 * of shmetrics_gauge_mode_t), a histogram's bounds as registered (a tuple
 * of floats, +Inf not included), else None. */
static PyObject *extra_of(const shmetrics_set_member_t *m, void *family)
{
    if (m->type == SHMETRICS_GAUGE)
        return PyLong_FromLong((long)m->gauge_mode);
    if (m->type != SHMETRICS_HISTOGRAM)
        Py_RETURN_NONE;
    const double *b;
    size_t n;
    int rc = shmetrics_histogram_bounds(family, &b, &n);
    if (rc < 0)
        return smpy_raise(rc, SMPY_CTX_SPEC);
    PyObject *t = PyTuple_New((Py_ssize_t)n);
    for (size_t i = 0; t && i < n; i++) {
        PyObject *f = PyFloat_FromDouble(b[i]);
        if (!f) {
            Py_CLEAR(t);
            break;
        }
        PyTuple_SET_ITEM(t, (Py_ssize_t)i, f);
    }
    return t;
}

/* [(field, metric, help, extra), ...] (extra: see extra_of) for the members of a registered set whose
 * handles are in `set`. */
static PyObject *wrap_members(smpy_arena *a, PyTypeObject *cls[SMPY_NSETKINDS], const shmetrics_set_member_t *m,
                              size_t n, const char *ns, const void *set)
{
    PyObject *list = PyList_New(0), *empty = PyTuple_New(0);
    if (!list || !empty)
        goto fail;
    for (size_t i = 0; i < n; i++) {
        enum smpy_kind k = (enum smpy_kind)(m[i].type - SHMETRICS_COUNTER);
        void *family = *(void *const *)((const char *)set + m[i].offset);
        void *series = NULL;
        if (!family)
            continue; /* a feature group not registered */
        if (m[i].nlabels == 0) {
            int rc = smpy_labelv(k, family, 0, NULL, &series);
            if (rc < 0) {
                smpy_raise(rc, SMPY_CTX_SPEC);
                goto fail;
            }
        }
        PyObject *name = full_name(&m[i], ns), *labels = label_tuple(&m[i]);
        PyObject *obj = name && labels ? cls[k]->tp_new(cls[k], empty, NULL) : NULL;
        PyObject *item = NULL, *extra = obj ? extra_of(&m[i], family) : NULL;
        if (extra) {
            smpy_metric_bind((smpy_metric *)obj, a, family, series, name, labels);
            if (m[i].type == SHMETRICS_GAUGE &&
                (m[i].gauge_mode == SHMETRICS_MODE_MOSTRECENT || m[i].gauge_mode == SHMETRICS_MODE_LIVEMOSTRECENT))
                ((smpy_metric *)obj)->flags |= SMPY_F_MOSTRECENT;
            item = Py_BuildValue("(sOsO)", m[i].field, obj, m[i].help, extra);
        }
        Py_XDECREF(extra);
        Py_XDECREF(obj);
        Py_XDECREF(name);
        Py_XDECREF(labels);
        if (!item || PyList_Append(list, item) < 0) {
            Py_XDECREF(item);
            goto fail;
        }
        Py_DECREF(item);
    }
    Py_DECREF(empty);
    return list;
fail:
    Py_XDECREF(list);
    Py_XDECREF(empty);
    return NULL;
}

/* overrides: a mapping {family name: bucket bounds} as the library's
 * array; every string and array is PyMem memory released by free_overrides. */
static int overrides_of(PyObject *map, shmetrics_bucket_override_t **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    if (map == Py_None)
        return 0;
    PyObject *items = PyMapping_Items(map);
    if (!items) {
        if (PyErr_ExceptionMatches(PyExc_AttributeError) || PyErr_ExceptionMatches(PyExc_TypeError)) {
            PyErr_Clear();
            PyErr_SetString(PyExc_TypeError, "buckets_override must be a mapping of family names to bucket lists");
        }
        return -1;
    }
    Py_ssize_t len = PyList_GET_SIZE(items);
    shmetrics_bucket_override_t *o = PyMem_Calloc((size_t)(len ? len : 1), sizeof *o);
    if (!o) {
        Py_DECREF(items);
        PyErr_NoMemory();
        return -1;
    }
    *out = o;
    for (Py_ssize_t i = 0; i < len; i++) {
        PyObject *kv = PyList_GET_ITEM(items, i);
        const char *name = smpy_utf8(PyTuple_GET_ITEM(kv, 0), "a buckets_override key");
        char *copy = name ? PyMem_Malloc(strlen(name) + 1) : NULL;
        if (name && !copy)
            PyErr_NoMemory();
        if (!copy) {
            Py_DECREF(items);
            return -1;
        }
        strcpy(copy, name);
        o[i].name = copy;
        *n = (size_t)i + 1;
        double *b;
        if (smpy_doubles(PyTuple_GET_ITEM(kv, 1), "a buckets_override value must be a sequence of numbers", &b,
                         &o[i].nbuckets) < 0) {
            Py_DECREF(items);
            return -1;
        }
        o[i].buckets = b;
    }
    Py_DECREF(items);
    return 0;
}

static void free_overrides(shmetrics_bucket_override_t *o, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        PyMem_Free((void *)o[i].name);
        PyMem_Free((void *)o[i].buckets);
    }
    PyMem_Free(o);
}

/* engines: a sequence of (model_name, engine) pairs whose start-up series
 * are created (shmetrics_vllm_engine_start). */
static int start_engines(PyObject *engines, const shmetrics_vllm_t *v, const shmetrics_vllm_options_t *opts)
{
    if (engines == Py_None)
        return 0;
    PyObject *seq = PySequence_Fast(engines, "engines must be a sequence of (model_name, engine) pairs");
    if (!seq)
        return -1;
    for (Py_ssize_t i = 0; i < PySequence_Fast_GET_SIZE(seq); i++) {
        PyObject *pair = PySequence_Fast_GET_ITEM(seq, i);
        if (!PyTuple_Check(pair) || PyTuple_GET_SIZE(pair) != 2) {
            PyErr_SetString(PyExc_TypeError, "engines must be a sequence of (model_name, engine) pairs");
            Py_DECREF(seq);
            return -1;
        }
        const char *model = smpy_utf8(PyTuple_GET_ITEM(pair, 0), "an engine's model_name");
        const char *engine = model ? smpy_utf8(PyTuple_GET_ITEM(pair, 1), "an engine's engine label") : NULL;
        int rc = engine ? shmetrics_vllm_engine_start(v, opts, model, engine) : -1;
        if (rc < 0) {
            if (engine)
                smpy_raise(rc, SMPY_CTX_SPEC);
            Py_DECREF(seq);
            return -1;
        }
    }
    Py_DECREF(seq);
    return 0;
}

PyObject *smpy_register_vllm(smpy_arena *a, PyObject *args, PyObject *kwargs)
{
    static char *kw[] = {
        "classes", "max_model_len", "buckets_override", "features", "num_speculative_tokens", "engines", NULL};
    PyObject *classes, *len_obj, *map = Py_None, *engines = Py_None;
    unsigned int features = 0, spec_tokens = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OO|OIIO:_register_vllm", kw, &classes, &len_obj, &map, &features,
                                     &spec_tokens, &engines))
        return NULL;
    PyTypeObject *cls[SMPY_NSETKINDS];
    if (check_classes(classes, cls) < 0)
        return NULL;
    int whole = PyLong_Check(len_obj) && !PyBool_Check(len_obj);
    unsigned long long max_len = whole ? PyLong_AsUnsignedLongLong(len_obj) : 0;
    if (!whole || PyErr_Occurred() || max_len < 1) {
        PyErr_Clear();
        PyErr_SetString(PyExc_ValueError, "max_model_len must be a whole number from 1 to 2**64-1");
        return NULL;
    }
    shmetrics_bucket_override_t *ov;
    size_t nov;
    PyObject *ret = NULL;
    if (overrides_of(map, &ov, &nov) < 0)
        goto out;
    /* Converting the arguments may have run Python code that closed it. */
    if (smpy_arena_check(a) < 0)
        goto out;
    shmetrics_vllm_options_t opts = {.max_model_len = max_len,
                                     .overrides = ov,
                                     .noverrides = nov,
                                     .features = features,
                                     .num_speculative_tokens = spec_tokens};
    shmetrics_vllm_t v;
    int rc = shmetrics_vllm_register(a->reg, &opts, &v);
    if (rc < 0) {
        smpy_raise(rc, SMPY_CTX_SPEC);
        goto out;
    }
    if (start_engines(engines, &v, &opts) < 0)
        goto out;
    size_t n;
    const shmetrics_set_member_t *m = shmetrics_vllm_members(&n);
    ret = wrap_members(a, cls, m, n, NULL, &v);
out:
    free_overrides(ov, nov);
    return ret;
}

PyObject *smpy_vllm_cache_config_info(smpy_arena *a, PyObject *args, PyObject *kwargs)
{
    static char *kw[] = {"config", "engine", NULL};
    PyObject *config, *engine_obj;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OO:_vllm_cache_config_info", kw, &config, &engine_obj))
        return NULL;
    PyObject *items = PyMapping_Check(config) && !PyUnicode_Check(config) ? PyMapping_Items(config) : NULL;
    if (!items) {
        PyErr_Clear();
        PyErr_SetString(PyExc_TypeError, "config must be a mapping of label names to str values");
        return NULL;
    }
    shmetrics_label_t pairs[16];
    Py_ssize_t n = PyList_GET_SIZE(items);
    PyObject *ret = NULL;
    if (n > 15) {
        PyErr_Format(PyExc_ValueError, "vllm:cache_config_info: %zd configuration labels, at most 15 (with engine)", n);
        goto out;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *kv = PyList_GET_ITEM(items, i);
        pairs[i].name = smpy_utf8(PyTuple_GET_ITEM(kv, 0), "a config key");
        pairs[i].value = pairs[i].name ? smpy_utf8(PyTuple_GET_ITEM(kv, 1), "a config value") : NULL;
        if (!pairs[i].value)
            goto out;
    }
    const char *engine = smpy_utf8(engine_obj, "the engine");
    if (!engine || smpy_arena_check(a) < 0)
        goto out;
    int rc = shmetrics_vllm_cache_config_info(a->reg, pairs, (size_t)n, engine);
    if (rc < 0)
        smpy_raise(rc, SMPY_CTX_SPEC);
    else
        ret = Py_NewRef(Py_None);
out:
    Py_DECREF(items);
    return ret;
}

PyObject *smpy_register_inference(smpy_arena *a, PyObject *args, PyObject *kwargs)
{
    static char *kw[] = {"classes", "namespace", NULL};
    PyObject *classes, *ns_obj = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O|O:_register_inference", kw, &classes, &ns_obj))
        return NULL;
    PyTypeObject *cls[SMPY_NSETKINDS];
    if (check_classes(classes, cls) < 0)
        return NULL;
    const char *ns = ns_obj == Py_None ? NULL : smpy_utf8(ns_obj, "the namespace");
    if (ns_obj != Py_None && !ns)
        return NULL;
    if (smpy_arena_check(a) < 0)
        return NULL;
    shmetrics_inference_t x;
    int rc = shmetrics_inference_register(a->reg, ns, &x);
    if (rc < 0)
        return smpy_raise(rc, SMPY_CTX_SPEC);
    size_t n;
    const shmetrics_set_member_t *m = shmetrics_inference_members(&n);
    return wrap_members(a, cls, m, n, ns, &x);
}
