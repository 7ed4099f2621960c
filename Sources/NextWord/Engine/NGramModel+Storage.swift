import Foundation

/// The model file: a magic and a version so a truncated or foreign file is recognised, then
/// little-endian counts and flat arrays exactly as the model holds them.
///
///     "NWNGRAM1"                      8 bytes
///     version                         UInt32 (1)
///     order, vocabSize, endOfSentence UInt32 each
///     discounts                       order x (D1, D2, D3+) Float64, unigrams first
///     unigram                         vocabSize x Float32
///     for each order n in 2...order:
///       contexts, entries             UInt32 each
///       context ids                   contexts x (n - 1) UInt32, sorted lexicographically
///       offsets                       (contexts + 1) x UInt32 into the entries
///       backoffs (gamma)              contexts x Float32
///       words                         entries x UInt32, sorted within each context
///       probabilities (alpha)         entries x Float32
///
/// Loading checks every length against the bytes left before allocating, and every invariant the
/// queries rely on (sorted, in range, finite), so a hostile file gives an error, never a crash or
/// an out-of-bounds read later.
extension NGramModel {
    /// The file's first eight bytes.
    public static let fileMagic = Array("NWNGRAM1".utf8)
    /// The format version this code writes and reads.
    public static let fileVersion: UInt32 = 1

    /// The model in the file format.
    public func serialized() -> Data {
        var out = NGramByteWriter()
        out.bytes.append(contentsOf: Self.fileMagic)
        for value in [Self.fileVersion, UInt32(order), UInt32(vocabSize), UInt32(endOfSentence)] { out.append(value) }
        for d in discounts {
            out.append(d.d1.bitPattern)
            out.append(d.d2.bitPattern)
            out.append(d.d3Plus.bitPattern)
        }
        out.append(unigram)
        for level in levels {
            out.append(UInt32(level.contextCount))
            out.append(UInt32(level.words.count))
            out.append(level.contextIDs)
            out.append(level.offsets)
            out.append(level.backoffs)
            out.append(level.words)
            out.append(level.probs)
        }
        return Data(out.bytes)
    }

    /// Writes the model to `url`, through a temporary file renamed into place.
    ///
    /// - Throws: `NGramError.io` when the file cannot be written.
    public func write(to url: URL) throws {
        do {
            try serialized().write(to: url, options: .atomic)
        } catch {
            throw NGramError.io(file: url.path, problem: "cannot write: \(error.localizedDescription)")
        }
    }

    /// Reads a model written by `write(to:)`.
    ///
    /// - Throws: `NGramError.io` when the file cannot be read, `NGramError.corrupt` when it is not a
    ///   complete, consistent model file of this version.
    public static func load(contentsOf url: URL) throws -> NGramModel {
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw NGramError.io(file: url.path, problem: "cannot read: \(error.localizedDescription)")
        }
        return try NGramModel(serialized: data, file: url.path)
    }

    /// Parses the file format; `file` names the source in errors.
    ///
    /// - Throws: `NGramError.corrupt`.
    public init(serialized data: Data, file: String = "<data>") throws {
        var r = NGramByteReader(bytes: [UInt8](data), file: file)
        guard r.bytes.count >= 8, Array(r.bytes[0..<8]) == Self.fileMagic else {
            throw r.corrupt("no NWNGRAM1 magic (not an n-gram model file)")
        }
        r.position = 8
        let version = try r.uint32("version")
        guard version == Self.fileVersion else { throw r.corrupt("version \(version), this build reads \(Self.fileVersion)") }
        let order = Int(try r.uint32("order"))
        guard (2...4).contains(order) else { throw r.corrupt("order \(order) is not in 2...4") }
        let vocabSize = Int(try r.uint32("vocabulary size"))
        guard vocabSize >= 1 else { throw r.corrupt("empty vocabulary") }
        let endOfSentence = Int(try r.uint32("end-of-sentence id"))
        guard endOfSentence < vocabSize else { throw r.corrupt("end-of-sentence id \(endOfSentence) out of range") }
        var discounts: [NGramDiscounts] = []
        for n in 1...order {
            let d = NGramDiscounts(d1: Double(bitPattern: try r.uint64("discounts")),
                                   d2: Double(bitPattern: try r.uint64("discounts")),
                                   d3Plus: Double(bitPattern: try r.uint64("discounts")))
            guard [d.d1, d.d2, d.d3Plus].allSatisfy({ $0.isFinite && $0 >= 0 && $0 <= 3 }) else {
                throw r.corrupt("discounts of order \(n) out of range")
            }
            discounts.append(d)
        }
        let unigram = try r.floats(count: vocabSize, "unigram probabilities")
        guard unigram.allSatisfy({ $0.isFinite && $0 >= 0 && $0 <= 1 }) else {
            throw r.corrupt("a unigram probability is not in 0...1")
        }
        let unigramSum = unigram.reduce(0.0) { $0 + Double($1) }
        guard abs(unigramSum - 1) < 1e-3 else { throw r.corrupt("unigram probabilities sum to \(unigramSum), not 1") }
        var levels: [NGramLevel] = []
        for n in 2...order {
            let contexts = Int(try r.uint32("order \(n) context count"))
            let entries = Int(try r.uint32("order \(n) entry count"))
            // Counts come from the file: the reads below check each length against the bytes left,
            // in Int arithmetic that cannot overflow for 32-bit counts.
            let level = NGramLevel(contextLength: n - 1,
                                   contextIDs: try r.uint32s(count: contexts * (n - 1), "order \(n) contexts"),
                                   offsets: try r.uint32s(count: contexts + 1, "order \(n) offsets"),
                                   backoffs: try r.floats(count: contexts, "order \(n) backoffs"),
                                   words: try r.uint32s(count: entries, "order \(n) words"),
                                   probs: try r.floats(count: entries, "order \(n) probabilities"))
            if let problem = level.problem(vocabSize: vocabSize) { throw r.corrupt(problem) }
            levels.append(level)
        }
        guard r.position == r.bytes.count else {
            throw r.corrupt("\(r.bytes.count - r.position) unexpected bytes after the model")
        }
        self.init(order: order, vocabSize: vocabSize, endOfSentence: endOfSentence, discounts: discounts,
                  unigram: unigram, levels: levels)
    }
}

/// Appends little-endian values.
struct NGramByteWriter {
    var bytes: [UInt8] = []

    mutating func append<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    mutating func append(_ values: [UInt32]) {
        bytes.reserveCapacity(bytes.count + 4 * values.count)
        for v in values { append(v) }
    }

    mutating func append(_ values: [Float]) {
        bytes.reserveCapacity(bytes.count + 4 * values.count)
        for v in values { append(v.bitPattern) }
    }
}

/// Reads little-endian values, checking every length against the bytes left.
struct NGramByteReader {
    let bytes: [UInt8]
    let file: String
    var position = 0

    init(bytes: [UInt8], file: String) {
        self.bytes = bytes
        self.file = file
    }

    func corrupt(_ problem: String) -> NGramError { .corrupt(file: file, problem: problem) }

    /// Moves past `count` bytes and returns where they start, or throws if the file ends first.
    private mutating func take(_ count: Int, _ what: String) throws -> Int {
        guard count >= 0, count <= bytes.count - position else {
            throw corrupt("truncated: \(what) needs \(count) bytes, \(bytes.count - position) left")
        }
        defer { position += count }
        return position
    }

    private func load<T: FixedWidthInteger>(_: T.Type, at offset: Int) -> T {
        var value: T = 0
        for k in 0..<(T.bitWidth / 8) { value |= T(bytes[offset + k]) << (8 * k) }
        return value
    }

    mutating func uint32(_ what: String) throws -> UInt32 { load(UInt32.self, at: try take(4, what)) }

    mutating func uint64(_ what: String) throws -> UInt64 { load(UInt64.self, at: try take(8, what)) }

    mutating func uint32s(count: Int, _ what: String) throws -> [UInt32] {
        try words(count: count, what, as: UInt32.self) { $0 }
    }

    mutating func floats(count: Int, _ what: String) throws -> [Float] {
        try words(count: count, what, as: Float.self, Float.init(bitPattern:))
    }

    /// `count` little-endian 32-bit values: one copy of the bytes on a little-endian machine (the
    /// n-gram's arrays are megabytes, read at every start), one load per value elsewhere.
    private mutating func words<T>(count: Int, _ what: String, as: T.Type, _ make: (UInt32) -> T) throws -> [T] {
        precondition(MemoryLayout<T>.size == 4)
        let (byteCount, overflow) = count.multipliedReportingOverflow(by: 4)
        guard !overflow else { throw corrupt("\(what): count \(count) too large") }
        let start = try take(byteCount, what)
        #if _endian(little)
        return [T](unsafeUninitializedCapacity: count) { buffer, initialized in
            bytes.withUnsafeBytes { raw in
                UnsafeMutableRawBufferPointer(buffer).copyMemory(from: UnsafeRawBufferPointer(rebasing: raw[start ..< start + byteCount]))
            }
            initialized = count
        }
        #else
        return (0..<count).map { make(load(UInt32.self, at: start + 4 * $0)) }
        #endif
    }
}
