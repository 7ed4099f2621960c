import ArgumentParser
import Foundation
import NextWord

@main
struct NextWordCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nextword",
        abstract: "Next-word suggestions from an LSTM language model that learns from what you type.",
        discussion: """
            With no subcommand, runs `repl`: an interactive editor with suggestions on a terminal, or, \
            when input or output is piped, line mode (one line of tab-separated suggestions per input \
            line; --json for JSON; --learn to learn the lines). See `nextword help repl`.
            """,
        version: NextWordInfo.version,
        subcommands: [ReplCommand.self],
        defaultSubcommand: ReplCommand.self)
}

/// Writes a progress line that rewrites itself on a terminal and stays quiet otherwise.
struct ProgressLine {
    let enabled: Bool
    init(enabled: Bool = isatty(STDERR_FILENO) != 0) { self.enabled = enabled }

    func update(_ text: String) {
        guard enabled else { return }
        FileHandle.standardError.write(Data(("\r\u{1B}[K" + text).utf8))
    }

    func finish() {
        guard enabled else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
    }
}

func formatDuration(_ seconds: Double) -> String {
    guard seconds.isFinite, seconds >= 0 else { return "?" }
    let s = Int(seconds)
    return s >= 3600 ? String(format: "%dh%02dm", s / 3600, s / 60 % 60) : String(format: "%dm%02ds", s / 60, s % 60)
}
