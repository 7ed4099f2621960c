import Foundation

extension SuggestionEngine {
    /// Learns text the user committed: each line becomes one `CommittedLine` (`LearningPolicy`:
    /// numbers, addresses, secrets and what follows a secret marker removed), which the history
    /// store (durable when this returns) and the in-memory user model both learn. Nothing at all
    /// happens in incognito mode.
    public func learn(_ text: String) throws {
        try learn(text, from: defaultSession)
    }

    /// `learn(_:)` for text committed in `session`'s field: the mixture also learns from what the
    /// sources gave the words typed there (`AdaptiveMixture`).
    public func learn(_ text: String, from session: TypingSession) throws {
        guard !isIncognito(session) else {
            lock.withLock { session.evidence.removeAll() }
            return
        }
        lock.withLock {
            for item in session.evidence { mutable.adaptive.observe(item) }
            session.evidence.removeAll()
        }
        // What the lines taught besides words is written once they are in; it is derived from
        // them, so a failed write of it loses no line (and a busy history is not waited for twice).
        var learnedAny = false
        defer { if learnedAny { try? saveAdaptation() } }
        // Reads the lines outside the lock (the engine's own session serves keystrokes under it);
        // made at the first line a lesson reads.
        var reader: InferenceSession?
        for line in LearningPolicy.committedLines(text, tokenizer: tokenizer) {
            // Each source's lesson, its slow part done before the engine's lock is taken again.
            let (lessons, gateOffsets) = lock.withLock { (sources.compactMap { $0.lesson(from: line) }, languageModel.currentGateOffsets) }
            work(lessons, on: line, reader: &reader, gateOffsets: gateOffsets)
            // Write first, and without holding the engine's lock: the store may wait for another
            // process's write, and keystrokes must not wait with it. If the store refuses, the
            // sources do not claim otherwise.
            var changes: [(before: Int64, after: Int64)] = []
            if let history, !history.isReadOnly {
                // What the sources keep of the line goes in with its first part, in one transaction.
                let positions = lessons.flatMap { $0.positions() }
                var write = positions.isEmpty ? nil
                    : HistoryStore.CachePositionWrite(positions: positions, model: resources.modelDigest, capacity: weights.userCacheSize)
                for part in HistoryStore.storableParts(of: line) {
                    if let change = try history.learnLine(part, at: Date(), positions: write) { changes.append(change) }
                    write = nil
                }
            }
            let learned = lock.withLock {
                // A reload that ran meanwhile already holds this line: learning it again would
                // count it twice.
                if let last = changes.last, mutable.historyToken >= last.after { return false }
                // Our own write needs no reload; but if another process wrote since we last read
                // the store, keep the old token so the next check reloads its lines.
                for change in changes where change.before == mutable.historyToken {
                    mutable.historyToken = change.after
                }
                for lesson in lessons { lesson.apply() }
                // Committed again: a forgotten word is the user's again.
                if !mutable.forgotten.isEmpty {
                    for word in line.words { mutable.forgotten.remove(word.lower) }
                }
                return true
            }
            learnedAny = learnedAny || learned
        }
    }

    /// Runs the slow part of `lessons` (outside the engine's lock) on `line` as the LSTM reads it,
    /// read once for all of them and only if one has work; `reader` is made at the first such line.
    /// It reads with the user's gate offsets (`gateOffsets`, taken with the lessons), as typing does.
    func work(_ lessons: [SourceLesson], on line: CommittedLine, reader: inout InferenceSession?, gateOffsets: [[Float]]?) {
        guard lessons.contains(where: { $0.work != nil }) else { return }
        let session = reader ?? InferenceSession(model: bundle.model, weights: resources.inferenceWeights)
        reader = session
        session.gateBiasOffsets = gateOffsets
        let reading = LineReading(line, vocabulary: bundle.vocabulary, session: session)
        for lesson in lessons { lesson.work?(reading) }
    }

    /// Writes what the sources and the mixture learned of the user besides words (the history's
    /// records: decoder-bias offsets, the mixture's weights), outside the lock: it is a write.
    func saveAdaptation() throws {
        guard let history, !history.isReadOnly else { return }
        let records: [HistoryStore.AdaptationKind: Data] = try lock.withLock {
            var records = [HistoryStore.AdaptationKind.mixture: try JSONEncoder().encode(mutable.adaptive)]
            for source in sources {
                if let kind = source.recordKind, let record = source.encodedRecord() { records[kind] = record }
            }
            return records
        }
        try history.saveAdaptationRecords(records, model: resources.modelDigest)
    }

    /// Takes up what the history keeps for this model, if anything (at open; under the lock).
    func loadAdaptation(from history: HistoryStore?) {
        // The model's digest costs a pass over its weights: only when there is a record to match.
        func record(_ kind: HistoryStore.AdaptationKind) -> Data? {
            let records = history?.adaptationRecords(kind) ?? [:]
            return records.isEmpty ? nil : records[resources.modelDigest]
        }
        if let data = record(.mixture), let mixture = try? JSONDecoder().decode(AdaptiveMixture.self, from: data), mixture.isValid {
            mutable.adaptive = mixture
        }
        for source in sources {
            if let kind = source.recordKind, let data = record(kind) { source.restore(record: data) }
        }
        // The digest again: only when there are rows.
        if let history, history.cachePositionCount() > 0 { reloadUserCache(from: history) }
    }

    /// The user cache's rows as the history keeps them for this model (under the lock).
    func reloadUserCache(from history: HistoryStore) {
        guard let userCache else { return }
        userCache.restore(positions: history.cachePositions(model: resources.modelDigest, limit: userCache.capacity),
                          forgetting: mutable.forgotten)
    }

    /// Forgets a word everywhere: at once in memory (every typing session included), then in the
    /// history store. The store's write runs outside the engine's lock: a busy history makes this
    /// call wait, never a keystroke.
    @discardableResult
    public func forget(word: String) throws -> Int {
        forgetInMemory(word: word)
        let removed = try history?.forget(word: word) ?? 0
        try? saveAdaptation()  // the word's offset, undone in memory already; derived data
        lock.withLock {
            // Forgetting is rare: reload rather than guess whether other processes wrote meanwhile
            // (taking the store's token now would hide their lines). If the reload fails, the
            // in-memory model has already dropped the word and the old token makes a later check retry.
            if let history { try? reloadUserModel(from: history) }
        }
        return removed
    }

    /// The in-memory part of `forget(word:)`: the user model, and the document caches of every
    /// session. Until the user commits the word again, a reload from a store that still holds it
    /// (its forget not yet written) does not bring it back.
    public func forgetInMemory(word: String) {
        lock.withLock {
            let lower = HistoryText.lower(HistoryText.normalize(word))
            for source in sources { source.forget(lower) }
            mutable.forgotten.insert(lower)
            mutable.memoryGeneration += 1
        }
    }

    /// Forgets everything learned.
    public func clearHistory() throws {
        try lock.withLock {
            try history?.clear()
            for source in sources { source.clear() }
            mutable.adaptive = AdaptiveMixture(prior: weights)
            mutable.memoryGeneration += 1
            if let history { try? reloadUserModel(from: history) }
        }
    }

    public func statsSummary() throws -> String {
        guard let history else { return "no history store (learning stays in memory)" }
        let stats = history.stats()
        let user = lock.withLock { userHistory.model }
        var lines = ["history: \(stats.path?.path ?? "in memory")\(stats.isReadOnly ? " (read-only)" : "")",
                     "words: \(stats.words) distinct, \(stats.totalWordCount) typed; n-grams: \(stats.ngrams)",
                     "file size: \(ByteCountFormatter.string(fromByteCount: stats.fileSize, countStyle: .file))"]
        if user.isEmpty { lines.append("nothing learned yet") }
        let (mixture, positions, biasLines) = lock.withLock { (mutable.adaptive, userCache?.count ?? 0, languageModel.adaptation?.lines ?? 0) }
        if positions > 0 { lines.append("user cache: \(positions) positions; model biases: adapted on \(biasLines) line\(biasLines == 1 ? "" : "s")") }
        // Two lines: one did not fit 90 columns.
        lines.append(String(format: "mixture: document cache %.3f, history %.3f, user cache %.3f", mixture.cache, mixture.user,
                            mixture.weight(of: .userCache)))
        lines.append(String(format: "  (tuned on %d committed word(s); prior %.2f, %.2f, %.2f)", mixture.observations,
                            weights.cache, weights.user, weights.userCache))
        return lines.joined(separator: "\n")
    }

    /// Rebuilds the user model from the store (at open, and when another process learned).
    func reloadUserModel(from history: HistoryStore) throws {
        let snapshot = try history.snapshot()
        userHistory.replace(with: Self.userModel(from: snapshot, forgetting: mutable.forgotten))
        mutable.historyToken = snapshot.changeToken
    }

    /// The in-memory model of a snapshot, leaving out words forgotten in this engine's life (their
    /// forget may not have reached the store yet).
    static func userModel(from snapshot: HistorySnapshot, forgetting forgotten: Set<String>) -> UserModel {
        var user = UserModel()
        for word in snapshot.words where !forgotten.contains(word.lower) { user.addWord(surface: word.text, count: word.count) }
        for ngram in snapshot.ngrams where !forgotten.contains(ngram.word)
            && !ngram.context.split(separator: " ").contains(where: { forgotten.contains(String($0)) }) {
            user.addNgram(context: ngram.context, word: ngram.word, count: ngram.count)
        }
        return user
    }

    /// At most once a second, looks in the background whether another process changed the
    /// history, and reloads there: reading and rebuilding a full history takes hundreds of
    /// milliseconds while other writers are busy (benchmarks/stress-history.sh with a key path),
    /// and a keystroke must not wait for it. Called under the lock; the swap takes it again.
    func refreshHistoryIfChanged() {
        guard let history, !mutable.reloadInFlight, Date().timeIntervalSince(mutable.lastHistoryCheck) > 1 else { return }
        mutable.lastHistoryCheck = Date()
        mutable.reloadInFlight = true
        let seenToken = mutable.historyToken
        let cacheCapacity = userCache?.capacity ?? 0
        DispatchQueue.global(qos: .utility).async { [self] in
            var fresh: (snapshot: HistorySnapshot, forgotten: Set<String>)?
            var positions: [(line: Int64, position: HistoryStore.CachePosition)] = []
            if history.changeToken() != seenToken, let snapshot = try? history.snapshot() {
                fresh = (snapshot, lock.withLock { mutable.forgotten })
                // The other process's lines are in the user cache's rows too.
                if cacheCapacity > 0 { positions = history.cachePositions(model: resources.modelDigest, limit: cacheCapacity) }
            }
            let user = fresh.map { Self.userModel(from: $0.snapshot, forgetting: $0.forgotten) }
            lock.withLock {
                mutable.reloadInFlight = false
                // A forget or a clear meanwhile reloaded (or emptied) the model itself: keep that.
                guard let user, let fresh, mutable.historyToken == seenToken, mutable.forgotten == fresh.forgotten else { return }
                userHistory.replace(with: user)
                userCache?.restore(positions: positions, forgetting: fresh.forgotten)
                mutable.historyToken = fresh.snapshot.changeToken
            }
        }
    }

    /// Looks now, whatever the time since the last look, and waits for the reload (tests, and
    /// front ends that know another process just wrote).
    func refreshHistoryNow() {
        lock.withLock {
            guard let history else { return }
            mutable.lastHistoryCheck = Date()
            guard history.changeToken() != mutable.historyToken else { return }
            try? reloadUserModel(from: history)
            reloadUserCache(from: history)
        }
    }
}
