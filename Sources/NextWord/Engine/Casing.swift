import Foundation

/// How a suggested word is written: the user's and the corpus's usual form (`I`, `NASA`,
/// `London`), a capital at a sentence start, and whatever capitals the user already typed
/// (`Th` → `The`, `NA` → `NASA`), with the user's choice of apostrophe kept.
package struct Casing: Sendable {
    public init() {}

    /// - Parameters:
    ///   - usual: the word's usual surface form (from the user's history or the lexicon), or its
    ///     lowercase form when nothing better is known.
    ///   - typed: the letters typed so far of this word (may be empty).
    ///   - sentenceStart: whether the word begins a sentence.
    ///   - curlyApostrophes: whether the user's last apostrophe before this word was `’`; the
    ///     word's own typed apostrophe, once there is one, decides instead.
    public func display(usual: String, typed: String, sentenceStart: Bool, curlyApostrophes: Bool = false) -> String {
        var word = usual
        let (hasCapital, allCapitals) = Casing.capitals(in: typed)
        if hasCapital {
            if allCapitals {
                // `NA` → `NASA` when that is how the word is written, else the whole word in capitals.
                if !word.hasPrefix(typed) { word = word.uppercased() }
            } else if !(word.first?.isUppercase ?? false) {
                word = capitalizingFirst(word)
            }
        } else if sentenceStart {
            word = capitalizingFirst(word)
        }
        // Scalars, not `String.contains(String)`: that goes through Foundation's search at every keystroke.
        let typedScalars = typed.unicodeScalars
        let curly = typedScalars.contains("\u{2019}") || (curlyApostrophes && !typedScalars.contains("'"))
        if curly, word.unicodeScalars.contains("'") { word = word.replacingOccurrences(of: "'", with: "\u{2019}") }
        return word
    }

    /// Whether the typed letters hold a capital, and whether they are two or more, all capitals.
    /// Asked at every keystroke: ASCII is read from its bytes, without Unicode's property tables.
    static func capitals(in typed: String) -> (any: Bool, all: Bool) {
        var text = typed
        let ascii: (any: Bool, all: Bool)? = text.withUTF8 { bytes in
            guard bytes.allSatisfy({ $0 < 0x80 }) else { return nil }
            var letters = 0, upper = 0
            for byte in bytes {
                if byte >= 0x41 && byte <= 0x5A { letters += 1; upper += 1 } else if byte >= 0x61 && byte <= 0x7A { letters += 1 }
            }
            return (upper > 0, letters >= 2 && upper == letters)
        }
        if let ascii { return ascii }
        let letters = typed.filter(\.isLetter)
        return (letters.contains(where: \.isUppercase), letters.count >= 2 && letters.allSatisfy(\.isUppercase))
    }

    func capitalizingFirst(_ word: String) -> String {
        guard let first = word.first else { return word }
        return first.uppercased() + word.dropFirst()
    }
}
