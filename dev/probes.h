/*
 * probes.h - the developer tool (dev/): the benchmark suite of bench/ with
 * the engine's probes, on the library's internals. The modes (probes.c),
 * the engine measured in pieces (engine.c), the weight layouts (layouts.c).
 * Not installed, not built unless `meson configure -Ddev=true`.
 */
#ifndef OT_DEV_PROBES_H
#define OT_DEV_PROBES_H

#include "bench.h"
#include "src/dataset.h"
#include "src/model.h"
#include "src/shard.h"

/* The kernel-only ceiling of a grid point, samples/s: each thread its
 * shards' (or blocks') primitives back to back, nothing around them. */
double measure_kernels(const char *spec, size_t batch, int threads, double seconds);
/* One thread, microseconds per step: us[0] the bare primitives, us[1] plus
 * gather and loss, us[2] plus the optimizer's pass; us[3] the optimizer's
 * pass alone, us[4] the floor of that pass: its arithmetic (sqrt and
 * divide for Adam) over data in L1, and us[5] its memory traffic alone;
 * us[6] what that memory traffic costs right after the step of us[1], over
 * the model's own weights, gradient and state (values kept), where the
 * step leaves them in the caches: the median of each round's difference;
 * us[7] what reading a batch of rows the caches do not hold costs after
 * that step and traffic, one load per cache line and nothing else (the
 * gather's floor), clocked alone; us[8] the same rows gathered into the
 * step's own buffer in the same state, each byte widened to 4 and
 * nothing converted (the gather's loop without its arithmetic); us[9]
 * the loss and its gradient alone, on the outputs of the step of us[1]. */
void measure_breakdown(const char *spec, const ot_dataset *d, size_t batch,
                       const char *optimizer, double seconds, double us[10]);
double measure_internal(const char *spec, const ot_dataset *d, size_t batch,
                        int threads, const char *optimizer, double seconds);
/* T threads as omptrain cuts the step (by units where its rule says so; one
 * thread: one shard), Adam, microseconds per step, each thread its own
 * kernels then its own parameters, no barrier inside a step: us[0] the
 * kernels alone; us[1] plus Adam's update as the trainer runs it; us[2]
 * plus Adam's memory traffic alone (read the gradient and three arrays,
 * write three back) over the model's own arrays, values kept; us[3] Adam's
 * arithmetic alone (a square root and a division per parameter, data in
 * L1) over the thread's count of parameters. *units: whether the step is
 * cut by units. Returns 0, nothing measured, for several threads cut by
 * rows. */
#define FLOOR_MODES 4
int measure_floors(const char *spec, size_t batch, int threads, double seconds,
                   double us[FLOOR_MODES], int *units);
/* T threads, one shard each, microseconds per step, the step built up part
 * by part: us[0] the bare primitives of every shard, no barrier (the
 * kernel-only ceiling); us[1] plus a barrier per step; us[2] gathering the
 * rows and the loss instead of bare primitives; us[3] plus the reduction of
 * each thread's slice over the shards' gradients and a second barrier; us[4]
 * plus the optimizer's update of the slice: the trainer's step without its
 * bookkeeping. */
#define STEP_PARTS 5
/* The rows come from the first `rows_from` rows of d (all of d when 0), in
 * a fixed scattered order. */
void measure_step_parts(const char *spec, const ot_dataset *d, size_t rows_from, size_t batch,
                        int threads, const char *optimizer, double seconds,
                        double us[STEP_PARTS]);

/* Plain `oi` weights against oneDNN's preferred layout, per layer shape,
 * rows and direction, one thread; prints a table. */
void run_layouts(const config *c);

#endif
