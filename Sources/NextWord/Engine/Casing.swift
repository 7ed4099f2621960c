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
    public func display(usual: String, typed: String, sentenceStart: Bool) -> String {
        var word = usual
        let typedLetters = typed.filter(\.isLetter)
        if typedLetters.contains(where: \.isUppercase) {
            let allCapitals = typedLetters.count >= 2 && typedLetters.allSatisfy(\.isUppercase)
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
        if typed.unicodeScalars.contains("\u{2019}") { word = word.replacingOccurrences(of: "'", with: "\u{2019}") }
        return word
    }

    func capitalizingFirst(_ word: String) -> String {
        guard let first = word.first else { return word }
        return first.uppercased() + word.dropFirst()
    }
}
