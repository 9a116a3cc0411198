/* SPDX-License-Identifier: GPL-2.0 */
/*
 * compat.h - every kernel version check of daxmirror.ko, in one place.
 *
 * The module is built and tested against Debian 12's 6.1 and Debian 13's
 * 6.12 (docs/kernel-matrix.md). Where an interface differs between the
 * two, the rest of the module calls a dm_ wrapper defined here, so no
 * other file tests LINUX_VERSION_CODE. Each wrapper is the 6.1 call on
 * 6.1: the 6.1 build is what it was before this header.
 */
#ifndef DAXMIRROR_COMPAT_H
#define DAXMIRROR_COMPAT_H

#include <linux/uaccess.h>
#include <linux/version.h>

/*
 * dm_copy_from_user_nt - copy from user space with non-temporal stores,
 * page faults disabled by the caller; returns the bytes NOT copied. x86's
 * __copy_from_user_inatomic_nocache() is copy_from_user_inatomic_nontemporal()
 * by 6.12.
 */
static inline unsigned long dm_copy_from_user_nt(void *dst,
						 const void __user *src,
						 unsigned int size)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 12, 0)
	return copy_from_user_inatomic_nontemporal(dst, src, size);
#else
	return __copy_from_user_inatomic_nocache(dst, src, size);
#endif
}

#endif /* DAXMIRROR_COMPAT_H */
