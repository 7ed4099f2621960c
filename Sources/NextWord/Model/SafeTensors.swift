import CKernels
import Foundation

/// A parsed safetensors file: an 8-byte little-endian header length N, N bytes of JSON header
/// (`{"name": {"dtype", "shape", "data_offsets": [begin, end]}, ..., "__metadata__": {..}}`),
/// then the raw little-endian tensor data, offsets counted from the start of that data section.
///
/// The reader is strict because model files come from outside: every size in the header is checked
/// against the real file before anything is allocated from it, tensors must tile the data section
/// exactly (no overlaps, gaps or trailing bytes), and every problem is a
/// `ModelError.checkpoint(file:problem:)` naming the tensor at fault. Only `F32` and `F16` are read.
package struct SafeTensors: Sendable {
    /// Element types this reader and writer handle.
    public enum DType: String, Sendable, CaseIterable {
        case float32 = "F32"
        case float16 = "F16"

        /// Bytes per element.
        public var byteCount: Int {
            switch self {
            case .float32: return 4
            case .float16: return 2
            }
        }
    }

    /// One tensor's header entry, already checked against the file.
    public struct TensorInfo: Sendable, Equatable {
        public let name: String
        public let dtype: DType
        public let shape: [Int]
        /// Byte range relative to the start of the data section.
        public let dataOffsets: Range<Int>
        /// Number of elements (checked not to overflow when the header was read).
        public var count: Int { dataOffsets.count / dtype.byteCount }
    }

    /// Headers above this size are refused before being read: real ones are a few KB.
    public static let maximumHeaderLength = 100_000_000

    /// The name used in error messages (usually the file's path).
    public let fileName: String
    /// All tensors, in the order of their data.
    public let tensors: [TensorInfo]
    /// The optional `__metadata__` string map.
    public let metadata: [String: String]
    private let bytes: Data
    private let dataStart: Int

    /// Reads and checks the file at `url`.
    public init(contentsOf url: URL) throws {
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            let exists = FileManager.default.fileExists(atPath: url.path)
            throw ModelError.checkpoint(file: url.path, problem: exists ? "cannot be read (\(error.localizedDescription))" : "file not found")
        }
        try self.init(bytes: data, fileName: url.path)
    }

    /// Parses and checks a whole safetensors file held in memory; `fileName` is only used in errors.
    public init(bytes: Data, fileName: String) throws {
        func fail(_ problem: String) -> ModelError { .checkpoint(file: fileName, problem: problem) }
        let fileSize = bytes.count
        if fileSize == 0 { throw fail("file is empty") }
        if fileSize < 8 { throw fail("file is \(fileSize) bytes, too short for the 8-byte header length") }
        let parsed = try bytes.withUnsafeBytes { raw -> (header: SafeTensorsJSON, length: Int) in
            let declared = UInt64(littleEndian: raw.loadUnaligned(as: UInt64.self))
            if declared > UInt64(SafeTensors.maximumHeaderLength) {
                throw fail("header length \(declared) exceeds the \(SafeTensors.maximumHeaderLength / 1_000_000) MB limit")
            }
            let length = Int(declared)
            if length > fileSize - 8 {
                throw fail("header length \(length) runs past the end of the file (\(fileSize - 8) bytes follow the length)")
            }
            let headerBytes = UnsafeRawBufferPointer(rebasing: raw[8 ..< 8 + length])
            if !SafeTensors.isValidUTF8(headerBytes) { throw fail("header is not valid UTF-8") }
            do {
                return (try SafeTensorsJSON.parse(headerBytes), length)
            } catch let error as SafeTensorsJSON.SyntaxError {
                throw fail("header is not valid JSON: \(error.message) at header byte \(error.offset)")
            }
        }
        let dataStart = 8 + parsed.length
        let (tensors, metadata) = try SafeTensors.entries(of: parsed.header, dataLength: fileSize - dataStart, fail: fail)
        self.fileName = fileName
        self.tensors = tensors
        self.metadata = metadata
        self.bytes = bytes
        self.dataStart = dataStart
    }

    /// The header entry for `name`, if the file has one.
    public func tensor(named name: String) -> TensorInfo? { tensors.first { $0.name == name } }

    /// The tensor's elements converted to `Float`, in row-major order.
    public func floats(of tensor: TensorInfo) -> [Float] {
        var result = [Float](repeating: 0, count: tensor.count)
        result.withUnsafeMutableBufferPointer { copyFloats(of: tensor, into: $0) }
        return result
    }

    /// Converts the tensor's elements into `destination`, which must hold exactly `tensor.count`.
    func copyFloats(of tensor: TensorInfo, into destination: UnsafeMutableBufferPointer<Float>) {
        guard destination.count == tensor.count, tensor.count > 0 else { return }
        bytes.withUnsafeBytes { raw in
            let source = UnsafeRawBufferPointer(rebasing: raw[dataStart + tensor.dataOffsets.lowerBound ..< dataStart + tensor.dataOffsets.upperBound])
            switch tensor.dtype {
            case .float32:
                #if _endian(little)
                UnsafeMutableRawBufferPointer(destination).copyMemory(from: source)
                #else
                for index in 0 ..< destination.count {
                    let bits = UInt32(littleEndian: source.loadUnaligned(fromByteOffset: 4 * index, as: UInt32.self))
                    destination[index] = Float(bitPattern: bits)
                }
                #endif
            case .float16:
                #if _endian(little)
                if Int(bitPattern: source.baseAddress!) % 2 == 0 {
                    // The C conversion widens eight at a time (F16C) where the CPU can: it is on the start path.
                    nw_halves_to_floats(source.baseAddress!.assumingMemoryBound(to: UInt16.self), destination.baseAddress!, destination.count)
                    return
                }
                #endif
                for index in 0 ..< destination.count {
                    let bits = UInt16(littleEndian: source.loadUnaligned(fromByteOffset: 2 * index, as: UInt16.self))
                    destination[index] = Half.float(fromBits: bits)
                }
            }
        }
    }

    /// Turns the parsed header into checked entries: known fields only, supported dtypes, shapes that
    /// match their byte spans, and spans that tile `0 ..< dataLength` exactly.
    private static func entries(of header: SafeTensorsJSON, dataLength: Int,
                                fail: (String) -> ModelError) throws -> ([TensorInfo], [String: String]) {
        guard case .object(let members) = header else { throw fail("header is not a JSON object") }
        var tensors: [TensorInfo] = []
        var metadata: [String: String] = [:]
        var seen = Set<String>()
        for (name, value) in members {
            guard seen.insert(name).inserted else { throw fail("\"\(name)\" appears twice in the header") }
            if name == "__metadata__" {
                guard case .object(let pairs) = value else { throw fail("__metadata__ is not an object") }
                for (key, item) in pairs {
                    guard case .string(let text) = item else { throw fail("__metadata__ value for \"\(key)\" is not a string") }
                    guard metadata.updateValue(text, forKey: key) == nil else { throw fail("__metadata__ key \"\(key)\" appears twice") }
                }
                continue
            }
            tensors.append(try entry(name: name, value, dataLength: dataLength, fail: fail))
        }
        // Tile check: sorted by position, each tensor starts exactly where the previous one ended.
        let ordered = tensors.enumerated().sorted {
            ($0.element.dataOffsets.lowerBound, $0.element.dataOffsets.upperBound, $0.offset)
                < ($1.element.dataOffsets.lowerBound, $1.element.dataOffsets.upperBound, $1.offset)
        }.map(\.element)
        var end = 0
        var previous: TensorInfo?
        for tensor in ordered {
            let begin = tensor.dataOffsets.lowerBound
            if begin < end, let previous {
                throw fail("tensor \"\(tensor.name)\" data_offsets \(describe(tensor.dataOffsets)) overlap tensor \"\(previous.name)\" \(describe(previous.dataOffsets))")
            }
            if begin > end {
                let after = previous.map { "after tensor \"\($0.name)\"" } ?? "at the start of the data"
                throw fail("tensor \"\(tensor.name)\" starts at data byte \(begin), leaving a gap of \(begin - end) bytes \(after)")
            }
            end = tensor.dataOffsets.upperBound
            previous = tensor
        }
        if end != dataLength {
            let last = previous.map { "the last tensor \"\($0.name)\"" } ?? "the header (no tensors)"
            throw fail("\(dataLength - end) trailing bytes after \(last): data section is \(dataLength) bytes, tensors end at \(end)")
        }
        return (ordered, metadata)
    }

    private static func entry(name: String, _ value: SafeTensorsJSON, dataLength: Int,
                              fail: (String) -> ModelError) throws -> TensorInfo {
        func bad(_ problem: String) -> ModelError { fail("tensor \"\(name)\": \(problem)") }
        guard case .object(let fields) = value else { throw bad("entry is not an object") }
        var dtypeValue: SafeTensorsJSON?, shapeValue: SafeTensorsJSON?, offsetsValue: SafeTensorsJSON?
        for (key, field) in fields {
            switch key {
            case "dtype" where dtypeValue == nil: dtypeValue = field
            case "shape" where shapeValue == nil: shapeValue = field
            case "data_offsets" where offsetsValue == nil: offsetsValue = field
            case "dtype", "shape", "data_offsets": throw bad("field \"\(key)\" appears twice")
            default: throw bad("unknown field \"\(key)\"")
            }
        }
        guard let dtypeValue else { throw bad("missing \"dtype\"") }
        guard let shapeValue else { throw bad("missing \"shape\"") }
        guard let offsetsValue else { throw bad("missing \"data_offsets\"") }

        guard case .string(let dtypeName) = dtypeValue else { throw bad("dtype is not a string") }
        guard let dtype = DType(rawValue: dtypeName) else {
            throw bad("unsupported dtype \"\(dtypeName)\" (this reader takes F32 and F16)")
        }
        guard case .array(let dimensions) = shapeValue else { throw bad("shape is not an array") }
        var shape: [Int] = []
        for dimension in dimensions {
            guard case .integer(let size) = dimension, size >= 0 else {
                throw bad("shape must hold non-negative integers")
            }
            shape.append(size)
        }
        // The byte count is computed with overflow checks and must then equal the offsets' span,
        // itself inside the real file, so no size from the header is trusted before being checked.
        var byteCount = shape.contains(0) ? 0 : dtype.byteCount
        for size in shape {
            let (product, overflow) = byteCount.multipliedReportingOverflow(by: size)
            if overflow { throw bad("shape \(shape) of \(dtype.rawValue) is too large (its byte count overflows)") }
            byteCount = product
        }
        guard case .array(let offsets) = offsetsValue, offsets.count == 2,
              case .integer(let begin) = offsets[0], case .integer(let end) = offsets[1] else {
            throw bad("data_offsets must be [begin, end] integers")
        }
        guard begin >= 0, end >= begin else { throw bad("data_offsets [\(begin), \(end)] are not 0 <= begin <= end") }
        guard end <= dataLength else {
            throw bad("data_offsets [\(begin), \(end)] run past the end of the \(dataLength)-byte data section")
        }
        guard end - begin == byteCount else {
            throw bad("shape \(shape) of \(dtype.rawValue) needs \(byteCount) bytes but data_offsets [\(begin), \(end)] span \(end - begin)")
        }
        return TensorInfo(name: name, dtype: dtype, shape: shape, dataOffsets: begin ..< end)
    }

    /// Strict UTF-8 check (overlongs, surrogates and truncated sequences rejected) that needs no
    /// newer-OS `String(validating:)`.
    static func isValidUTF8(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var iterator = bytes.makeIterator()
        var decoder = UTF8()
        while true {
            switch decoder.decode(&iterator) {
            case .scalarValue: continue
            case .emptyInput: return true
            case .error: return false
            }
        }
    }

    private static func describe(_ range: Range<Int>) -> String { "[\(range.lowerBound), \(range.upperBound)]" }
}
