//  sched_heap.h - a binary min-heap of schedules keyed by their next fire
//  time, with each item's position kept so it can be moved or removed in
//  O(log n). Pure: no I/O.
#ifndef SCHED_HEAP_H_INCLUDED
#define SCHED_HEAP_H_INCLUDED
#include "norc.h"

typedef struct {
    norc_us_t key;          //  next fire time
    size_t index;           //  position in the heap, maintained by it
    void *item;             //  the caller's object
} sched_heap_node_t;

typedef struct _sched_heap_t sched_heap_t;

sched_heap_t *sched_heap_new (void);
void sched_heap_destroy (sched_heap_t **self_p);
//  Insert a node (not owned; must stay valid while in the heap).
void sched_heap_push (sched_heap_t *self, sched_heap_node_t *node);
//  The node with the smallest key, or NULL.
sched_heap_node_t *sched_heap_top (sched_heap_t *self);
//  Remove and return the top node, or NULL.
sched_heap_node_t *sched_heap_pop (sched_heap_t *self);
//  Remove a node that is in the heap.
void sched_heap_remove (sched_heap_t *self, sched_heap_node_t *node);
//  Change a node's key and restore the order.
void sched_heap_update (sched_heap_t *self, sched_heap_node_t *node, norc_us_t key);
size_t sched_heap_size (sched_heap_t *self);
//  True when the node is in this heap.
bool sched_heap_contains (sched_heap_t *self, sched_heap_node_t *node);

#endif
