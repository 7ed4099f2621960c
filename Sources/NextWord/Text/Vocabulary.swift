import Foundation

/// The closed word list of a language model: word ↔ id, both ways in O(1).
///
/// Two special tokens are always present: `<unk>` (every word outside the list) and `</s>` (the end
/// of a sentence, predicted after a line's last token). Vocabularies this package makes put them
/// first (ids 0 and 1), then the words by count descending, ties in Unicode scalar order; a loaded
/// file keeps its own order, so a model's ids never move.
///
/// Words are compared as Swift strings, that is up to Unicode canonical equivalence: `é` and
/// `e` + U+0301 are the same word (and a list holding both is rejected as a duplicate).
public struct Vocabulary: Sendable, Equatable {
    public static let unknownToken = "<unk>"
    public static let endOfSentenceToken = "</s>"

    /// The words in id order.
    public let words: [String]
    /// The id of `<unk>`.
    public let unknownID: Int
    /// The id of `</s>`.
    public let endOfSentenceID: Int
    private let ids: [String: Int]

    /// Number of words, specials included.
    public var count: Int { words.count }

    /// A vocabulary with exactly these words, in this order (ids are positions). Throws
    /// `TextError.vocabulary` for an empty word, a word holding whitespace or a control character,
    /// a duplicate (naming the word and both lines), or a missing `<unk>` or `</s>`.
    public init(words: [String]) throws {
        try self.init(words: words, file: TextError.inMemory)
    }

    init(words: [String], file: String) throws {
        let ids = try Vocabulary.index(words, file: file)
        guard let unknownID = ids[Vocabulary.unknownToken] else {
            throw TextError.vocabulary(file: file, problem: "missing the special token \(Vocabulary.unknownToken)")
        }
        guard let endOfSentenceID = ids[Vocabulary.endOfSentenceToken] else {
            throw TextError.vocabulary(
                file: file,
                problem: "missing the special token \(Vocabulary.endOfSentenceToken) (a plain word list can be imposed with Vocabulary.imposing)")
        }
        self.words = words
        self.ids = ids
        self.unknownID = unknownID
        self.endOfSentenceID = endOfSentenceID
    }

    public static func == (lhs: Vocabulary, rhs: Vocabulary) -> Bool {
        lhs.words == rhs.words
    }

    // MARK: Lookup

    /// The id of `word`, or nil when it is not in the vocabulary.
    public func id(_ word: String) -> Int? {
        ids[word]
    }

    /// The id of `word`, or the id of `<unk>` when it is not in the vocabulary.
    public func idOrUnknown(_ word: String) -> Int {
        ids[word] ?? unknownID
    }

    /// The word with id `id`, or nil when `id` is out of range.
    public func word(_ id: Int) -> String? {
        words.indices.contains(id) ? words[id] : nil
    }

    // MARK: Making vocabularies

    /// A vocabulary from token counts: `<unk>` (id 0), `</s>` (id 1), then every word counted at
    /// least `minCount` times, by count descending, ties in Unicode scalar order; at most `maxSize`
    /// words in all, specials included (the specials are always kept). Counts for the specials
    /// themselves and words that could not be written one per line (empty, or holding whitespace)
    /// are skipped.
    public static func build(counts: [String: Int], minCount: Int = 1, maxSize: Int? = nil) -> Vocabulary {
        let specials = [unknownToken, endOfSentenceToken]
        var kept = counts.filter { word, count in
            count >= minCount && !specials.contains(word) && wordProblem(word) == nil
        }.map { (word: $0.key, count: $0.value) }
        kept.sort { a, b in
            a.count != b.count ? a.count > b.count : precedesInScalarOrder(a.word, b.word)
        }
        if let maxSize { kept = Array(kept.prefix(max(maxSize - specials.count, 0))) }
        let words = specials + kept.map(\.word)
        // Every word was checked and is unique (dictionary keys), so the index cannot fail.
        var ids: [String: Int] = [:]
        ids.reserveCapacity(words.count)
        for (id, word) in words.enumerated() { ids[word] = id }
        return Vocabulary(words: words, ids: ids)
    }

    /// Imposes an existing word list (such as `shared/data/brown-lm/vocab.txt`, which ends with
    /// `<unk>` and has no `</s>`): `<unk>` (id 0), `</s>` (id 1), then the list's words in their
    /// order, leaving out any specials it holds. Throws `TextError.vocabulary` for empty, spaced or
    /// duplicate words, naming the line of the list.
    public static func imposing(_ fileWords: [String]) throws -> Vocabulary {
        try imposing(fileWords, file: TextError.inMemory)
    }

    /// `imposing(_:)` on the lines of a word-list file.
    public static func imposing(contentsOf url: URL) throws -> Vocabulary {
        try imposing(TextFile.lines(contentsOf: url), file: url.path)
    }

    static func imposing(_ fileWords: [String], file: String) throws -> Vocabulary {
        _ = try index(fileWords, file: file)
        let specials = [unknownToken, endOfSentenceToken]
        return try Vocabulary(words: specials + fileWords.filter { !specials.contains($0) }, file: file)
    }

    private init(words: [String], ids: [String: Int]) {
        self.words = words
        self.ids = ids
        self.unknownID = 0
        self.endOfSentenceID = 1
    }

    // MARK: Files

    /// Reads a vocabulary file: one word per line in id order (a final line break optional, CRLF
    /// tolerated), `<unk>` and `</s>` somewhere in it. Throws `TextError.io` if it cannot be read,
    /// `TextError.invalidUTF8InFile` for bytes that are not UTF-8, `TextError.vocabulary` for a
    /// malformed list; each names the file.
    public static func load(contentsOf url: URL) throws -> Vocabulary {
        try Vocabulary(words: TextFile.lines(contentsOf: url), file: url.path)
    }

    /// Writes `fileData()` to `url` atomically (temporary file, then rename).
    public func write(to url: URL) throws {
        try TextFile.writeAtomically(fileData(), to: url)
    }

    /// The file form: each word followed by a line feed, UTF-8. Its SHA-256 ties a model to it.
    public func fileData() -> Data {
        var text = ""
        text.reserveCapacity(words.reduce(0) { $0 + $1.utf8.count + 1 })
        for word in words {
            text += word
            text += "\n"
        }
        return Data(text.utf8)
    }

    /// SHA-256 of `fileData()`, lowercase hex: what a model's config records.
    public var sha256Hex: String { Vocabulary.sha256Hex(of: fileData()) }

    /// SHA-256 of `data`, as 64 lowercase hex digits.
    public static func sha256Hex(of data: Data) -> String { Hashing.sha256Hex(data) }

    // MARK: Checks shared with the lexicon

    /// Why `word` cannot be a line of a word file, or nil when it can.
    static func wordProblem(_ word: String) -> String? {
        if word.isEmpty { return "empty word" }
        if word.unicodeScalars.contains(where: ScalarClass.isSpace) {
            return "word \(quoted(word)) contains whitespace or a control character"
        }
        return nil
    }

    /// The word in quotes with whitespace, control and format characters escaped (`\t`,
    /// `\u{200B}`), so an error message shows what is really in the file.
    static func quoted(_ word: String) -> String {
        let shown = word.unicodeScalars.map { scalar in
            ScalarClass.isSpace(scalar) || ScalarClass.isInvisible(scalar)
                ? scalar.escaped(asASCII: true) : String(scalar)
        }
        return "\"" + shown.joined() + "\""
    }

    /// Unicode scalar order, the tie order of vocabulary and lexicon files. (UTF-8 byte order is
    /// the same order, and cheaper to compare.)
    static func precedesInScalarOrder(_ a: String, _ b: String) -> Bool {
        // memcmp on the contiguous UTF-8: the generic element-wise comparison is most of the cost
        // of sorting a lexicon at start-up.
        var (a, b) = (a, b)
        return a.withUTF8 { x in
            b.withUTF8 { y in
                let common = min(x.count, y.count)
                let order = common == 0 ? 0 : memcmp(x.baseAddress!, y.baseAddress!, common)
                return order != 0 ? order < 0 : x.count < y.count
            }
        }
    }

    /// word → position, rejecting bad and duplicate words with their 1-based line numbers.
    private static func index(_ words: [String], file: String) throws -> [String: Int] {
        var ids: [String: Int] = [:]
        ids.reserveCapacity(words.count)
        for (position, word) in words.enumerated() {
            if let problem = wordProblem(word) {
                throw TextError.vocabulary(file: file, problem: "line \(position + 1): \(problem)")
            }
            if let first = ids[word] {
                throw TextError.vocabulary(
                    file: file,
                    problem: "line \(position + 1): duplicate word \(quoted(word)) (first on line \(first + 1))")
            }
            ids[word] = position
        }
        return ids
    }
}
