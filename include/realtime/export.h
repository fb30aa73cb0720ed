// Symbol visibility for librealtime. The library builds with hidden
// visibility; only what is marked REALTIME_EXPORT is part of the ABI of a
// shared build. Static builds (the default) define REALTIME_STATIC.
#pragma once

#if defined(REALTIME_STATIC)
#define REALTIME_EXPORT
#elif defined(REALTIME_BUILDING)
#define REALTIME_EXPORT [[gnu::visibility("default")]]
#else
#define REALTIME_EXPORT
#endif
