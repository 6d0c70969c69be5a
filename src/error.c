/*
 * error.c - statuses, their strings, and the per-thread last error message.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common.h"

static _Thread_local char last_error[512];

const char *ot_status_str(ot_status status)
{
    switch (status) {
#define OT_STATUS_STR_(name, value, text)                                     \
    case OT_##name:                                                           \
        return text;
        OT_STATUS_MAP(OT_STATUS_STR_)
#undef OT_STATUS_STR_
    }
    return "unknown status";
}

const char *ot_last_error(void) { return last_error; }

const char *ot_version(void) { return OT_VERSION_STRING; }

int ot_version_number(void) { return OT_VERSION_NUMBER; }

ot_status ot__fail(ot_status status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
    return status;
}

void ot__error_copy(char *buf, size_t size)
{
    if (size == 0)
        return;
    snprintf(buf, size, "%s", last_error);
}

void ot__error_restore(const char *message)
{
    snprintf(last_error, sizeof last_error, "%s", message);
}

ot_status ot__dnnl_fail(dnnl_status_t st, const char *call, const char *file,
                        int line)
{
    ot_status status = st == dnnl_out_of_memory ? OT_OUT_OF_MEMORY
                                                : OT_BACKEND_ERROR;
    const char *what = "unknown error";
    switch (st) {
    case dnnl_out_of_memory: what = "out of memory"; break;
    case dnnl_invalid_arguments: what = "invalid arguments"; break;
    case dnnl_unimplemented: what = "unimplemented"; break;
    case dnnl_iterator_ends: what = "iterator ends"; break;
    case dnnl_runtime_error: what = "runtime error"; break;
    case dnnl_not_required: what = "not required"; break;
    default: break;
    }
    return ot__fail(status, "oneDNN: %s failed (%s) at %s:%d", call, what,
                    file, line);
}
