/*
 * cli: the logsift command. Each subcommand is a function returning the process exit status;
 * only main calls exit.
 */
#ifndef CLI_H
#define CLI_H

/* Exit statuses, like grep's. */
#define CLI_EXIT_FINDINGS 0
#define CLI_EXIT_NO_FINDINGS 1
#define CLI_EXIT_ERROR 2

int cli_scan(int argc, char **argv);
int cli_bench(int argc, char **argv);
int cli_rules(int argc, char **argv); /* cli_rules.c: logsift rules check */
/* "logsift verify" and "logsift manifest" (argv[0] says which); cli_verify.c. */
int cli_verify(int argc, char **argv);

#endif
