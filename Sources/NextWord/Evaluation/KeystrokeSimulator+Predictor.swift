/// What the keystroke simulator drives: a source of next-word suggestions that may learn from text.
///
/// The protocol is class-bound on purpose. The simulator holds one predictor for a whole document and
/// calls it thousands of times, and the engine it stands for (the suggestion engine, with its context
/// cache and history) is a reference type with its own state and locking. A class-bound protocol lets
/// that engine conform directly, without the simulator copying or owning it; a struct needing a
/// stateful test double can wrap itself in `ClosurePredictor`.
///
/// The simulator calls the predictor synchronously from the caller's thread, one call at a time.
public protocol KeystrokePredictor: AnyObject {
    /// Up to `limit` suggestions for the word being typed at the end of `context`.
    ///
    /// - Parameters:
    ///   - context: the whole document typed so far, exactly as typed (LF line ends, no byte-order
    ///     mark, an invalid UTF-8 byte as U+FFFD), ending with the partial word, if any. It is empty
    ///     before the document's first character.
    ///   - limit: the number of suggestions the simulated user looks at (K). Extra suggestions are
    ///     ignored, so returning more is harmless but wasted work.
    /// - Returns: suggestions, best first. Matching against the target word is case-insensitive.
    func suggestions(for context: String, limit: Int) -> [String]

    /// Learn from one line of the test text, called only when learning is enabled, right after the
    /// line's line break was typed, with the line's text including its final `"\n"`.
    func learn(line: String)
}

/// A predictor that is also told the word the simulated user is about to type.
///
/// Only for the conformance oracle and for test doubles: a real engine must never see the target.
/// When a predictor conforms, the simulator calls `suggestions(for:limit:target:)` instead of
/// `suggestions(for:limit:)` (a debug hook, so the simulator needs no separate oracle loop that could
/// drift from the real one).
public protocol TargetAwareKeystrokePredictor: KeystrokePredictor {
    /// Like `suggestions(for:limit:)`, with `target` the complete word being typed (as in the text).
    func suggestions(for context: String, limit: Int, target: String) -> [String]
}

/// The conformance oracle of `docs/KSR.md`: its only suggestion is always the word being typed, so
/// every word is selected before its first character. kn, ki, ks, words and KSR then depend on the
/// text alone and must equal `presage-ksr --oracle`.
public final class OraclePredictor: TargetAwareKeystrokePredictor, Sendable {
    public init() {}

    /// The oracle needs the target; without one it has nothing to say.
    public func suggestions(for context: String, limit: Int) -> [String] { [] }

    public func suggestions(for context: String, limit: Int, target: String) -> [String] {
        limit > 0 ? [target] : []
    }

    /// The oracle learns nothing.
    public func learn(line: String) {}
}

/// Adapts two closures to `KeystrokePredictor`, for engines that do not conform directly and for
/// tests.
public final class ClosurePredictor: KeystrokePredictor {
    private let suggest: (String, Int) -> [String]
    private let learnLine: (String) -> Void

    /// - Parameters:
    ///   - suggest: called with the context and the limit, as `suggestions(for:limit:)`.
    ///   - learn: called with each line when learning is enabled; does nothing by default.
    public init(suggest: @escaping (String, Int) -> [String], learn: @escaping (String) -> Void = { _ in }) {
        self.suggest = suggest
        self.learnLine = learn
    }

    public func suggestions(for context: String, limit: Int) -> [String] { suggest(context, limit) }

    public func learn(line: String) { learnLine(line) }
}
