import Foundation

/// The state of one text field: the contexts read in it (with their document cache) and the words
/// offered for the word being typed and passed over. Two fields sharing one engine each have their
/// own, so typing in one never changes what the other is offered.
///
/// Make one per field with `SuggestionEngine.makeSession()` and pass it to
/// `suggest(prefix:limit:in:)`; `suggest(prefix:limit:)` uses the engine's own default session.
/// A session belongs to the engine that made it, which guards it with its lock.
public final class TypingSession: @unchecked Sendable {  // mutated only under the owning engine's lock
    /// Recent contexts of this field and what the engine read from them.
    var cache: ContextCache
    /// The word being typed (its context and letters) and what was suggested for it so far.
    /// The context is named by its cache entry: the same entry object means the same context, and
    /// comparing a long document's bytes on every keystroke made typing it quadratic.
    var passedOver: (context: ContextEntry?, typed: String, words: [String: Int]) = (nil, "", [:])
    /// The engine's memory generation this session's cache was built in: `forget`, `clearHistory`
    /// and incognito changes start a new one, and the session drops what it had remembered.
    var generation = 0
    /// What the sources gave the words typed since the last commit (`AdaptiveMixture`).
    var evidence: [MixtureEvidence] = []
    /// Incognito for this field only (`SuggestionEngine.setIncognito(_:for:)`).
    var incognito = false

    /// `contextCapacity`: how many recent contexts the field keeps (each holds a distribution over
    /// the vocabulary); a service with many fields open keeps few.
    init(contextCapacity: Int = 16) {
        cache = ContextCache(capacity: max(2, contextCapacity))
    }

    /// Drops the cache when the engine's memory changed since it was built.
    func synchronize(with engineGeneration: Int) {
        guard generation != engineGeneration else { return }
        forgetDocument()
        generation = engineGeneration
    }

    /// Forgets what the field remembered of its text (contexts, passed-over words, evidence).
    func forgetDocument() {
        cache.removeAll()
        passedOver = (nil, "", [:])
        evidence.removeAll()
    }
}
