// plasma-deno shim, not from Arrow: the pyarrow 11 wheel lacks plasma/protocol.h, whose real
// version needs plasma_generated.h and FlatBuffers headers. client_tests.cc and
// external_store_tests.cc include it but use none of its declarations, so this stands in with
// what it would bring in transitively (plasma/plasma.h).
#pragma once

#include "plasma/plasma.h"
