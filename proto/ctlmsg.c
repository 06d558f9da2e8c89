/*  proto/ctlmsg.c: control request and reply codec. See ctlmsg.h. */
#include "ctlmsg.h"

#include <stdio.h>
#include <math.h>
#include <string.h>

//  Control arguments are small: caps for nesting and objects inside a request.
static const fed_mp_limits_t s_limits = {16, 100000};

int
fed_ctl_request_decode (const void *data, size_t size, fed_ctl_request_t *request,
                        const char **code_p, fed_err_t *err)
{
    memset (request, 0, sizeof *request);
    *code_p = "bad_request";
    fed_mpr_t reader;
    fed_mpr_init (&reader, data, size);
    uint32_t count;
    uint64_t version;
    if (fed_mpr_array (&reader, &count) || count != 3) {
        fed_err_set (err, 0, "a request is a msgpack array [1, command, args-map]");
        return FED_MALFORMED;
    }
    if (fed_mpr_uint (&reader, &version)) {
        fed_err_set (err, 0, "request element 0 must be the protocol version 1 (a uint)");
        return FED_MALFORMED;
    }
    if (version != FED_CTL_VERSION) {
        *code_p = "version";
        fed_err_set (err, 0, "protocol version %llu is not spoken here; send version %d",
                     (unsigned long long) version, FED_CTL_VERSION);
        return FED_MALFORMED;
    }
    const char *command;
    uint32_t command_size;
    if (fed_mpr_str (&reader, &command, &command_size) || command_size == 0
        || command_size > FED_CTL_COMMAND_MAX) {
        fed_err_set (err, 0,
                     "request element 1 must be the command name, a string of 1..%d "
                     "bytes like \"status\"",
                     FED_CTL_COMMAND_MAX);
        return FED_MALFORMED;
    }
    memcpy (request->command, command, command_size);
    request->command [command_size] = 0;
    if (memchr (request->command, 0, command_size)) {
        fed_err_set (err, 0, "the command name contains a NUL byte");
        return FED_MALFORMED;
    }
    uint32_t arg_count;
    if (fed_mpr_map (&reader, &arg_count)) {
        fed_err_set (err, 0, "request element 2 must be a map of arguments ({} for none)");
        return FED_MALFORMED;
    }
    if (arg_count > FED_CTL_ARGS_MAX) {
        fed_err_set (err, 0, "%u arguments is over the limit of %d", arg_count, FED_CTL_ARGS_MAX);
        return FED_MALFORMED;
    }
    for (uint32_t i = 0; i < arg_count; i++) {
        fed_ctl_arg_t *arg = &request->args [i];
        if (fed_mpr_str (&reader, &arg->key, &arg->key_size)) {
            fed_err_set (err, 0, "argument %u: keys must be strings", i);
            return FED_MALFORMED;
        }
        for (uint32_t j = 0; j < i; j++)
            if (request->args [j].key_size == arg->key_size
                && memcmp (request->args [j].key, arg->key, arg->key_size) == 0) {
                fed_err_set (err, 0, "argument '%.*s' is given twice", (int) arg->key_size,
                             arg->key);
                return FED_MALFORMED;
            }
        size_t start = reader.pos;
        if (fed_mpr_skip (&reader, &s_limits)) {
            fed_err_set (err, 0,
                         "argument '%.*s': value is malformed, truncated, or nested "
                         "deeper than %u",
                         (int) arg->key_size, arg->key, s_limits.max_depth);
            return FED_MALFORMED;
        }
        arg->value = (fed_blob_t){reader.data + start, reader.pos - start};
        request->arg_count++;
    }
    if (!fed_mpr_done (&reader)) {
        fed_err_set (err, 0, "%zu trailing bytes after the request", size - reader.pos);
        return FED_MALFORMED;
    }
    return 0;
}

static fed_ctl_arg_t *
s_find (fed_ctl_request_t *request, const char *name)
{
    size_t size = strlen (name);
    for (size_t i = 0; i < request->arg_count; i++)
        if (request->args [i].key_size == size && memcmp (request->args [i].key, name, size) == 0) {
            request->args [i].used = true;
            return &request->args [i];
        }
    return NULL;
}

int
fed_ctl_arg_str (fed_ctl_request_t *request, const char *name, size_t max_size, const char **ptr,
                 uint32_t *size, fed_err_t *err)
{
    fed_ctl_arg_t *arg = s_find (request, name);
    if (!arg)
        return 1;
    fed_mpr_t reader;
    fed_mpr_init (&reader, arg->value.data, arg->value.size);
    if (fed_mpr_str (&reader, ptr, size) || *size > max_size) {
        fed_err_set (err, 0, "argument '%s' must be a string of at most %zu bytes", name, max_size);
        return -1;
    }
    return 0;
}

int
fed_ctl_arg_uint (fed_ctl_request_t *request, const char *name, uint64_t max, uint64_t *value,
                  fed_err_t *err)
{
    fed_ctl_arg_t *arg = s_find (request, name);
    if (!arg)
        return 1;
    fed_mpr_t reader;
    fed_mpr_init (&reader, arg->value.data, arg->value.size);
    if (fed_mpr_uint (&reader, value) || *value > max) {
        fed_err_set (err, 0, "argument '%s' must be a whole number from 0 to %llu", name,
                     (unsigned long long) max);
        return -1;
    }
    return 0;
}

int
fed_ctl_arg_bool (fed_ctl_request_t *request, const char *name, bool *value, fed_err_t *err)
{
    fed_ctl_arg_t *arg = s_find (request, name);
    if (!arg)
        return 1;
    fed_mpr_t reader;
    fed_mpr_init (&reader, arg->value.data, arg->value.size);
    if (fed_mpr_bool (&reader, value)) {
        fed_err_set (err, 0, "argument '%s' must be true or false", name);
        return -1;
    }
    return 0;
}

int
fed_ctl_arg_bin (fed_ctl_request_t *request, const char *name, size_t size, size_t max_size,
                 const uint8_t **ptr, uint32_t *len, fed_err_t *err)
{
    fed_ctl_arg_t *arg = s_find (request, name);
    if (!arg)
        return 1;
    fed_mpr_t reader;
    fed_mpr_init (&reader, arg->value.data, arg->value.size);
    if (fed_mpr_bin (&reader, ptr, len) || (size && *len != size) || (!size && *len > max_size)) {
        if (size)
            fed_err_set (err, 0, "argument '%s' must be bin of exactly %zu bytes", name, size);
        else
            fed_err_set (err, 0, "argument '%s' must be bin of at most %zu bytes", name, max_size);
        return -1;
    }
    return 0;
}

int
fed_ctl_arg_double (fed_ctl_request_t *request, const char *name, double lo, double hi,
                    double *value, fed_err_t *err)
{
    fed_ctl_arg_t *arg = s_find (request, name);
    if (!arg)
        return 1;
    fed_mpr_t reader;
    fed_mpr_init (&reader, arg->value.data, arg->value.size);
    fed_mp_type_t type = fed_mpr_peek (&reader);
    if ((type != FED_MP_FLOAT && type != FED_MP_UINT && type != FED_MP_INT)
        || fed_mpr_double (&reader, value) || !isfinite (*value) || *value < lo || *value > hi) {
        fed_err_set (err, 0, "argument '%s' must be a number within %g..%g", name, lo, hi);
        return -1;
    }
    return 0;
}

int
fed_ctl_arg_map (fed_ctl_request_t *request, const char *name, fed_blob_t *value, fed_err_t *err)
{
    fed_ctl_arg_t *arg = s_find (request, name);
    if (!arg)
        return 1;
    fed_mpr_t reader;
    fed_mpr_init (&reader, arg->value.data, arg->value.size);
    if (fed_mpr_peek (&reader) != FED_MP_MAP) {
        fed_err_set (err, 0, "argument '%s' must be a map", name);
        return -1;
    }
    *value = arg->value;
    return 0;
}

int
fed_ctl_arg_array (fed_ctl_request_t *request, const char *name, fed_blob_t *value, fed_err_t *err)
{
    fed_ctl_arg_t *arg = s_find (request, name);
    if (!arg)
        return 1;
    fed_mpr_t reader;
    fed_mpr_init (&reader, arg->value.data, arg->value.size);
    if (fed_mpr_peek (&reader) != FED_MP_ARRAY) {
        fed_err_set (err, 0, "argument '%s' must be an array", name);
        return -1;
    }
    *value = arg->value;
    return 0;
}

int
fed_ctl_args_all_used (const fed_ctl_request_t *request, fed_err_t *err)
{
    for (size_t i = 0; i < request->arg_count; i++)
        if (!request->args [i].used) {
            fed_err_set (err, 0, "unknown argument '%.*s' for '%s' (see doc/protocol.md §3.4)",
                         (int) (request->args [i].key_size > 64 ? 64 : request->args [i].key_size),
                         request->args [i].key, request->command);
            return -1;
        }
    return 0;
}

void
fed_ctl_reply_ok (msgpack_packer *pk)
{
    msgpack_pack_array (pk, 3);
    msgpack_pack_uint8 (pk, FED_CTL_VERSION);
    msgpack_pack_true (pk);
}

void
fed_ctl_reply_error (msgpack_packer *pk, const char *code, const char *message)
{
    fed_ctl_reply_error_list (pk, code, message, NULL, 0);
}

void
fed_ctl_reply_error_list (msgpack_packer *pk, const char *code, const char *message,
                          const void *errors, size_t size)
{
    msgpack_pack_array (pk, 3);
    msgpack_pack_uint8 (pk, FED_CTL_VERSION);
    msgpack_pack_false (pk);
    msgpack_pack_map (pk, errors ? 3 : 2);
    msgpack_pack_str_with_body (pk, "code", 4);
    msgpack_pack_str_with_body (pk, code, strlen (code));
    msgpack_pack_str_with_body (pk, "message", 7);
    msgpack_pack_str_with_body (pk, message, strlen (message));
    if (errors) {
        msgpack_pack_str_with_body (pk, "errors", 6);
        pk->callback (pk->data, (const char *) errors, size);
    }
}

void
fed_ctl_request_begin (msgpack_packer *pk, const char *command, uint32_t arg_count)
{
    msgpack_pack_array (pk, 3);
    msgpack_pack_uint8 (pk, FED_CTL_VERSION);
    msgpack_pack_str_with_body (pk, command, strlen (command));
    msgpack_pack_map (pk, arg_count);
}

//  Copies a str member of a map reader into buf (truncating).
static void
s_copy_str (fed_mpr_t *reader, char *buf, size_t size)
{
    const char *ptr;
    uint32_t len;
    if (size == 0)
        return;
    if (fed_mpr_str (reader, &ptr, &len)) {
        if (fed_mpr_skip (reader, &s_limits) == 0)
            snprintf (buf, size, "?");
        return;
    }
    snprintf (buf, size, "%.*s", (int) len, ptr);
}

int
fed_ctl_reply_decode (const void *data, size_t size, bool *ok, fed_blob_t *result, char *code,
                      size_t code_size, char *message, size_t message_size)
{
    fed_mpr_t reader;
    fed_mpr_init (&reader, data, size);
    uint32_t count;
    uint64_t version;
    if (fed_mpr_array (&reader, &count) || count != 3 || fed_mpr_uint (&reader, &version)
        || version != FED_CTL_VERSION || fed_mpr_bool (&reader, ok))
        return FED_MALFORMED;
    size_t start = reader.pos;
    if (fed_mpr_skip (&reader, NULL) || !fed_mpr_done (&reader))
        return FED_MALFORMED;
    *result = (fed_blob_t){reader.data + start, reader.pos - start};
    if (code_size)
        code [0] = 0;
    if (message_size)
        message [0] = 0;
    if (*ok)
        return 0;
    fed_mpr_t error;
    fed_mpr_init (&error, result->data, result->size);
    uint32_t members;
    if (fed_mpr_map (&error, &members))
        return FED_MALFORMED;
    for (uint32_t i = 0; i < members; i++) {
        const char *key;
        uint32_t key_size;
        if (fed_mpr_str (&error, &key, &key_size))
            return FED_MALFORMED;
        if (key_size == 4 && memcmp (key, "code", 4) == 0)
            s_copy_str (&error, code, code_size);
        else if (key_size == 7 && memcmp (key, "message", 7) == 0)
            s_copy_str (&error, message, message_size);
        else if (fed_mpr_skip (&error, &s_limits))
            return FED_MALFORMED;
    }
    return 0;
}
