// SPDX-License-Identifier: GPL-2.0
/*
 * session.c - the session: an anon-inode file handed to one client, its
 * life cycle (create, bind, revoke, release), its file grants and its
 * ioctl dispatch.
 */
#include <linux/anon_inodes.h>
#include <linux/cred.h>
#include <linux/file.h>
#include <linux/mm.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include "daxmirror.h"

bool dm_ioctl_zero(const void *p, size_t size)
{
	return !memchr_inv(p, 0, size);
}

/* Validate a page-aligned user range: non-empty, no overflow, in TASK_SIZE. */
int dm_check_range(u64 addr, u64 length)
{
	if (!length || !PAGE_ALIGNED(addr) || !PAGE_ALIGNED(length))
		return -EINVAL;
	if (addr + length < addr || addr + length > TASK_SIZE)
		return -EINVAL;
	return 0;
}

struct dm_session *dm_session_alloc(u32 flags, u32 max_mirrors,
				    u64 max_pages)
{
	struct dm_session *s = kzalloc(sizeof(*s), GFP_KERNEL);

	if (!s)
		return NULL;
	kref_init(&s->kref);
	s->flags = flags;
	s->max_mirrors = max_mirrors;
	s->max_pages = max_pages;
	mutex_init(&s->lock);
	INIT_LIST_HEAD(&s->mirrors);
	dm_pt_init(&s->pt);
	dm_ring_init(&s->events);
	s->ev_cursor = 1;
	s->next_mirror_id = 1;	/* 0 means "no mirror" in events */
	return s;
}

static void dm_session_free(struct kref *kref)
{
	struct dm_session *s = container_of(kref, struct dm_session, kref);

	WARN_ON_ONCE(!list_empty(&s->mirrors));
	dm_pt_destroy(&s->pt);
	if (s->mm)
		mmdrop(s->mm);
	put_pid(s->pid);
	kvfree(s->bounce);
	mutex_destroy(&s->lock);
	kfree(s);
}

void dm_session_get(struct dm_session *s)
{
	kref_get(&s->kref);
}

void dm_session_put(struct dm_session *s)
{
	kref_put(&s->kref, dm_session_free);
}

/* Drop every mirror and grant. Caller holds s->lock. */
static void dm_session_strip(struct dm_session *s)
{
	struct dm_mirror *m, *tmp;
	u32 i;

	list_for_each_entry_safe(m, tmp, &s->mirrors, node)
		dm_mirror_destroy(s, m);
	for (i = 0; i < s->nr_grants; i++) {
		fput(s->grants[i].file);
		s->grants[i].file = NULL;
	}
	s->nr_grants = 0;
}

int dm_session_grant(struct dm_session *s, struct file *file, u64 offset,
		     u64 length, u32 flags)
{
	struct dm_grant *g;
	int ret = 0;

	mutex_lock(&s->lock);
	if (s->closed) {
		ret = -ENOENT;
	} else if (s->revoked) {
		ret = -ENODEV;
	} else if ((flags & DAXMIRROR_GRANT_WRITE) &&
		   !(s->flags & DAXMIRROR_SESSION_ALLOW_WRITE)) {
		ret = -EPERM;
	} else if (!IS_DAX(file_inode(file)) &&
		   !(s->flags & DAXMIRROR_SESSION_ALLOW_PAGECACHE)) {
		ret = -EPERM;
	} else if (s->nr_grants >= DAXMIRROR_MAX_GRANTS) {
		ret = -ENOSPC;
	} else {
		g = &s->grants[s->nr_grants++];
		g->file = get_file(file);
		g->offset = offset;
		g->length = length;
		g->flags = flags;
	}
	mutex_unlock(&s->lock);
	return ret;
}

int dm_session_revoke(struct dm_session *s)
{
	mutex_lock(&s->lock);
	if (s->closed || s->revoked) {
		mutex_unlock(&s->lock);
		return s->closed ? -ENOENT : -EALREADY;
	}
	s->revoked = true;
	dm_session_strip(s);
	mutex_unlock(&s->lock);

	dm_ring_post(&s->events, DAXMIRROR_EVENT_REVOKED, s->id, 0);
	dm_ring_hangup(&s->events, true);
	dm_ring_post(&dm_control_events, DAXMIRROR_EVENT_REVOKED, s->id, 0);
	return 0;
}

static u32 dm_session_state(struct dm_session *s)
{
	bool gone;

	if (s->revoked)
		return DAXMIRROR_STATE_REVOKED;
	if (!s->mm)
		return DAXMIRROR_STATE_NEW;
	spin_lock(&s->pt.lock);
	gone = s->mm_gone;
	spin_unlock(&s->pt.lock);
	return gone ? DAXMIRROR_STATE_MM_GONE : DAXMIRROR_STATE_BOUND;
}

/* Fill @st with the session's counters. Caller holds s->lock. */
static void dm_session_stats(struct dm_session *s, struct daxmirror_stats *st)
{
	struct dm_mirror *m;
	int i;

	*st = s->ops;
	spin_lock(&s->pt.lock);
	st->invalidations = s->inv.invalidations;
	st->pages_invalidated = s->inv.pages_invalidated;
	list_for_each_entry(m, &s->mirrors, node)
		for (i = 0; i < DAXMIRROR_NR_ORDERS; i++)
			st->entries[i] += m->entries[i];
	spin_unlock(&s->pt.lock);
}

/* Count the live (not released) mirrors and their pages. Holds s->lock. */
static void dm_session_live(struct dm_session *s, u32 *nr, u64 *pages)
{
	struct dm_mirror *m;

	*nr = 0;
	*pages = 0;
	spin_lock(&s->pt.lock);
	list_for_each_entry(m, &s->mirrors, node) {
		if (m->released)
			continue;
		(*nr)++;
		*pages += (m->end - m->start) >> PAGE_SHIFT;
	}
	spin_unlock(&s->pt.lock);
}

/* SESSION_INFO for @s; uarg's session_id was validated by the caller. */
long dm_session_info(struct dm_session *s, void __user *uarg)
{
	struct daxmirror_session_info a;

	memset(&a, 0, sizeof(a));
	mutex_lock(&s->lock);
	a.session_id = s->id;
	a.session_flags = s->flags;
	a.state = dm_session_state(s);
	a.pid = s->pid ? pid_vnr(s->pid) : 0;
	a.uid = s->mm ? from_kuid_munged(current_user_ns(), s->uid) : 0;
	a.max_mirrors = s->max_mirrors;
	dm_session_live(s, &a.nr_mirrors, &a.mirrored_pages);
	a.max_pages = s->max_pages;
	a.nr_grants = s->nr_grants;
	dm_session_stats(s, &a.stats);
	mutex_unlock(&s->lock);

	return copy_to_user(uarg, &a, sizeof(a)) ? -EFAULT : 0;
}

static void dm_mirror_info(struct dm_session *s, struct dm_mirror *m,
			   struct daxmirror_mirror_info *mi)
{
	memset(mi, 0, sizeof(*mi));
	mi->id = m->id;
	mi->start = m->start;
	mi->length = m->end - m->start;
	mi->flags = m->flags;
	mi->backing = m->backing;
	mi->dev = m->dev;
	mi->ino = m->ino;
	mi->file_offset = m->file_offset;
	spin_lock(&s->pt.lock);
	mi->state = m->released ? DAXMIRROR_MIRROR_RELEASED :
				  DAXMIRROR_MIRROR_LIVE;
	memcpy(mi->entries, m->entries, sizeof(mi->entries));
	spin_unlock(&s->pt.lock);
}

/* MIRROR_LIST for @s; the header was validated by the caller. */
long dm_mirror_list(struct dm_session *s, void __user *uarg)
{
	struct daxmirror_mirror_list a;
	struct daxmirror_mirror_info mi;
	struct daxmirror_mirror_info __user *out;
	struct dm_mirror *m;
	u32 n = 0;
	long ret = 0;

	if (copy_from_user(&a, uarg, sizeof(a)))
		return -EFAULT;
	out = u64_to_user_ptr(a.mirrors);

	mutex_lock(&s->lock);
	list_for_each_entry(m, &s->mirrors, node) {
		if (n < a.capacity) {
			dm_mirror_info(s, m, &mi);
			if (copy_to_user(&out[n], &mi, sizeof(mi))) {
				ret = -EFAULT;
				break;
			}
		}
		n++;
	}
	mutex_unlock(&s->lock);
	if (ret)
		return ret;
	a.count = n;
	return copy_to_user(uarg, &a, sizeof(a)) ? -EFAULT : 0;
}

static long dm_ioctl_bind(struct dm_session *s, unsigned long arg)
{
	if (arg)
		return -EINVAL;
	if (!current->mm)
		return -EINVAL;
	if (s->mm)
		return s->mm == current->mm ? -EALREADY : -EBUSY;
	s->bounce = kvmalloc(DM_BOUNCE_SIZE, GFP_KERNEL);
	if (!s->bounce)
		return -ENOMEM;
	mmgrab(current->mm);
	s->mm = current->mm;
	s->pid = get_task_pid(current, PIDTYPE_TGID);
	s->uid = current_uid();
	return 0;
}

/* May the caller use the bound mm? Caller holds s->lock. */
static long dm_session_usable(struct dm_session *s)
{
	if (!s->mm)
		return -ENOTCONN;
	/* Set once by the invalidation (WRITE_ONCE under the pt lock). */
	if (READ_ONCE(s->mm_gone))
		return -ESRCH;
	if (s->mm != current->mm)
		return -EBUSY;
	return 0;
}

static long dm_ioctl_mirror_add(struct dm_session *s, void __user *uarg)
{
	struct daxmirror_mirror_add a;
	long ret;

	if (copy_from_user(&a, uarg, sizeof(a)))
		return -EFAULT;
	if ((a.flags & ~DAXMIRROR_MIRROR_WRITE) || a.pad ||
	    !dm_ioctl_zero(a.reserved, sizeof(a.reserved)))
		return -EINVAL;
	ret = dm_check_range(a.addr, a.length);
	if (ret)
		return ret;
	ret = dm_mirror_add(s, a.addr, a.addr + a.length, a.flags, &a.id);
	if (ret)
		return ret;
	if (copy_to_user(uarg, &a, sizeof(a))) {
		dm_mirror_remove(s, a.id);
		return -EFAULT;
	}
	return 0;
}

static long dm_ioctl_mirror_remove(struct dm_session *s, void __user *uarg)
{
	struct daxmirror_mirror_remove a;

	if (copy_from_user(&a, uarg, sizeof(a)))
		return -EFAULT;
	if (a.flags || a.pad || !dm_ioctl_zero(a.reserved, sizeof(a.reserved)))
		return -EINVAL;
	return dm_mirror_remove(s, a.id);
}

static long dm_ioctl_fault(struct dm_session *s, void __user *uarg)
{
	struct daxmirror_fault a;
	struct dm_mirror *m;
	bool write, covered;
	long ret;

	if (copy_from_user(&a, uarg, sizeof(a)))
		return -EFAULT;
	if ((a.flags & ~DAXMIRROR_FAULT_WRITE) || a.pad ||
	    !dm_ioctl_zero(a.reserved, sizeof(a.reserved)))
		return -EINVAL;
	ret = dm_check_range(a.addr, a.length);
	if (ret)
		return ret;
	m = dm_mirror_find(s, a.addr);
	if (!m || a.addr + a.length > m->end)
		return -ENOENT;
	write = a.flags & DAXMIRROR_FAULT_WRITE;
	if (write && !(m->flags & DAXMIRROR_MIRROR_WRITE))
		return -EPERM;
	s->ops.fault_calls++;
	/*
	 * Entries are dropped as soon as the CPU side changes, so a range
	 * they already cover has nothing to fault: answer from the device
	 * table (one lookup per entry) instead of walking the CPU tables.
	 */
	spin_lock(&s->pt.lock);
	covered = dm_pt_covered(&s->pt, m, a.addr >> PAGE_SHIFT,
				((a.addr + a.length) >> PAGE_SHIFT) - 1, write);
	spin_unlock(&s->pt.lock);
	if (covered)
		return 0;
	return dm_mirror_fault(s, m, a.addr, a.addr + a.length, write);
}

/* Validate the session_id of a SESSION_INFO/MIRROR_LIST on a session fd. */
static long dm_check_own_id(struct dm_session *s, void __user *uarg,
			    unsigned int cmd)
{
	struct daxmirror_session_info info;
	struct daxmirror_mirror_list list;

	if (cmd == DAXMIRROR_IOC_SESSION_INFO) {
		if (copy_from_user(&info, uarg, sizeof(info)))
			return -EFAULT;
		if ((info.session_id && info.session_id != s->id) ||
		    info.flags ||
		    !dm_ioctl_zero(info.reserved, sizeof(info.reserved)))
			return -EINVAL;
		return 0;
	}
	if (copy_from_user(&list, uarg, sizeof(list)))
		return -EFAULT;
	if ((list.session_id && list.session_id != s->id) || list.flags ||
	    list.pad || !dm_ioctl_zero(list.reserved, sizeof(list.reserved)))
		return -EINVAL;
	return 0;
}

/* Session ioctls that use the bound mm; called with s->lock held. */
static long dm_session_mm_ioctl(struct dm_session *s, unsigned int cmd,
				void __user *uarg)
{
	long ret = dm_session_usable(s);

	if (ret)
		return ret;
	switch (cmd) {
	case DAXMIRROR_IOC_MIRROR_ADD:
		return dm_ioctl_mirror_add(s, uarg);
	case DAXMIRROR_IOC_MIRROR_REMOVE:
		return dm_ioctl_mirror_remove(s, uarg);
	case DAXMIRROR_IOC_FAULT:
		return dm_ioctl_fault(s, uarg);
	case DAXMIRROR_IOC_SNAPSHOT:
		return dm_ioctl_snapshot(s, uarg);
	case DAXMIRROR_IOC_READ:
		return dm_ioctl_rw(s, uarg, false);
	case DAXMIRROR_IOC_WRITE:
		return dm_ioctl_rw(s, uarg, true);
	}
	return -ENOTTY;
}

static long dm_session_ioctl(struct file *file, unsigned int cmd,
			     unsigned long arg)
{
	struct dm_session *s = file->private_data;
	void __user *uarg = (void __user *)arg;
	long ret;

	switch (cmd) {
	case DAXMIRROR_IOC_VERSION:
	case DAXMIRROR_IOC_SESSION_INFO:
	case DAXMIRROR_IOC_MIRROR_LIST:
	case DAXMIRROR_IOC_BIND:
	case DAXMIRROR_IOC_MIRROR_ADD:
	case DAXMIRROR_IOC_MIRROR_REMOVE:
	case DAXMIRROR_IOC_FAULT:
	case DAXMIRROR_IOC_SNAPSHOT:
	case DAXMIRROR_IOC_READ:
	case DAXMIRROR_IOC_WRITE:
		break;
	default:
		return -ENOTTY;
	}

	mutex_lock(&s->lock);
	if (s->revoked) {
		ret = -ENODEV;
		goto out;
	}
	switch (cmd) {
	case DAXMIRROR_IOC_VERSION:
		ret = dm_ioctl_version(uarg);
		break;
	case DAXMIRROR_IOC_SESSION_INFO:
	case DAXMIRROR_IOC_MIRROR_LIST:
		ret = dm_check_own_id(s, uarg, cmd);
		if (ret)
			break;
		mutex_unlock(&s->lock);
		if (cmd == DAXMIRROR_IOC_SESSION_INFO)
			return dm_session_info(s, uarg);
		return dm_mirror_list(s, uarg);
	case DAXMIRROR_IOC_BIND:
		ret = dm_ioctl_bind(s, arg);
		break;
	default:
		ret = dm_session_mm_ioctl(s, cmd, uarg);
		break;
	}
out:
	mutex_unlock(&s->lock);
	return ret;
}

static ssize_t dm_session_read(struct file *file, char __user *buf,
			       size_t count, loff_t *ppos)
{
	struct dm_session *s = file->private_data;

	return dm_ring_read(&s->events, &s->ev_cursor, buf, count,
			    file->f_flags & O_NONBLOCK);
}

static __poll_t dm_session_poll(struct file *file, poll_table *wait)
{
	struct dm_session *s = file->private_data;

	return dm_ring_poll(&s->events, &s->ev_cursor, file, wait);
}

static int dm_session_release(struct inode *inode, struct file *file)
{
	struct dm_session *s = file->private_data;

	dm_sessions_unlist(s);
	mutex_lock(&s->lock);
	s->closed = true;	/* control calls that looked it up fail now */
	dm_session_strip(s);
	mutex_unlock(&s->lock);
	if (s->listed)
		dm_ring_post(&dm_control_events,
			     DAXMIRROR_EVENT_SESSION_CLOSED, s->id, 0);
	dm_session_put(s);
	return 0;
}

const struct file_operations dm_session_fops = {
	.owner		= THIS_MODULE,
	.release	= dm_session_release,
	.unlocked_ioctl	= dm_session_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.read		= dm_session_read,
	.poll		= dm_session_poll,
	.llseek		= noop_llseek,
};
