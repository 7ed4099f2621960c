import ArgumentParser
import Foundation
import NextWord

/// Options for the subcommands that open a suggestion engine.
struct EngineOptions: ParsableArguments {
    @OptionGroup var modelOptions: ModelOptions

    @Option(help: "History database (default: $NEXTWORD_HISTORY, else $XDG_DATA_HOME/nextword/history.sqlite).")
    var history: String?

    @Flag(help: "Use no history file: nothing is read or written.")
    var noHistory = false

    @Flag(help: "Start in incognito mode: nothing is learned.")
    var incognito = false

    func openOptions(useHistory: Bool? = nil) throws -> SuggestionEngine.OpenOptions {
        SuggestionEngine.OpenOptions(modelDirectory: try modelOptions.resolve(),
                                     historyPath: history.map { URL(fileURLWithPath: $0) },
                                     useHistory: useHistory ?? !noHistory, incognito: incognito)
    }

    /// Opens the engine; notes (a damaged history moved aside) go to standard error.
    func open(useHistory: Bool? = nil) throws -> SuggestionEngine {
        let (engine, notes) = try SuggestionEngine.open(openOptions(useHistory: useHistory))
        for note in notes { FileHandle.standardError.write(Data("nextword: \(note)\n".utf8)) }
        return engine
    }
}

func jsonLine<T: Encodable>(_ value: T) throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    return String(decoding: try encoder.encode(value), as: UTF8.self)
}

/// Refuses to write over a file that is already at `url` (a symbolic link, even a dangling one,
/// counts) unless the user passed --force: the build commands never replace a file unasked.
func refuseToReplace(_ url: URL, force: Bool) throws {
    guard !force, (try? FileManager.default.attributesOfItem(atPath: url.path)) != nil else { return }
    throw ValidationError("\(url.path) exists; pass --force to replace it")
}
