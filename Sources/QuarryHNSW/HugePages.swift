#if canImport(Glibc)
import Glibc
#endif

/// Memory for the index's record segments, backed by 2 MiB pages where the kernel allows it.
///
/// A search touches a few thousand records scattered over hundreds of megabytes: with 4 KiB
/// pages nearly every record costs a TLB miss and a page walk on top of its cache miss. Linux
/// backs an aligned region marked `MADV_HUGEPAGE` with transparent huge pages when
/// `/sys/kernel/mm/transparent_hugepage/enabled` is `always` or `madvise` (Debian's default), so
/// one TLB entry covers 512 times more records. Elsewhere this is an ordinary aligned allocation.
enum HugePages {
    static let size = 2 << 20

    /// Uninitialised memory of at least `byteCount` bytes, aligned to 2 MiB; release it with
    /// `deallocate`.
    /// - Throws: `HNSWError.outOfMemory` when the system cannot provide it.
    static func allocate(byteCount: Int) throws -> UnsafeMutableRawPointer {
        #if os(Linux)
        let rounded = (byteCount + size - 1) / size * size
        var pointer: UnsafeMutableRawPointer?
        guard posix_memalign(&pointer, size, rounded) == 0, let pointer else {
            throw HNSWError(
                .outOfMemory,
                "cannot allocate \(rounded) bytes for the index's records: free memory or index fewer vectors"
            )
        }
        // Advice only: without transparent huge pages the region keeps 4 KiB pages.
        _ = madvise(pointer, rounded, MADV_HUGEPAGE)
        return pointer
        #else
        return UnsafeMutableRawPointer.allocate(byteCount: byteCount, alignment: 64)
        #endif
    }

    /// Releases memory from `allocate`.
    static func deallocate(_ pointer: UnsafeMutableRawPointer) {
        #if os(Linux)
        free(pointer)
        #else
        pointer.deallocate()
        #endif
    }
}
