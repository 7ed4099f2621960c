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
        subcommands: [ReplCommand.self, SuggestCommand.self, ServeCommand.self, BenchCommand.self, SimulateCommand.self, HistoryCommand.self, TrainCommand.self, EvalCommand.self, NGramCommand.self, LexiconCommand.self],
        defaultSubcommand: ReplCommand.self)

    static func main() async {
        do {
            try refuseUnknownSubcommand(Array(CommandLine.arguments.dropFirst()))
            var command = try parseAsRoot()
            if command is RunsMatrixProducts {
                // Only commands that multiply matrices load the BLAS (a suggestion never does), and
                // only they start again on a better kernel when OpenBLAS fell back to a generic one.
                #if os(Linux)
                // Before OpenBLAS loads: it reads its variables once (no other thread runs yet).
                for (name, value) in BLASKernelRestart.threadTimeoutVariables(environment: ProcessInfo.processInfo.environment) {
                    setenv(name, value, 1)
                }
                _ = try BLASLibrary.require()
                #endif
                if let warning = BLASKernelFix.apply() { FileHandle.standardError.write(Data((warning + "\n").utf8)) }
            }
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: error)
        }
    }
}

extension NextWordCommand {
    /// `nextword suggets x` would otherwise reach the default subcommand (`repl`) and be answered
    /// "2 unexpected arguments": a first word that names no subcommand is answered with the ones
    /// there are (the REPL takes no words of its own).
    static func refuseUnknownSubcommand(_ arguments: [String]) throws {
        guard let first = arguments.first, !first.hasPrefix("-") else { return }
        let names = configuration.subcommands.compactMap { $0.configuration.commandName } + ["help"]
        guard !names.contains(first) else { return }
        let close = names.filter { editDistance($0, first) <= 2 }
        let hint = close.isEmpty ? "" : " (did you mean \(close.map { "'\($0)'" }.joined(separator: " or "))?)"
        throw ValidationError("unknown command '\(first)'\(hint); commands: \(names.dropLast().joined(separator: ", "))")
    }

    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        var row = Array(0...b.count)
        for i in 1...max(a.count, 1) where !a.isEmpty {
            var previous = row[0]
            row[0] = i
            for j in 1...max(b.count, 1) where !b.isEmpty {
                let saved = row[j]
                row[j] = min(row[j] + 1, row[j - 1] + 1, previous + (a[i - 1] == b[j - 1] ? 0 : 1))
                previous = saved
            }
        }
        return row[b.count]
    }
}

/// A command whose work is matrix products (training, evaluation, benchmarks): it needs the BLAS,
/// on the kernel this CPU deserves. `SendableMetatype`: no conformance is isolated to an actor, so
/// asking a parsed command whether it conforms does not tie it to the main actor before it is
/// sent to its own `run()`.
protocol RunsMatrixProducts: SendableMetatype {}

/// `--matmul-precision`: one of `MatmulPrecision`' names, and bfloat16 only where this CPU has the
/// tiles for it (automatic falls back to float32 by itself).
func validateMatmulPrecision(_ value: String) throws {
    guard let products = MatmulPrecision(rawValue: value) else {
        throw ValidationError("--matmul-precision is one of \(MatmulPrecision.allCases.map(\.rawValue).joined(separator: ", ")) (got \(value))")
    }
    if products == .bfloat16 && !MatmulPrecision.tilesAvailable {
        throw ValidationError("--matmul-precision bfloat16 needs AMX-BF16 tiles, which this CPU or its operating system does not offer; use float32")
    }
}

/// Options naming a model directory, shared by the subcommands that run a model.
struct ModelOptions: ParsableArguments {
    @Option(name: .long, help: "Model directory (config.json, model.safetensors). Default: models/default, found next to the executable, above the working directory, or from $NEXTWORD_MODEL.")
    var model: String?

    func resolve() throws -> URL {
        if let model { return URL(fileURLWithPath: model) }
        do {
            return try ModelLocator.locateDefault()
        } catch ModelError.notFound(let message) {
            throw ModelError.notFound(message + "; or pass --model DIR")
        }
    }

    func load() throws -> ModelBundle { try ModelBundle.load(from: resolve()) }
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

/// Prints a line at once, unbuffered, so progress reaches a log file (nohup) as it happens.
func say(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}
