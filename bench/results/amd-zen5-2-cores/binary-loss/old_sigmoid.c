/* ot__sigmoid as src/activation.c had it before the change */
#include <math.h>
#include <stddef.h>

void ot__sigmoid(float *x, size_t n);

void ot__sigmoid(float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        x[i] = 1.0f / (1.0f + expf(-x[i]));
}
