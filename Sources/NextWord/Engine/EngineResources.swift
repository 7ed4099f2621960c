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
    /// The weights of the batch-1 step (int8 decoder, fp16 gates): the largest thing an engine reads, kept once.
    let inferenceWeights: InferenceWeights
    private let digest = Locked<String?>(nil)

    /// SHA-256 of the model's parameters (hex), computed at first use: what a user's adaptation
    /// record in the history is kept for, so a new model starts its own.
    public var modelDigest: String {
        if let known = digest.get() { return known }
        let value = bundle.model.parameters.withUnsafeBytes { Hashing.sha256Hex(bytes: $0) }
        digest.update { $0 = value }
        return value
    }

    public init(bundle: ModelBundle, ngram: NGramModel? = nil, lexicon: Lexicon? = nil) throws {
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
        var outside = 0.0
        if let lexicon {
            for entry in lexicon.entries where vocabulary.id(entry.word.lowercased()) == nil {
                outside += Double(entry.count)
            }
        }
        unknownMass = outside
        inferenceWeights = InferenceWeights(model: bundle.model)
    }

    /// File names the engine looks for beside a model.
    public static let ngramFileName = "ngram.bin"
    public static let lexiconFileName = "lexicon.tsv"

    /// Loads the model in `directory` (nil: the default model, `ModelLocator`) with the n-gram and
    /// lexicon beside it when present.
    public static func load(from directory: URL?) throws -> EngineResources {
        let directory = try directory ?? ModelLocator.locateDefault()
        // The network and the word files are independent until the engine puts them together:
        // load the network on a second thread (start-up is a keystroke budget of its own).
        let config = try Checkpoint.readConfig(from: directory)
        let bundleLoad = BackgroundResult { try ModelBundle.load(from: directory) }
        let lexicon = try lexiconURL(directory: directory, vocabularyFile: config.vocabularyFile).map { try Lexicon.load(contentsOf: $0) }
        let ngramURL = directory.appendingPathComponent(ngramFileName)
        let ngram = FileManager.default.fileExists(atPath: ngramURL.path) ? try NGramModel.load(contentsOf: ngramURL) : nil
        let bundle = try bundleLoad.value()
        if let ngram, ngram.vocabSize != bundle.vocabulary.count {
            // Say which file is wrong (the initializer's check cannot know the file).
            throw NGramError.corrupt(file: ngramURL.path, problem: "built for a vocabulary of \(ngram.vocabSize) words, "
                                     + "but the model's has \(bundle.vocabulary.count): not this model's n-gram")
        }
        return try EngineResources(bundle: bundle, ngram: ngram, lexicon: lexicon)
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
        Thread.detachNewThread { [self] in
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
