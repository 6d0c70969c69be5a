/*
 * test_shard.c - one shard's rows (shard.c): a batch cut into shards whose
 * sizes differ by at most one, the larger first.
 */
#include <criterion/criterion.h>

#include "src/shard.h"

Test(shard, shard_ranges_are_balanced)
{
    size_t first, rows, next = 0;
    for (size_t s = 0; s < 4; s++) {
        ot__shard_range(10, 4, s, &first, &rows);
        cr_assert_eq(first, next);
        cr_assert_eq(rows, s < 2 ? 3u : 2u);
        next = first + rows;
    }
    ot__shard_range(3, 8, 5, &first, &rows);
    cr_assert_eq(rows, 0);
}

Test(shard, shards_cover_every_batch_exactly)
{
    /* every row once, in order, the larger shards first, sizes within one */
    for (size_t batch = 1; batch <= 70; batch++)
        for (size_t shards = 1; shards <= 20; shards++) {
            size_t next = 0, first, rows, prev = SIZE_MAX;
            for (size_t s = 0; s < shards; s++) {
                ot__shard_range(batch, shards, s, &first, &rows);
                cr_assert_eq(first, next, "batch %zu, %zu shards, shard %zu", batch, shards, s);
                cr_assert(rows <= prev, "batch %zu, %zu shards: shard %zu grows", batch,
                          shards, s);
                cr_assert(rows == batch / shards || rows == batch / shards + 1);
                prev = rows;
                next = first + rows;
            }
            cr_assert_eq(next, batch);
        }
}
