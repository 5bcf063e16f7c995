//  sched_heap.c - binary min-heap with positions.
#include "sched_heap.h"
#include "norc_mem.h"

struct _sched_heap_t {
    sched_heap_node_t **nodes;
    size_t count, alloc;
};

sched_heap_t *
sched_heap_new (void)
{
    sched_heap_t *self = (sched_heap_t *) norc_calloc (1, sizeof (sched_heap_t));
    self->alloc = 64;
    self->nodes = (sched_heap_node_t **) norc_calloc (self->alloc, sizeof (sched_heap_node_t *));
    return self;
}

void
sched_heap_destroy (sched_heap_t **self_p)
{
    if (self_p && *self_p) {
        free ((*self_p)->nodes);
        free (*self_p);
        *self_p = NULL;
    }
}

static void
s_place (sched_heap_t *self, size_t index, sched_heap_node_t *node)
{
    self->nodes [index] = node;
    node->index = index;
}

static void
s_up (sched_heap_t *self, size_t index)
{
    sched_heap_node_t *node = self->nodes [index];
    while (index > 0) {
        size_t parent = (index - 1) / 2;
        if (self->nodes [parent]->key <= node->key)
            break;
        s_place (self, index, self->nodes [parent]);
        index = parent;
    }
    s_place (self, index, node);
}

static void
s_down (sched_heap_t *self, size_t index)
{
    sched_heap_node_t *node = self->nodes [index];
    while (true) {
        size_t child = index * 2 + 1;
        if (child >= self->count)
            break;
        if (child + 1 < self->count && self->nodes [child + 1]->key < self->nodes [child]->key)
            child++;
        if (node->key <= self->nodes [child]->key)
            break;
        s_place (self, index, self->nodes [child]);
        index = child;
    }
    s_place (self, index, node);
}

void
sched_heap_push (sched_heap_t *self, sched_heap_node_t *node)
{
    if (self->count == self->alloc) {
        self->alloc *= 2;
        self->nodes = (sched_heap_node_t **) norc_realloc (self->nodes, self->alloc * sizeof (sched_heap_node_t *));
    }
    s_place (self, self->count++, node);
    s_up (self, node->index);
}

sched_heap_node_t *
sched_heap_top (sched_heap_t *self)
{
    return self->count ? self->nodes [0] : NULL;
}

void
sched_heap_remove (sched_heap_t *self, sched_heap_node_t *node)
{
    assert (sched_heap_contains (self, node));
    size_t index = node->index;
    sched_heap_node_t *last = self->nodes [--self->count];
    node->index = SIZE_MAX;
    if (last == node)
        return;
    s_place (self, index, last);
    s_down (self, index);
    s_up (self, last->index);
}

sched_heap_node_t *
sched_heap_pop (sched_heap_t *self)
{
    sched_heap_node_t *top = sched_heap_top (self);
    if (top)
        sched_heap_remove (self, top);
    return top;
}

void
sched_heap_update (sched_heap_t *self, sched_heap_node_t *node, norc_us_t key)
{
    assert (sched_heap_contains (self, node));
    node->key = key;
    s_down (self, node->index);
    s_up (self, node->index);
}

size_t
sched_heap_size (sched_heap_t *self)
{
    return self->count;
}

bool
sched_heap_contains (sched_heap_t *self, sched_heap_node_t *node)
{
    return node->index < self->count && self->nodes [node->index] == node;
}
