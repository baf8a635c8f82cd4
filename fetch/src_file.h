/*
 * src_file: local inputs. Expands the command line's paths into inputs in a deterministic
 * order (each argument in turn; a directory recursively, entries sorted bytewise; "-" is
 * standard input) and opens each with the decoder attached, so the scan sees decompressed
 * bytes whatever the file holds.
 */
#ifndef SRC_FILE_H
#define SRC_FILE_H

#include <stdbool.h>
#include <stddef.h>

#include "lsf_err.h"
#include "lsf_reader.h"

struct fetch_files;

/* Borrow paths (until fetch_files_free). Opens nothing yet. LSF_E_NOMEM. */
enum lsf_code fetch_files_new(const char *const *paths, size_t n_paths, struct fetch_files **out,
        struct lsf_err *err) LSF_WARN_UNUSED;
void fetch_files_free(struct fetch_files *files);

/*
 * Open the next input. On success *done is false, *name is a heap string the caller frees and
 * *rd reads its decompressed bytes (the caller closes it). At the end *done is true.
 * A path that cannot be opened or read (missing, permission denied, unsupported container)
 * returns LSF_E_INPUT or LSF_E_IO with the message naming it; *name is then set too, and the
 * next call moves on to the next input. Thread-compatible: one caller at a time.
 */
enum lsf_code fetch_files_next(struct fetch_files *files, char **name, struct lsf_reader *rd,
        bool *done, struct lsf_err *err);

#endif
