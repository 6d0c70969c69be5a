/*
 * main.c - the program `bench`: the throughput suite of bench.c, which
 * `omptrain bench` runs too.
 */
#include "cli.h"

int main(int argc, char **argv) { return bench_main(NULL, argc - 1, argv + 1); }
