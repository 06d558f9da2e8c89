/*  node/fedctl.c: the fednode admin client.

    This release has the commands that need no running node: keygen. The
    control-socket commands (status, events, trust, …) arrive with the
    control server; until then fedctl says so plainly rather than pretend.
    See doc/fedctl.1.
*/
#include "node.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXIT_USAGE 2

static void
s_usage (FILE *out)
{
    fprintf (out,
             "usage: fedctl COMMAND [ARGS]\n"
             "\n"
             "commands:\n"
             "  keygen NAME     write NAME.key (secret, mode 0600) and NAME.pub for an operator\n"
             "\n"
             "options:\n"
             "  -h, --help      this help\n"
             "  -V, --version   print the version\n"
             "\n"
             "See fedctl(1).\n");
}

static int
s_keygen (int argc, char **argv)
{
    if (argc != 3 || argv [2][0] == '-') {
        fprintf (stderr, "usage: fedctl keygen NAME  (writes NAME.key and NAME.pub)\n");
        return EXIT_USAGE;
    }
    fed_err_t err;
    fed_identity_t *identity = fed_identity_keygen (argv [2], &err);
    if (!identity) {
        fprintf (stderr, "fedctl: %s\n", err.text);
        return 1;
    }
    printf ("%s\nwrote %s.key (secret, mode 0600) and %s.pub\n", fed_identity_id (identity),
            argv [2], argv [2]);
    fed_identity_destroy (&identity);
    return 0;
}

int
main (int argc, char **argv)
{
    if (argc < 2) {
        s_usage (stderr);
        return EXIT_USAGE;
    }
    const char *command = argv [1];
    if (!strcmp (command, "-h") || !strcmp (command, "--help")) {
        s_usage (stdout);
        return 0;
    }
    if (!strcmp (command, "-V") || !strcmp (command, "--version")) {
        printf ("fedctl %s\n", fed_node_version ());
        return 0;
    }
    if (!strcmp (command, "keygen"))
        return s_keygen (argc, argv);
    fprintf (stderr, "fedctl: unknown command '%s'; try 'fedctl --help'\n", command);
    return EXIT_USAGE;
}
