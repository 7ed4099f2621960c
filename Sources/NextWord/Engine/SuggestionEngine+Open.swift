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
        var notes: [String] = []
        var history: HistoryStore?
        // Incognito on a history that does not exist yet: there is nothing to read, and incognito
        // must create nothing (no folder, no empty database).
        let historyURL = options.historyPath ?? HistoryStore.defaultPath(environment: ProcessInfo.processInfo.environment)
        // lstat: a dangling link counts as there (and is refused by the store, with a note).
        var info = stat()
        let historyExists = lstat(historyURL.path, &info) == 0
        if options.useHistory && !(options.incognito && !historyExists) {
            do {
                let (store, recovery) = try HistoryStore.openOrRecover(path: options.historyPath)
                if let recovery { notes.append(recovery.message) }
                history = store
            } catch let error as HistoryError {
                // A history that cannot be used (a link, another program's file, permissions) is
                // left as it is; suggestions go on without it and the note says why.
                notes.append("\(error.localizedDescription); suggestions go on without a history, nothing is learned to disk")
            }
        }
        let engine = try SuggestionEngine(bundle: bundle, ngram: ngram, lexicon: lexicon, history: history,
                                          weights: options.weights, incognito: options.incognito)
        return (engine, notes)
    }

    /// The lexicon beside the model, or `vocab/<vocabulary name>-lexicon.tsv` in the repository layout.
    static func lexiconURL(directory: URL, vocabularyFile: String) -> URL? {
        let stem = (vocabularyFile as NSString).deletingPathExtension
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
