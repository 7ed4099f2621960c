import Foundation

/// The user's own trigram over the history (`UserModel`, Witten-Bell) as a source. Its words are
/// those the learning policy kept; a word the model and the corpus do not know is offered only
/// once the user has typed it `MixingWeights.newWordMinimumCount` times (a typo typed once is not).
///
/// The history tables are its record: the engine writes each committed line there first and
/// teaches this in-memory projection after, and rebuilds it when another process wrote.
final class UserHistorySource: PredictionSource {
    let kind = SourceKind.userHistory
    let resources: EngineResources
    let newWordMinimumCount: Int
    private(set) var model = UserModel()

    init(resources: EngineResources, weights: MixingWeights) {
        self.resources = resources
        newWordMinimumCount = weights.newWordMinimumCount
    }

    var version: Int { model.version }

    /// Replaces the projection with one rebuilt from the history.
    func replace(with model: UserModel) { self.model = model }

    func distribution(after context: ReadContext) -> SourceDistribution {
        var words: [String: Float] = [:]
        // The context's tables hold its followers (bigram and trigram): looked up once for both.
        let tables = model.contextTables(context.previousWords)
        for (next, _) in tables {
            for word in next.keys where words[word] == nil {
                guard isSuggestible(word, count: model.unigrams[word] ?? 0) else { continue }
                words[word] = Float(model.probability(of: word, after: tables))
            }
        }
        return .sparse(words)
    }

    func confidence(after context: ReadContext) -> Float { model.isEmpty ? 0 : 1 }

    func completions(of typed: String, after context: ReadContext, limit: Int) -> [(word: String, probability: Float)] {
        guard !typed.isEmpty, !model.isEmpty else { return [] }
        // At every keystroke: the context's tables are looked up once, not once per word.
        let tables = model.contextTables(context.previousWords)
        // A new word typed only once is offered again where it was typed: after the same two
        // words, from its first letter ("Tomer Sh…" once "Tomer Shiran" was written). Elsewhere
        // it waits for a second sighting, so a typo does not follow the user around.
        var result: [(word: String, probability: Float)] = []
        if context.previousWords.count >= 2, tables.count == 2 {
            for word in tables[1].next.keys where word.hasPrefix(typed) && !isSuggestible(word, count: model.unigrams[word] ?? 0) {
                result.append((word, Float(model.probability(of: word, after: tables))))
            }
            // In text order: a dictionary's order changes from one process to the next.
            result.sort { Vocabulary.precedesInScalarOrder($0.word, $1.word) }
        }
        // Rarer learned words with these letters (names, jargon), a bounded number of them.
        guard typed.utf8.count >= 2 else { return result }
        return result + model.words(withPrefix: typed, limit: limit).compactMap { word, count in
            isSuggestible(word, count: count) ? (word, Float(model.probability(of: word, after: tables))) : nil
        }
    }

    func probability(of word: String, after context: ReadContext) -> Float? { historyProbability(of: word, after: context) }

    private func historyProbability(of word: String, after context: ReadContext) -> Float {
        model.isEmpty ? 0 : Float(model.probability(of: word, previous: context.previousWords))
    }

    func lesson(from line: CommittedLine) -> SourceLesson? {
        SourceLesson(apply: { [self] in
            LearnedToken.wordsInContext(line.tokens) { surface, _, context in
                model.observe(surface: surface, previous: Array(context))
            }
        })
    }

    func forget(_ lower: String) { model.forget(lower) }

    func clear() { model = UserModel() }

    /// A learned word may be suggested if the user typed it often enough, or the model or the
    /// corpus knows it. The count is asked first: it is at hand, and most learned words pass on it
    /// without the two hash lookups (this runs for up to 64 words at every keystroke).
    func isSuggestible(_ word: String, count: Int) -> Bool {
        count >= newWordMinimumCount || resources.bundle.vocabulary.id(word) != nil
            || (resources.lexicon?.totalCount(ofLowercased: word) ?? 0) > 0
    }
}
