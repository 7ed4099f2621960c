import Foundation

/// The model file: a magic and a version so a truncated or foreign file is recognised, then
/// little-endian counts and flat arrays in the order the model holds them.
///
///     "NWNGRAM1"                      8 bytes
///     version                         UInt32 (2; version 1 files are still read)
///     order, vocabSize, endOfSentence UInt32 each
///     discounts                       order x (D1, D2, D3+) Float64, unigrams first
///     unigram                         vocabSize x Float32
///     for each order n in 2...order:
///       contexts, entries             UInt32 each
///       context ids                   contexts x (n - 1) ids, sorted lexicographically
///       offsets                       (contexts + 1) x UInt32 into the entries
///       backoffs (gamma)              contexts x UInt16 log code
///       words                         entries x ids, sorted within each context
///       probabilities (alpha)         entries x UInt16 log code
///
/// An id is a UInt16 when the vocabulary has at most 65,536 ids, a UInt32 otherwise. A log code is
/// `round(-ln(p) * 2048)` (`NGramLogCode`): a relative error of at most 0.025 % on any value down to
/// 1e-14, where version 1's Float32 took twice the bytes; with 16-bit ids an n-gram costs 4 bytes
/// instead of 8, which is what lets the default model keep n-grams seen twice within its 10 MB.
/// Version 1 stored every id as UInt32 and every alpha and gamma as Float32.
///
/// Loading checks every length against the bytes left before allocating, and every invariant the
/// queries rely on (sorted, in range, finite), so a hostile file gives an error, never a crash or
/// an out-of-bounds read later.
extension NGramModel {
    /// The file's first eight bytes.
    public static let fileMagic = Array("NWNGRAM1".utf8)
    /// The format version this code writes; it reads this one and version 1.
    public static let fileVersion: UInt32 = 2

    /// Whether a model over `vocabSize` ids stores them in 16 bits (format version 2).
    static func hasNarrowIDs(vocabSize: Int) -> Bool { vocabSize <= 1 << 16 }

    /// The model in the file format. Its alphas and gammas are stored as log codes, so a model read
    /// back differs from this one by the codes' rounding (at most 0.025 % per value); a model read
    /// from a file writes the same bytes again.
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
        let narrow = Self.hasNarrowIDs(vocabSize: vocabSize)
        for level in levels {
            out.append(UInt32(level.contextCount))
            out.append(UInt32(level.words.count))
            out.append(ids: level.contextIDs, narrow: narrow)
            out.append(level.offsets)
            out.append(codes: level.backoffs)
            out.append(ids: level.words, narrow: narrow)
            out.append(codes: level.probs)
        }
        return Data(out.bytes)
    }

    /// Writes the model to `url`, through a temporary file renamed into place (`AtomicFileWriter`).
    ///
    /// - Throws: `NGramError.io` when the file cannot be written.
    public func write(to url: URL) throws {
        do { try AtomicFileWriter.store(serialized(), at: url) } catch { throw NGramError.io(file: url.path, problem: error.problem) }
    }

    /// Reads a model written by `write(to:)`.
    ///
    /// - Throws: `NGramError.io` when the file cannot be read, `NGramError.corrupt` when it is not a
    ///   complete, consistent model file of a version this build reads.
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
        var r = NGramByteReader(data: data, file: file)
        guard r.count >= 8, r.prefix(8) == Self.fileMagic else {
            throw r.corrupt("no NWNGRAM1 magic (not an n-gram model file)")
        }
        r.position = 8
        let version = try r.uint32("version")
        guard version == 1 || version == Self.fileVersion else {
            throw r.corrupt("version \(version), this build reads 1 and \(Self.fileVersion)")
        }
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
        let narrow = version >= 2 && Self.hasNarrowIDs(vocabSize: vocabSize)
        var levels: [NGramLevel] = []
        for n in 2...order {
            let contexts = Int(try r.uint32("order \(n) context count"))
            let entries = Int(try r.uint32("order \(n) entry count"))
            // Counts come from the file: the reads below check each length against the bytes left,
            // in Int arithmetic that cannot overflow for 32-bit counts.
            let level = NGramLevel(contextLength: n - 1,
                                   contextIDs: try r.ids(count: contexts * (n - 1), narrow: narrow, "order \(n) contexts"),
                                   offsets: try r.uint32s(count: contexts + 1, "order \(n) offsets"),
                                   backoffs: version == 1 ? try r.floats(count: contexts, "order \(n) backoffs")
                                       : try r.codes(count: contexts, "order \(n) backoffs"),
                                   words: try r.ids(count: entries, narrow: narrow, "order \(n) words"),
                                   probs: version == 1 ? try r.floats(count: entries, "order \(n) probabilities")
                                       : try r.codes(count: entries, "order \(n) probabilities"))
            if let problem = level.problem(vocabSize: vocabSize) { throw r.corrupt(problem) }
            levels.append(level)
        }
        guard r.position == r.count else {
            throw r.corrupt("\(r.count - r.position) unexpected bytes after the model")
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

    /// Ids in 16 bits when `narrow` (every id then fits), 32 otherwise.
    mutating func append(ids: [UInt32], narrow: Bool) {
        guard narrow else { return append(ids) }
        bytes.reserveCapacity(bytes.count + 2 * ids.count)
        for id in ids { append(UInt16(truncatingIfNeeded: id)) }
    }

    /// Probabilities as `NGramLogCode`s.
    mutating func append(codes values: [Float]) {
        bytes.reserveCapacity(bytes.count + 2 * values.count)
        for v in values { append(NGramLogCode.code(of: v)) }
    }
}

/// Reads little-endian values, checking every length against the bytes left.
///
/// It reads the `Data` it is given in place and writes each
/// array straight into its final form: the n-gram's arrays are megabytes, read at every start, and
/// a copy of the file or a temporary array would add to the engine's peak memory.
struct NGramByteReader {
    let data: Data
    let file: String
    var position = 0

    init(data: Data, file: String) {
        self.data = data
        self.file = file
    }

    /// The number of bytes.
    var count: Int { data.count }

    func corrupt(_ problem: String) -> NGramError { .corrupt(file: file, problem: problem) }

    /// Moves past `count` bytes and returns where they start, or throws if the file ends first.
    private mutating func take(_ count: Int, _ what: String) throws -> Int {
        guard count >= 0, count <= data.count - position else {
            throw corrupt("truncated: \(what) needs \(count) bytes, \(data.count - position) left")
        }
        defer { position += count }
        return position
    }

    /// The first `length` bytes (fewer if the data is shorter).
    func prefix(_ length: Int) -> [UInt8] { [UInt8](data.prefix(length)) }

    private static func load<T: FixedWidthInteger>(_: T.Type, _ raw: UnsafeRawBufferPointer, at offset: Int) -> T {
        T(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: T.self))
    }

    private func load<T: FixedWidthInteger>(_: T.Type, at offset: Int) -> T {
        data.withUnsafeBytes { Self.load(T.self, $0, at: offset) }
    }

    mutating func uint32(_ what: String) throws -> UInt32 { load(UInt32.self, at: try take(4, what)) }

    mutating func uint64(_ what: String) throws -> UInt64 { load(UInt64.self, at: try take(8, what)) }

    mutating func uint32s(count: Int, _ what: String) throws -> [UInt32] {
        try values(count: count, width: 4, what) { Self.load(UInt32.self, $0, at: $1) }
    }

    mutating func floats(count: Int, _ what: String) throws -> [Float] {
        try values(count: count, width: 4, what) { Float(bitPattern: Self.load(UInt32.self, $0, at: $1)) }
    }

    /// `count` ids of 16 bits (`narrow`) or 32, widened to `UInt32`.
    mutating func ids(count: Int, narrow: Bool, _ what: String) throws -> [UInt32] {
        guard narrow else { return try uint32s(count: count, what) }
        return try values(count: count, width: 2, what) { UInt32(Self.load(UInt16.self, $0, at: $1)) }
    }

    /// `count` `NGramLogCode`s, decoded.
    mutating func codes(count: Int, _ what: String) throws -> [Float] {
        try values(count: count, width: 2, what) { NGramLogCode.probability(of: Self.load(UInt16.self, $0, at: $1)) }
    }

    /// `count` values of `width` bytes each, value `i` made by `make(bytes, offset of value i)`.
    private mutating func values<T>(count: Int, width: Int, _ what: String,
                                    _ make: (UnsafeRawBufferPointer, Int) -> T) throws -> [T] {
        let (byteCount, overflow) = count.multipliedReportingOverflow(by: width)
        guard !overflow else { throw corrupt("\(what): count \(count) too large") }
        let start = try take(byteCount, what)
        return data.withUnsafeBytes { raw in
            [T](unsafeUninitializedCapacity: count) { buffer, initialized in
                for i in 0..<count { (buffer.baseAddress! + i).initialize(to: make(raw, start + width * i)) }
                initialized = count
            }
        }
    }
}
