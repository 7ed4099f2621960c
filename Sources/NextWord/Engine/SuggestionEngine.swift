import Foundation

/// The keyboard's engine: `suggest(prefix:)` on every keystroke, `learn(_:)` on every committed line.
///
/// A thin facade over its prediction sources (`PredictionSource`: the LSTM, the corpus Kneser-Ney,
/// the document's neural cache, the user's history and neural cache), a `Ranker`, and one `TypingSession` per text
/// field. A keystroke flows: the text typed so far → its tail split into context and the partial
/// word → the session's cached context, or one LSTM step per new token from the longest cached one
/// (`ReadContext`) → each source's distribution after it → mixed, filtered by the typed letters,
/// cased and cut to the top k by the ranker. A committed line becomes one `CommittedLine`
/// (`LearningPolicy`), which the history store and every source learn (`learn(_:)`).
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
    // The sources, in the order the ranker adds them. Mutated only under `lock`.
    let languageModel: LanguageModelSource
    let kneserNey: KneserNeySource?
    let documentCache: DocumentCacheSource
    let userHistory: UserHistorySource
    /// Nil when `MixingWeights.userCache` or `userCacheSize` is 0.
    let userCache: UserCacheSource?
    /// Every source: what learning, forgetting, clearing and the history's records go through.
    let sources: [PredictionSource]
    /// The sparse ones, which the mixture weighs per user.
    let sparseSources: [PredictionSource]
    let ranker: Ranker

    /// Everything else that changes, guarded by `lock`.
    struct Mutable {
        /// Bumped when remembered text must go from every session (forget, clear, incognito).
        var memoryGeneration = 0
        /// Words forgotten in this engine's life: the document cache does not take them from the
        /// text either, until the user commits them again.
        var forgotten: Set<String> = []
        /// The sparse sources' weights, tuned to this user from committed words.
        var adaptive: AdaptiveMixture
        var incognito = false
        var historyToken: Int64 = 0
        var lastHistoryCheck = Date.distantPast
        /// A background look at the history is under way (`refreshHistoryIfChanged`).
        var reloadInFlight = false
        /// [V] `corpusDistribution`'s log-linear product, kept between word boundaries: a row
        /// allocated and freed at each one came back as fresh pages from the kernel, after the
        /// allocator had given the top of its heap back (0.1-0.2 ms of page faults a boundary).
        var productScratch: [Float] = []
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
        languageModel = LanguageModelSource(resources: resources, weights: weights)
        kneserNey = weights.ngram > 0 ? resources.ngram.map(KneserNeySource.init) : nil
        documentCache = DocumentCacheSource(weights: weights)
        userHistory = UserHistorySource(resources: resources, weights: weights)
        let learnedWords = userHistory
        userCache = weights.userCache > 0 && weights.userCacheSize > 0
            ? UserCacheSource(resources: resources, weights: weights) { [unowned learnedWords] word in
                learnedWords.isSuggestible(word, count: learnedWords.model.unigrams[word] ?? 0)
            } : nil
        sparseSources = [documentCache, userHistory] + (userCache.map { [$0] } ?? [])
        sources = [languageModel] + (kneserNey.map { [$0] } ?? []) + sparseSources
        ranker = Ranker(resources: resources, weights: weights)
        mutable = Mutable(adaptive: AdaptiveMixture(prior: weights), incognito: incognito)
        if let history { try reloadUserModel(from: history) }
        loadAdaptation(from: history)
    }

    public var modelName: String { bundle.name }

    /// Incognito: nothing is learned or written. Changing it also drops what every typing session
    /// remembered of its document, so text typed on one side of the switch is not offered on the
    /// other; switching it on empties the history's journal (-wal) of the lines learned before.
    public var incognito: Bool {
        get { lock.withLock { mutable.incognito } }
        set {
            let began = lock.withLock {
                let began = newValue && !mutable.incognito
                if mutable.incognito != newValue { mutable.memoryGeneration += 1 }
                mutable.incognito = newValue
                return began
            }
            // Outside the lock: a checkpoint may wait for another process's write.
            if began { history?.emptyJournal() }
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
        let typed = Self.matchingKey(partial)
        // Words offered earlier for this same word and passed over (the user typed on instead)
        // are not offered again: they would take a slot the user has already said no to.
        var passedOver = session.passedOver
        if passedOver.context !== entry || !typed.hasPrefix(passedOver.typed) || typed == passedOver.typed {
            passedOver = (entry, typed, [:])
        }
        var result = ranker.rank(entry: entry, shares: shares(after: entry), typed: typed, partial: partial, limit: limit,
                                 excluding: passedOver.words, user: userHistory.model)
        if result.count < limit, partial.contains("-") {
            let taken = Set(result.map { Self.matchingKey($0.text) })
            result += compoundSuggestions(context: contextBytes, partial: partial, limit: limit - result.count, in: session,
                                          passedOver: passedOver.words)
                .filter { !taken.contains(Self.matchingKey($0.text)) }
        }
        passedOver.typed = typed
        for suggestion in result { passedOver.words[Self.matchingKey(suggestion.text), default: 0] += 1 }
        session.passedOver = passedOver
        return result
    }

    /// How typed letters and suggestions are compared: apostrophes normalized, lowercased (the
    /// ranker's `typed`, the passed-over words, the compounds' dedupe).
    static func matchingKey(_ text: String) -> String {
        Tokenizer.normalizeApostrophes(text).lowercased()
    }

    /// For a word typed past a hyphen ("crime-r"), the words that may follow its head ("crime")
    /// with the letters after the hyphen, each joined to it ("crime-ridden"), for the slots the
    /// whole words left empty: compounds are too many for a vocabulary, their parts are not. They
    /// come after every whole-word suggestion, their scores being of the part after the hyphen.
    /// `passedOver` holds the whole words (lowercased) already offered for this word and typed
    /// past; a compound among them has its part after the head discounted as a passed-over word.
    func compoundSuggestions(context: [UInt8], partial: String, limit: Int, in session: TypingSession,
                             passedOver: [String: Int] = [:]) -> [Suggestion] {
        guard limit > 0, let hyphen = partial.lastIndex(of: "-"), hyphen > partial.startIndex else { return [] }
        let head = String(partial[..<hyphen]), tail = String(partial[partial.index(after: hyphen)...])
        // The head read as a word of its own: the context, the head and a space.
        let entry = contextEntry(for: context + Array(head.utf8) + [0x20], in: session)
        let typedTail = Self.matchingKey(tail)
        let joined = Self.matchingKey(head) + "-"
        var passedTails: [String: Int] = [:]
        for (word, times) in passedOver where word.hasPrefix(joined) { passedTails[String(word.dropFirst(joined.count))] = times }
        return ranker.rank(entry: entry, shares: shares(after: entry), typed: typedTail, partial: tail, limit: limit,
                           excluding: passedTails, user: userHistory.model)
            .map { Suggestion(text: head + "-" + $0.text, probability: $0.probability, source: $0.source) }
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

    /// The sparse sources with their weights after `entry`: the user's mixture weight times the
    /// source's confidence there, 0 for a source with nothing to say (an empty distribution and no
    /// rarer words to offer).
    func shares(after entry: ContextEntry) -> [Ranker.Share] {
        sparseSources.map { source in
            (source, mutable.adaptive.weight(of: source.kind) * source.confidence(after: entry.context))
        }
    }

    /// The corpus models' probability of `word` after `entry`: its share of the corpus row, or for
    /// a word they call `<unk>` its lexicon share of P(<unk>) (`EngineResources.outsideProbability`).
    func corpusProbability(of word: String, after entry: ContextEntry) -> Float {
        if let id = bundle.vocabulary.id(word) { return entry.corpus[id] }
        guard let lexicon else { return 0 }
        return resources.outsideProbability(count: lexicon.totalCount(ofLowercased: word),
                                            unknownProbability: entry.corpus[bundle.vocabulary.unknownID], boost: weights.unknownBoost)
    }
}
