import Foundation

// MARK: Files

/// Reading and writing lexicon files: `word<TAB>count` per line, UTF-8, by count descending,
/// ties in Unicode scalar order, each line ending in a line feed.
extension Lexicon {
    /// Reads a lexicon file (any line order; a final line break optional, CRLF tolerated). Throws
    /// `TextError.io` if it cannot be read, `TextError.invalidUTF8InFile` for bytes that are not
    /// UTF-8, and `TextError.lexicon` naming the line for a line without exactly one tab, an empty
    /// or spaced word, a count that is not a positive decimal integer, or a duplicate word
    /// (`don’t` and `don't` are the same word here).
    public static func load(contentsOf url: URL) throws -> Lexicon {
        try parse(bytes: [UInt8](TextFile.read(url)), file: url.path)
    }

    /// Parses the lines of a lexicon file; `file` names it in errors.
    static func parse(_ lines: [String], file: String) throws -> Lexicon {
        try parse(bytes: Array(lines.joined(separator: "\n").utf8), file: file)
    }

    /// Parses a lexicon file's bytes, cut into lines as `TextFile.lines` cuts them
    /// (`TextFile.forEachLine`: a leading byte-order mark dropped, CRLF tolerated). A lexicon is
    /// read at every start, so the common lines (ASCII) are checked on their bytes; a line with
    /// other bytes is validated as UTF-8 and its word checked scalar by scalar.
    static func parse(bytes: [UInt8], file: String) throws -> Lexicon {
        // No hash table: the entries go straight into the lexicon's sort, which puts a duplicate
        // next to its twin; only then is the file read again to name the lines.
        var entries: [Entry] = []
        try bytes.withUnsafeBufferPointer { all in
            let lineCount = all.reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) } + 1
            entries.reserveCapacity(lineCount)
            try TextFile.forEachLine(in: all) { number, range in
                let start = range.lowerBound
                func fail(_ problem: String) -> TextError {
                    .lexicon(file: file, problem: "line \(number): \(problem)")
                }
                let line = UnsafeBufferPointer(rebasing: all[range])
                let ascii = !line.contains { $0 >= 0x80 }
                if !ascii, String(validating: line, as: UTF8.self) == nil {
                    throw TextError.invalidUTF8InFile(file: file, line: number, offset: start + (TextFile.firstInvalidUTF8Offset(line) ?? 0))
                }
                guard let tab = line.firstIndex(of: 0x09) else { throw fail("expected word<TAB>count, found no tab") }
                let countBytes = UnsafeBufferPointer(rebasing: line[(tab + 1)...])
                if countBytes.contains(0x09) { throw fail("expected word<TAB>count, found more than one tab") }
                let wordBytes = UnsafeBufferPointer(rebasing: line[..<tab])
                var word = String(decoding: wordBytes, as: UTF8.self)
                if !ascii { word = Tokenizer.normalizeApostrophes(word) }
                // ASCII: a problem is an empty word, a space or a control byte; wordProblem words it.
                if !ascii || wordBytes.isEmpty || wordBytes.contains(where: { $0 <= 0x20 || $0 == 0x7F }),
                   let problem = Vocabulary.wordProblem(word) {
                    throw fail(problem)
                }
                // Digits only: a count is never signed or spaced.
                guard let count = decimalValue(countBytes) else {
                    throw fail("count \(Vocabulary.quoted(String(decoding: countBytes, as: UTF8.self))) is not a decimal integer (or is too large)")
                }
                guard count > 0 else { throw fail("count of \(Vocabulary.quoted(word)) is \(count); counts start at 1") }
                entries.append(Entry(word: word, count: count))
            }
        }
        let lexicon = Lexicon(distinct: entries)
        if lexicon.hasDuplicateForms { throw firstDuplicate(in: bytes, file: file) }
        return lexicon
    }

    /// Whether two forms of one key are the same word (equal as `String`s are: canonically).
    private var hasDuplicateForms: Bool {
        for position in keys.indices where formStarts[position + 1] - formStarts[position] > 1 {
            let run = formsOf(position)
            for (offset, form) in run.enumerated() where run.dropFirst(offset + 1).contains(where: { $0.word == form.word }) {
                return true
            }
        }
        return false
    }

    /// The error for the first line whose word (apostrophes normalized) an earlier line holds.
    private static func firstDuplicate(in bytes: [UInt8], file: String) -> TextError {
        var firstLines: [String: Int] = [:]
        var found: TextError?
        bytes.withUnsafeBufferPointer { all in
            TextFile.forEachLine(in: all) { number, range in
                guard found == nil, let tab = all[range].firstIndex(of: 0x09) else { return }
                let word = Tokenizer.normalizeApostrophes(String(decoding: UnsafeBufferPointer(rebasing: all[range.lowerBound ..< tab]), as: UTF8.self))
                if let first = firstLines.updateValue(number, forKey: word) {
                    found = .lexicon(file: file, problem: "line \(number): duplicate word \(Vocabulary.quoted(word)) (first on line \(first))")
                }
            }
        }
        return found ?? .lexicon(file: file, problem: "duplicate word")
    }

    /// A non-empty run of ASCII digits as an Int; nil for anything else or on overflow.
    private static func decimalValue(_ text: UnsafeBufferPointer<UInt8>) -> Int? {
        guard !text.isEmpty else { return nil }
        var value = 0
        for byte in text {
            guard byte >= 0x30 && byte <= 0x39 else { return nil }
            let (times10, o1) = value.multipliedReportingOverflow(by: 10)
            let (sum, o2) = times10.addingReportingOverflow(Int(byte - 0x30))
            if o1 || o2 { return nil }
            value = sum
        }
        return value
    }

    /// Writes `fileData()` to `url` atomically (temporary file, then rename).
    public func write(to url: URL) throws {
        try TextFile.writeAtomically(fileData(), to: url)
    }

    /// The file form: `word<TAB>count` and a line feed per entry, in `entries` order, UTF-8.
    public func fileData() -> Data {
        var text = ""
        for entry in entries {
            text += entry.word
            text += "\t"
            text += String(entry.count)
            text += "\n"
        }
        return Data(text.utf8)
    }
}
