#ifndef QUARRY_CLIBPQ_SHIM_H
#define QUARRY_CLIBPQ_SHIM_H
#include <postgresql/libpq-fe.h>
#endif
