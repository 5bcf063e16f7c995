//  Unit tests: the scheduler's timer heap.
#include <criterion/criterion.h>
#include "sched_heap.h"

Test (sched_heap, orders_updates_and_removes)
{
    sched_heap_t *heap = sched_heap_new ();
    enum { N = 500 };
    static sched_heap_node_t nodes [N];
    //  Keys in a scrambled order
    for (int i = 0; i < N; i++) {
        nodes [i].key = (i * 7919) % N;
        nodes [i].index = SIZE_MAX;
        cr_expect (!sched_heap_contains (heap, &nodes [i]));
        sched_heap_push (heap, &nodes [i]);
    }
    cr_expect_eq (sched_heap_size (heap), N);
    cr_expect_eq (sched_heap_top (heap)->key, 0);
    //  Move some, remove some
    sched_heap_update (heap, &nodes [10], -5);
    cr_expect_eq (sched_heap_top (heap), &nodes [10]);
    sched_heap_update (heap, &nodes [10], 10000);
    sched_heap_remove (heap, &nodes [20]);
    cr_expect (!sched_heap_contains (heap, &nodes [20]));
    sched_heap_remove (heap, &nodes [21]);
    norc_us_t last = -1;
    size_t popped = 0;
    sched_heap_node_t *node;
    while ((node = sched_heap_pop (heap))) {
        cr_assert_geq (node->key, last);
        last = node->key;
        popped++;
    }
    cr_expect_eq (popped, N - 2);
    cr_expect_eq (last, 10000);
    cr_expect_null (sched_heap_top (heap));
    sched_heap_destroy (&heap);
    cr_expect_null (heap);
}
