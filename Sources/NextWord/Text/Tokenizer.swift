/// Turns keyboard text into words, numbers, punctuation and symbols.
///
/// In `.natural` mode a word is what `shared/docs/KSR.md` calls a word, so the engine completes
/// exactly the units the keystroke simulator scores:
///
///     [\p{L}\p{N}]+(?:['’-][\p{L}\p{N}]+)*
///
/// with one addition: combining marks (`\p{M}`) after a letter or digit stay in the word, so a
/// decomposed `e` + U+0301 does not cut `école` in two. A word made of digits only, possibly with
/// `.` or `,` between digit groups (`42`, `3.14`, `1,000`), is a `.number` (KSR sees `3.14` as the
/// words `3` and `14`). Every other visible character is its own `.punctuation` or `.symbol` token,
/// one grapheme cluster whole (`...` is three `.` tokens; `👨‍👩‍👧` is one symbol). Whitespace and
/// control characters only separate tokens (`Token.spaceBefore`); invisible format characters
/// (BOM, zero-width space and joiners, bidirectional marks) end a word and are dropped.
///
/// In `.pretokenized` mode (benchmark files such as `shared/data/brown-lm/*.txt`), every run of
/// non-whitespace is one `.word` token, however it is spelled.
///
/// Tokenizing is linear in the length of the text and total: any `String` gives some tokens.
public struct Tokenizer: Sendable, Hashable {
    /// How text is cut into tokens.
    public enum Mode: String, Sendable, Hashable, CaseIterable {
        /// Natural keyboard text: the word pattern above, punctuation and symbols split off.
        case natural
        /// Text already split into tokens by single spaces: split on whitespace only.
        case pretokenized
    }

    public var mode: Mode

    public init(mode: Mode = .natural) {
        self.mode = mode
    }

    /// The tokens of `text`, in order.
    public func tokenize(_ text: String) -> [Token] {
        scan(text).map(\.token)
    }

    /// The tokens of UTF-8 `bytes`. Strict: ill-formed UTF-8 throws
    /// `TextError.invalidUTF8(offset:)` with the offset of the first bad byte, rather than being
    /// replaced by U+FFFD. (For lenient decoding, tokenize `String(decoding: bytes, as: UTF8.self)`.)
    public func tokenize(utf8 bytes: some Collection<UInt8>) throws -> [Token] {
        tokenize(try TextFile.decode(bytes))
    }

    /// `s` with every right single quotation mark `’` (U+2019) replaced by the ASCII apostrophe,
    /// so `don’t` and `don't` are the same word to the model and the lexicon.
    public static func normalizeApostrophes(_ s: String) -> String {
        let curly: Unicode.Scalar = "\u{2019}"
        guard s.unicodeScalars.contains(curly) else { return s }
        // Scalar-wise, so a `’` carrying a combining mark is still replaced.
        var scalars = String.UnicodeScalarView()
        scalars.append(contentsOf: s.unicodeScalars.lazy.map { $0 == curly ? "'" : $0 })
        return String(scalars)
    }

    /// Splits the text typed so far into the finished tokens and the word being typed.
    ///
    /// When `prefix` ends inside a word or number (the last token touches the end of the string,
    /// with no space or punctuation after it), that token is `partial`, exactly as typed, and is
    /// not in `context`. A word followed directly by a final `'`, `’` or `-` is also still being
    /// typed (`don'` on the way to `don't`, `well-` to `well-known`): `partial` is the word with
    /// its joiner. Otherwise `partial` is "".
    ///
    ///     "I would li" → ([I, would], "li")      "I would " → ([I, would], "")
    ///     "Hello,"     → ([Hello, ","], "")      "don'"     → ([], "don'")
    public func split(prefix: String) -> (context: [Token], partial: String) {
        let scanned = scan(prefix)
        guard let last = scanned.last, last.range.upperBound == prefix.endIndex else {
            return (scanned.map(\.token), "")
        }
        if last.token.isWordLike {
            return (scanned.dropLast().map(\.token), last.token.text)
        }
        if mode == .natural, scanned.count >= 2, !last.token.spaceBefore,
           last.token.text.unicodeScalars.count == 1,
           let joiner = last.token.text.unicodeScalars.first, ScalarClass.isJoiner(joiner) {
            let word = scanned[scanned.count - 2]
            if word.token.isWordLike, word.range.upperBound == last.range.lowerBound {
                return (scanned.dropLast(2).map(\.token), word.token.text + last.token.text)
            }
        }
        return (scanned.map(\.token), "")
    }

    /// The token texts the language model and the counters see for one line: every token (words,
    /// numbers, punctuation, symbols), apostrophes normalized, lowercased if `lowercase`.
    public func modelTokens(line: String, lowercase: Bool) -> [String] {
        tokenize(line).map { token in
            let text = Tokenizer.normalizeApostrophes(token.text)
            return lowercase ? text.lowercased() : text
        }
    }

    /// Puts tokens back into text: one space wherever `spaceBefore` is set, except before the
    /// first token. Exact for text with single spaces and no line breaks.
    public static func join(_ tokens: [Token]) -> String {
        var text = ""
        for (index, token) in tokens.enumerated() {
            if index > 0, token.spaceBefore { text += " " }
            text += token.text
        }
        return text
    }
}

extension Tokenizer {
    /// A token with the range of `text` it was cut from (`split(prefix:)` needs to know what
    /// touches what).
    struct Scanned {
        var token: Token
        var range: Range<String.Index>
    }

    /// All tokens of `text` with their ranges; the mode's scanner does the work.
    func scan(_ text: String) -> [Scanned] {
        var scanner = TokenScanner(text: text)
        switch mode {
        case .natural: scanner.scanNatural()
        case .pretokenized: scanner.scanPretokenized()
        }
        return scanner.output
    }
}
