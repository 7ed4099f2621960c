import Foundation
import XCTest
@testable import NextWord

/// Commands write only where they are told (found from outside: `ngram --train` without `--model`
/// overwrote the shipped `models/default/ngram.bin`, `train --output DIR` wrote its vocabulary
/// into `./vocab/` of the working directory). Runs the `nextword` binary SwiftPM built beside the
/// test bundle, in a working directory of its own.
final class CommandLineWriterTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = try EngineFixture.temporaryDirectory("CommandLineWriter")
        try "the cat sat on the mat\nthe dog sat on the log\n".write(to: directory.appendingPathComponent("train.txt"),
                                                                     atomically: true, encoding: .utf8)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    /// Runs `nextword arguments…` in the test's folder; returns its exit status, standard error and
    /// standard output.
    @discardableResult
    private func nextword(_ arguments: [String]) throws -> (status: Int32, errors: String, output: String) {
        let binary = try ChildProcess.testBinary().deletingLastPathComponent().appendingPathComponent("nextword")
        guard FileManager.default.isExecutableFile(atPath: binary.path) else { throw XCTSkip("no nextword binary at \(binary.path)") }
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        process.currentDirectoryURL = directory
        var environment = ProcessInfo.processInfo.environment
        environment["XDG_DATA_HOME"] = directory.appendingPathComponent("data").path
        environment.removeValue(forKey: "NEXTWORD_MODEL")
        process.environment = environment
        let errors = Pipe(), output = Pipe()
        process.standardError = errors
        process.standardOutput = output
        try process.run()
        // Standard output on a thread of its own, so neither pipe can fill while the other is read.
        final class Box: @unchecked Sendable { var data = Data() }
        let printed = Box()
        let read = DispatchSemaphore(value: 0)
        DetachedThread.start {
            printed.data = output.fileHandleForReading.readDataToEndOfFile()
            read.signal()
        }
        let data = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        read.wait()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self), String(decoding: printed.data, as: UTF8.self))
    }

    private let tinyTraining = ["--train", "train.txt", "--valid", "train.txt", "--embedding", "8", "--hidden", "8",
                                "--layers", "1", "--epochs", "1", "--batch", "2", "--bptt", "4", "--threads", "1"]

    func testTrainingWritesOnlyItsOutputAndTheModelIsSelfContained() throws {
        let first = try nextword(["train"] + tinyTraining + ["--output", "out/model"])
        XCTAssertEqual(first.status, 0, first.errors)
        let entries = try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
        XCTAssertEqual(entries, ["out", "train.txt"], "nothing written outside --output (no ./vocab)")

        // Copied anywhere, the model loads: its vocabulary is inside it.
        let copy = directory.appendingPathComponent("elsewhere/model")
        try FileManager.default.createDirectory(at: copy.deletingLastPathComponent(), withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: directory.appendingPathComponent("out/model"), to: copy)
        XCTAssertNoThrow(try ModelBundle.load(from: copy))

        // A second run does not replace the model unless told to.
        let model = directory.appendingPathComponent("out/model/model.safetensors")
        let before = try Data(contentsOf: model)
        let again = try nextword(["train"] + tinyTraining + ["--output", "out/model"])
        XCTAssertNotEqual(again.status, 0)
        XCTAssertTrue(again.errors.contains("--force"), again.errors)
        XCTAssertEqual(try Data(contentsOf: model), before)
    }

    /// AWD-LSTM's options and the projection are recorded in the model's training record; NT-ASGD's
    /// average is checkpointed beside the weights and a resumed run takes it up; bad values are
    /// refused by name before anything is written.
    func testAWDOptionsAreRecordedAndTheAverageIsCheckpointed() throws {
        let awd = ["--train", "train.txt", "--valid", "train.txt", "--embedding", "8", "--hidden", "12", "--projection", "8",
                   "--batch", "2", "--bptt", "4", "--threads", "1", "--lr", "60", "--asgd", "1", "--locked-dropout",
                   "--dropout-input", "0.3", "--weight-drop", "0.2", "--dropout-embedding", "0.1", "--weight-decay", "1e-5",
                   "--ar", "2", "--tar", "1", "--matmul-precision", "float32"]  // the trajectory this test expects
        let first = try nextword(["train"] + awd + ["--epochs", "5", "--output", "model"])
        XCTAssertEqual(first.status, 0, first.errors)
        let config = try Checkpoint.readConfig(from: directory.appendingPathComponent("model"))
        XCTAssertEqual(config.projectionSize, 8)
        let record = try XCTUnwrap(config.training)
        XCTAssertEqual(record.regularization, Regularization(input: 0.3, hidden: 0.4, output: 0.4, embedding: 0.1, weightHH: 0.2, locked: true,
                                                             activation: 2, temporal: 1))
        XCTAssertEqual(record.weightDecay, 1e-5)
        XCTAssertEqual(record.averagingNonmonotone, 1)
        let checkpoint = directory.appendingPathComponent("model/.checkpoint")
        let state = try JSONDecoder().decode(TrainingState.self, from: Data(contentsOf: checkpoint.appendingPathComponent("train-state.json")))
        // At this rate validation gets worse within five epochs, and averaging starts.
        let averaging = try XCTUnwrap(state.averaging, "\(state.history.map(\.validPerplexity))")
        XCTAssertTrue(FileManager.default.fileExists(atPath: checkpoint.appendingPathComponent("average/model.safetensors").path))
        let resumed = try nextword(["train"] + awd + ["--epochs", "6", "--output", "model", "--resume"])
        XCTAssertEqual(resumed.status, 0, resumed.errors)
        let after = try JSONDecoder().decode(TrainingState.self, from: Data(contentsOf: checkpoint.appendingPathComponent("train-state.json")))
        XCTAssertEqual(after.averaging?.sinceEpoch, averaging.sinceEpoch)
        XCTAssertGreaterThan(after.averaging?.steps ?? 0, averaging.steps, "the resumed run went on averaging")

        for bad in [["--weight-drop", "1"], ["--projection", "12"], ["--asgd", "0"], ["--asgd-start", "3"], ["--asgd", "2", "--asgd-start", "-1"], ["--dropout-hidden", "-0.1"], ["--ar", "nan"]] {
            let refused = try nextword(["train"] + tinyTraining + bad + ["--output", "refused"])
            XCTAssertNotEqual(refused.status, 0, bad.joined(separator: " "))
            XCTAssertFalse(FileManager.default.fileExists(atPath: directory.appendingPathComponent("refused").path))
        }
    }

    /// `--matmul-precision`: a run records that its matrix products ran in bfloat16 (where this
    /// CPU has the tiles) and nothing with float32; an unknown name is refused, and so is bfloat16
    /// where there are no tiles.
    func testTheMatmulPrecisionIsChosenAndRecorded() throws {
        let plain = try nextword(["train"] + tinyTraining + ["--output", "plain", "--matmul-precision", "float32"])
        XCTAssertEqual(plain.status, 0, plain.errors)
        XCTAssertNil(try Checkpoint.readConfig(from: directory.appendingPathComponent("plain")).training?.matmulPrecision)
        let automatic = try nextword(["train"] + tinyTraining + ["--output", "automatic"])
        XCTAssertEqual(automatic.status, 0, automatic.errors)
        XCTAssertEqual(try Checkpoint.readConfig(from: directory.appendingPathComponent("automatic")).training?.matmulPrecision,
                       MatmulPrecision.tilesAvailable ? "bfloat16" : nil)
        let unknown = try nextword(["train"] + tinyTraining + ["--output", "refused", "--matmul-precision", "fp8"])
        XCTAssertNotEqual(unknown.status, 0)
        XCTAssertTrue(unknown.errors.contains("--matmul-precision"), unknown.errors)
        let tiles = try nextword(["train"] + tinyTraining + ["--output", "tiles", "--matmul-precision", "bfloat16"])
        XCTAssertEqual(tiles.status == 0, MatmulPrecision.tilesAvailable, tiles.errors)
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory.appendingPathComponent("refused").path))
    }

    /// `train --json` and `lexicon --json`: one object on standard output, progress elsewhere.
    func testTrainAndLexiconSpeakJSON() throws {
        let trained = try nextword(["train"] + tinyTraining + ["--output", "model", "--json"])
        XCTAssertEqual(trained.status, 0, trained.errors)
        struct Trained: Decodable { let epochs: Int; let best_valid_perplexity: Double?; let train_tokens: Int; let parameters: Int }
        let report = try JSONDecoder().decode(Trained.self, from: Data(trained.output.utf8))
        XCTAssertEqual(report.epochs, 1)
        XCTAssertGreaterThan(report.best_valid_perplexity ?? 0, 1)
        XCTAssertGreaterThan(report.train_tokens, 0)
        XCTAssertTrue(trained.errors.contains("valid ppl"), "progress on standard error: \(trained.errors)")

        let counted = try nextword(["lexicon", "--train", "train.txt", "--output", "lexicon.tsv", "--json"])
        XCTAssertEqual(counted.status, 0, counted.errors)
        struct Counted: Decodable { let file: String; let words: Int; let min_count: Int }
        let lexicon = try JSONDecoder().decode(Counted.self, from: Data(counted.output.utf8))
        XCTAssertEqual([lexicon.file, String(lexicon.min_count)], ["lexicon.tsv", "1"])
        XCTAssertGreaterThan(lexicon.words, 3)
    }

    func testTheNGramIsWrittenOnlyForANamedModelAndNeverReplacedUnasked() throws {
        let trained = try nextword(["train"] + tinyTraining + ["--output", "model"])
        XCTAssertEqual(trained.status, 0, trained.errors)

        let unnamed = try nextword(["ngram", "--train", "train.txt"])
        XCTAssertNotEqual(unnamed.status, 0)
        XCTAssertTrue(unnamed.errors.contains("--model"), unnamed.errors)

        let built = try nextword(["ngram", "--model", "model", "--train", "train.txt", "--json"])
        XCTAssertEqual(built.status, 0, built.errors)
        struct Built: Decodable { let order: Int; let ngrams: [Int]; let bytes: Int }
        let report = try JSONDecoder().decode(Built.self, from: Data(built.output.utf8))
        XCTAssertEqual(report.order, 3)
        XCTAssertGreaterThan(report.bytes, 0)
        let ngram = directory.appendingPathComponent("model/ngram.bin")
        let before = try Data(contentsOf: ngram)
        let again = try nextword(["ngram", "--model", "model", "--train", "train.txt", "--order", "2"])
        XCTAssertNotEqual(again.status, 0)
        XCTAssertTrue(again.errors.contains("--force"), again.errors)
        XCTAssertEqual(try Data(contentsOf: ngram), before, "left as it was")
        XCTAssertEqual(try nextword(["ngram", "--model", "model", "--train", "train.txt", "--order", "2", "--force"]).status, 0)
        XCTAssertNotEqual(try Data(contentsOf: ngram), before, "replaced when asked")
    }

    /// Found from outside: `lexicon --output FILE` replaced whatever FILE was, a lexicon the user
    /// edited by hand included. It now asks for --force, and a symbolic link at the name is
    /// replaced by the new file, its target left alone.
    func testTheLexiconIsNeverReplacedUnasked() throws {
        let file = directory.appendingPathComponent("mine.tsv")
        try Data("hand\t7\n".utf8).write(to: file)
        let refused = try nextword(["lexicon", "--train", "train.txt", "--output", "mine.tsv"])
        XCTAssertNotEqual(refused.status, 0)
        XCTAssertTrue(refused.errors.contains("--force"), refused.errors)
        XCTAssertEqual(try String(contentsOf: file, encoding: .utf8), "hand\t7\n", "left as it was")

        let replaced = try nextword(["lexicon", "--train", "train.txt", "--output", "mine.tsv", "--force"])
        XCTAssertEqual(replaced.status, 0, replaced.errors)
        XCTAssertTrue(try String(contentsOf: file, encoding: .utf8).contains("cat\t1\n"))

        let link = directory.appendingPathComponent("link.tsv"), target = directory.appendingPathComponent("target.txt")
        try Data("not a lexicon\n".utf8).write(to: target)
        try FileManager.default.createSymbolicLink(at: link, withDestinationURL: target)
        XCTAssertNotEqual(try nextword(["lexicon", "--train", "train.txt", "--output", "link.tsv"]).status, 0, "a link counts as existing")
        XCTAssertEqual(try nextword(["lexicon", "--train", "train.txt", "--output", "link.tsv", "--force"]).status, 0)
        XCTAssertEqual(try String(contentsOf: target, encoding: .utf8), "not a lexicon\n", "the link's target is not written through")
        XCTAssertNil(try? FileManager.default.destinationOfSymbolicLink(atPath: link.path), "the name is a file now")
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.contains(".tmp-") }
        XCTAssertEqual(leftovers, [], "no temporary file is left behind")
    }

    /// `history stats --json`: one object a script can read; asking creates nothing.
    func testHistoryStatsSpeaksJSONAndCreatesNothing() throws {
        struct Report: Decodable { let exists: Bool; let words: Int; let typed: Int; let read_only: Bool }
        let before = try nextword(["history", "stats", "--json"])
        XCTAssertEqual(before.status, 0, before.errors)
        let empty = try JSONDecoder().decode(Report.self, from: Data(before.output.utf8))
        XCTAssertFalse(empty.exists)
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory.appendingPathComponent("data").path), "asking created nothing")

        let imported = try nextword(["history", "import", "--json", "train.txt"])
        struct Imported: Decodable { let file: String; let kind: String; let lines: Int?; let words: Int }
        let report = try JSONDecoder().decode(Imported.self, from: Data(imported.output.utf8))
        XCTAssertEqual([report.file, report.kind], ["train.txt", "text"])
        XCTAssertEqual(report.lines, 2)
        XCTAssertEqual(report.words, 12)
        let after = try JSONDecoder().decode(Report.self, from: Data(try nextword(["history", "stats", "--json"]).output.utf8))
        XCTAssertTrue(after.exists)
        XCTAssertEqual(after.typed, 12)
        XCTAssertFalse(after.read_only)

        // What an engine learned besides words is in the report too.
        let path = HistoryStore.defaultPath(environment: ["XDG_DATA_HOME": directory.appendingPathComponent("data").path])
        try EngineFixture.engine(history: try HistoryStore(path: path)).learn("we met them in the park")
        struct Adapted: Decodable {
            struct Mixture: Decodable { let document_cache: Float; let history: Float; let user_cache: Float; let observations: Int }
            let cache_positions: Int; let decoder_bias_lines: Int?; let mixture: Mixture?
        }
        let adapted = try JSONDecoder().decode(Adapted.self, from: Data(try nextword(["history", "stats", "--json"]).output.utf8))
        XCTAssertEqual(adapted.cache_positions, 6)
        XCTAssertEqual(adapted.decoder_bias_lines, 1)
        XCTAssertEqual(adapted.mixture?.user_cache, MixingWeights().userCache)
        let text = try nextword(["history", "stats"]).output
        XCTAssertTrue(text.contains("user cache: 6 remembered positions"), text)
    }
}
