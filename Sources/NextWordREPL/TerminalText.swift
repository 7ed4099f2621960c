/// How many terminal columns text takes, and making untrusted text safe to print.
///
/// Terminals draw East Asian wide characters and emoji in two columns and combining marks in none;
/// getting this wrong makes the cursor land in the wrong place. This is a compact approximation of
/// `wcwidth`: exact for ASCII, Latin/Greek/Cyrillic with accents, CJK, Hangul, kana, fullwidth forms
/// and emoji, which covers what a keyboard's users type.
public enum TerminalText {
    /// Columns one grapheme cluster occupies: 0, 1 or 2.
    public static func columns(of character: Character) -> Int {
        let scalars = character.unicodeScalars
        guard let first = scalars.first else { return 0 }
        if first.value < 0x7F { return first.value < 0x20 ? 0 : 1 }  // fast path; controls are sanitized away
        // An emoji presentation selector (U+FE0F) makes a text-default symbol (like ❤) two columns wide.
        if scalars.contains(where: { $0.value == 0xFE0F }) && first.properties.isEmoji { return 2 }
        if first.properties.isEmojiPresentation { return 2 }
        if isWide(first.value) { return 2 }
        switch first.properties.generalCategory {
        case .nonspacingMark, .enclosingMark, .format: return 0
        default: return 1
        }
    }

    /// Columns a string occupies.
    public static func columns<S: Sequence>(of characters: S) -> Int where S.Element == Character {
        characters.reduce(0) { $0 + columns(of: $1) }
    }

    /// East Asian Wide and Fullwidth ranges (Unicode 15, abridged to the blocks that matter).
    static func isWide(_ value: UInt32) -> Bool {
        switch value {
        case 0x1100...0x115F, 0x2E80...0x303E, 0x3041...0x33FF, 0x3400...0x4DBF, 0x4E00...0x9FFF,
             0xA000...0xA4CF, 0xA960...0xA97F, 0xAC00...0xD7A3, 0xF900...0xFAFF, 0xFE10...0xFE19,
             0xFE30...0xFE6F, 0xFF00...0xFF60, 0xFFE0...0xFFE6, 0x1B000...0x1B2FF, 0x1F200...0x1F2FF,
             0x20000...0x2FFFD, 0x30000...0x3FFFD:
            return true
        default:
            return false
        }
    }

    /// Replaces control characters (C0, DEL, C1) with U+FFFD so that text from an engine or a file can
    /// never move the cursor or start an escape sequence on the user's terminal.
    public static func sanitized(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: LineEditor.isControl) else { return text }
        var result = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            result.append(LineEditor.isControl(scalar) ? "\u{FFFD}" : scalar)
        }
        return String(result)
    }

    /// The longest prefix of `text` that fits in `width` columns; when text is cut, the last column
    /// holds "…" instead (if `width` allows one).
    public static func truncated(_ text: String, toColumns width: Int) -> String {
        guard width > 0 else { return "" }
        if columns(of: text) <= width { return text }
        var result = ""
        var used = 0
        for character in text {
            let w = columns(of: character)
            if used + w > width - 1 { break }
            result.append(character)
            used += w
        }
        return result + "…"
    }
}
