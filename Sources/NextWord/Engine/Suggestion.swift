/// One proposal for the keyboard's suggestion strip.
public struct Suggestion: Sendable, Equatable, Codable, CustomStringConvertible {
    /// Where a suggestion's probability came from.
    public enum Source: String, Sendable, Codable {
        /// The language model (LSTM, with the corpus n-gram and lexicon behind it).
        case model
        /// The user's own history only.
        case history
        /// Both the model and the user's history.
        case both
    }

    /// The word to insert, cased as it should appear (it replaces the partial word being typed).
    public let text: String
    /// Its probability under the engine's mixture, given the context and the typed letters (a word
    /// offered earlier for the same word and typed past counts `MixingWeights.passedOver` of it, typed past again `passedOverAgain`).
    public let probability: Double
    public let source: Source

    public init(text: String, probability: Double, source: Source) {
        self.text = text
        self.probability = probability
        self.source = source
    }

    public var description: String { text }
}

/// What the REPL and other front ends need from an engine; `SuggestionEngine` is the real one,
/// tests may use a fake.
public protocol SuggestionProviding: AnyObject, Sendable {
    /// Suggestions for the text typed so far (which may end inside a word).
    func suggest(prefix: String, limit: Int) -> [Suggestion]
    /// Learns from text the user committed (nothing happens in incognito mode).
    func learn(_ text: String) throws
    /// Removes a word from everything learned; returns how many entries were removed.
    @discardableResult func forget(word: String) throws -> Int
    /// Removes a word from what the engine holds in memory, at once and without touching the
    /// disk (`forget(word:)` then removes it there); `LearningQueue` calls it first.
    func forgetInMemory(word: String)
    /// When on, nothing is learned or written.
    var incognito: Bool { get set }
    /// The model's name, for status lines.
    var modelName: String { get }
    /// A one-paragraph summary of the user's history (words, n-grams, file, size).
    func statsSummary() throws -> String
}

extension SuggestionProviding {
    /// An engine that keeps nothing in memory apart from its store has nothing to do here.
    public func forgetInMemory(word: String) {}
}
