/* list.h - the intrusive doubly linked list of daxmirror's userspace:
 * items with `prev` and `next` pointers, a head pointer and, when the
 * list keeps one, a tail pointer. */
#ifndef DXM_LIST_H
#define DXM_LIST_H

#include <stddef.h>

/* Unlink @item from the list whose first item is *@headp and whose last
 * is *@tailp (@tailp NULL: the list keeps no tail). */
#define DXM_LIST_UNLINK(headp, tailp, item)				\
	do {								\
		__typeof__(item) _li = (item);				\
		__typeof__(headp) _lt = (tailp);			\
									\
		if (_li->prev)						\
			_li->prev->next = _li->next;			\
		else							\
			*(headp) = _li->next;				\
		if (_li->next)						\
			_li->next->prev = _li->prev;			\
		else if (_lt)						\
			*_lt = _li->prev;				\
		_li->prev = _li->next = NULL;				\
	} while (0)

#endif
