/*
 * logsift: entry point. Dispatches to the subcommand; prints usage and version.
 */
#include <stdio.h>
#include <string.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include <hs.h>

#include "cli.h"

#ifndef LOGSIFT_VERSION
#define LOGSIFT_VERSION "dev"
#endif

static void usage(FILE *to)
{
    fprintf(to,
            "usage: logsift scan [OPTIONS] [PATH...]   scan logs for suspicious activity\n"
            "       logsift verify [OPTIONS] SRC       check CloudTrail digests / a manifest\n"
            "       logsift manifest create SRC -o M   record a backup in a signed manifest\n"
            "       logsift bench patterns FILE [CORPUS...]  per-pattern cost of a rule file\n"
            "       logsift rules check PATH...        validate rules; how each is prefiltered\n"
            "       logsift version                    print versions\n"
            "       logsift help                       this text\n"
            "Run 'logsift scan --help' for the scan options.\n");
}

int main(int argc, char **argv)
{
#ifdef __GLIBC__
    /* Workers allocate per input (decoder windows, framers), not per event. One malloc arena
     * keeps peak memory flat as inputs come and go: with glibc's per-thread arenas it crept
     * from 21 to 26 MB between 1 and 10 GiB of zstd input at -j2; with one, 19.7 and 20.5 MB,
     * at the same speed (bench/run, peak RSS rows). */
    mallopt(M_ARENA_MAX, 1);
#endif
    if (argc < 2) {
        usage(stderr);
        return CLI_EXIT_ERROR;
    }
    if (strcmp(argv[1], "scan") == 0)
        return cli_scan(argc - 1, argv + 1);
    if (strcmp(argv[1], "verify") == 0 || strcmp(argv[1], "manifest") == 0)
        return cli_verify(argc - 1, argv + 1);
    if (strcmp(argv[1], "bench") == 0)
        return cli_bench(argc - 1, argv + 1);
    if (strcmp(argv[1], "rules") == 0)
        return cli_rules(argc - 1, argv + 1);
    if (strcmp(argv[1], "version") == 0 || strcmp(argv[1], "--version") == 0) {
        printf("logsift %s (Hyperscan %s)\n", LOGSIFT_VERSION, hs_version());
        return 0;
    }
    if (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0 ||
            strcmp(argv[1], "-h") == 0) {
        usage(stdout);
        return 0;
    }
    fprintf(stderr, "logsift: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return CLI_EXIT_ERROR;
}
