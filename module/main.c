// SPDX-License-Identifier: GPL-2.0
/*
 * main.c - daxmirror.ko: a simulated device whose device page table
 * mirrors ranges of process address spaces (anonymous memory, page cache
 * and DAX files, with 2 MiB and 1 GiB entries) through HMM. This file
 * registers the control node /dev/daxmirror and the DMA backend's PCI
 * driver.
 */
#include <linux/miscdevice.h>
#include <linux/module.h>

#include "daxmirror.h"

static struct miscdevice dxm_miscdev = {
	.minor	= MISC_DYNAMIC_MINOR,
	.name	= DAXMIRROR_DEVICE_NAME,
	.fops	= &dxm_control_fops,
	.mode	= 0600,
};

static int __init dxm_init(void)
{
	int ret;

	/*
	 * Unbound: its items (strips of revoked sessions, unmap checks)
	 * want no particular CPU. 7.3 warns at a workqueue that says neither
	 * WQ_PERCPU (6.12.y has it by backport, 6.1 not) nor WQ_UNBOUND
	 * (every kernel has it).
	 */
	dxm_wq = alloc_workqueue("daxmirror", WQ_UNBOUND, 0);
	if (!dxm_wq)
		return -ENOMEM;
	dxm_control_init();
	/* The DMA backend's device, if the machine has one (dma.c). */
	ret = dxm_dma_init();
	if (ret) {
		pr_err("daxmirror: cannot register the PCI driver: %d\n", ret);
		destroy_workqueue(dxm_wq);
		return ret;
	}
	ret = misc_register(&dxm_miscdev);
	if (ret) {
		pr_err("daxmirror: cannot register /dev/%s: %d\n",
		       DAXMIRROR_DEVICE_NAME, ret);
		dxm_dma_exit();
		destroy_workqueue(dxm_wq);
		return ret;
	}
	pr_info("daxmirror: ABI %d ready\n", DAXMIRROR_ABI_VERSION);
	return 0;
}

/*
 * Session files pin the module, so no session is open here; a strip
 * queued by a REVOKE that raced with a close may still run: the
 * workqueue's destruction waits for it.
 */
static void __exit dxm_exit(void)
{
	misc_deregister(&dxm_miscdev);
	dxm_dma_exit();
	destroy_workqueue(dxm_wq);
	dxm_control_exit();
	dxm_mm_exit();
}

module_init(dxm_init);
module_exit(dxm_exit);

MODULE_DESCRIPTION("daxmirror: HMM device mirror of process memory and DAX files");
MODULE_AUTHOR("The daxmirror developers");
MODULE_LICENSE("GPL");
MODULE_VERSION("0.1.0");
