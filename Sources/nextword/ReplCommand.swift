import ArgumentParser
import Foundation
import NextWord
import NextWordREPL

/// `nextword` with no arguments: the interactive suggestion REPL, or line mode when piped.
struct ReplCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "repl",
        abstract: "Type text and see next-word suggestions as you type (the default command).",
        discussion: """
            On a terminal: an interactive line editor. Up to --limit (3) suggestions are shown under the line \
            and refreshed on every key. Tab accepts the first, Alt-1/Alt-2/Alt-3 pick one; Enter commits \
            the line, which is learned (unless incognito) and kept as context for the next line. Ctrl-W \
            deletes a word, Ctrl-U clears the line, Ctrl-C clears it or quits on an empty line, Ctrl-D \
            quits on an empty line. Commands on a line of their own: :help, :incognito [on|off], \
            :forget WORD, :stats, :quit.

            Line mode (standard input or output is not a terminal): for each input line, one output \
            line with the suggestions for that line's text, separated by tabs (an empty line when there \
            are none); with --json, one JSON array of {"probability", "source", "text"} objects per \
            line. A line ending in a space asks for the next word; otherwise its last word is completed. \
            Each line is suggested on its own, and nothing is learned unless --learn is given. \
            Example: printf 'I would like to \\n' | nextword --json
            """)

    @OptionGroup var engineOptions: ReplEngineOptions

    @Flag(help: "Learn nothing and write nothing (toggle in the REPL with :incognito).")
    var incognito = false

    /// `--limit`, as `suggest` and the service call it; `--count` is kept for old scripts.
    @Option(name: [.customLong("limit"), .customLong("count")], help: "Suggestions per line (1-9).")
    var count = 3

    @Flag(help: "Line mode: write one JSON array of suggestions per input line instead of tab-separated words.")
    var json = false

    @Flag(help: "Line mode: learn each input line after answering it (the REPL always learns unless incognito).")
    var learn = false

    func validate() throws {
        guard (1...9).contains(count) else { throw ValidationError("--limit must be between 1 and 9") }
    }

    func run() throws {
        do {
            let engine = try makeReplEngine(engineOptions, incognito: incognito)
            // Closed at the end, so SQLite folds the -wal into the history and removes its side files.
            defer { try? engine.history?.close() }
            if isatty(STDIN_FILENO) != 0 && isatty(STDOUT_FILENO) != 0 {
                let signals = try SignalWatcher()
                let session = ReplSession(engine: engine, input: STDIN_FILENO, output: STDOUT_FILENO,
                                          options: ReplOptions(suggestionCount: count), signals: signals)
                let exit = try session.run()
                if exit.exitStatus != 0 { throw ExitCode(exit.exitStatus) }
            } else {
                let runner = LineModeRunner(engine: engine, count: count, json: json, learn: learn)
                try runner.run(input: STDIN_FILENO, output: STDOUT_FILENO, errors: STDERR_FILENO)
            }
        } catch let exit as ExitCode {
            throw exit
        } catch {
            // One line saying what is wrong, never a stack trace or ArgumentParser's "Error:" wrapper.
            FileHandle.standardError.write(Data("nextword: \(error)\n".utf8))
            throw ExitCode.failure
        }
    }
}
