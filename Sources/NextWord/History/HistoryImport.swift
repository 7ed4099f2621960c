import Foundation

/// Teaching the history from outside the keyboard: the user's own text files (sent mail, notes),
/// and documents written by `export()` on another machine or before a reinstall. Both go through
/// the one learning policy: a number, an address or a secret in an imported file is not learned,
/// and a word of an export that the policy refuses is dropped with every n-gram holding it.
extension HistoryStore {
    /// What an import added.
    public struct ImportCount: Sendable, Equatable {
        /// Lines of text read (text files), or words merged (exports).
        public var lines = 0
        public var words = 0
        public var ngrams = 0
        /// Words (and the n-grams holding them) an export held that the policy refuses.
        public var refused = 0
    }

    /// Learns every line of `text` as if it were committed (`LearningPolicy`), `batch` lines to
    /// a transaction. `progress` gets the lines done so far.
    public func importText(_ text: String, batch: Int = 500, progress: ((Int) -> Void)? = nil) throws -> ImportCount {
        var count = ImportCount()
        var pending: [CommittedLine] = []
        func flush() throws {
            guard !pending.isEmpty else { return }
            _ = try learnLines(pending, at: Date())
            pending.removeAll(keepingCapacity: true)
            progress?(count.lines)
        }
        let tokenizer = Tokenizer(mode: .natural)
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
            count.lines += 1
            for committed in LearningPolicy.committedLines(String(line), tokenizer: tokenizer) {
                for start in stride(from: 0, to: committed.tokens.count, by: Self.maxTokensPerLine) {
                    let part = CommittedLine(tokens: Array(committed.tokens[start ..< min(committed.tokens.count, start + Self.maxTokensPerLine)]))
                    count.words += part.words.count
                    count.ngrams += part.ngrams.count
                    pending.append(part)
                }
            }
            if pending.count >= batch { try flush() }
        }
        try flush()
        return count
    }

    /// Merges an export into this history: counts add up, the later use wins. Every word is
    /// checked against the learning policy again (an export may come from an older NextWord or be
    /// edited by hand).
    public func importExport(_ document: HistoryExport) throws -> ImportCount {
        if let readOnlyReason { throw readOnlyReason.error(path: displayPath) }
        var count = ImportCount()
        var refusedWords = Set<String>()
        func learnable(_ word: String) -> Bool {
            let lower = HistoryText.lower(HistoryText.normalize(word))
            if refusedWords.contains(lower) { return false }
            guard Self.isLearnable(word), case .word = LearnedToken.classify([word]).first else {
                refusedWords.insert(lower)
                return false
            }
            return true
        }
        let words = document.words.filter { learnable($0.text) && $0.count > 0 }
        let ngrams = document.ngrams.filter { ngram in
            ngram.count > 0 && learnable(ngram.word) && ngram.context.split(separator: " ").allSatisfy { learnable(String($0)) }
        }
        count.refused = refusedWords.count
        let cap = maxRows
        let halfLife = self.halfLife
        let now = Date().timeIntervalSince1970
        try write { db in
            for word in words {
                let text = HistoryText.normalize(word.text)
                try Self.addWord(db, surface: text, lower: HistoryText.lower(text), count: word.count,
                                 lastUsed: word.lastUsed.timeIntervalSince1970)
            }
            for ngram in ngrams {
                try Self.addNgram(db, context: ngram.context, word: ngram.word, order: ngram.order, count: ngram.count,
                                  lastUsed: ngram.lastUsed.timeIntervalSince1970)
            }
            _ = try Self.finishLearning(db, now: now, cap: cap, halfLife: halfLife)
        }
        count.lines = document.words.count
        count.words = words.count
        count.ngrams = ngrams.count
        return count
    }
}
