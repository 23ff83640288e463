/* Typed reads of a json-c object's members, for the state records and
 * the engine's answers: a member that is absent or of another type reads
 * as absent, never as a wrong value. */
#ifndef BOTTLEFS_JSON_GET_H
#define BOTTLEFS_JSON_GET_H

#include <stdbool.h>
#include <stdint.h>
#include <json-c/json.h>

/* The string member `key`, or NULL. */
const char *bf_json_str(json_object *o, const char *key);
/* The integer member `key` into *out: false when absent or not one. */
bool bf_json_int64(json_object *o, const char *key, int64_t *out);
/* An unsigned number, or 0 when absent or not a number. */
uint64_t bf_json_uint64(json_object *o, const char *key);

#endif
