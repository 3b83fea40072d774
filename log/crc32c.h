// CRC-32C (Castagnoli), the checksum of every log record and segment header.
// Uses the SSE4.2 crc32 instruction when the CPU has it, a table otherwise; both
// give identical results (tested against the RFC 3720 check values).
#pragma once

#include <cstddef>
#include <cstdint>

namespace pilot::log {

// crc32c(data) == crc32c_extend(0, data); extend lets one checksum cover split ranges.
uint32_t crc32c_extend(uint32_t crc, const void* data, size_t n);
inline uint32_t crc32c(const void* data, size_t n) { return crc32c_extend(0, data, n); }
// Portable path, exposed so tests can compare it with the hardware path.
uint32_t crc32c_extend_portable(uint32_t crc, const void* data, size_t n);

}  // namespace pilot::log
