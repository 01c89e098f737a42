#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Substring search over bytes, by the C library's `memchr` and `memcmp` (Glibc does not export
/// `memmem` to Swift): the markers look for a few dozen needles in every passage, and a Swift
/// loop over `[UInt8]` per needle costs more than all the phrase matching together.
enum ByteSearch {
    /// The first index at or after `start` where `needle` occurs in `haystack`, or nil.
    static func firstIndex(of needle: [UInt8], in haystack: [UInt8], from start: Int = 0) -> Int? {
        guard !needle.isEmpty, start >= 0, start <= haystack.count, haystack.count - start >= needle.count else { return nil }
        return haystack.withUnsafeBytes { hay in
            needle.withUnsafeBytes { pin -> Int? in
                guard let base = hay.baseAddress, let pinBase = pin.baseAddress else { return nil }
                let first = Int32(needle[0])
                let last = hay.count - pin.count
                var at = start
                while at <= last {
                    guard let hit = memchr(base + at, first, last - at + 1) else { return nil }
                    let index = base.distance(to: UnsafeRawPointer(hit))
                    if memcmp(base + index, pinBase, pin.count) == 0 { return index }
                    at = index + 1
                }
                return nil
            }
        }
    }

    /// Whether `needle` occurs in `haystack`.
    static func contains(_ needle: [UInt8], in haystack: [UInt8]) -> Bool {
        firstIndex(of: needle, in: haystack) != nil
    }
}
