#ifndef QUARRY_BF16_H
#define QUARRY_BF16_H
// Dense layers in bfloat16 with float accumulation (AVX-512 BF16: one VDPBF16PS multiplies 32
// pairs and adds them into 16 float sums), for CPUs that have it; callers check
// quarry_bf16_available() first and keep their float path for CPUs that do not.
#include <stddef.h>
#include <stdint.h>

/// Output features per packed panel.
#define QUARRY_BF16_PANEL 16

/// Whether this CPU (and the operating system) runs the AVX-512 BF16 kernels.
int quarry_bf16_available(void);

/// `weight` (out × in floats, row-major, as PyTorch stores a linear layer) rounded to bfloat16
/// (nearest, ties to even) and packed into out/16 panels: panel p holds, for each pair of
/// inputs (2k, 2k+1), the 16 outputs' two weights side by side. `in` must be even and `out` a
/// multiple of 16; `packed` holds out × in values.
void quarry_bf16_pack(const float *weight, size_t out, size_t in, uint16_t *packed);

/// `count` floats rounded to bfloat16 (nearest, ties to even), in order. `count` must be even
/// when the result is read as pairs.
void quarry_bf16_convert(const float *input, size_t count, uint16_t *output);

/// output[r][n] = bias[n] + Σₖ input[r][k] · weight[n][k] for r < rows and the features of
/// panels [firstPanel, endPanel), from inputs converted by quarry_bf16_convert (rows of `in`
/// values) and weights packed by quarry_bf16_pack. Output rows are `outStride` floats apart.
/// Needs quarry_bf16_available().
void quarry_bf16_linear(
    const uint16_t *input, size_t rows, size_t in, const uint16_t *packed, const float *bias,
    float *output, size_t outStride, size_t firstPanel, size_t endPanel);

#endif
