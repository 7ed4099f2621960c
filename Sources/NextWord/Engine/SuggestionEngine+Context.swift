import CKernels
import Foundation

extension SuggestionEngine {
    /// Longest context read from scratch: older text changes the LSTM state very little, and this
    /// bounds the first keystroke in a long document.
    static let maximumFreshContextBytes = 2048

    /// The cached entry for this context, or a new one stepped from the longest cached prefix of it.
    func contextEntry(for key: [UInt8], in session: TypingSession) -> ContextEntry {
        let (exact, base) = session.cache.lookup(key)
        if exact, let base { return base }

        var start = base?.key.count ?? 0
        let reader = languageModel.session
        // What is read so far: the base's, extended by the new text below.
        var read: ReadContext
        var scanner: LearningScanner
        var pendingChunk: String
        var pendingWords: [(state: [Float], word: String)]
        let endOfSentence = Int32(bundle.vocabulary.endOfSentenceID)
        if let base {
            read = base.context
            scanner = base.scanner; pendingChunk = base.pendingChunk; pendingWords = base.pendingWords
        } else {
            // A document starts as a line does in training: after `</s>`.
            var state = reader.initialState()
            reader.advance(&state, with: [endOfSentence])
            read = ReadContext(state: state, lastIDs: [endOfSentence], previousWords: [LearnedToken.lineStart], lastWord: nil,
                               sentenceStart: true, memory: nil)
            scanner = LearningScanner(readsAddresses: true); pendingChunk = ""; pendingWords = []
            if key.count > Self.maximumFreshContextBytes {
                // Start reading at a line or word boundary near the limit.
                start = key.count - Self.maximumFreshContextBytes
                while start < key.count, key[start] != 0x0A, key[start] != 0x20 { start += 1 }
                read.previousWords = []  // mid-line: the words before the cut are not read
            }
        }

        // Feed the new text: a line break is `</s>`, the rest tokens as the model was trained.
        let newText = String(decoding: key[start...], as: UTF8.self)
        var ids: [Int32] = []
        // The lowercased word at each position of `ids` (nil for punctuation and `</s>`).
        var wordAt: [String?] = []
        let lines = newText.split(separator: "\n", omittingEmptySubsequences: false)
        for (index, line) in lines.enumerated() {
            for token in tokenizer.tokenize(String(line)) {
                let word = Tokenizer.normalizeApostrophes(token.text)
                // The user's apostrophe style: normalising changed the word only if it held `’`.
                if token.isWordLike, word != token.text || token.text.unicodeScalars.contains("'") {
                    read.curlyApostrophes = word != token.text
                }
                let lookup = bundle.config.lowercase ? word.lowercased() : word
                ids.append(Int32(bundle.vocabulary.idOrUnknown(lookup)))
                let lower = token.isWordLike ? word.lowercased() : nil
                wordAt.append(lower)
                if let lower {
                    read.previousWords.append(lower)
                    if read.previousWords.count > 2 { read.previousWords.removeFirst() }
                    read.lastWord = lower
                    read.sentenceStart = false
                } else {
                    // Punctuation is context for the user's n-grams, as learning keeps it; anything
                    // else cuts the chain as a refused token does.
                    if LearnedToken.isPunctuation(word) {
                        read.previousWords.append(word)
                        if read.previousWords.count > 2 { read.previousWords.removeFirst() }
                    } else {
                        read.previousWords.removeAll()
                    }
                    if token.text == "." || token.text == "!" || token.text == "?" { read.sentenceStart = true }
                }
            }
            if index < lines.count - 1 {
                ids.append(endOfSentence)
                wordAt.append(nil)
                read.previousWords = [LearnedToken.lineStart]
                read.sentenceStart = true
            }
        }
        if DocumentCacheSource.isOn(weights) {
            // Each word's state before it is read: what the neural cache remembers it by.
            let top = bundle.config.layers - 1
            for (id, word) in zip(ids, wordAt) {
                if let word { pendingWords.append((read.state.h[top], word)) }
                reader.advance(&read.state, with: [id])
            }
            // The cache remembers the document as learning would (`LearningScanner`): a number,
            // an address or a secret typed in the document is never offered back from it. The
            // chunk still being typed ("https:/") waits until whitespace ends it.
            var text = pendingChunk + newText
            pendingChunk = ""
            if let last = text.last, !last.isWhitespace {
                let cut = text.lastIndex(where: \.isWhitespace).map { text.index(after: $0) } ?? text.startIndex
                pendingChunk = String(text[cut...])
                text = String(text[..<cut])
            }
            for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                if index > 0 { scanner.endLine() }
                scanner.feed(line: line, tokenizer: tokenizer)
            }
            // The settled words are the read words the policy kept, in order: match them up.
            var states: [Float] = [], words: [String] = []
            var next = 0
            for word in scanner.takeSettledWords() where !mutable.forgotten.contains(word) {
                while next < pendingWords.count, pendingWords[next].word != word { next += 1 }
                guard next < pendingWords.count else { break }
                states.append(contentsOf: pendingWords[next].state)
                words.append(word)
                next += 1
            }
            pendingWords.removeFirst(next)
            if pendingWords.count > 64 { pendingWords.removeFirst(pendingWords.count - 64) }
            scanner.compact()
            read.memory = CacheMemory.appending(read.memory, states: states, words: words, hidden: bundle.config.outputSize,
                                                window: weights.cacheWindow)
        } else {
            reader.advance(&read.state, with: ids)
        }
        read.lastIDs = Array((read.lastIDs + ids).suffix(2))

        let entry = ContextEntry(key: key, context: read, corpus: corpusDistribution(after: read),
                                 scanner: scanner, pendingChunk: pendingChunk, pendingWords: pendingWords)
        session.cache.insert(entry)
        // One word typed after a context the session had read: what each source gave it, for the
        // mixture to learn from when the line is committed.
        if let base, let word = read.lastWord, wordAt.lazy.filter({ $0 != nil }).count == 1 {
            session.evidence.append(MixtureEvidence(
                corpus: corpusProbability(of: word, after: base),
                sources: shares(after: base).map { ($0.source.kind, base.probability(of: word, from: $0.source), $0.weight) }))
            if session.evidence.count > 512 { session.evidence.removeFirst(session.evidence.count - 512) }
        }
        return entry
    }

    /// The corpus models' row after a context (`MixingWeights`): a log-linear and a linear mixture
    /// of their dense distributions, with fixed shares,
    ///
    ///     geo · P_lstm^(1 − g) · P_kn^g / Z + (1 − geo) · [(1 − ngram) · P_lstm + ngram · P_kn]
    ///
    /// The product lifts the words both models agree on over those only one of them likes (a
    /// linear mixture keeps any word one model is sure of); the linear part keeps a word either
    /// model gives real mass.
    func corpusDistribution(after context: ReadContext) -> [Float] {
        guard case .dense(var distribution) = languageModel.distribution(after: context) else { return [] }
        if let kneserNey, case .dense(let kneserNeyRow) = kneserNey.distribution(after: context) {
            let (share, geometric, exponent) = (weights.ngram, weights.geometricShare, weights.geometricNgram)
            // [V] the product P_lstm^(1 − g) · P_kn^g, unnormalised (the engine's scratch row, taken
            // out while in use so that it is not copied); mixed in only where productScale > 0.
            var product = mutable.productScratch
            mutable.productScratch = []
            defer { mutable.productScratch = product }
            if product.count != distribution.count { product = [Float](repeating: 0, count: distribution.count) }
            var productScale: Float = 0
            if geometric > 0 {
                let normaliser = nw_geometric_mix(distribution, kneserNeyRow, distribution.count, exponent, &product)
                if normaliser > 0, normaliser.isFinite { productScale = geometric / normaliser }
            }
            let linear = productScale > 0 ? 1 - geometric : 1
            kneserNeyRow.withUnsafeBufferPointer { kn in
                product.withUnsafeBufferPointer { mixed in
                    if productScale > 0 {
                        for i in distribution.indices {
                            distribution[i] = linear * ((1 - share) * distribution[i] + share * kn[i]) + productScale * mixed[i]
                        }
                    } else {
                        for i in distribution.indices { distribution[i] = (1 - share) * distribution[i] + share * kn[i] }
                    }
                }
            }
        }
        return distribution
    }
}
