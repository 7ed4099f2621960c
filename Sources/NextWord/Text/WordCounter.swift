import Foundation

/// Counts model tokens over lines of text: the input of `Vocabulary.build` and `Lexicon`.
///
/// Tokens are what `Tokenizer.modelTokens(line:lowercase:)` gives (apostrophes normalized,
/// lowercased if asked), so counts agree with what the model is trained and evaluated on.
package struct WordCounter: Sendable {
    /// How lines are cut into tokens.
    public var tokenizer: Tokenizer
    /// Whether tokens are lowercased before counting (a vocabulary for a lowercased model); a
    /// lexicon wants surface forms, so `false`.
    public var lowercase: Bool
    /// The kinds of token counted: all by default; a lexicon wants `[.word, .number]`.
    public var kinds: Set<Token.Kind>

    /// token → number of times seen.
    public private(set) var counts: [String: Int] = [:]
    /// Tokens counted so far.
    public private(set) var tokenCount = 0
    /// Lines seen so far (counted tokens or not).
    public private(set) var lineCount = 0

    public init(tokenizer: Tokenizer = Tokenizer(), lowercase: Bool = false,
                kinds: Set<Token.Kind> = Set(Token.Kind.allCases)) {
        self.tokenizer = tokenizer
        self.lowercase = lowercase
        self.kinds = kinds
    }

    /// Counts the tokens of one line.
    public mutating func add(line: String) {
        lineCount += 1
        for token in tokenizer.tokenize(line) where kinds.contains(token.kind) {
            var text = Tokenizer.normalizeApostrophes(token.text)
            if lowercase { text = text.lowercased() }
            counts[text, default: 0] += 1
            tokenCount += 1
        }
    }

    /// Counts the tokens of each line.
    public mutating func add(lines: some Sequence<String>) {
        for line in lines { add(line: line) }
    }

    /// Counts the tokens of every line of a UTF-8 text file (read as `TextFile.lines`); throws
    /// `TextError.io` or `TextError.invalidUTF8InFile` naming the file, counting nothing from it.
    public mutating func add(contentsOf url: URL) throws {
        add(lines: try TextFile.lines(contentsOf: url))
    }

    /// `Vocabulary.build` over these counts.
    public func vocabulary(minCount: Int = 1, maxSize: Int? = nil) -> Vocabulary {
        Vocabulary.build(counts: counts, minCount: minCount, maxSize: maxSize)
    }

    /// A lexicon of these counts.
    public func lexicon() -> Lexicon {
        Lexicon(counts: counts)
    }
}
