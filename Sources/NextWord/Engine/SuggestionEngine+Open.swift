import Foundation

extension SuggestionEngine {
    /// File names the engine looks for beside a model.
    public static let ngramFileName = EngineResources.ngramFileName
    public static let lexiconFileName = EngineResources.lexiconFileName

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
        try open(options, resources: try EngineResources.load(from: options.modelDirectory))
    }

    /// Opens an engine on an already loaded model (`options.modelDirectory` is not read): only the
    /// history store is opened. A service opens each user's engine this way on one shared model.
    public static func open(_ options: OpenOptions, resources: EngineResources) throws -> (engine: SuggestionEngine, notes: [String]) {
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
                if options.incognito {
                    // Read without a trace (no -wal, no -shm, no chmod, no repair): what incognito
                    // promises. A store that writes later, when incognito is switched off, then
                    // does what a normal open would have.
                    history = try HistoryStore(path: historyURL, leavingNoTrace: true)
                } else {
                    let (store, recovery) = try HistoryStore.openOrRecover(path: historyURL)
                    if let recovery { notes.append(recovery.message) }
                    history = store
                }
            } catch let error as HistoryError {
                // A history that cannot be used (a link, another program's file, permissions) is
                // left as it is; suggestions go on without it and the note says why.
                notes.append("\(error.localizedDescription); suggestions go on without a history, nothing is learned to disk")
            }
        }
        let engine = try SuggestionEngine(resources: resources, history: history,
                                          weights: options.weights, incognito: options.incognito)
        return (engine, notes)
    }
}
