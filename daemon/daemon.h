/* daemon.h - daxmirrord's entry point, over a kernel transport: the real
 * /dev/daxmirror (main.c) or a test's fake (test-fake-kernel.c). */
#ifndef DAXMIRRORD_DAEMON_H
#define DAXMIRRORD_DAEMON_H

#include "kernel.h"

/* Parses the options, serves until SIGTERM/SIGINT or the bus is lost;
 * returns the exit status. */
int daemon_main(int argc, char **argv, const KernelOps *kernel_ops);

#endif
