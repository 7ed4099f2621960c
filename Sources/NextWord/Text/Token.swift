/// One piece of typed text: a word, a number, or a single punctuation mark or symbol.
public struct Token: Sendable, Hashable, CustomStringConvertible {
    /// What sort of text a token holds.
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        /// Letters and digits (any script, with their combining marks), possibly joined by internal
        /// apostrophes or hyphens: `can't`, `state-of-the-art`, `42nd`, `école`, `東京`.
        case word
        /// Digits only, possibly with internal `.` or `,` between digit groups: `42`, `3.14`, `1,000`.
        case number
        /// One character of a Unicode punctuation category: `,` `.` `"` `“` `-` `(`.
        case punctuation
        /// Any other visible character, one grapheme cluster whole: `$`, `+`, `👍🏽`, `👨‍👩‍👧`.
        case symbol
    }

    /// The token's text exactly as it appeared (apostrophes and case untouched).
    public let text: String
    public let kind: Kind
    /// Whether whitespace (or a line break, or a control character) came right before the token;
    /// with it the text can be put back together (see `Tokenizer.join`).
    public let spaceBefore: Bool

    public init(text: String, kind: Kind, spaceBefore: Bool) {
        self.text = text
        self.kind = kind
        self.spaceBefore = spaceBefore
    }

    /// Words and numbers: the tokens a user types letter by letter and a keyboard can complete.
    public var isWordLike: Bool { kind == .word || kind == .number }

    public var description: String { "\(kind.rawValue)(\(spaceBefore ? "␣" : "")\(text))" }
}

/// Scalar classes the tokenizer is built on, kept in one place so the word pattern can be checked
/// against `shared/docs/KSR.md` at a glance.
///
/// ASCII scalars are answered from their value: the Unicode property tables cost more than the
/// rest of tokenizing, and loading a lexicon checks every scalar of every word.
/// ScalarClassTests compares the fast answers with the property lookups for all of ASCII.
enum ScalarClass {
    /// `\p{L}` or `\p{N}`: a scalar that starts or continues a word.
    static func isLetterOrDigit(_ s: Unicode.Scalar) -> Bool {
        if s.isASCII { return isASCIILetterOrDigit(s.value) }
        return isLetterOrDigitByProperties(s)
    }

    @inline(__always)
    static func isASCIILetterOrDigit(_ v: UInt32) -> Bool {
        (v >= 0x30 && v <= 0x39) || (v | 0x20 >= 0x61 && v | 0x20 <= 0x7A)
    }

    static func isLetterOrDigitByProperties(_ s: Unicode.Scalar) -> Bool {
        switch s.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter,
             .decimalNumber, .letterNumber, .otherNumber:
            return true
        default:
            return false
        }
    }

    /// `\p{N}`: the scalars a `.number` token is made of (with `.` and `,` between groups).
    static func isDigit(_ s: Unicode.Scalar) -> Bool {
        if s.isASCII { return s.value >= 0x30 && s.value <= 0x39 }
        return isDigitByProperties(s)
    }

    static func isDigitByProperties(_ s: Unicode.Scalar) -> Bool {
        switch s.properties.generalCategory {
        case .decimalNumber, .letterNumber, .otherNumber: return true
        default: return false
        }
    }

    /// `\p{M}` that stays inside a word after a letter (`e` + U+0301). The emoji presentation
    /// selector and the combining keycap are marks too, but they turn `1` into the emoji `1️⃣`.
    static func isWordMark(_ s: Unicode.Scalar) -> Bool {
        switch s.properties.generalCategory {
        case .nonspacingMark, .spacingMark, .enclosingMark: return !isEmojiMarker(s)
        default: return false
        }
    }

    /// U+FE0F VARIATION SELECTOR-16 and U+20E3 COMBINING ENCLOSING KEYCAP: a cluster holding one is
    /// an emoji, so a `.symbol` even when it starts with a digit or `#`.
    static func isEmojiMarker(_ s: Unicode.Scalar) -> Bool {
        s.value == 0xFE0F || s.value == 0x20E3
    }

    /// The internal joiners of the word pattern: `'`, `’` and `-`.
    static func isJoiner(_ s: Unicode.Scalar) -> Bool {
        s == "'" || s == "\u{2019}" || s == "-"
    }

    /// Separators between numbers' digit groups (`3.14`, `1,000`).
    static func isDigitGroupSeparator(_ s: Unicode.Scalar) -> Bool {
        s == "." || s == ","
    }

    /// Whitespace and control characters (NUL, line breaks, tabs, ESC, ...): they separate tokens
    /// and set `spaceBefore`, and never become tokens themselves.
    static func isSpace(_ s: Unicode.Scalar) -> Bool {
        // ASCII: the controls (0–31, 127) and the space; tab, line feed and the rest are controls.
        if s.isASCII { return s.value <= 0x20 || s.value == 0x7F }
        return isSpaceByProperties(s)
    }

    static func isSpaceByProperties(_ s: Unicode.Scalar) -> Bool {
        s.properties.isWhitespace || s.properties.generalCategory == .control
    }

    /// Invisible format characters (BOM, zero-width space and joiners, bidirectional marks): they
    /// end a word, as in the KSR pattern, but are neither tokens nor spaces.
    static func isInvisible(_ s: Unicode.Scalar) -> Bool {
        !s.isASCII && s.properties.generalCategory == .format
    }

    /// Unicode punctuation categories (`\p{P}`); every other visible non-word character is a symbol.
    static func isPunctuation(_ s: Unicode.Scalar) -> Bool {
        switch s.properties.generalCategory {
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
             .initialPunctuation, .finalPunctuation, .otherPunctuation:
            return true
        default:
            return false
        }
    }
}
