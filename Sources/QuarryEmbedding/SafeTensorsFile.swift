import Foundation
import QuarryErrors

/// A memory-mapped `.safetensors` file: an 8-byte little-endian header length, a JSON header
/// naming each tensor's dtype, shape and byte range, then the raw tensor bytes.
///
/// Every offset, shape and dtype is checked against the file before any tensor is read, so a
/// truncated or corrupt file is an error, never a crash.
public struct SafeTensorsFile: Sendable {
    /// One tensor's description from the header.
    public struct TensorInfo: Sendable, Hashable {
        /// Element type, for example `F32`.
        public var dtype: String
        /// Dimensions, outermost first.
        public var shape: [Int]
        /// Byte range within the data section.
        public var byteRange: Range<Int>
    }

    /// Tensors by name.
    public let tensors: [String: TensorInfo]
    private let data: Data
    private let dataStart: Int

    /// Maps and validates the file at `url`.
    /// - Throws: `QuarryError.modelMissing` when it cannot be read, `.modelCorrupt` when the
    ///   header is malformed or describes bytes the file does not have.
    public init(url: URL) throws {
        let data: Data
        do {
            data = try Data(contentsOf: url, options: .alwaysMapped)
        } catch {
            throw QuarryError(.modelMissing, "cannot read \(url.path); run scripts/fetch-model.sh", underlying: error)
        }
        try self.init(data: data, name: url.lastPathComponent)
    }

    /// Validates an in-memory safetensors image.
    /// - Throws: `QuarryError.modelCorrupt` when it is malformed.
    public init(data: Data, name: String = "safetensors") throws {
        func corrupt(_ reason: String) -> QuarryError {
            QuarryError(.modelCorrupt, "\(name) is not a valid safetensors file: \(reason); run scripts/fetch-model.sh again")
        }
        guard data.count >= 8 else { throw corrupt("it is only \(data.count) bytes long") }
        var headerLength: UInt64 = 0
        for (shift, byte) in data.prefix(8).enumerated() { headerLength |= UInt64(byte) << (8 * UInt64(shift)) }
        guard headerLength > 1, headerLength <= UInt64(data.count - 8), headerLength < 100 << 20 else {
            throw corrupt("header length \(headerLength) does not fit a file of \(data.count) bytes")
        }
        let headerStart = data.startIndex + 8
        let header = data[headerStart..<headerStart + Int(headerLength)]
        guard let json = try? JSONSerialization.jsonObject(with: header), let entries = json as? [String: Any] else {
            throw corrupt("the header is not a JSON object")
        }
        let dataStart = 8 + Int(headerLength)
        let dataLength = data.count - dataStart
        var tensors: [String: TensorInfo] = [:]
        for (tensorName, value) in entries where tensorName != "__metadata__" {
            guard let entry = value as? [String: Any], let dtype = entry["dtype"] as? String,
                let shape = entry["shape"] as? [Int], let offsets = entry["data_offsets"] as? [Int], offsets.count == 2
            else {
                throw corrupt("tensor \(tensorName) has no dtype, shape or data_offsets")
            }
            let (begin, end) = (offsets[0], offsets[1])
            guard begin >= 0, begin <= end, end <= dataLength else {
                throw corrupt("tensor \(tensorName) lies outside the file (\(begin)..<\(end), data is \(dataLength) bytes)")
            }
            guard shape.allSatisfy({ $0 >= 0 }) else { throw corrupt("tensor \(tensorName) has a negative dimension") }
            let width: Int? = ["F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "F64": 8, "U8": 1, "I8": 1, "BOOL": 1][dtype]
            guard let width else { throw corrupt("tensor \(tensorName) has unknown dtype \(dtype)") }
            let (elements, overflow) = shape.reduce((1, false)) { acc, dim in
                let (product, o) = acc.0.multipliedReportingOverflow(by: dim)
                return (product, acc.1 || o)
            }
            guard !overflow, elements.multipliedReportingOverflow(by: width).partialValue == end - begin else {
                throw corrupt("tensor \(tensorName) has shape \(shape) but \(end - begin) bytes")
            }
            tensors[tensorName] = TensorInfo(dtype: dtype, shape: shape, byteRange: begin..<end)
        }
        self.tensors = tensors
        self.data = data
        self.dataStart = dataStart
    }

    /// The float32 values of a tensor, checked against an expected shape.
    /// - Throws: `QuarryError.modelCorrupt` when the tensor is missing, not `F32`, or has
    ///   another shape.
    public func floats(_ name: String, shape expected: [Int]) throws -> [Float] {
        guard let info = tensors[name] else {
            throw QuarryError(.modelCorrupt, "the model has no tensor \(name)")
        }
        guard info.dtype == "F32" else {
            throw QuarryError(.modelCorrupt, "tensor \(name) is \(info.dtype), expected F32")
        }
        guard info.shape == expected else {
            throw QuarryError(.modelCorrupt, "tensor \(name) has shape \(info.shape), expected \(expected)")
        }
        let count = info.byteRange.count / 4
        var values = [Float](repeating: 0, count: count)
        values.withUnsafeMutableBytes { destination in
            let start = data.startIndex + dataStart + info.byteRange.lowerBound
            // Copy the raw little-endian bytes; the data section has no alignment guarantee.
            data.copyBytes(to: destination, from: start..<start + info.byteRange.count)
        }
        #if _endian(big)
        for i in values.indices { values[i] = Float(bitPattern: UInt32(littleEndian: values[i].bitPattern)) }
        #endif
        return values
    }
}
