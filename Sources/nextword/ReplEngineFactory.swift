import ArgumentParser
import Foundation
import NextWord

/// Options that say which engine the REPL runs on.
struct ReplEngineOptions: ParsableArguments {
    @OptionGroup var modelOptions: ModelOptions

    @Option(name: .long, help: "History database (default: $NEXTWORD_HISTORY, else $XDG_DATA_HOME/nextword/history.sqlite).")
    var history: String?

    @Flag(help: "Use no history file: learning stays in memory for this session.")
    var noHistory = false
}

/// Opens the real engine for `nextword repl`: the model (default: models/default) with its n-gram
/// and lexicon, and the user's history. A damaged history file is moved aside and the user told.
/// `incognito` opens the history without a trace (no -wal, no -shm) until incognito is switched off.
func makeReplEngine(_ options: ReplEngineOptions, incognito: Bool) throws -> SuggestionEngine {
    let open = SuggestionEngine.OpenOptions(modelDirectory: try options.modelOptions.resolve(),
                                            historyPath: options.history.map { URL(fileURLWithPath: $0) },
                                            useHistory: !options.noHistory, incognito: incognito)
    let (engine, notes) = try SuggestionEngine.open(open)
    for note in notes { FileHandle.standardError.write(Data("nextword: \(note)\n".utf8)) }
    return engine
}
