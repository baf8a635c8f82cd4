/*
 * src_file: local inputs, in a deterministic order, each opened through the decoder.
 *
 * Order. Arguments are taken in command-line order. A directory is walked depth first with
 * each listing sorted bytewise (strcmp), so two runs over the same tree, on any file system,
 * scan the same inputs in the same order and report findings in the same order.
 *
 * What is an input. On the command line: regular files, fifos and character devices (so
 * `<(zcat x)` and /dev/stdin work), directories (walked) and "-" for standard input; a
 * symbolic link given there is followed, as find -H does. Inside a walk: regular files and
 * symbolic links to regular files. Symbolic links to directories are not followed inside a
 * walk: they are how trees loop or show the same files twice. A directory that is its own
 * ancestor (a bind mount) is reported and skipped. Sockets, fifos and devices found in a
 * walk are skipped: opening a fifo nobody writes would hang the run. Dotfiles are inputs.
 *
 * Memory. The walk keeps one sorted listing per directory level (a stack), not the tree.
 *
 * Errors. A path that cannot be used yields an error naming it, and the next call goes on
 * with the next input: one bad input never ends the run. Files are read with read(2) straight
 * into the decoder's buffer; the decoder adds no copy for plain files.
 */
#include "src_file.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dec.h"

/* One directory level of the walk: its sorted entries and the next one to visit. */
struct walk_dir {
    char *path;   /* as it prefixes input names, e.g. "logs/2024" */
    char **names; /* entry names, sorted bytewise */
    size_t n_names;
    size_t next;
    dev_t dev; /* identity, to catch a directory that contains itself */
    ino_t ino;
};

struct fetch_files {
    const char *const *paths; /* borrowed */
    size_t n_paths;
    size_t next_path;
    struct walk_dir *stack;
    size_t n_stack;
    size_t cap_stack;
};

/* A reader over a file descriptor: read(2) into the caller's buffer, nothing in between. */

struct fd_source {
    int fd;
    bool is_owned; /* false for standard input, which stays open */
    char *name;
};

static enum lsf_code fd_read(void *self, unsigned char *buf, size_t cap, size_t *n_read,
        struct lsf_err *err)
{
    struct fd_source *src = self;
    ssize_t got;

    if (cap > SSIZE_MAX)
        cap = SSIZE_MAX;
    do {
        got = read(src->fd, buf, cap);
    } while (got < 0 && errno == EINTR);
    if (got < 0) {
        *n_read = 0;
        return lsf_fail(err, LSF_E_IO, "%s: read failed: %s; check the disk or the device",
                src->name, strerror(errno));
    }
    *n_read = (size_t)got;
    return LSF_OK;
}

static void fd_close(void *self)
{
    struct fd_source *src = self;

    if (src->is_owned)
        close(src->fd);
    free(src->name);
    free(src);
}

static const struct lsf_reader_ops fd_ops = {
    .read = fd_read,
    .close = fd_close,
};

/* Wrap fd (taken if is_owned, closed on failure) and attach the decoder. */
static enum lsf_code open_fd(int fd, bool is_owned, const char *name, struct lsf_reader *rd,
        struct lsf_err *err)
{
    struct fd_source *src = malloc(sizeof(*src));
    struct lsf_reader raw;

    if (src == NULL || (src->name = strdup(name)) == NULL) {
        free(src);
        if (is_owned)
            close(fd);
        return lsf_fail(err, LSF_E_NOMEM, "%s: out of memory opening the file", name);
    }
    src->fd = fd;
    src->is_owned = is_owned;
    raw.ops = &fd_ops;
    raw.self = src;
    return dec_open(raw, name, rd, NULL, err); /* takes raw */
}

static enum lsf_code open_file(const char *path, struct lsf_reader *rd, struct lsf_err *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0) {
        if (errno == EACCES || errno == EPERM)
            return lsf_fail(err, LSF_E_IO, "%s: cannot open: %s; check the file's permissions",
                    path, strerror(errno));
        return lsf_fail(err, errno == ENOENT ? LSF_E_INPUT : LSF_E_IO,
                "%s: cannot open: %s; check the path", path, strerror(errno));
    }
    /* Inputs are read once, front to back: let the kernel read ahead further. */
    (void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    return open_fd(fd, true, path, rd, err);
}

/* Directory listings. */

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void free_names(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

/* Read the entries of path (but "." and "..") and sort them. */
static enum lsf_code list_dir(const char *path, char ***names_out, size_t *n_out,
        struct lsf_err *err)
{
    DIR *dir = opendir(path);
    char **names = NULL;
    size_t n = 0;
    size_t cap = 0;
    struct dirent *ent;
    enum lsf_code rc = LSF_OK;

    if (dir == NULL)
        return lsf_fail(err, LSF_E_IO, "%s: cannot list directory: %s; check its permissions",
                path, strerror(errno));
    for (;;) {
        errno = 0;
        ent = readdir(dir);
        if (ent == NULL)
            break;
        if (strcmp(ent->d_name, ".") == 0 || strcmp(ent->d_name, "..") == 0)
            continue;
        if (n == cap) {
            size_t new_cap = cap ? cap * 2 : 64;
            char **grown = realloc(names, new_cap * sizeof(*names));
            if (grown == NULL)
                goto nomem;
            names = grown;
            cap = new_cap;
        }
        names[n] = strdup(ent->d_name);
        if (names[n] == NULL)
            goto nomem;
        n++;
    }
    if (errno != 0) {
        rc = lsf_fail(err, LSF_E_IO, "%s: cannot list directory: %s; check the file system",
                path, strerror(errno));
        goto out;
    }
    if (n > 1)
        qsort(names, n, sizeof(*names), cmp_names);
    goto out;
nomem:
    rc = lsf_fail(err, LSF_E_NOMEM, "%s: out of memory listing the directory", path);
out:
    closedir(dir);
    if (rc != LSF_OK) {
        free_names(names, n);
        names = NULL;
        n = 0;
    }
    *names_out = names;
    *n_out = n;
    return rc;
}

/* Push directory path (taken on success) onto the walk. */
static enum lsf_code push_dir(struct fetch_files *files, char *path, const struct stat *st,
        struct lsf_err *err)
{
    struct walk_dir *top;
    enum lsf_code rc;

    for (size_t i = 0; i < files->n_stack; i++) {
        if (files->stack[i].dev == st->st_dev && files->stack[i].ino == st->st_ino)
            return lsf_fail(err, LSF_E_INPUT,
                    "%s: directory loop (it is %s again); skipped, remove the loop or scan "
                    "a path outside it", path, files->stack[i].path);
    }
    if (files->n_stack == files->cap_stack) {
        size_t new_cap = files->cap_stack ? files->cap_stack * 2 : 8;
        struct walk_dir *grown = realloc(files->stack, new_cap * sizeof(*grown));
        if (grown == NULL)
            return lsf_fail(err, LSF_E_NOMEM, "%s: out of memory walking the directory", path);
        files->stack = grown;
        files->cap_stack = new_cap;
    }
    top = &files->stack[files->n_stack];
    rc = list_dir(path, &top->names, &top->n_names, err);
    if (rc != LSF_OK)
        return rc;
    top->path = path;
    top->next = 0;
    top->dev = st->st_dev;
    top->ino = st->st_ino;
    files->n_stack++;
    return LSF_OK;
}

static void pop_dir(struct fetch_files *files)
{
    struct walk_dir *top = &files->stack[--files->n_stack];

    free_names(top->names, top->n_names);
    free(top->path);
}

/* "dir" + "/" + "name", without doubling a trailing slash the user typed. */
static char *join_path(const char *dir, const char *name)
{
    size_t dir_len = strlen(dir);
    size_t name_len = strlen(name);
    bool has_slash = dir_len > 0 && dir[dir_len - 1] == '/';
    char *path = malloc(dir_len + 1 + name_len + 1);

    if (path == NULL)
        return NULL;
    memcpy(path, dir, dir_len);
    if (!has_slash)
        path[dir_len++] = '/';
    memcpy(path + dir_len, name, name_len + 1);
    return path;
}

/*
 * The next path to consider: the next entry of the innermost directory, else the next
 * argument. *path is NULL at the end. *is_arg says it came from the command line.
 */
static enum lsf_code next_path(struct fetch_files *files, char **path, bool *is_arg,
        struct lsf_err *err)
{
    *path = NULL;
    while (files->n_stack > 0) {
        struct walk_dir *top = &files->stack[files->n_stack - 1];
        if (top->next == top->n_names) {
            pop_dir(files);
            continue;
        }
        *is_arg = false;
        *path = join_path(top->path, top->names[top->next++]);
        if (*path == NULL)
            return lsf_fail(err, LSF_E_NOMEM, "%s: out of memory walking the directory",
                    top->path);
        return LSF_OK;
    }
    if (files->next_path == files->n_paths)
        return LSF_OK;
    *is_arg = true;
    *path = strdup(files->paths[files->next_path++]);
    if (*path == NULL)
        return lsf_fail(err, LSF_E_NOMEM, "out of memory copying a path");
    return LSF_OK;
}

/*
 * stat for arguments (a link given by name is followed); inside a walk, lstat first so a
 * link to a directory is seen as such (*is_linked_dir) and left alone.
 */
static enum lsf_code stat_path(const char *path, bool is_arg, struct stat *st,
        bool *is_linked_dir, struct lsf_err *err)
{
    *is_linked_dir = false;
    if (!is_arg && lstat(path, st) == 0 && S_ISLNK(st->st_mode)) {
        if (stat(path, st) != 0)
            return lsf_fail(err, LSF_E_INPUT,
                    "%s: broken symbolic link: %s; fix or remove the link", path,
                    strerror(errno));
        *is_linked_dir = S_ISDIR(st->st_mode);
        return LSF_OK;
    }
    if (stat(path, st) == 0)
        return LSF_OK;
    if (errno == ENOENT || errno == ENOTDIR)
        return lsf_fail(err, LSF_E_INPUT, "%s: no such file or directory; check the path",
                path);
    return lsf_fail(err, LSF_E_IO, "%s: cannot access: %s; check the path and its permissions",
            path, strerror(errno));
}

/*
 * Decide what path is and act: open an input (*is_opened), push a directory (*is_taken: the
 * walk owns path now) or skip it (neither). A failure names path.
 */
static enum lsf_code visit(struct fetch_files *files, char *path, bool is_arg,
        struct lsf_reader *rd, bool *is_opened, bool *is_taken, struct lsf_err *err)
{
    struct stat st;
    bool is_linked_dir;
    enum lsf_code rc;

    *is_opened = false;
    *is_taken = false;
    if (is_arg && strcmp(path, "-") == 0) {
        *is_opened = true;
        return open_fd(STDIN_FILENO, false, "-", rd, err);
    }
    rc = stat_path(path, is_arg, &st, &is_linked_dir, err);
    if (rc != LSF_OK || is_linked_dir)
        return rc;
    if (S_ISDIR(st.st_mode)) {
        rc = push_dir(files, path, &st, err);
        *is_taken = rc == LSF_OK;
        return rc;
    }
    if (S_ISREG(st.st_mode) || (is_arg && (S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode)))) {
        *is_opened = true;
        return open_file(path, rd, err);
    }
    if (!is_arg)
        return LSF_OK; /* a socket, fifo or device met in a walk */
    return lsf_fail(err, LSF_E_INPUT,
            "%s: not a file, directory or fifo (a socket or block device?); logsift reads "
            "files, directories, fifos and '-'", path);
}

enum lsf_code fetch_files_new(const char *const *paths, size_t n_paths, struct fetch_files **out,
        struct lsf_err *err)
{
    struct fetch_files *files = calloc(1, sizeof(*files));

    *out = NULL;
    if (files == NULL)
        return lsf_fail(err, LSF_E_NOMEM, "out of memory starting the file walk");
    files->paths = paths;
    files->n_paths = n_paths;
    *out = files;
    return LSF_OK;
}

void fetch_files_free(struct fetch_files *files)
{
    if (files == NULL)
        return;
    while (files->n_stack > 0)
        pop_dir(files);
    free(files->stack);
    free(files);
}

enum lsf_code fetch_files_next(struct fetch_files *files, char **name, struct lsf_reader *rd,
        bool *done, struct lsf_err *err)
{
    char *path;
    bool is_arg;
    bool is_opened;
    bool is_taken;
    enum lsf_code rc;

    *name = NULL;
    *done = false;
    rd->ops = NULL;
    rd->self = NULL;
    for (;;) {
        rc = next_path(files, &path, &is_arg, err);
        if (rc != LSF_OK)
            return rc;
        if (path == NULL) {
            *done = true;
            return LSF_OK;
        }
        rc = visit(files, path, is_arg, rd, &is_opened, &is_taken, err);
        if (rc != LSF_OK || is_opened) {
            *name = path;
            return rc;
        }
        if (!is_taken)
            free(path);
    }
}
