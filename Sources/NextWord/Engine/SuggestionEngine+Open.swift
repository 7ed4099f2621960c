import Foundation

extension SuggestionEngine {
    /// File names the engine looks for beside a model.
    public static let ngramFileName = "ngram.bin"
    public static let lexiconFileName = "lexicon.tsv"

    /// How to open an engine from files.
    public struct OpenOptions: Sendable {
        /// The model directory; nil finds the default model (`ModelLocator`).
        public var modelDirectory: URL?
        /// The history database; nil means the default path (`HistoryStore.defaultPath`).
        public var historyPath: URL?
        /// Keep no history file at all (learning stays in memory for this engine's life).
        public var useHistory = true
        public var incognito = false
        public var weights = MixingWeights()

        public init(modelDirectory: URL? = nil, historyPath: URL? = nil, useHistory: Bool = true,
                    incognito: Bool = false, weights: MixingWeights = MixingWeights()) {
            self.modelDirectory = modelDirectory
            self.historyPath = historyPath
            self.useHistory = useHistory
            self.incognito = incognito
            self.weights = weights
        }
    }

    /// Opens the model (with its n-gram and lexicon when present) and the history store. A damaged
    /// history file is moved aside and a new one started; `notes` says so.
    public static func open(_ options: OpenOptions) throws -> (engine: SuggestionEngine, notes: [String]) {
        let directory = try options.modelDirectory ?? ModelLocator.locateDefault()
        let bundle = try ModelBundle.load(from: directory)
        let ngramURL = directory.appendingPathComponent(ngramFileName)
        let ngram = FileManager.default.fileExists(atPath: ngramURL.path) ? try NGramModel.load(contentsOf: ngramURL) : nil
        if let ngram, ngram.vocabSize != bundle.vocabulary.count {
            // Say which file is wrong (the initializer's check cannot know the file).
            throw NGramError.corrupt(file: ngramURL.path, problem: "built for a vocabulary of \(ngram.vocabSize) words, "
                                     + "but the model's has \(bundle.vocabulary.count): not this model's n-gram")
        }
        let lexicon = try lexiconURL(for: bundle).map { try Lexicon.load(contentsOf: $0) }
        var notes: [String] = []
        var history: HistoryStore?
        if options.useHistory {
            let (store, recovery) = try HistoryStore.openOrRecover(path: options.historyPath)
            if let recovery { notes.append(recovery.message) }
            history = store
        }
        let engine = try SuggestionEngine(bundle: bundle, ngram: ngram, lexicon: lexicon, history: history,
                                          weights: options.weights, incognito: options.incognito)
        return (engine, notes)
    }

    /// The lexicon beside the model, or `vocab/<vocabulary name>-lexicon.tsv` in the repository layout.
    static func lexiconURL(for bundle: ModelBundle) -> URL? {
        let stem = (bundle.config.vocabularyFile as NSString).deletingPathExtension
        let candidates = [
            bundle.directory.appendingPathComponent(lexiconFileName),
            bundle.directory.appendingPathComponent("../../vocab/\(stem)-lexicon.tsv").standardized,
        ]
        return candidates.first { FileManager.default.fileExists(atPath: $0.path) }
    }
}
