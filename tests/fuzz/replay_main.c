/*
 * Plain driver for a libFuzzer target: feeds every file of the corpus folder given on the
 * command line to LLVMFuzzerTestOneInput, in sorted order, so the corpus (and every crasher
 * added to it) is replayed by ctest on every build, with or without clang's fuzzer runtime.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int replay_file(const char *path)
{
    FILE *fp = fopen(path, "rb");
    unsigned char *data = NULL;
    long size;

    if (fp == NULL || fseek(fp, 0, SEEK_END) != 0 || (size = ftell(fp)) < 0 ||
            fseek(fp, 0, SEEK_SET) != 0) {
        fprintf(stderr, "%s: cannot read corpus file\n", path);
        if (fp)
            fclose(fp);
        return 1;
    }
    data = malloc((size_t)size + 1);
    if (data == NULL || fread(data, 1, (size_t)size, fp) != (size_t)size) {
        fprintf(stderr, "%s: cannot read corpus file\n", path);
        free(data);
        fclose(fp);
        return 1;
    }
    fclose(fp);
    LLVMFuzzerTestOneInput(data, (size_t)size);
    free(data);
    return 0;
}

int main(int argc, char **argv)
{
    DIR *dir;
    struct dirent *ent;
    char **names = NULL;
    size_t n = 0;
    int failures = 0;

    if (argc != 2) {
        fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
        return 2;
    }
    dir = opendir(argv[1]);
    if (dir == NULL) {
        fprintf(stderr, "%s: no corpus folder\n", argv[1]);
        return 1;
    }
    while ((ent = readdir(dir)) != NULL) {
        char **grown;
        if (ent->d_name[0] == '.')
            continue;
        grown = realloc(names, (n + 1) * sizeof(*names));
        if (grown == NULL)
            return 1;
        names = grown;
        names[n] = malloc(strlen(argv[1]) + strlen(ent->d_name) + 2);
        if (names[n] == NULL)
            return 1;
        sprintf(names[n], "%s/%s", argv[1], ent->d_name);
        n++;
    }
    closedir(dir);
    qsort(names, n, sizeof(*names), cmp_names);
    for (size_t i = 0; i < n; i++) {
        failures += replay_file(names[i]);
        free(names[i]);
    }
    free(names);
    printf("replayed %zu corpus files from %s\n", n, argv[1]);
    if (n == 0) {
        fprintf(stderr, "%s: corpus is empty\n", argv[1]);
        return 1;
    }
    return failures ? 1 : 0;
}
