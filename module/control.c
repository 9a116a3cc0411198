// SPDX-License-Identifier: GPL-2.0
/*
 * control.c - the control node /dev/daxmirror: the broker's capability.
 * Creates sessions and hands out their fds, grants file ranges, lists,
 * inspects and revokes sessions, and reports session events to every open
 * control file.
 */
#include <linux/anon_inodes.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "daxmirror.h"

static unsigned int default_max_mirrors = 64;
module_param(default_max_mirrors, uint, 0444);
MODULE_PARM_DESC(default_max_mirrors,
		 "Mirrors per session when the broker asks for 0 (default 64)");

static unsigned long default_max_pages = 1UL << 20;
module_param(default_max_pages, ulong, 0444);
MODULE_PARM_DESC(default_max_pages,
		 "Mirrored 4 KiB pages per session when the broker asks for 0 (default 4 GiB worth)");

/* The control files' session events (events.c); one cursor per open. */
void dxm_control_init(void)
{
	dxm_ring_init(&dxm_control_events);
}

void dxm_control_exit(void)
{
	dxm_sessions_exit();
	/* Grant tables freed by call_rcu() run this module's callback. */
	rcu_barrier();
}

static long dxm_ctl_create(void __user *uarg)
{
	struct daxmirror_session_create a;
	struct dxm_session *s;
	struct file *file;
	int fd, ret;

	if (copy_from_user(&a, uarg, sizeof(a)))
		return -EFAULT;
	if ((a.flags & ~DAXMIRROR_SESSION_FLAGS) || a.pad ||
	    !dxm_ioctl_zero(a.reserved, sizeof(a.reserved)))
		return -EINVAL;
	if (a.max_mirrors > DAXMIRROR_MAX_MIRRORS_LIMIT)
		return -EINVAL;
	if (!a.max_mirrors)
		a.max_mirrors = min_t(unsigned int, default_max_mirrors,
				      DAXMIRROR_MAX_MIRRORS_LIMIT);
	if (!a.max_pages)
		a.max_pages = default_max_pages;
	if (a.max_pages > TASK_SIZE >> PAGE_SHIFT)
		return -EINVAL;

	s = dxm_session_alloc(a.flags, a.max_mirrors, a.max_pages);
	if (!s)
		return -ENOMEM;
	ret = dxm_dma_session_init(s);
	if (ret) {
		dxm_session_put(s);
		return ret;
	}

	fd = get_unused_fd_flags(O_CLOEXEC);
	if (fd < 0) {
		dxm_session_put(s);
		return fd;
	}
	/* From here on the file owns @s: fput() releases it. */
	file = anon_inode_getfile("[daxmirror-session]", &dxm_session_fops, s,
				  O_RDWR | O_CLOEXEC);
	if (IS_ERR(file)) {
		put_unused_fd(fd);
		dxm_session_put(s);
		return PTR_ERR(file);
	}

	/*
	 * Listed first: the caller learns the fd number only once nothing
	 * can fail any more but its own buffer (then the file, listed or
	 * not, is released as if closed).
	 */
	ret = dxm_session_publish(s);
	a.session_id = s->id;
	a.fd = fd;
	if (!ret && copy_to_user(uarg, &a, sizeof(a)))
		ret = -EFAULT;
	if (ret) {
		put_unused_fd(fd);
		fput(file);
		return ret;
	}
	fd_install(fd, file);
	return 0;
}

static long dxm_ctl_grant(void __user *uarg)
{
	struct daxmirror_grant a;
	struct dxm_session *s;
	struct file *file;
	struct kstat st;
	fmode_t need = FMODE_READ;
	long ret;

	if (copy_from_user(&a, uarg, sizeof(a)))
		return -EFAULT;
	if ((a.flags & ~DAXMIRROR_GRANT_WRITE) ||
	    !dxm_ioctl_zero(a.reserved, sizeof(a.reserved)))
		return -EINVAL;
	if (!a.length || !PAGE_ALIGNED(a.offset) || !PAGE_ALIGNED(a.length) ||
	    a.offset + a.length < a.offset ||
	    a.offset + a.length > MAX_LFS_FILESIZE)
		return -EINVAL;
	if (a.flags & DAXMIRROR_GRANT_WRITE)
		need |= FMODE_WRITE;

	file = fget(a.fd);	/* refuses O_PATH files */
	if (!file)
		return -EBADF;
	if (!S_ISREG(file_inode(file)->i_mode)) {
		ret = -EINVAL;
		goto out_fput;
	}
	if ((file->f_mode & need) != need) {
		ret = -EBADF;
		goto out_fput;
	}
	/* What stat(2) says of it: UNGRANT names the grant by that. */
	ret = vfs_getattr(&file->f_path, &st, STATX_INO, AT_STATX_SYNC_AS_STAT);
	if (ret)
		goto out_fput;
	s = dxm_session_lookup(a.session_id);
	if (!s) {
		ret = -ENOENT;
		goto out_fput;
	}
	ret = dxm_session_grant(s, file, a.offset, a.length, a.flags,
				new_encode_dev(st.dev), st.ino);
	dxm_session_put(s);
out_fput:
	fput(file);
	return ret;
}

static long dxm_ctl_ungrant(void __user *uarg)
{
	struct daxmirror_ungrant a;
	struct dxm_session *s;
	long ret;

	if (copy_from_user(&a, uarg, sizeof(a)))
		return -EFAULT;
	if ((a.flags & ~DAXMIRROR_GRANT_WRITE) || a.pad ||
	    !dxm_ioctl_zero(a.reserved, sizeof(a.reserved)))
		return -EINVAL;
	/* What a grant can be: anything else matches none. */
	if (!a.length || !PAGE_ALIGNED(a.offset) || !PAGE_ALIGNED(a.length) ||
	    a.offset + a.length < a.offset || a.dev > U32_MAX)
		return -EINVAL;
	s = dxm_session_lookup(a.session_id);
	if (!s)
		return -ENOENT;
	ret = dxm_session_ungrant(s, (u32)a.dev, a.ino, a.offset, a.length,
				  a.flags);
	dxm_session_put(s);
	return ret;
}

static long dxm_ctl_list(void __user *uarg)
{
	struct daxmirror_session_list a;
	long ret;

	if (copy_from_user(&a, uarg, sizeof(a)))
		return -EFAULT;
	if (a.flags || a.pad || !dxm_ioctl_zero(a.reserved, sizeof(a.reserved)))
		return -EINVAL;
	ret = dxm_sessions_ids(u64_to_user_ptr(a.ids), a.capacity, &a.count);
	if (ret)
		return ret;
	return copy_to_user(uarg, &a, sizeof(a)) ? -EFAULT : 0;
}

static long dxm_ctl_revoke(void __user *uarg)
{
	struct daxmirror_revoke a;
	struct dxm_session *s;
	long ret;

	if (copy_from_user(&a, uarg, sizeof(a)))
		return -EFAULT;
	if (a.flags || a.pad || !dxm_ioctl_zero(a.reserved, sizeof(a.reserved)))
		return -EINVAL;
	s = dxm_session_lookup(a.session_id);
	if (!s)
		return -ENOENT;
	ret = dxm_session_revoke(s);
	dxm_session_put(s);
	return ret;
}

/* SESSION_INFO on the control node: of the session it names. */
static long dxm_ctl_session_info(void __user *uarg)
{
	struct daxmirror_session_info info;
	struct dxm_session *s;
	long ret;

	if (copy_from_user(&info, uarg, sizeof(info)))
		return -EFAULT;
	if ((info.flags & ~DAXMIRROR_INFO_ACK_CHANGE) ||
	    !dxm_ioctl_zero(info.reserved, sizeof(info.reserved)))
		return -EINVAL;
	s = dxm_session_lookup(info.session_id);
	if (!s)
		return -ENOENT;
	if (info.flags & DAXMIRROR_INFO_ACK_CHANGE) {
		/*
		 * Re-arm before reading: a change after this point posts a
		 * new event; one before it is in what we read.
		 */
		clear_bit(DXM_CTL_CHANGE_POSTED, &s->ctl_bits);
		/* Pairs with test_and_set_bit() in dxm_session_changed(). */
		smp_mb__after_atomic();
	}
	ret = dxm_session_info(s, uarg);
	dxm_session_put(s);
	return ret;
}

/* MIRROR_LIST on the control node: of the session it names. */
static long dxm_ctl_mirror_list(void __user *uarg)
{
	struct daxmirror_mirror_list list;
	struct dxm_session *s;
	long ret;

	if (copy_from_user(&list, uarg, sizeof(list)))
		return -EFAULT;
	if (list.flags || list.pad ||
	    !dxm_ioctl_zero(list.reserved, sizeof(list.reserved)))
		return -EINVAL;
	s = dxm_session_lookup(list.session_id);
	if (!s)
		return -ENOENT;
	ret = dxm_mirror_list(s, uarg, &list);
	dxm_session_put(s);
	return ret;
}

static long dxm_control_ioctl(struct file *file, unsigned int cmd,
			      unsigned long arg)
{
	void __user *uarg = (void __user *)arg;

	switch (cmd) {
	case DAXMIRROR_IOC_VERSION:
		return dxm_ioctl_version(uarg);
	case DAXMIRROR_CTL_CREATE_SESSION:
		return dxm_ctl_create(uarg);
	case DAXMIRROR_CTL_GRANT_FILE:
		return dxm_ctl_grant(uarg);
	case DAXMIRROR_CTL_UNGRANT:
		return dxm_ctl_ungrant(uarg);
	case DAXMIRROR_CTL_LIST_SESSIONS:
		return dxm_ctl_list(uarg);
	case DAXMIRROR_CTL_REVOKE:
		return dxm_ctl_revoke(uarg);
	case DAXMIRROR_IOC_SESSION_INFO:
		return dxm_ctl_session_info(uarg);
	case DAXMIRROR_IOC_MIRROR_LIST:
		return dxm_ctl_mirror_list(uarg);
	}
	return -ENOTTY;
}

/* An open control file: its read position in dxm_control_events. */
struct dxm_control {
	u64 cursor;
};

static int dxm_control_open(struct inode *inode, struct file *file)
{
	struct dxm_control *c = kzalloc(sizeof(*c), GFP_KERNEL);

	if (!c)
		return -ENOMEM;
	/* Only events posted from now on. */
	c->cursor = dxm_ring_head(&dxm_control_events);
	file->private_data = c;
	return nonseekable_open(inode, file);
}

static int dxm_control_release(struct inode *inode, struct file *file)
{
	kfree(file->private_data);
	return 0;
}

static ssize_t dxm_control_read(struct file *file, char __user *buf,
				size_t count, loff_t *ppos)
{
	struct dxm_control *c = file->private_data;

	return dxm_ring_read(&dxm_control_events, &c->cursor, buf, count,
			     file->f_flags & O_NONBLOCK);
}

static __poll_t dxm_control_poll(struct file *file, poll_table *wait)
{
	struct dxm_control *c = file->private_data;

	return dxm_ring_poll(&dxm_control_events, &c->cursor, file, wait);
}

const struct file_operations dxm_control_fops = {
	.owner		= THIS_MODULE,
	.open		= dxm_control_open,
	.release	= dxm_control_release,
	.unlocked_ioctl	= dxm_control_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.read		= dxm_control_read,
	.poll		= dxm_control_poll,
	/* No .llseek: the control node is not seekable (-ESPIPE). */
};
