import Foundation

extension SuggestionEngine {
    /// Longest context read from scratch: older text changes the LSTM state very little, and this
    /// bounds the first keystroke in a long document.
    static let maximumFreshContextBytes = 2048

    /// The cached entry for this context, or a new one stepped from the longest cached prefix of it.
    func contextEntry(for key: [UInt8]) -> ContextEntry {
        let (exact, base) = mutable.cache.lookup(key)
        if exact, let base { return base }

        var start = base?.key.count ?? 0
        var state: RecurrentState<Float>
        var lastIDs: [Int32]
        var previousWords: [String]
        var sentenceStart: Bool
        var recentWords: [String]
        var recentCounts: [String: Int]
        let endOfSentence = Int32(bundle.vocabulary.endOfSentenceID)
        if let base {
            state = base.state; lastIDs = base.lastIDs; previousWords = base.previousWords
            sentenceStart = base.sentenceStart; recentWords = base.recentWords; recentCounts = base.recentCounts
        } else {
            // A document starts as a line does in training: after `</s>`.
            state = mutable.session.initialState()
            mutable.session.advance(&state, with: [endOfSentence])
            lastIDs = [endOfSentence]; previousWords = []; sentenceStart = true; recentWords = []; recentCounts = [:]
            if key.count > Self.maximumFreshContextBytes {
                // Start reading at a line or word boundary near the limit.
                start = key.count - Self.maximumFreshContextBytes
                while start < key.count, key[start] != 0x0A, key[start] != 0x20 { start += 1 }
            }
        }

        // Feed the new text: a line break is `</s>`, the rest tokens as the model was trained.
        let newText = String(decoding: key[start...], as: UTF8.self)
        var ids: [Int32] = []
        let lines = newText.split(separator: "\n", omittingEmptySubsequences: false)
        for (index, line) in lines.enumerated() {
            for token in tokenizer.tokenize(String(line)) {
                let word = Tokenizer.normalizeApostrophes(token.text)
                let lookup = bundle.config.lowercase ? word.lowercased() : word
                ids.append(Int32(bundle.vocabulary.idOrUnknown(lookup)))
                if token.isWordLike {
                    let lower = word.lowercased()
                    previousWords.append(lower)
                    if previousWords.count > 2 { previousWords.removeFirst() }
                    sentenceStart = false
                } else {
                    previousWords.removeAll()
                    if token.text == "." || token.text == "!" || token.text == "?" { sentenceStart = true }
                }
            }
            if index < lines.count - 1 {
                ids.append(endOfSentence)
                previousWords.removeAll()
                sentenceStart = true
            }
        }
        if weights.cache > 0 {
            recentWords = documentWords(key)
            recentCounts = [:]
            for word in recentWords { recentCounts[word, default: 0] += 1 }
        }
        mutable.session.advance(&state, with: ids)
        lastIDs = Array((lastIDs + ids).suffix(2))

        var distribution = mutable.session.probabilities(after: state)
        if let ngram, weights.ngram > 0 {
            // Into a buffer kept across calls: a word boundary allocates only what the cache keeps.
            ngram.distribution(context: lastIDs.map(Int.init), into: &mutable.ngramScratch)
            let share = weights.ngram
            mutable.ngramScratch.withUnsafeBufferPointer { kneserNey in
                for i in distribution.indices { distribution[i] = (1 - share) * distribution[i] + share * kneserNey[i] }
            }
        }
        let entry = ContextEntry(key: key, state: state, lastIDs: lastIDs, distribution: distribution,
                                 previousWords: previousWords, sentenceStart: sentenceStart,
                                 recentCounts: recentCounts, recentWords: recentWords)
        mutable.cache.insert(entry)
        return entry
    }

    /// The document's last `cacheWindow` words as the document cache may hold them: the words the
    /// learning policy would learn from the complete chunks at the end of the context, so a number,
    /// an address or a secret typed in the document is never offered back from it. A chunk still
    /// being typed (no whitespace after it yet: "https:/") waits until it is complete.
    func documentWords(_ key: [UInt8]) -> [String] {
        let window = weights.cacheWindow
        guard window > 0 else { return [] }
        // About eight bytes a word, twice over; start after a space so no chunk is cut.
        var start = max(0, key.count - window * 16)
        if start > 0 {
            while start < key.count, key[start] != 0x20, key[start] != 0x0A { start += 1 }
        }
        var end = key.count
        while end > start, key[end - 1] != 0x20, key[end - 1] != 0x0A, key[end - 1] != 0x09 { end -= 1 }
        guard end > start else { return [] }
        let text = String(decoding: key[start ..< end], as: UTF8.self)
        let words = LearningPolicy.committedLines(text, tokenizer: tokenizer).flatMap { $0.words.map(\.lower) }
        return Array(words.suffix(window))
    }
}
