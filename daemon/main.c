/* main.c - daxmirrord's main(): the daemon (daemon.c) over the real
 * control node of daxmirror.ko. */
#include "daemon.h"

int main(int argc, char **argv)
{
	return daemon_main(argc, argv, &kernel_ops_device);
}
