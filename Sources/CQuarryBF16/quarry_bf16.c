#include "quarry_bf16.h"

#include <immintrin.h>
#include <string.h>

#define QB_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))

int quarry_bf16_available(void) {
    __builtin_cpu_init();
    // The runtime's checks include the operating system saving the AVX-512 registers.
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw")
        && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bf16");
}

static uint16_t round_to_bf16(float value) {
    uint32_t bits;
    memcpy(&bits, &value, sizeof bits);
    if ((bits & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((bits >> 16) | 0x40u);  // NaN stays NaN
    bits += 0x7fffu + ((bits >> 16) & 1u);
    return (uint16_t)(bits >> 16);
}

void quarry_bf16_pack(const float *weight, size_t out, size_t in, uint16_t *packed) {
    const size_t pairs = in / 2;
    for (size_t panel = 0; panel < out / QUARRY_BF16_PANEL; panel++) {
        uint16_t *target = packed + panel * pairs * 2 * QUARRY_BF16_PANEL;
        for (size_t pair = 0; pair < pairs; pair++) {
            for (size_t lane = 0; lane < QUARRY_BF16_PANEL; lane++) {
                const float *row = weight + (panel * QUARRY_BF16_PANEL + lane) * in + 2 * pair;
                target[(pair * QUARRY_BF16_PANEL + lane) * 2] = round_to_bf16(row[0]);
                target[(pair * QUARRY_BF16_PANEL + lane) * 2 + 1] = round_to_bf16(row[1]);
            }
        }
    }
}

QB_TARGET static void convert_avx512(const float *input, size_t count, uint16_t *output) {
    size_t i = 0;
    for (; i + 32 <= count; i += 32) {
        __m512bh converted = _mm512_cvtne2ps_pbh(_mm512_loadu_ps(input + i + 16), _mm512_loadu_ps(input + i));
        _mm512_storeu_si512((void *)(output + i), (__m512i)converted);
    }
    for (; i < count; i++) output[i] = round_to_bf16(input[i]);
}

void quarry_bf16_convert(const float *input, size_t count, uint16_t *output) {
    static int available = -1;
    if (available < 0) available = quarry_bf16_available();
    if (available) {
        convert_avx512(input, count, output);
    } else {
        for (size_t i = 0; i < count; i++) output[i] = round_to_bf16(input[i]);
    }
}

// A tile of R rows × P panels (P = 1 or 2): R·P accumulators of 16 floats in registers; each
// step over a pair of inputs loads P weight vectors and broadcasts one input pair per row.
#define QB_TILE(R, P)                                                                              \
    QB_TARGET static void tile_##R##_##P(                                                          \
        const uint32_t *x, size_t pairs, const uint16_t *w, size_t panelStride, const float *bias, \
        float *out, size_t outStride) {                                                            \
        __m512 acc[R][P];                                                                          \
        for (int p = 0; p < P; p++) {                                                              \
            __m512 b = _mm512_loadu_ps(bias + 16 * p);                                             \
            for (int r = 0; r < R; r++) acc[r][p] = b;                                             \
        }                                                                                          \
        for (size_t k = 0; k < pairs; k++) {                                                       \
            __m512bh wv[P];                                                                        \
            for (int p = 0; p < P; p++)                                                            \
                wv[p] = (__m512bh)_mm512_loadu_si512((const void *)(w + p * panelStride + k * 32)); \
            for (int r = 0; r < R; r++) {                                                          \
                __m512bh xv = (__m512bh)_mm512_set1_epi32((int)x[r * pairs + k]);                  \
                for (int p = 0; p < P; p++) acc[r][p] = _mm512_dpbf16_ps(acc[r][p], xv, wv[p]);    \
            }                                                                                      \
        }                                                                                          \
        for (int r = 0; r < R; r++)                                                                \
            for (int p = 0; p < P; p++) _mm512_storeu_ps(out + r * outStride + 16 * p, acc[r][p]); \
    }

QB_TILE(1, 1) QB_TILE(2, 1) QB_TILE(3, 1) QB_TILE(4, 1) QB_TILE(5, 1) QB_TILE(6, 1) QB_TILE(7, 1) QB_TILE(8, 1)
QB_TILE(1, 2) QB_TILE(2, 2) QB_TILE(3, 2) QB_TILE(4, 2) QB_TILE(5, 2) QB_TILE(6, 2) QB_TILE(7, 2) QB_TILE(8, 2)

typedef void (*tile_function)(const uint32_t *, size_t, const uint16_t *, size_t, const float *, float *, size_t);
static const tile_function tiles[2][8] = {
    {tile_1_1, tile_2_1, tile_3_1, tile_4_1, tile_5_1, tile_6_1, tile_7_1, tile_8_1},
    {tile_1_2, tile_2_2, tile_3_2, tile_4_2, tile_5_2, tile_6_2, tile_7_2, tile_8_2},
};

void quarry_bf16_linear(
    const uint16_t *input, size_t rows, size_t in, const uint16_t *packed, const float *bias,
    float *output, size_t outStride, size_t firstPanel, size_t endPanel) {
    const size_t pairs = in / 2;
    const size_t panelStride = pairs * 2 * QUARRY_BF16_PANEL;
    const uint32_t *x = (const uint32_t *)input;
    size_t panel = firstPanel;
    while (panel < endPanel) {
        const int twoPanels = panel + 2 <= endPanel;
        const uint16_t *w = packed + panel * panelStride;
        // Every row tile against this panel (or pair of panels) while its weights are in cache.
        for (size_t row = 0; row < rows; row += 8) {
            const size_t count = rows - row < 8 ? rows - row : 8;
            tiles[twoPanels][count - 1](
                x + row * pairs, pairs, w, panelStride, bias + panel * QUARRY_BF16_PANEL,
                output + row * outStride + panel * QUARRY_BF16_PANEL, outStride);
        }
        panel += twoPanels ? 2 : 1;
    }
}
