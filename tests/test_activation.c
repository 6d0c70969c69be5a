/*
 * test_activation.c - the gradient of a Dense layer with each activation
 * (activation.c), checked as gradcheck.h says.
 */
#include "gradcheck.h"

static void check_activation(ot_activation a)
{
    ot_layer l[] = {OT_DENSE(4, a), OT_DENSE(3, OT_ACTIVATION_SOFTMAX)};
    check_model(l, 2, 1);
}

Test(activation, gradient_linear) { check_activation(OT_ACTIVATION_LINEAR); }
Test(activation, gradient_relu) { check_activation(OT_ACTIVATION_RELU); }
Test(activation, gradient_sigmoid) { check_activation(OT_ACTIVATION_SIGMOID); }
Test(activation, gradient_tanh) { check_activation(OT_ACTIVATION_TANH); }
Test(activation, gradient_selu) { check_activation(OT_ACTIVATION_SELU); }
Test(activation, gradient_elu) { check_activation(OT_ACTIVATION_ELU); }
Test(activation, gradient_softplus) { check_activation(OT_ACTIVATION_SOFTPLUS); }
Test(activation, gradient_gelu) { check_activation(OT_ACTIVATION_GELU); }
Test(activation, gradient_leaky_relu) { check_activation(OT_ACTIVATION_LEAKY_RELU); }
Test(activation, gradient_hidden_softmax) { check_activation(OT_ACTIVATION_SOFTMAX); }
