import Foundation

/// The keyboard's engine: `suggest(prefix:)` on every keystroke, `learn(_:)` on every committed line.
///
/// A keystroke flows: the text typed so far → its tail split into context and the partial word →
/// the context's cached state, or one LSTM step per new token from the longest cached context →
/// the mixed next-word distribution (LSTM, Kneser-Ney, document cache, user history; see
/// `MixingWeights`) → only words starting with the typed letters (a prefix index, plus lexicon and
/// learned words the model calls `<unk>`) → cased for display → the top k.
///
/// Thread-safe: every mutable part lives behind one lock, so an engine can be shared freely.
public final class SuggestionEngine: SuggestionProviding, @unchecked Sendable {
    /// The model and what is built from it, shared read-only with every engine on it.
    public let resources: EngineResources
    public var bundle: ModelBundle { resources.bundle }
    public var ngram: NGramModel? { resources.ngram }
    public var lexicon: Lexicon? { resources.lexicon }
    public let history: HistoryStore?
    public let weights: MixingWeights
    let tokenizer = Tokenizer(mode: .natural)
    let casing = Casing()
    var prefixIndex: PrefixIndex { resources.prefixIndex }
    var suggestible: [Bool] { resources.suggestible }
    var unknownMass: Double { resources.unknownMass }
    /// The document's neural cache (θ = 0 makes it the plain unigram cache of recent words).
    var cache: NeuralCache { NeuralCache(window: weights.cacheWindow, theta: weights.cacheTheta) }

    /// Everything that changes, guarded by `lock`.
    struct Mutable {
        var session: InferenceSession
        /// Bumped when remembered text must go from every session (forget, clear, incognito).
        var memoryGeneration = 0
        /// Words forgotten in this engine's life: the document cache does not take them from the
        /// text either, until the user commits them again.
        var forgotten: Set<String> = []
        var user = UserModel()
        /// The sources' weights, tuned to this user from committed words.
        var adaptive: AdaptiveMixture
        /// The user's decoder-bias adaptation (nil when `weights.dynamicRate` is 0). The inference
        /// session's logit offsets follow it (none while it is zero).
        var biasAdaptation: DecoderBiasAdaptation? {
            didSet { session.decoderBiasOffsets = biasAdaptation.flatMap { $0.isZero ? nil : $0.offsets } }
        }
        var incognito = false
        var historyToken: Int64 = 0
        var lastHistoryCheck = Date.distantPast
        /// A background look at the history is under way (`refreshHistoryIfChanged`).
        var reloadInFlight = false
        var frequentUserWords: [String] = []
        /// [V] zeros except while `rank` runs: the boosts of vocabulary words by id.
        var boostScratch: [Float] = []
        /// [V] the n-gram's distribution for the context being computed (overwritten each time).
        var ngramScratch: [Float] = []
        var frequentUserWordsVersion = -1
    }
    let lock = NSLock()
    var mutable: Mutable
    /// The session of `suggest(prefix:limit:)` without one.
    let defaultSession = TypingSession()

    /// Opens an engine on a loaded model, with optional corpus n-gram, lexicon and history store.
    public convenience init(bundle: ModelBundle, ngram: NGramModel? = nil, lexicon: Lexicon? = nil,
                            history: HistoryStore? = nil, weights: MixingWeights = MixingWeights(), incognito: Bool = false) throws {
        try self.init(resources: EngineResources(bundle: bundle, ngram: ngram, lexicon: lexicon), history: history,
                      weights: weights, incognito: incognito)
    }

    /// Opens an engine on shared model resources, with an optional history store.
    public init(resources: EngineResources, history: HistoryStore? = nil, weights: MixingWeights = MixingWeights(),
                incognito: Bool = false) throws {
        self.resources = resources
        self.history = history
        self.weights = weights
        mutable = Mutable(session: InferenceSession(model: resources.bundle.model, weights: resources.inferenceWeights), adaptive: AdaptiveMixture(prior: weights),
                          incognito: incognito)
        mutable.boostScratch = [Float](repeating: 0, count: resources.bundle.vocabulary.count)
        if let history { try reloadUserModel(from: history) }
        loadAdaptation(from: history)
    }

    public var modelName: String { bundle.name }

    /// Incognito: nothing is learned or written. Changing it also drops what every typing session
    /// remembered of its document, so text typed on one side of the switch is not offered on the other.
    public var incognito: Bool {
        get { lock.withLock { mutable.incognito } }
        set {
            lock.withLock {
                if mutable.incognito != newValue { mutable.memoryGeneration += 1 }
                mutable.incognito = newValue
            }
        }
    }

    /// A new typing session: one per text field (see `TypingSession`). `contextCapacity` bounds
    /// the recent contexts it keeps (about 4 × V bytes each); a few are enough for typing forward.
    public func makeSession(contextCapacity: Int = 16) -> TypingSession {
        let session = TypingSession(contextCapacity: contextCapacity)
        lock.withLock { session.generation = mutable.memoryGeneration }
        return session
    }

    /// Incognito for one field (a password box, a private tab): what is committed there is not
    /// learned, and what the field remembered of its text is dropped at the switch, so nothing
    /// typed on one side of it is offered on the other. Other fields are not affected.
    public func setIncognito(_ on: Bool, for session: TypingSession) {
        lock.withLock {
            guard session.incognito != on else { return }
            session.incognito = on
            session.forgetDocument()
        }
    }

    /// Whether `session` is incognito, by its own switch or the engine's.
    public func isIncognito(_ session: TypingSession) -> Bool {
        lock.withLock { mutable.incognito || session.incognito }
    }

    // MARK: Suggesting

    /// Suggestions for the text typed so far in the engine's default typing session.
    public func suggest(prefix: String, limit: Int = 3) -> [Suggestion] {
        suggest(prefix: prefix, limit: limit, in: defaultSession)
    }

    /// Suggestions for the text typed so far in the field that `session` stands for: completions
    /// of the word being typed, or next words after a space.
    public func suggest(prefix: String, limit: Int = 3, in session: TypingSession) -> [Suggestion] {
        guard limit > 0 else { return [] }
        return lock.withLock { suggestLocked(prefix: prefix, limit: limit, session: session) }
    }

    private func suggestLocked(prefix: String, limit: Int, session: TypingSession) -> [Suggestion] {
        refreshHistoryIfChanged()
        session.synchronize(with: mutable.memoryGeneration)
        let (contextBytes, partial) = splitPartialWord(prefix)
        let entry = contextEntry(for: contextBytes, in: session)
        let typed = Tokenizer.normalizeApostrophes(partial).lowercased()
        // Words offered earlier for this same word and passed over (the user typed on instead)
        // are not offered again: they would take a slot the user has already said no to.
        var passedOver = session.passedOver
        if passedOver.context !== entry || !typed.hasPrefix(passedOver.typed) || typed == passedOver.typed {
            passedOver = (entry, typed, [])
        }
        let result = rank(entry: entry, typed: typed, partial: partial, limit: limit, excluding: passedOver.words)
        passedOver.typed = typed
        for suggestion in result { passedOver.words.insert(Tokenizer.normalizeApostrophes(suggestion.text).lowercased()) }
        session.passedOver = passedOver
        return result
    }

    /// Splits off the word being typed: the context is everything before it, as UTF-8 bytes.
    /// Only the tail is tokenized, so a long document costs no more than a short one.
    func splitPartialWord(_ prefix: String) -> (context: [UInt8], partial: String) {
        let tail = String(prefix.suffix(64))
        let partial = tokenizer.split(prefix: tail).partial
        var bytes = Array(prefix.utf8)
        bytes.removeLast(min(bytes.count, partial.utf8.count))
        return (bytes, partial)
    }

    /// The context's user-history boosts, computed once per context and user-model version.
    func userBoosts(for entry: ContextEntry, user: UserModel) -> [String: Float] {
        if entry.userBoostsVersion == user.version { return entry.userBoosts }
        if mutable.frequentUserWordsVersion != user.version {
            mutable.frequentUserWords = user.mostFrequent(0)
            mutable.frequentUserWordsVersion = user.version
        }
        var boosts: [String: Float] = [:]
        let candidates = Array(user.followers(of: entry.previousWords).keys) + mutable.frequentUserWords
        for word in candidates where boosts[word] == nil {
            guard isSuggestibleUserWord(word, count: user.unigrams[word] ?? 0) else { continue }
            boosts[word] = Float(user.probability(of: word, previous: entry.previousWords))
        }
        entry.userBoosts = boosts
        entry.userBoostsVersion = user.version
        return boosts
    }

    /// A learned word may be suggested if the model or the corpus knows it, or the user typed it
    /// often enough: a typo typed once is not.
    func isSuggestibleUserWord(_ word: String, count: Int) -> Bool {
        bundle.vocabulary.id(word) != nil || (lexicon?.totalCount(ofLowercased: word) ?? 0) > 0
            || count >= weights.newWordMinimumCount
    }

    /// How a word is written mid-sentence: a capitalised form only when it is how the word is
    /// nearly always written (names, `I`, acronyms), not when it merely often starts sentences
    /// (`Thank`). The user's own writing decides first, then the corpus.
    func usualForm(of word: String, user: UserModel) -> String {
        let threshold = 0.8
        if let surface = user.preferredSurface(of: word), let share = user.capitalizedShare(of: word) {
            return surface.first?.isUppercase == true && share < threshold ? word : surface
        }
        if let lexicon, let surface = lexicon.preferredCasing(of: word) {
            return surface.first?.isUppercase == true && (lexicon.capitalizedShare(of: word) ?? 1) < threshold ? word : surface
        }
        return word
    }

    /// The weights of the document cache and the user's history after `entry`. A cache that
    /// remembers a handful of words is trusted less than one that remembers many (with one
    /// remembered word its distribution is certain of that word).
    func sourceWeights(for entry: ContextEntry, user: UserModel) -> (cache: Float, user: Float) {
        let remembered = Float(min(entry.memory?.count ?? 0, weights.cacheWindow))
        let cache = entry.cacheDistribution.isEmpty ? 0
            : mutable.adaptive.cache * remembered / (remembered + Float(weights.cacheShrinkage))
        return (cache, user.isEmpty ? 0 : mutable.adaptive.user)
    }

    /// The corpus models' probability of `word` after `entry`: its share of the mixed LSTM and
    /// n-gram distribution, or for a word they call `<unk>` its lexicon share of P(<unk>).
    func baseProbability(of word: String, after entry: ContextEntry) -> Float {
        if let id = bundle.vocabulary.id(word) { return entry.distribution[id] }
        guard unknownMass > 0, let lexicon else { return 0 }
        return Float(Double(lexicon.totalCount(ofLowercased: word)) / unknownMass) * entry.distribution[bundle.vocabulary.unknownID]
    }

    /// Scores every candidate for the typed letters and returns the best, cased.
    private func rank(entry: ContextEntry, typed: String, partial: String, limit: Int,
                      excluding passedOver: Set<String>) -> [Suggestion] {
        let vocabulary = bundle.vocabulary
        let user = mutable.user
        let (cacheWeight, userWeight) = sourceWeights(for: entry, user: user)
        let baseWeight = 1 - cacheWeight - userWeight

        // Sparse sources first: words of the document and of the user's history with these letters.
        var boosts: [String: (score: Float, fromUser: Bool)] = [:]
        if cacheWeight > 0 {
            for (word, probability) in entry.cacheDistribution where word.hasPrefix(typed) {
                boosts[word, default: (0, false)].score += cacheWeight * probability
            }
        }
        if userWeight > 0 {
            func add(_ word: String, _ score: Float) {
                boosts[word, default: (0, true)].score += score
                boosts[word]?.fromUser = true
            }
            for (word, probability) in userBoosts(for: entry, user: user) where word.hasPrefix(typed) { add(word, userWeight * probability) }
            if typed.utf8.count >= 2 {
                // Rarer learned words with these letters (names, jargon), a bounded number of them.
                for (word, count) in user.words(withPrefix: typed).prefix(64) where entry.userBoosts[word] == nil {
                    guard isSuggestibleUserWord(word, count: count) else { continue }
                    add(word, userWeight * Float(user.probability(of: word, previous: entry.previousWords)))
                }
            }
        }

        var top = TopK(limit + 1 + passedOver.count)
        var extra: [Int32: (String, Bool)] = [:]  // candidates outside the vocabulary, by a negative key
        // Boosts of vocabulary words go into a dense scratch row, so the loop over every candidate
        // adds a float instead of hashing a string.
        var boostedIDs: [Int] = []
        for (word, boost) in boosts {
            guard let id = vocabulary.id(word) else { continue }
            mutable.boostScratch[id] += boost.score
            boostedIDs.append(id)
        }
        defer { for id in boostedIDs { mutable.boostScratch[id] = 0 } }
        entry.distribution.withUnsafeBufferPointer { distribution in
            mutable.boostScratch.withUnsafeBufferPointer { boost in
                for id in prefixIndex.ids(withPrefix: typed) {
                    top.insert(id: id, score: baseWeight * distribution[Int(id)] + boost[Int(id)])
                }
            }
            let unknownProbability = distribution[vocabulary.unknownID]
            var nextKey: Int32 = -1
            func addOutside(_ word: String, score: Float, fromUser: Bool) {
                extra[nextKey] = (word, fromUser)
                top.insert(id: nextKey, score: score)
                nextKey -= 1
            }
            // In text order: equal scores keep their insertion order in `top`, and a dictionary's
            // order changes from one process to the next (Swift seeds its hashing per process).
            let outsideWords = boosts.filter { vocabulary.id($0.key) == nil }
                .sorted { Vocabulary.precedesInScalarOrder($0.key, $1.key) }
            for (word, boost) in outsideWords {
                let corpus = Double(lexicon?.totalCount(ofLowercased: word) ?? 0)
                let base = unknownMass > 0 ? Float(corpus / unknownMass) * unknownProbability : 0
                addOutside(word, score: baseWeight * base + boost.score, fromUser: boost.fromUser)
            }
            if !typed.isEmpty, let lexicon, unknownMass > 0 {
                for (word, count) in lexicon.completions(ofPrefix: typed, limit: limit + 2) {
                    let lower = word.lowercased()
                    if vocabulary.id(lower) != nil || boosts[lower] != nil { continue }
                    addOutside(lower, score: baseWeight * Float(Double(count) / unknownMass) * unknownProbability, fromUser: false)
                }
            }
        }

        // Words already offered for this word and passed over count `weights.passedOver` times
        // their score: the user may not have looked (typing on while "tomorrow" was offered at
        // "tom" does not mean "not tomorrow"), but a close runner-up should get the slot.
        var ranked: [(suggestion: Suggestion, score: Float)] = []
        for item in top.items {
            let word: String, fromUser: Bool
            if item.id >= 0 {
                word = vocabulary.words[Int(item.id)]
                fromUser = boosts[word]?.fromUser ?? false
            } else if let outside = extra[item.id] {
                (word, fromUser) = outside
            } else { continue }
            if word == typed { continue }  // already typed out: nothing to save
            // The word just typed is on the screen: offering it again as the next word is an echo,
            // not a prediction, unless the user really does repeat it ("bye bye") or the models
            // are sure of it.
            if typed.isEmpty, word == entry.lastWord, item.score < 0.3,
               (user.followers(of: [word])[word] ?? 0) < 2 { continue }
            let usual = usualForm(of: word, user: user)
            let text = casing.display(usual: usual, typed: partial, sentenceStart: entry.sentenceStart)
            let source: Suggestion.Source = fromUser ? (item.id >= 0 ? .both : .history) : .model
            // The probability given what the user did: a word typed past keeps its discounted share.
            let score = passedOver.contains(word) ? item.score * weights.passedOver : item.score
            ranked.append((Suggestion(text: text, probability: Double(score), source: source), score))
        }
        // Stable: equal scores (a factor of 0 puts every passed-over word last) keep their order.
        let order = ranked.indices.sorted { ranked[$0].score != ranked[$1].score ? ranked[$0].score > ranked[$1].score : $0 < $1 }
        return order.prefix(limit).map { ranked[$0].suggestion }
    }
}
