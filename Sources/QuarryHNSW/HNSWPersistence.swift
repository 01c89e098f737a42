import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The index file: a 96-byte header (magic, format version, metric, dimension, M, efConstruction,
/// ef, seed, slot count, live count, entry point, top level, last store row id, record size,
/// payload length, payload CRC-32, header CRC-32), then the payload: every slot's record as it
/// sits in memory, the upper-level links of every node above level 0, and the free-slot list.
///
/// The file is written to a temporary name beside the target, synced, renamed over the target
/// and the directory synced, so a crash leaves the old file or the new one. Loading maps the file
/// and checks everything (checksums, sizes, every link, every label) before it builds an index:
/// a truncated, corrupt, foreign or future-version file is an `HNSWError`, never a crash.
extension HNSWIndex {
    static let magic = Array("QHNSWIDX".utf8)
    /// The format this build writes; files of a higher version are refused.
    public static let formatVersion: UInt32 = 1
    static let headerSize = 96

    /// Writes the index to `url` atomically.
    /// - Throws: `HNSWError.io` when the file cannot be written.
    public func write(to url: URL) throws {
        let image = serialise()
        let directory = url.deletingLastPathComponent()
        let temporary = directory.appendingPathComponent(".\(url.lastPathComponent).\(UUID().uuidString).tmp")
        do {
            try image.write(to: temporary)
            let handle = try FileHandle(forUpdating: temporary)
            try handle.synchronize()
            try handle.close()
        } catch {
            try? FileManager.default.removeItem(at: temporary)
            throw HNSWError(.io, "cannot write \(temporary.path): \(error.localizedDescription)", underlying: error)
        }
        guard rename(temporary.path, url.path) == 0 else {
            let reason = String(cString: strerror(errno))
            try? FileManager.default.removeItem(at: temporary)
            throw HNSWError(.io, "cannot move the index into place at \(url.path): \(reason)")
        }
        let fd = open(directory.path, O_RDONLY)
        if fd >= 0 {
            fsync(fd)
            close(fd)
        }
    }

    /// Loads an index written by `write(to:)`.
    /// - Throws: `HNSWError.incompatibleFile` for a foreign or newer file, `.corruptFile` for a
    ///   truncated or damaged one, `.io` when it cannot be read.
    public static func load(from url: URL) throws -> HNSWIndex {
        let data: Data
        do {
            data = try Data(contentsOf: url, options: .alwaysMapped)
        } catch {
            throw HNSWError(.io, "cannot read the index file \(url.path): \(error.localizedDescription)", underlying: error)
        }
        return try load(data, name: url.lastPathComponent)
    }

    /// Loads an index from an in-memory file image.
    public static func load(_ data: Data, name: String = "index") throws -> HNSWIndex {
        try data.withUnsafeBytes { try load(raw: $0, name: name) }
    }

    private func serialise() -> Data {
        let s = state.withLock { $0 }
        var payload = Data()
        payload.reserveCapacity(s.count * layout.size + 1024)
        for id in 0..<s.count {
            payload.append(record(UInt32(id)).bytes.bindMemory(to: UInt8.self))
        }
        for id in 0..<s.count {
            let level = levelOf(UInt32(id))
            guard level > 0 else { continue }
            payload.append(upperLinkBytes(UInt32(id), level: level).bindMemory(to: UInt8.self))
        }
        Self.append(UInt32(s.freeIDs.count), to: &payload)
        for id in s.freeIDs { Self.append(id, to: &payload) }

        var header = Data()
        header.append(contentsOf: Self.magic)
        Self.append(Self.formatVersion, to: &header)
        Self.append(metric.rawValue, to: &header)
        Self.append(UInt32(dimension), to: &header)
        Self.append(UInt32(parameters.m), to: &header)
        Self.append(UInt32(parameters.efConstruction), to: &header)
        Self.append(UInt32(parameters.ef), to: &header)
        Self.append(parameters.seed, to: &header)
        Self.append(UInt64(s.count), to: &header)
        Self.append(UInt64(s.labels.count), to: &header)
        Self.append(s.entryPoint, to: &header)
        Self.append(Int32(s.maxLevel), to: &header)
        Self.append(s.lastStoreRowID, to: &header)
        Self.append(UInt32(layout.size), to: &header)
        Self.append(UInt32(0), to: &header)  // reserved
        Self.append(UInt64(payload.count), to: &header)
        Self.append(CRC32.checksum(payload), to: &header)
        Self.append(CRC32.checksum(header), to: &header)
        return header + payload
    }

    private static func append<T: FixedWidthInteger>(_ value: T, to data: inout Data) {
        withUnsafeBytes(of: value.littleEndian) { data.append(contentsOf: $0) }
    }

    private static func read<T: FixedWidthInteger>(_ raw: UnsafeRawBufferPointer, _ offset: Int, as: T.Type) -> T {
        T(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: T.self))
    }

    // swiftlint:disable:next function_body_length cyclomatic_complexity
    private static func load(raw: UnsafeRawBufferPointer, name: String) throws -> HNSWIndex {
        func corrupt(_ reason: String) -> HNSWError {
            HNSWError(.corruptFile, "\(name) is damaged (\(reason)); it will be rebuilt from the store")
        }
        guard raw.count >= magic.count, raw.prefix(magic.count).elementsEqual(magic) else {
            throw HNSWError(.incompatibleFile, "\(name) is not a Quarry HNSW index file")
        }
        guard raw.count >= headerSize else { throw corrupt("the header is cut short") }
        let version = read(raw, 8, as: UInt32.self)
        guard version <= formatVersion else {
            throw HNSWError(
                .incompatibleFile, "\(name) has format version \(version), newer than this Quarry's \(formatVersion)"
            )
        }
        guard version == formatVersion else { throw HNSWError(.incompatibleFile, "\(name) has unknown format version \(version)") }
        guard CRC32.checksum(UnsafeRawBufferPointer(rebasing: raw[0..<92])) == read(raw, 92, as: UInt32.self) else {
            throw corrupt("header checksum mismatch")
        }
        guard let metric = HNSWMetric(rawValue: read(raw, 12, as: UInt32.self)) else { throw corrupt("unknown metric") }
        let dimension = Int(read(raw, 16, as: UInt32.self))
        let m = Int(read(raw, 20, as: UInt32.self))
        let efConstruction = Int(read(raw, 24, as: UInt32.self))
        let ef = Int(read(raw, 28, as: UInt32.self))
        let seed = read(raw, 32, as: UInt64.self)
        let slotCount = read(raw, 40, as: UInt64.self)
        let liveCount = read(raw, 48, as: UInt64.self)
        let entryPoint = read(raw, 56, as: UInt32.self)
        let maxLevel = Int(read(raw, 60, as: Int32.self))
        let lastStoreRowID = read(raw, 64, as: Int64.self)
        let recordSize = Int(read(raw, 72, as: UInt32.self))
        let payloadLength = read(raw, 80, as: UInt64.self)
        let payloadChecksum = read(raw, 88, as: UInt32.self)

        guard (2...128).contains(m), efConstruction >= m, ef >= 1, (1...65_536).contains(dimension) else {
            throw corrupt("parameters out of range")
        }
        let parameters = HNSWParameters(m: m, efConstruction: efConstruction, ef: ef, seed: seed)
        let index = try HNSWIndex(dimension: dimension, metric: metric, parameters: parameters)
        guard recordSize == index.layout.size else { throw corrupt("record size \(recordSize) does not fit the parameters") }
        guard payloadLength == UInt64(raw.count - headerSize) else {
            throw corrupt("payload is \(raw.count - headerSize) bytes, the header says \(payloadLength)")
        }
        let payload = UnsafeRawBufferPointer(rebasing: raw[headerSize...])
        guard CRC32.checksum(payload) == payloadChecksum else { throw corrupt("payload checksum mismatch") }
        guard slotCount <= UInt64(maxSegments * segmentCapacity - 1), liveCount <= slotCount,
            slotCount.multipliedReportingOverflow(by: UInt64(recordSize)).partialValue <= UInt64(payload.count)
        else {
            throw corrupt("slot count \(slotCount) does not fit the payload")
        }
        let slots = Int(slotCount)
        guard (slots == 0 && entryPoint == .max) || (Int(entryPoint) < slots && (0...30).contains(maxLevel)) else {
            throw corrupt("entry point \(entryPoint) is not a slot")
        }

        var offset = 0
        var labels: [UInt64: UInt32] = [:]
        var deleted = 0
        index.state.withLock { $0.count = 0 }
        for id in 0..<slots {
            try index.ensureSegment(for: id)
            let record = index.record(UInt32(id))
            record.overwrite(with: UnsafeRawBufferPointer(rebasing: payload[offset..<offset + recordSize]))
            offset += recordSize
            let level = record.level
            // A removed slot may sit above the current top level (its entry point was replaced).
            guard !record.hasUnknownFlags, level <= 30, level <= max(0, maxLevel) || record.isDeleted else {
                throw corrupt("slot \(id) has level \(level)")
            }
            let list = record.links
            let count = list.count
            guard count <= index.maxLinks0 else { throw corrupt("slot \(id) has \(count) links") }
            for i in 0..<count where Int(list[i]) >= slots { throw corrupt("slot \(id) links to \(list[i])") }
            if record.isDeleted {
                deleted += 1
            } else {
                let label = record.label
                guard labels.updateValue(UInt32(id), forKey: label) == nil else { throw corrupt("label \(label) appears twice") }
            }
        }
        for id in 0..<slots {
            let level = index.levelOf(UInt32(id))
            guard level > 0 else { continue }
            let bytes = level * (1 + index.maxLinks) * 4
            guard offset + bytes <= payload.count else { throw corrupt("upper links are cut short") }
            index.installUpperLinks(UInt32(id), level: level, from: UnsafeRawBufferPointer(rebasing: payload[offset..<offset + bytes]))
            offset += bytes
            for l in 1...level {
                let list = index.links(UInt32(id), level: l)
                let count = list.count
                guard count <= index.maxLinks else { throw corrupt("slot \(id) has \(count) links on level \(l)") }
                for i in 0..<count where Int(list[i]) >= slots { throw corrupt("slot \(id) links to \(list[i])") }
            }
        }
        guard offset + 4 <= payload.count else { throw corrupt("the free list is missing") }
        let freeCount = Int(read(payload, offset, as: UInt32.self))
        offset += 4
        guard freeCount == deleted, offset + 4 * freeCount == payload.count else { throw corrupt("the free list does not match") }
        var free: [UInt32] = []
        for i in 0..<freeCount {
            let id = read(payload, offset + 4 * i, as: UInt32.self)
            guard Int(id) < slots, index.isDeleted(id) else { throw corrupt("free slot \(id) is not a removed slot") }
            free.append(id)
        }
        guard labels.count == Int(liveCount) else { throw corrupt("\(labels.count) live labels, the header says \(liveCount)") }
        if slots > 0, labels.isEmpty == false, index.isDeleted(entryPoint) { throw corrupt("the entry point is a removed slot") }
        let restored = labels
        index.state.withLock { s in
            s.count = slots
            s.labels = restored
            s.freeIDs = free
            s.deletedCount = deleted
            s.entryPoint = restored.isEmpty ? .max : entryPoint
            s.maxLevel = restored.isEmpty ? -1 : maxLevel
            s.lastStoreRowID = lastStoreRowID
        }
        return index
    }
}

/// CRC-32 (IEEE 802.3, reflected, as zlib computes it), sliced by 8 bytes.
enum CRC32 {
    static let tables: [[UInt32]] = {
        var tables = [[UInt32]](repeating: [UInt32](repeating: 0, count: 256), count: 8)
        for i in 0..<256 {
            var c = UInt32(i)
            for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
            tables[0][i] = c
        }
        for i in 0..<256 {
            for t in 1..<8 { tables[t][i] = (tables[t - 1][i] >> 8) ^ tables[0][Int(tables[t - 1][i] & 0xFF)] }
        }
        return tables
    }()

    static func checksum(_ data: Data) -> UInt32 {
        data.withUnsafeBytes { checksum($0) }
    }

    static func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        let t = tables
        var i = 0
        let n = bytes.count
        while i + 8 <= n {
            let low = bytes.loadUnaligned(fromByteOffset: i, as: UInt32.self).littleEndian ^ crc
            let high = bytes.loadUnaligned(fromByteOffset: i + 4, as: UInt32.self).littleEndian
            crc = t[7][Int(low & 0xFF)] ^ t[6][Int((low >> 8) & 0xFF)] ^ t[5][Int((low >> 16) & 0xFF)]
                ^ t[4][Int(low >> 24)] ^ t[3][Int(high & 0xFF)] ^ t[2][Int((high >> 8) & 0xFF)]
                ^ t[1][Int((high >> 16) & 0xFF)] ^ t[0][Int(high >> 24)]
            i += 8
        }
        while i < n {
            crc = t[0][Int((crc ^ UInt32(bytes[i])) & 0xFF)] ^ (crc >> 8)
            i += 1
        }
        return ~crc
    }
}
