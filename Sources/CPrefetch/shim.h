#ifndef QUARRY_CPREFETCH_SHIM_H
#define QUARRY_CPREFETCH_SHIM_H
// Swift has no prefetch intrinsic; graph traversal asks the CPU to start loading the next
// neighbour's record while it computes the current distance, as hnswlib does.
static inline void quarry_prefetch(const void *address) { __builtin_prefetch(address, 0, 3); }
#endif
