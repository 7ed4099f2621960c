import Foundation

/// What every engine on one model shares, read-only: the network and vocabulary, the corpus
/// n-gram and lexicon, and the indexes the engine builds from them. A service with many users
/// loads it once and opens each user's engine on it (`SuggestionEngine.open(_:resources:)`); an
/// engine adds only its own mutable state (LSTM work buffers, the user model, typing sessions).
public final class EngineResources: Sendable {
    public let bundle: ModelBundle
    public let ngram: NGramModel?
    public let lexicon: Lexicon?
    /// Vocabulary ids by their words' leading letters, over the suggestible ids only.
    let prefixIndex: PrefixIndex
    /// Per vocabulary id: whether it is a word that may be suggested (not punctuation or a special).
    let suggestible: [Bool]
    /// Lexicon counts of words outside the vocabulary, which share P(<unk>).
    let unknownMass: Double
    /// The lexicon's words outside the vocabulary, the ones completed as shares of `<unk>`.
    let outsideVocabulary: LexiconSubset?
    /// [V] the lexicon's count of each vocabulary word, and of its forms with a capital first letter
    /// (0, 0 for a word it lacks): what a capital typed mid-sentence is weighed by, per candidate.
    let corpusCapitalization: [(capitalized: Float, total: Float)]
    /// The weights of the batch-1 step (int8 decoder, fp16 gates): the largest thing an engine reads, kept once.
    let inferenceWeights: InferenceWeights
    private let digest = Locked<String?>(nil)
    /// The digest being computed on its own thread since the model was read (`load`), if it was.
    private let digestInProgress: BackgroundResult<String>?

    /// The corpus models' probability of a word they call `<unk>`, seen `count` times in the
    /// lexicon, when they give `<unk>` itself `unknownProbability`: its lexicon share of it, times
    /// `boost` (`MixingWeights.unknownBoost`). 0 without a lexicon mass.
    func outsideProbability(count: Int, unknownProbability: Float, boost: Float) -> Float {
        unknownMass > 0 ? boost * Float(Double(count) / unknownMass) * unknownProbability : 0
    }

    /// SHA-256 of the model's parameters (hex), computed at first use: what a user's adaptation
    /// record in the history is kept for, so a new model starts its own.
    public var modelDigest: String {
        if let known = digest.get() { return known }
        let value = (try? digestInProgress?.value()) ?? EngineResources.digest(of: bundle.model)
        digest.update { $0 = value }
        return value
    }

    static func digest(of model: LanguageModel) -> String {
        model.parameters.withUnsafeBytes { Hashing.sha256Hex(bytes: $0) }
    }

    public convenience init(bundle: ModelBundle, ngram: NGramModel? = nil, lexicon: Lexicon? = nil) throws {
        try self.init(bundle: bundle, ngram: ngram, lexicon: lexicon, inferenceWeights: nil, digest: nil)
    }

    /// `inferenceWeights` must be built from `bundle.model` (nil builds them here), and `digest`
    /// compute `EngineResources.digest(of: bundle.model)` (nil: at first use).
    init(bundle: ModelBundle, ngram: NGramModel?, lexicon: Lexicon?, inferenceWeights: InferenceWeights?,
         digest: BackgroundResult<String>?) throws {
        digestInProgress = digest
        if let ngram, ngram.vocabSize != bundle.vocabulary.count {
            throw ModelError.invalidInput("the n-gram model has \(ngram.vocabSize) words, the vocabulary \(bundle.vocabulary.count)")
        }
        self.bundle = bundle
        self.ngram = ngram
        self.lexicon = lexicon
        let vocabulary = bundle.vocabulary
        let flags = vocabulary.words.enumerated().map { id, word in
            id != vocabulary.unknownID && id != vocabulary.endOfSentenceID
                && (word.unicodeScalars.first.map { CharacterSet.alphanumerics.contains($0) } ?? false)
        }
        suggestible = flags
        prefixIndex = PrefixIndex(words: vocabulary.words) { flags[$0] }
        // One pass over the lexicon's words (by lowercased key, one per word rather than per form):
        // the mass of those outside the vocabulary, and the casing counts of those inside it.
        var outside = 0.0
        var counts = [(capitalized: Float, total: Float)](repeating: (0, 0), count: vocabulary.count)
        outsideVocabulary = lexicon?.subset { key, total, capitalized in
            guard let id = vocabulary.id(key) else {
                outside += Double(total)
                return true
            }
            counts[id] = (Float(capitalized), Float(total))
            return false
        }
        unknownMass = outside
        corpusCapitalization = counts
        self.inferenceWeights = inferenceWeights ?? InferenceWeights(model: bundle.model)
    }

    /// File names the engine looks for beside a model.
    public static let ngramFileName = "ngram.bin"
    public static let lexiconFileName = "lexicon.tsv"

    /// Loads the model in `directory` (nil: the default model, `ModelLocator`) with the n-gram and
    /// lexicon beside it when present.
    public static func load(from directory: URL?) throws -> EngineResources {
        let directory = try directory ?? ModelLocator.locateDefault()
        // The network, the n-gram and the lexicon are independent until the engine puts them
        // together: each loads on its own thread (start-up is a keystroke budget of its own).
        // The network's thread also builds the step's weights; the lexicon (the longest) is read here.
        let config = try Checkpoint.readConfig(from: directory)
        // A history's records are found by the model's SHA-256 (15 ms for the default model's
        // 14.7 MB of parameters): it is hashed on a thread of its own while the rest loads.
        let networkLoad = BackgroundResult { () throws -> (ModelBundle, InferenceWeights, BackgroundResult<String>) in
            let bundle = try ModelBundle.load(from: directory)
            let digest = BackgroundResult { EngineResources.digest(of: bundle.model) }
            return (bundle, InferenceWeights(model: bundle.model), digest)
        }
        let ngramURL = directory.appendingPathComponent(ngramFileName)
        let ngramLoad = BackgroundResult { () throws -> NGramModel? in
            FileManager.default.fileExists(atPath: ngramURL.path) ? try NGramModel.load(contentsOf: ngramURL) : nil
        }
        let lexicon = try lexiconURL(directory: directory, vocabularyFile: config.vocabularyFile).map { try Lexicon.load(contentsOf: $0) }
        let (bundle, weights, digest) = try networkLoad.value()
        let ngram = try ngramLoad.value()
        if let ngram, ngram.vocabSize != bundle.vocabulary.count {
            // Say which file is wrong (the initializer's check cannot know the file).
            throw NGramError.corrupt(file: ngramURL.path, problem: "built for a vocabulary of \(ngram.vocabSize) words, "
                                     + "but the model's has \(bundle.vocabulary.count): not this model's n-gram")
        }
        return try EngineResources(bundle: bundle, ngram: ngram, lexicon: lexicon, inferenceWeights: weights, digest: digest)
    }

    /// The lexicon beside the model, or `vocab/<vocabulary name>-lexicon.tsv` in the repository layout.
    static func lexiconURL(directory: URL, vocabularyFile: String) -> URL? {
        let stem = (vocabularyFile as NSString).deletingPathExtension
        // Absolute first: standardizing a relative URL drops its base, so "models/default/../../vocab"
        // became "/vocab" and a model named by a relative path silently lost its lexicon.
        let directory = directory.absoluteURL
        let candidates = [
            directory.appendingPathComponent(lexiconFileName),
            directory.appendingPathComponent("../../vocab/\(stem)-lexicon.tsv").standardized,
        ]
        return candidates.first { FileManager.default.fileExists(atPath: $0.path) }
    }
}

/// A value computed on its own thread; `value()` waits for it and rethrows its error.
final class BackgroundResult<Value: Sendable>: @unchecked Sendable {
    // Written once by the worker before `done` is signalled, read only after waiting on it.
    private var result: Result<Value, Error>?
    private let done = DispatchSemaphore(value: 0)

    init(_ work: @escaping @Sendable () throws -> Value) {
        DetachedThread.start { [self] in
            result = Result(catching: work)
            done.signal()
        }
    }

    func value() throws -> Value {
        done.wait()
        done.signal()  // later calls return at once
        guard let result else { preconditionFailure("signalled before the result was stored") }
        return try result.get()
    }
}
