import ArgumentParser
import Foundation
import NextWord

struct SimulateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract: "Keystroke savings on a text, by the protocol of shared/docs/KSR.md (in the workspace beside the repository).",
        discussion: """
        The engine starts with an empty in-memory history (your own history is never read or \
        written). With --learn it learns each line right after its line break, as a user's engine would. \
        The last lines are kn, ki, ks, words, one JSON object, and `KSR: X.XX`.
        """)

    @OptionGroup var modelOptions: ModelOptions

    @Option(name: .short, help: "Suggestions offered per keystroke.")
    var k = 3

    @Flag(help: "Learn each line after it is typed.")
    var learn = false

    @Flag(help: "Use the oracle engine (always suggests the word being typed): protocol conformance figures.")
    var oracle = false

    @Option(help: "Stop after this many words.")
    var maxWords: Int?

    @Option(help: "Mixing weights to try instead of the tuned defaults, e.g. ngram=0.25,cache=0.06,user=0.12,window=400,newword=2.")
    var mix: String?

    @Option(help: "Write how each word went to this file (tab-separated: word, characters typed before its selection or - when typed out, the suggestions before its first letter).")
    var trace: String?

    @Flag(help: "Print only the JSON object.")
    var json = false

    @Argument(help: "The text to type (UTF-8; '-' reads standard input).")
    var file: String

    func validate() throws {
        if k < 1 { throw ValidationError("-k must be at least 1 (suggestions offered per keystroke)") }
        if let maxWords, maxWords < 0 { throw ValidationError("--max-words must not be negative") }
    }

    func run() throws {
        let url = TextFile.input(file)
        var simulator = KeystrokeSimulator(k: k, learn: learn, maxWords: maxWords)
        let traceFile = try trace.map { try TraceWriter(path: $0) }
        if let traceFile { simulator.wordObserver = { traceFile.write($0) } }
        defer { traceFile?.close() }
        let result: KSRResult
        if oracle {
            var oracleSimulator = simulator
            oracleSimulator.learn = false
            result = try oracleSimulator.run(contentsOf: url, predictor: OraclePredictor())
        } else {
            let options = SuggestionEngine.OpenOptions(modelDirectory: try modelOptions.resolve(), useHistory: false,
                                                       weights: try MixingWeights(parsing: mix ?? ""))
            let engine = try SuggestionEngine.open(options).engine
            let progress = ProgressLine()
            let started = Date()
            result = try simulator.run(contentsOf: url, predictor: engine) { done, total in
                guard done % 50 == 0 || done == total else { return }
                let rate = Double(done) / max(Date().timeIntervalSince(started), 1e-9)
                progress.update(String(format: "simulate: %d/%d words  %.0f words/s", done, total, rate))
            }
            progress.finish()
        }
        if json {
            print(KSRReport.jsonLine(for: result, order: nil))
        } else {
            print(KSRReport.text(for: result, order: nil), terminator: "")
        }
    }
}

/// Writes `simulate --trace` lines: word, characters typed before its selection (or -), and the
/// next-word suggestions shown before its first letter.
private final class TraceWriter: @unchecked Sendable {
    private let handle: FileHandle

    init(path: String) throws {
        guard FileManager.default.createFile(atPath: path, contents: nil), let handle = FileHandle(forWritingAtPath: path) else {
            throw ValidationError("\(path): cannot create the trace file")
        }
        self.handle = handle
    }

    func write(_ outcome: KeystrokeSimulator.WordOutcome) {
        let typed = outcome.typedBeforeSelection.map(String.init) ?? "-"
        handle.write(Data("\(outcome.word)\t\(typed)\t\(outcome.firstSuggestions.joined(separator: " "))\n".utf8))
    }

    func close() { try? handle.close() }
}
