// SPDX-License-Identifier: GPL-2.0
/*
 * util.c - helpers the ioctl handlers of every file share: argument
 * checks and DAXMIRROR_IOC_VERSION (answered on both kinds of fd). The
 * bottom layer: it calls nothing else of the module.
 */
#include <linux/mm.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include "daxmirror.h"

/* Are the @size bytes at @p all zero (reserved words, padding)? */
bool dxm_ioctl_zero(const void *p, size_t size)
{
	return !memchr_inv(p, 0, size);
}

/* Validate a page-aligned user range: non-empty, no overflow, in TASK_SIZE. */
int dxm_check_range(u64 addr, u64 length)
{
	if (!length || !PAGE_ALIGNED(addr) || !PAGE_ALIGNED(length))
		return -EINVAL;
	if (addr + length < addr || addr + length > TASK_SIZE)
		return -EINVAL;
	return 0;
}

long dxm_ioctl_version(void __user *uarg)
{
	struct daxmirror_version a;

	if (copy_from_user(&a, uarg, sizeof(a)))
		return -EFAULT;
	if (a.flags || !dxm_ioctl_zero(a.reserved, sizeof(a.reserved)))
		return -EINVAL;
	a.abi = DAXMIRROR_ABI_VERSION;
	return copy_to_user(uarg, &a, sizeof(a)) ? -EFAULT : 0;
}
