/*
 * malloc-count.c - counts malloc and posix_memalign calls (all of them, and
 * those of 64 KiB or more) in a process, printed at exit. How many oneDNN
 * makes inside a step: the difference between a 1-epoch and a 3-epoch run
 * (1876 steps of batch 64 on 60000 rows), divided by 1876:
 *
 *   gcc -O2 -shared -fPIC -o malloc-count.so malloc-count.c -ldl
 *   LD_PRELOAD=./malloc-count.so omptrain train --threads 2 --batch 64 \
 *       --epochs {1,3} --quiet --validation-split 0
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdatomic.h>
static _Atomic long n, big, tot, pn, pbig, ptot;
static void *(*real)(size_t);
static int (*realpm)(void **, size_t, size_t);
void *malloc(size_t s){ if(!real) real=dlsym(RTLD_NEXT,"malloc"); n++; tot+=s; if(s>=65536) big++; return real(s); }
int posix_memalign(void **p, size_t a, size_t s){ if(!realpm) realpm=dlsym(RTLD_NEXT,"posix_memalign"); pn++; ptot+=s; if(s>=65536) pbig++; return realpm(p,a,s); }
__attribute__((destructor)) static void done(void){ fprintf(stderr,"mallocs %ld, >=64KiB %ld, bytes %ld; posix_memalign %ld, >=64KiB %ld, bytes %ld\n",(long)n,(long)big,(long)tot,(long)pn,(long)pbig,(long)ptot); }
