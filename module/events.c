// SPDX-License-Identifier: GPL-2.0
/*
 * events.c - bounded event queues read through read() and poll().
 *
 * A ring keeps the last DXM_EVENT_RING_SIZE events. Every reader owns a
 * cursor (the sequence number of the next event it wants); a reader whose
 * cursor fell out of the ring first gets one DAXMIRROR_EVENT_OVERFLOW. The
 * session file has one cursor, every open control file its own, so every
 * broker connection sees every session event. dxm_control_events is the
 * control node's ring, which every session posts to.
 */
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "daxmirror.h"

/* Records copied to the user per read() call, at most. */
#define DXM_READ_BATCH	16

/* Session events for the control files; each open control file has a cursor. */
struct dxm_event_ring dxm_control_events;

void dxm_ring_init(struct dxm_event_ring *ring)
{
	spin_lock_init(&ring->lock);
	init_waitqueue_head(&ring->wait);
	ring->head = 1;
	ring->dead = false;
	ring->hup = false;
}

/* Post an event; callable from any context that may take a spinlock. */
void dxm_ring_post(struct dxm_event_ring *ring, u32 type, u64 session_id,
		   u64 mirror_id)
{
	struct daxmirror_event *ev;

	spin_lock(&ring->lock);
	ev = &ring->ev[ring->head % DXM_EVENT_RING_SIZE];
	ev->type = type;
	ev->flags = 0;
	ev->session_id = session_id;
	ev->mirror_id = mirror_id;
	ev->seq = ring->head++;
	spin_unlock(&ring->lock);
	wake_up_interruptible_poll(&ring->wait, EPOLLIN | EPOLLRDNORM);
}

/* Report EPOLLHUP from now on; with @dead, empty reads fail with ENODEV. */
void dxm_ring_hangup(struct dxm_event_ring *ring, bool dead)
{
	spin_lock(&ring->lock);
	ring->hup = true;
	if (dead)
		ring->dead = true;
	spin_unlock(&ring->lock);
	wake_up_interruptible_poll(&ring->wait, EPOLLHUP | EPOLLIN);
}

u64 dxm_ring_head(struct dxm_event_ring *ring)
{
	u64 head;

	spin_lock(&ring->lock);
	head = ring->head;
	spin_unlock(&ring->lock);
	return head;
}

/* Caller holds ring->lock. */
static bool dxm_ring_pending(struct dxm_event_ring *ring, u64 cursor)
{
	lockdep_assert_held(&ring->lock);
	return cursor < ring->head;
}

/*
 * Take up to @max events from the ring into @out, advancing @cursor.
 * Caller holds ring->lock.
 */
static size_t dxm_ring_take(struct dxm_event_ring *ring, u64 *cursor,
			    struct daxmirror_event *out, size_t max)
{
	u64 oldest = ring->head > DXM_EVENT_RING_SIZE ?
		     ring->head - DXM_EVENT_RING_SIZE : 1;
	size_t n = 0;

	lockdep_assert_held(&ring->lock);
	if (*cursor < oldest && max) {
		memset(&out[n], 0, sizeof(out[n]));
		out[n].type = DAXMIRROR_EVENT_OVERFLOW;
		out[n].seq = oldest - 1;
		n++;
		*cursor = oldest;
	}
	while (n < max && *cursor < ring->head) {
		out[n++] = ring->ev[*cursor % DXM_EVENT_RING_SIZE];
		(*cursor)++;
	}
	return n;
}

ssize_t dxm_ring_read(struct dxm_event_ring *ring, u64 *cursor,
		      char __user *buf, size_t count, bool nonblock)
{
	struct daxmirror_event *out;
	size_t max = count / sizeof(*out);
	u64 from, to;
	size_t n;
	int ret;

	if (!max)
		return -EINVAL;
	if (max > DXM_READ_BATCH)
		max = DXM_READ_BATCH;
	out = kmalloc_array(max, sizeof(*out), GFP_KERNEL);
	if (!out)
		return -ENOMEM;

	spin_lock(&ring->lock);
	while (!dxm_ring_pending(ring, *cursor)) {
		if (ring->dead) {
			ret = -ENODEV;
			goto out_unlock;
		}
		if (nonblock) {
			ret = -EAGAIN;
			goto out_unlock;
		}
		spin_unlock(&ring->lock);
		ret = wait_event_interruptible(ring->wait,
					       READ_ONCE(ring->head) > READ_ONCE(*cursor) ||
					       READ_ONCE(ring->dead));
		if (ret)
			goto out_free;
		spin_lock(&ring->lock);
	}
	from = *cursor;
	n = dxm_ring_take(ring, cursor, out, max);
	to = *cursor;
	spin_unlock(&ring->lock);

	if (copy_to_user(buf, out, n * sizeof(*out))) {
		/* Not delivered: the next read gets them again. */
		spin_lock(&ring->lock);
		if (*cursor == to)
			*cursor = from;
		spin_unlock(&ring->lock);
		ret = -EFAULT;
	} else {
		ret = n * sizeof(*out);
	}
	goto out_free;

out_unlock:
	spin_unlock(&ring->lock);
out_free:
	kfree(out);
	return ret;
}

__poll_t dxm_ring_poll(struct dxm_event_ring *ring, u64 *cursor,
		       struct file *file, poll_table *wait)
{
	__poll_t mask = 0;

	poll_wait(file, &ring->wait, wait);
	spin_lock(&ring->lock);
	if (dxm_ring_pending(ring, *cursor))
		mask |= EPOLLIN | EPOLLRDNORM;
	if (ring->hup)
		mask |= EPOLLHUP;
	spin_unlock(&ring->lock);
	return mask;
}
