import Foundation
import QuarryHNSW

/// Readers for the TEXMEX `.fvecs` / `.ivecs` formats: each record is a little-endian Int32
/// dimension followed by that many float32 (or int32) values.
public enum VectorFile {
    /// Reads an `.fvecs` file.
    /// - Returns: the dimension and the vectors laid end to end.
    /// - Throws: `HNSWError.io` when unreadable, `.corruptFile` when records are inconsistent.
    public static func readFVecs(_ url: URL) throws -> (dimension: Int, values: [Float]) {
        let (dimension, raw) = try read(url)
        return (dimension, raw.map { Float(bitPattern: $0) })
    }

    /// Reads an `.ivecs` file.
    /// - Returns: the dimension and the vectors laid end to end.
    /// - Throws: `HNSWError.io` when unreadable, `.corruptFile` when records are inconsistent.
    public static func readIVecs(_ url: URL) throws -> (dimension: Int, values: [Int32]) {
        let (dimension, raw) = try read(url)
        return (dimension, raw.map { Int32(bitPattern: $0) })
    }

    /// Writes an `.fvecs` file: `values` cut into records of `dimension` floats.
    /// - Throws: `HNSWError.invalidArgument` when `values` is not made of such records, `.io` when
    ///   the file cannot be written.
    public static func writeFVecs(_ url: URL, dimension: Int, values: [Float]) throws {
        guard dimension > 0, dimension <= Int(Int32.max), values.count % dimension == 0 else {
            throw HNSWError(.invalidArgument, "\(values.count) floats are not records of \(dimension)")
        }
        var data = Data(capacity: values.count / dimension * (4 + 4 * dimension))
        var offset = 0
        while offset < values.count {
            withUnsafeBytes(of: Int32(dimension).littleEndian) { data.append(contentsOf: $0) }
            for v in values[offset..<offset + dimension] { withUnsafeBytes(of: v.bitPattern.littleEndian) { data.append(contentsOf: $0) } }
            offset += dimension
        }
        do {
            try data.write(to: url)
        } catch {
            throw HNSWError(.io, "cannot write \(url.path): \(error.localizedDescription)", underlying: error)
        }
    }

    private static func read(_ url: URL) throws -> (Int, [UInt32]) {
        let data: Data
        do {
            data = try Data(contentsOf: url, options: .alwaysMapped)
        } catch {
            throw HNSWError(.io, "cannot read \(url.path): \(error.localizedDescription)", underlying: error)
        }
        return try data.withUnsafeBytes { raw -> (Int, [UInt32]) in
            guard raw.count >= 4 else { throw HNSWError(.corruptFile, "\(url.lastPathComponent) is empty") }
            let dimension = Int(Int32(littleEndian: raw.loadUnaligned(as: Int32.self)))
            let recordBytes = 4 + 4 * dimension
            guard dimension > 0, raw.count % recordBytes == 0 else {
                throw HNSWError(.corruptFile, "\(url.lastPathComponent) is not made of \(dimension)-d records")
            }
            var values = [UInt32]()
            values.reserveCapacity(raw.count / recordBytes * dimension)
            var offset = 0
            while offset < raw.count {
                guard Int(Int32(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: Int32.self))) == dimension else {
                    throw HNSWError(.corruptFile, "\(url.lastPathComponent): record at byte \(offset) has another dimension")
                }
                for i in 0..<dimension {
                    values.append(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: offset + 4 + 4 * i, as: UInt32.self)))
                }
                offset += recordBytes
            }
            return (dimension, values)
        }
    }
}
