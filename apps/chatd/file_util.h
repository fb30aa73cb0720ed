// Blocking file helpers for chatd's attachment worker: whole-file writes
// that are checked to the end (write, fsync and close each can fail; a
// failure leaves no partial file behind), copying a byte range between
// files, and free space. Worker thread only: every call waits on the disk.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "realtime/status.h"

namespace chatd {

// Writes `data` to `path` through a temporary file in the same directory
// and renames it into place, so readers see the old file or the whole new
// one. `durable`: fsync the file and the directory first (it must survive a
// power cut). On any failure the temporary file is removed and `path` is
// left as it was; no space left is `unavailable`, other errors `internal`.
realtime::Status replace_file(const std::filesystem::path& path, std::string_view data, bool durable);

// Copies `length` bytes at `offset` of `from` to a new file `to` (fsynced),
// or removes `to` and fails.
realtime::Status copy_range(const std::filesystem::path& from, std::uint64_t offset, std::uint64_t length,
                            const std::filesystem::path& to);

// fsyncs an existing file (an upload the transport spooled).
realtime::Status sync_file(const std::filesystem::path& path);

// The whole file, or nullopt when it cannot be read. For small files.
std::optional<std::string> read_small_file(const std::filesystem::path& path, std::size_t max_bytes);

// Bytes an unprivileged writer may still use on the file system of `dir`.
std::optional<std::uint64_t> free_bytes(const std::filesystem::path& dir);

}  // namespace chatd
