/*
 * signals.c - how train and search stop on Ctrl-C: the first SIGINT or
 * SIGTERM calls the command's handler (which asks the run to stop after
 * its current step); the handler is then the default again, so a second
 * one ends the process.
 */
#include <signal.h>
#include <string.h>

#include "cli.h"

void cli_catch_signals(void (*handler)(int))
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = handler ? handler : SIG_DFL;
    sa.sa_flags = handler ? SA_RESETHAND : 0;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}
