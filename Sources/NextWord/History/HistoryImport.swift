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
        let (textLines, lines) = Self.committedLines(ofText: text, tokenizer: Tokenizer(mode: .natural))
        return try importLines(lines, textLines: textLines, batch: batch, progress: progress)
    }

    /// The non-empty lines of `text` (how many) and what the learning policy commits of each,
    /// with the index of the text line it came from: an import's text goes through the policy once.
    static func committedLines(ofText text: String, tokenizer: Tokenizer) -> (textLines: Int, lines: [(textLine: Int, line: CommittedLine)]) {
        var lines: [(textLine: Int, line: CommittedLine)] = []
        var textLines = 0
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
            for committed in LearningPolicy.committedLines(String(line), tokenizer: tokenizer) { lines.append((textLines, committed)) }
            textLines += 1
        }
        return (textLines, lines)
    }

    /// Learns lines already through the policy (`committedLines(ofText:tokenizer:)`), `batch`
    /// lines to a transaction. `progress` gets the text lines done so far.
    func importLines(_ lines: [(textLine: Int, line: CommittedLine)], textLines: Int, batch: Int = 500,
                     progress: ((Int) -> Void)? = nil) throws -> ImportCount {
        var count = ImportCount()
        count.lines = textLines
        var pending: [CommittedLine] = []
        var done = 0
        func flush() throws {
            guard !pending.isEmpty else { return }
            _ = try learnLines(pending, at: Date())
            pending.removeAll(keepingCapacity: true)
            progress?(done)
        }
        for (textLine, line) in lines {
            for part in Self.storableParts(of: line) {
                count.words += part.words.count
                count.ngrams += part.ngrams.count
                pending.append(part)
            }
            done = textLine + 1
            if pending.count >= batch { try flush() }
        }
        try flush()
        return count
    }

    /// `line` cut into pieces of at most ``maxTokensPerLine`` tokens, as the history learns them.
    /// A piece after the first opens with a breaker: it does not start a line, so its first words
    /// are not learned after `</s>` (no n-gram spans the cut either).
    static func storableParts(of line: CommittedLine) -> [CommittedLine] {
        guard line.tokens.count > maxTokensPerLine else { return [line] }
        var parts = [CommittedLine(tokens: Array(line.tokens[..<maxTokensPerLine]))]
        var start = maxTokensPerLine
        while start < line.tokens.count {
            let end = min(line.tokens.count, start + maxTokensPerLine - 1)
            parts.append(CommittedLine(tokens: [.breaker] + line.tokens[start ..< end]))
            start = end
        }
        return parts
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
            ngram.count > 0 && learnable(ngram.word) && ngram.context.split(separator: " ").allSatisfy { part in
                // A context may hold punctuation and the line start, as learning makes them.
                part == LearnedToken.lineStart[...] || LearnedToken.isPunctuation(String(part)) || learnable(String(part))
            }
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
