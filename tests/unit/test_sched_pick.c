//  Unit tests: the dispatcher's choice of executor (a pure rule, table-driven)
#include <criterion/criterion.h>
#include "sched_pick.h"

Test (sched_pick, the_least_loaded_then_the_longest_idle)
{
    struct {
        const char *what;
        sched_pick_t a, b;
        bool b_none, better;
    } cases [] = {
        { "anyone eligible beats no one", { true, 1, 9 }, { 0 }, true, true },
        { "not serving the queue: never", { false, 8, 0 }, { 0 }, true, false },
        { "no free slot: never", { true, 0, 0 }, { 0 }, true, false },
        { "more free slots wins", { true, 3, 9 }, { true, 2, 1 }, false, true },
        { "fewer free slots loses", { true, 1, 1 }, { true, 2, 9 }, false, false },
        { "equal slots: given work longer ago wins", { true, 2, 4 }, { true, 2, 7 }, false, true },
        { "equal slots: given work more lately loses", { true, 2, 7 }, { true, 2, 4 }, false, false },
        { "the same: not better (the first found stays)", { true, 2, 4 }, { true, 2, 4 }, false, false },
        { "an ineligible one never beats an eligible one", { false, 9, 0 }, { true, 1, 9 }, false, false },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases [0]; i++)
        cr_expect_eq (sched_pick_better (&cases [i].a, cases [i].b_none ? NULL : &cases [i].b), cases [i].better,
                      "%s", cases [i].what);
}

//  Spread: repeated picks among equal executors go round all of them
Test (sched_pick, equal_executors_take_turns)
{
    sched_pick_t execs [3] = { { true, 4, 0 }, { true, 4, 0 }, { true, 4, 0 } };
    uint64_t clock = 0;
    int count [3] = { 0 };
    for (int round = 0; round < 6; round++) {
        int best = -1;
        for (int k = 0; k < 3; k++)
            if (sched_pick_better (&execs [k], best < 0 ? NULL : &execs [best]))
                best = k;
        cr_assert_geq (best, 0);
        execs [best].last_pick = ++clock;
        count [best]++;
    }
    for (int k = 0; k < 3; k++)
        cr_expect_eq (count [k], 2, "executor %d got %d of 6", k, count [k]);
}
