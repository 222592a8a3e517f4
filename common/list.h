/* An intrusive doubly linked list, in the style of wl_list. */
#ifndef MXC_COMMON_LIST_H
#define MXC_COMMON_LIST_H

#include <stdbool.h>
#include <stddef.h>

struct mxc_list {
	struct mxc_list *prev, *next;
};

static inline void mxc_list_init(struct mxc_list *l)
{
	l->prev = l->next = l;
}

static inline void mxc_list_insert_tail(struct mxc_list *head, struct mxc_list *e)
{
	e->next = head;
	e->prev = head->prev;
	head->prev->next = e;
	head->prev = e;
}

static inline void mxc_list_remove(struct mxc_list *e)
{
	e->prev->next = e->next;
	e->next->prev = e->prev;
	e->prev = e->next = e;
}

static inline bool mxc_list_empty(const struct mxc_list *l)
{
	return l->next == l;
}

#define mxc_container_of(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

#define mxc_list_for_each(pos, head, member)                                                     \
	for (pos = mxc_container_of((head)->next, __typeof__(*pos), member); &pos->member != (head); \
	     pos = mxc_container_of(pos->member.next, __typeof__(*pos), member))

#define mxc_list_for_each_safe(pos, tmp, head, member)                                           \
	for (pos = mxc_container_of((head)->next, __typeof__(*pos), member),                     \
	    tmp = mxc_container_of(pos->member.next, __typeof__(*pos), member);                  \
	     &pos->member != (head);                                                              \
	     pos = tmp, tmp = mxc_container_of(pos->member.next, __typeof__(*pos), member))

#endif
