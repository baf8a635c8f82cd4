/*
 * src_file: arguments in command-line order, directories walked recursively in bytewise order
 * whatever the file system returns, decompression by content, linked directories and
 * sockets skipped inside a walk, and a bad path reported by name without ending the walk.
 * Every test builds its own tree under a mkdtemp directory.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "dec_test_util.h"
#include "src_file.h"

#define OTRF_ZIP LSF_SHARED_DATA "/cloudtrail/otrf-security-datasets/ec2_proxy_s3_exfiltration.zip"

static char root[64];

static int make_root(void **state)
{
    (void)state;
    strcpy(root, "/tmp/logsift-src-file-XXXXXX");
    return mkdtemp(root) == NULL ? -1 : 0;
}

static int remove_root(void **state)
{
    char cmd[256];

    (void)state;
    snprintf(cmd, sizeof(cmd), "chmod -R u+rwx %s; rm -rf %s", root, root);
    return system(cmd) == 0 ? 0 : -1;
}

/* root + "/" + rel, in a static buffer per call slot. */
static const char *at(const char *rel)
{
    static char paths[8][256];
    static int slot;
    char *p = paths[slot++ % 8];

    snprintf(p, 256, "%s/%s", root, rel);
    return p;
}

static void write_file(const char *rel, const void *data, size_t len)
{
    FILE *fp = fopen(at(rel), "wb");

    assert_non_null(fp);
    assert_int_equal(fwrite(data, 1, len, fp), len);
    assert_int_equal(fclose(fp), 0);
}

static void write_text(const char *rel, const char *text)
{
    write_file(rel, text, strlen(text));
}

static void write_gzip(const char *rel, const char *text)
{
    struct tu_bytes gz = tu_gzip(text, strlen(text), 1);

    write_file(rel, gz.data, gz.len);
    free(gz.data);
}

static void write_zstd(const char *rel, const char *text)
{
    struct tu_bytes zs = tu_zstd(text, strlen(text), 3, true);

    write_file(rel, zs.data, zs.len);
    free(zs.data);
}

static void make_dir(const char *rel)
{
    assert_int_equal(mkdir(at(rel), 0755), 0);
}

/*
 * Take the next input and read it whole. Returns its code; on success *content holds the
 * decoded text (NUL-terminated). *name is the input's name (or NULL at the end).
 */
static enum lsf_code next_input(struct fetch_files *files, char **name, char **content,
        struct lsf_err *err)
{
    struct lsf_reader rd;
    struct tu_bytes out = {NULL, 0, 0};
    unsigned char buf[4096];
    bool done;
    size_t n;
    enum lsf_code rc;

    lsf_err_clear(err);
    *content = NULL;
    rc = fetch_files_next(files, name, &rd, &done, err);
    if (rc != LSF_OK)
        return rc;
    if (done) {
        assert_null(*name);
        return LSF_OK;
    }
    tu_append_raw(&out, "", 0);
    while ((rc = lsf_reader_read(&rd, buf, sizeof(buf), &n, err)) == LSF_OK && n > 0)
        tu_append_raw(&out, buf, n);
    lsf_reader_close(&rd);
    out.data[out.len] = '\0';
    *content = (char *)out.data;
    return rc;
}

/* The next input must be rel (under root) with this decoded content. */
static void expect_input(struct fetch_files *files, const char *rel, const char *want)
{
    struct lsf_err err;
    char *name;
    char *content;

    if (next_input(files, &name, &content, &err) != LSF_OK)
        fail_msg("%s: %s", rel, err.msg);
    assert_non_null(name);
    assert_string_equal(name, at(rel));
    assert_string_equal(content, want);
    free(name);
    free(content);
}

/* The next input must fail with code, naming rel, with want in the message. */
static void expect_failure(struct fetch_files *files, const char *rel, enum lsf_code code,
        const char *want)
{
    struct lsf_err err;
    char *name;
    char *content;

    assert_int_equal(next_input(files, &name, &content, &err), code);
    assert_non_null(name);
    assert_string_equal(name, at(rel));
    if (strstr(err.msg, want) == NULL)
        fail_msg("\"%s\" not in \"%s\"", want, err.msg);
    free(name);
    free(content);
}

static void expect_end(struct fetch_files *files)
{
    struct lsf_err err;
    char *name;
    char *content;

    assert_int_equal(next_input(files, &name, &content, &err), LSF_OK);
    assert_null(name);
}

static struct fetch_files *files_of(const char *const *paths, size_t n)
{
    struct fetch_files *files;
    struct lsf_err err;

    lsf_err_clear(&err);
    assert_int_equal(fetch_files_new(paths, n, &files, &err), LSF_OK);
    return files;
}

static void test_directory_walk_is_recursive_and_bytewise_sorted(void **state)
{
    const char *paths[2];
    struct fetch_files *files;

    (void)state;
    /* Created out of order, so the order seen is the sort's, not the file system's. */
    make_dir("sub");
    write_zstd("sub/z.zst", "z\n");
    make_dir("sub/deeper");
    write_text("sub/deeper/d.log", "d\n");
    write_text("sub/c.log", "c\n");
    make_dir("sub2");
    write_gzip("a.json.gz", "a\n");
    write_text("B.log", "B\n");
    write_text(".hidden", "hidden\n");
    assert_int_equal(symlink("sub", at("link_to_sub")), 0);
    assert_int_equal(symlink("B.log", at("link_to_file")), 0);
    assert_int_equal(mkfifo(at("fifo"), 0600), 0);

    for (int pass = 0; pass < 2; pass++) {
        /* With and without a trailing slash, names come out the same. */
        char arg[80];
        snprintf(arg, sizeof(arg), "%s%s", root, pass ? "/" : "");
        paths[0] = arg;
        files = files_of(paths, 1);
        expect_input(files, ".hidden", "hidden\n");
        expect_input(files, "B.log", "B\n");
        expect_input(files, "a.json.gz", "a\n");
        /* fifo: skipped inside a walk; a link to a file is an input, to a directory not. */
        expect_input(files, "link_to_file", "B\n");
        expect_input(files, "sub/c.log", "c\n");
        expect_input(files, "sub/deeper/d.log", "d\n");
        expect_input(files, "sub/z.zst", "z\n");
        expect_end(files);
        expect_end(files);
        fetch_files_free(files);
    }
}

static void test_arguments_keep_command_line_order(void **state)
{
    const char *paths[3];
    struct fetch_files *files;

    (void)state;
    write_text("b.log", "b\n");
    write_text("a.log", "a\n");
    make_dir("d");
    write_text("d/x.log", "x\n");
    paths[0] = at("b.log");
    paths[1] = at("d");
    paths[2] = at("a.log");
    files = files_of(paths, 3);
    expect_input(files, "b.log", "b\n");
    expect_input(files, "d/x.log", "x\n");
    expect_input(files, "a.log", "a\n");
    expect_end(files);
    fetch_files_free(files);
}

static void test_missing_path_is_reported_and_the_walk_goes_on(void **state)
{
    const char *paths[3];
    struct fetch_files *files;

    (void)state;
    write_text("there.log", "here\n");
    paths[0] = at("missing.log");
    paths[1] = at("there.log/below"); /* a file used as a directory */
    paths[2] = at("there.log");
    files = files_of(paths, 3);
    expect_failure(files, "missing.log", LSF_E_INPUT,
            "missing.log: no such file or directory; check the path");
    expect_failure(files, "there.log/below", LSF_E_INPUT, "no such file or directory");
    expect_input(files, "there.log", "here\n");
    expect_end(files);
    fetch_files_free(files);
}

static void test_broken_link_in_a_walk_is_reported_and_the_walk_goes_on(void **state)
{
    const char *paths[1];
    struct fetch_files *files;

    (void)state;
    make_dir("l");
    write_text("l/a.log", "a\n");
    assert_int_equal(symlink("loop", at("l/loop")), 0);
    assert_int_equal(symlink("nowhere", at("l/m-dangling")), 0);
    write_text("l/z.log", "z\n");
    paths[0] = at("l");
    files = files_of(paths, 1);
    expect_input(files, "l/a.log", "a\n");
    expect_failure(files, "l/loop", LSF_E_INPUT, "broken symbolic link");
    expect_failure(files, "l/m-dangling", LSF_E_INPUT, "l/m-dangling: broken symbolic link");
    expect_input(files, "l/z.log", "z\n");
    expect_end(files);
    fetch_files_free(files);
}

static void test_zip_in_a_walk_is_refused_and_the_walk_goes_on(void **state)
{
    struct tu_bytes zip = tu_read_file(OTRF_ZIP);
    const char *paths[1];
    struct fetch_files *files;

    (void)state;
    make_dir("z");
    write_file("z/x.zip", zip.data, zip.len);
    write_text("z/y.log", "y\n");
    paths[0] = at("z");
    files = files_of(paths, 1);
    expect_failure(files, "z/x.zip", LSF_E_INPUT,
            "z/x.zip: zip archive: logsift reads plain, gzip and zstd streams; extract it "
            "first (unzip) and scan the files");
    expect_input(files, "z/y.log", "y\n");
    expect_end(files);
    fetch_files_free(files);
    free(zip.data);
}

static void test_socket_argument_is_refused_but_skipped_in_a_walk(void **state)
{
    struct sockaddr_un addr;
    const char *paths[2];
    struct fetch_files *files;
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);

    (void)state;
    make_dir("s");
    write_text("s/a.log", "a\n");
    memset(&addr, 0, sizeof(addr));
    addr.sun_family = AF_UNIX;
    snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", at("s/sock"));
    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
    paths[0] = at("s/sock");
    paths[1] = at("s");
    files = files_of(paths, 2);
    expect_failure(files, "s/sock", LSF_E_INPUT, "not a file, directory or fifo");
    expect_input(files, "s/a.log", "a\n");
    expect_end(files);
    fetch_files_free(files);
    close(fd);
}

static void test_unreadable_file_is_an_io_error_naming_it(void **state)
{
    const char *paths[2];
    struct fetch_files *files;

    (void)state;
    /*
     * Root (as in the CI containers) reads a mode-000 file anyway, so there is no way to make
     * open(2) fail with EACCES here; the case is checked only when run as a normal user.
     */
    if (geteuid() == 0)
        skip();
    write_text("secret.log", "s\n");
    write_text("ok.log", "ok\n");
    assert_int_equal(chmod(at("secret.log"), 0), 0);
    paths[0] = at("secret.log");
    paths[1] = at("ok.log");
    files = files_of(paths, 2);
    expect_failure(files, "secret.log", LSF_E_IO,
            "secret.log: cannot open: Permission denied; check the file's permissions");
    expect_input(files, "ok.log", "ok\n");
    expect_end(files);
    fetch_files_free(files);
}

static void test_dash_reads_stdin_and_leaves_it_open(void **state)
{
    const char *paths[1] = {"-"};
    struct fetch_files *files;
    struct lsf_err err;
    char *name;
    char *content;
    int saved = dup(STDIN_FILENO); /* -1 if the test runner closed stdin */
    int fd;

    (void)state;
    write_gzip("in.gz", "from stdin\n");
    fd = open(at("in.gz"), O_RDONLY);
    assert_true(fd >= 0);
    if (fd != STDIN_FILENO) {
        assert_int_equal(dup2(fd, STDIN_FILENO), STDIN_FILENO);
        close(fd);
    }
    files = files_of(paths, 1);
    assert_int_equal(next_input(files, &name, &content, &err), LSF_OK);
    assert_string_equal(name, "-");
    assert_string_equal(content, "from stdin\n");
    assert_true(fcntl(STDIN_FILENO, F_GETFD) != -1);
    free(name);
    free(content);
    expect_end(files);
    fetch_files_free(files);
    if (saved >= 0) {
        assert_int_equal(dup2(saved, STDIN_FILENO), STDIN_FILENO);
        close(saved);
    } else {
        close(STDIN_FILENO);
    }
}

static void test_free_accepts_null_and_a_walk_left_halfway(void **state)
{
    const char *paths[1];
    struct fetch_files *files;

    (void)state;
    fetch_files_free(NULL);
    make_dir("h");
    make_dir("h/i");
    write_text("h/i/a.log", "a\n");
    write_text("h/i/b.log", "b\n");
    paths[0] = at("h");
    files = files_of(paths, 1);
    expect_input(files, "h/i/a.log", "a\n");
    fetch_files_free(files); /* with two listings on the stack: nothing leaks (ASan) */
}

#define TREE_TEST(fn) cmocka_unit_test_setup_teardown(fn, make_root, remove_root)

int main(void)
{
    const struct CMUnitTest tests[] = {
        TREE_TEST(test_directory_walk_is_recursive_and_bytewise_sorted),
        TREE_TEST(test_arguments_keep_command_line_order),
        TREE_TEST(test_missing_path_is_reported_and_the_walk_goes_on),
        TREE_TEST(test_broken_link_in_a_walk_is_reported_and_the_walk_goes_on),
        TREE_TEST(test_zip_in_a_walk_is_refused_and_the_walk_goes_on),
        TREE_TEST(test_socket_argument_is_refused_but_skipped_in_a_walk),
        TREE_TEST(test_unreadable_file_is_an_io_error_naming_it),
        TREE_TEST(test_dash_reads_stdin_and_leaves_it_open),
        TREE_TEST(test_free_accepts_null_and_a_walk_left_halfway),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
