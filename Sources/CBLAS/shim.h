#ifndef QUARRY_CBLAS_SHIM_H
#define QUARRY_CBLAS_SHIM_H
// OpenBLAS's CBLAS interface (Debian libopenblas-dev puts cblas.h on the default include path).
#include <cblas.h>
#endif
