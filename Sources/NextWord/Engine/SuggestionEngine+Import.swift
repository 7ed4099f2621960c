import Foundation

extension SuggestionEngine {
    /// How many of an import's last lines the sources that read text with the model learn (the
    /// user cache's positions, the decoder-bias adaptation). The bias decays 1 % a line, so a line
    /// 200 back still weighs 0.13; the user cache keeps only its newest few hundred positions.
    public static let importAdaptationLines = 200

    /// What `importText` taught.
    public struct ImportResult: Sendable, Equatable {
        /// Lines, words and n-grams learned into the history (or the in-memory user model).
        public var count = HistoryStore.ImportCount()
        /// The last committed lines the model-reading sources learned from.
        public var adaptedLines = 0
    }

    /// Learns the user's own text (sent mail, notes) through the one learning pipeline, as if it
    /// had been typed line by line, but in batches: the history learns every line's words and
    /// n-grams `batch` lines to a transaction (`HistoryStore.importText`), and the sources that
    /// read text with the model (user cache, decoder bias) learn the last `importAdaptationLines`
    /// lines, their rows and records written once at the end. Nothing in incognito.
    public func importText(_ text: String, progress: ((Int) -> Void)? = nil) throws -> ImportResult {
        var result = ImportResult()
        guard !isIncognito(defaultSession) else { return result }
        // The text through the learning policy once, for the history and every source.
        let (textLines, lines) = HistoryStore.committedLines(ofText: text, tokenizer: tokenizer)
        // A read-only history refuses the import here, before anything is learned.
        if let history { result.count = try history.importLines(lines, textLines: textLines, progress: progress) }
        let committed = lines.map(\.line)
        if history == nil { result.count.lines = textLines }
        let tailStart = max(0, committed.count - Self.importAdaptationLines)
        var reader: InferenceSession?
        var writes: [HistoryStore.CachePositionWrite] = []
        var applies: [[SourceLesson]] = []
        for (index, line) in committed.enumerated() {
            // The history's n-grams went in through the store's import (the user model reloads
            // from it below); without a store, the in-memory user model learns every line.
            let inTail = index >= tailStart
            let (lessons, gateOffsets) = lock.withLock {
                (sources.filter { $0.kind == .userHistory ? history == nil : inTail }.compactMap { $0.lesson(from: line) },
                 languageModel.currentGateOffsets)
            }
            work(lessons, on: line, reader: &reader, gateOffsets: gateOffsets)
            let positions = lessons.flatMap { $0.positions() }
            if !positions.isEmpty {
                writes.append(HistoryStore.CachePositionWrite(positions: positions, model: resources.modelDigest,
                                                              capacity: weights.userCacheSize))
            }
            applies.append(lessons)
            if history == nil {
                result.count.words += line.words.count
                result.count.ngrams += line.ngrams.count
            }
            if inTail { result.adaptedLines += 1 }
        }
        // The rows first: if the store refuses them, the sources do not claim otherwise.
        if let history, !writes.isEmpty { try history.addCachePositions(writes) }
        lock.withLock {
            for lessons in applies { for lesson in lessons { lesson.apply() } }
            for line in committed { for word in line.words { mutable.forgotten.remove(word.lower) } }
            if let history { try? reloadUserModel(from: history) }
        }
        if !committed.isEmpty { try saveAdaptation() }
        return result
    }
}
