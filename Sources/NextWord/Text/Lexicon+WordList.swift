import Foundation

// MARK: Word lists

extension Lexicon {
    /// `counts` (surface form → count, as `WordCounter` gives them) with the words of a plain word
    /// list that no form in `counts` spells, case-insensitively, added once each as the list writes
    /// them (`Tracy`, `insufferable`).
    ///
    /// A corpus of a million words still lacks many ordinary words ("smallish", "outdone",
    /// "sunflower") and common names; typed, they cost every letter, since the engine completes a
    /// word its vocabulary lacks only from the lexicon. One sighting each puts them behind every
    /// word the corpus has more than once.
    ///
    /// Left out: lines that are not exactly one word under `tokenizer` (spaces, punctuation
    /// around a word, numbers), and possessives ("Tracy's"): a spelling dictionary has one for
    /// almost every noun, some 40 % of its lines, and the engine's memory is what bounds the
    /// lexicon (`--word-list` on `/usr/share/dict/american-english` adds 39,599 words without
    /// them, against 67,043 with).
    public static func counts(_ counts: [String: Int], addingWordList words: some Sequence<String>,
                              tokenizer: Tokenizer = Tokenizer(mode: .natural)) -> [String: Int] {
        var known = Set(counts.keys.map { Lexicon.key(of: Tokenizer.normalizeApostrophes($0)) })
        var result = counts
        for line in words {
            let word = Tokenizer.normalizeApostrophes(line.trimmingCharacters(in: .whitespaces))
            guard !word.isEmpty, !word.lowercased().hasSuffix("'s"), Vocabulary.wordProblem(word) == nil else { continue }
            let tokens = tokenizer.tokenize(word)
            guard tokens.count == 1, tokens[0].kind == .word, tokens[0].text == word else { continue }
            guard known.insert(Lexicon.key(of: word)).inserted else { continue }
            result[word] = 1
        }
        return result
    }
}
