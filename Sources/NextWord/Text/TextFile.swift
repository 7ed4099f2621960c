import Foundation

/// Reading and writing the project's line-oriented UTF-8 text files (corpora, vocabularies,
/// lexicons) the same strict way everywhere: invalid UTF-8 is an error naming the file, line and
/// byte offset, never silently replaced, because a replaced byte would quietly become a different
/// word and break the vocabulary hash a model is tied to.
public enum TextFile {
    /// The lines of a UTF-8 file: split on LF, a CR before each LF (or at the very end) dropped, a
    /// leading byte-order mark dropped, and no empty last line for a final line break (as the KSR
    /// protocol reads its input). Empty lines elsewhere are kept as "".
    ///
    /// Throws `TextError.io` when the file cannot be read and `TextError.invalidUTF8InFile` when
    /// a line is not UTF-8.
    public static func lines(contentsOf url: URL) throws -> [String] {
        try lines(of: read(url), file: url.path)
    }

    /// The lines of `data` as `lines(contentsOf:)` reads them; `file` names the source in errors.
    public static func lines(of data: Data, file: String) throws -> [String] {
        let bytes = [UInt8](data)
        var lines: [String] = []
        try bytes.withUnsafeBufferPointer { all in
            try forEachLine(in: all) { number, range in lines.append(try decodeLine(bytes[range], file: file, line: number)) }
        }
        return lines
    }

    /// Calls `body(number, range)` for each line of `bytes` as `lines(of:file:)` cuts them: the
    /// 1-based line number and the byte range without its line feed (and a carriage return before
    /// it), after a leading byte-order mark (it says nothing about the text; some editors add one).
    static func forEachLine(in bytes: UnsafeBufferPointer<UInt8>, _ body: (Int, Range<Int>) throws -> Void) rethrows {
        var start = bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0, number = 1
        while start < bytes.count {
            let newline = bytes[start...].firstIndex(of: 0x0A)
            var end = newline ?? bytes.count
            if end > start, bytes[end - 1] == 0x0D { end -= 1 }
            try body(number, start ..< end)
            start = (newline ?? bytes.count) + 1
            number += 1
        }
    }

    /// What `-` on a command line stands for: standard input where a file is read, standard
    /// output where one is written.
    public static let standardInput = URL(fileURLWithPath: "/dev/stdin")
    public static let standardOutput = URL(fileURLWithPath: "/dev/stdout")

    /// `path` as a command line names it: `-` is `standardInput`.
    public static func input(_ path: String) -> URL { path == "-" ? standardInput : URL(fileURLWithPath: path) }
    /// `path` as a command line names it: `-` is `standardOutput`.
    public static func output(_ path: String) -> URL { path == "-" ? standardOutput : URL(fileURLWithPath: path) }

    /// Reads a whole file (or standard input), mapping Foundation's errors onto `TextError.io`.
    public static func read(_ url: URL) throws -> Data {
        if url == standardInput { return FileHandle.standardInput.readDataToEndOfFile() }
        var info = stat()
        if stat(url.path, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR {
            throw TextError.io(file: url.path, problem: "is a directory, not a text file")
        }
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw TextError.io(file: url.path, problem: "no such file")
        }
        do {
            return try Data(contentsOf: url)
        } catch {
            // Foundation's own words: errno may not be what made it fail.
            throw TextError.io(file: url.path, problem: "cannot read: \(error.localizedDescription)")
        }
    }

    /// Writes `data` to a temporary file beside `url` and renames it into place (`AtomicFileWriter`),
    /// so a reader (or a crash mid-write) never sees half a file. Throws `TextError.io` on failure.
    public static func writeAtomically(_ data: Data, to url: URL) throws {
        if url == standardOutput {
            FileHandle.standardOutput.write(data)
            return
        }
        do { try AtomicFileWriter.store(data, at: url) } catch { throw TextError.io(file: url.path, problem: error.problem) }
    }

    /// The offset of the first byte of the first ill-formed UTF-8 sequence in `bytes`, or nil when
    /// all of it is valid UTF-8.
    public static func firstInvalidUTF8Offset(_ bytes: some Collection<UInt8>) -> Int? {
        var parser = Unicode.UTF8.ForwardParser()
        var iterator = bytes.makeIterator()
        var offset = 0
        while true {
            switch parser.parseScalar(from: &iterator) {
            case .valid(let encoded): offset += encoded.count
            case .error: return offset
            case .emptyInput: return nil
            }
        }
    }

    /// Decodes `bytes` strictly, throwing `TextError.invalidUTF8(offset:)` on the first bad byte.
    static func decode(_ bytes: some Collection<UInt8>) throws -> String {
        if let string = String(validating: bytes, as: UTF8.self) { return string }
        throw TextError.invalidUTF8(offset: firstInvalidUTF8Offset(bytes) ?? 0)
    }

    private static func decodeLine(_ bytes: ArraySlice<UInt8>, file: String, line: Int) throws -> String {
        if let string = String(validating: bytes, as: UTF8.self) { return string }
        let offset = bytes.startIndex + (firstInvalidUTF8Offset(bytes) ?? 0)
        throw TextError.invalidUTF8InFile(file: file, line: line, offset: offset)
    }
}
