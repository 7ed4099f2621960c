import Foundation
import GRDB
import XCTest
@testable import NextWord

/// The other side of the multi-process tests: `testChildEntry` does work only when the test binary
/// was started as a child process with `NEXTWORD_CHILD_MODE` set (by `ChildProcess`, or by
/// `benchmarks/stress-history.sh`); in an ordinary test run it is skipped.
///
/// Modes (`NEXTWORD_CHILD_DB` is the history file in all of them):
/// - `learn-loop`: learns line after line (`durable <marker> entry`, markers from
///   `NEXTWORD_CHILD_START`) and prints `learned N` as soon as each `HistoryStore.learn` returned,
///   until killed (or 100 000 lines).
/// - `write`: writer `NEXTWORD_CHILD_WRITER` learns `NEXTWORD_CHILD_LINES` lines
///   (`together <marker> line`) and prints `wrote X errors E`, and each error on its own line.
/// - `clear-stalled`: starts a clear, prints `marked` once the file is marked, and stalls there.
/// - `hold-write`: takes the history's write lock (BEGIN IMMEDIATE), prints `holding`, keeps it.
/// - `serve`: runs the suggestion service on the fixture model with `NEXTWORD_CHILD_DB` as its
///   data directory (`ServiceChild`).
/// - `read-only-folder`: opens the history as the REPL and `suggest` do and prints
///   `read N read-only B` (N the count of "hello", B whether it was opened read-only).
/// - `keypath`: a REPL's key path on the history for `NEXTWORD_CHILD_SECONDS`: a suggestion per
///   keystroke, each line queued to `LearningQueue` at its end; prints
///   `keypath calls C max_ms M p99_ms P lines L learned K` (K of L lines present at the end).
/// - `thread-exit`: `NEXTWORD_CHILD_ROUNDS` threads end holding the last reference to a database
///   (`DetachedThreadTests`); prints `threads N ended`.
/// - `verify`: counts the lines of `NEXTWORD_CHILD_WRITERS` writers × `NEXTWORD_CHILD_LINES` present
///   and prints `present Y expected X together T integrity ok` (or the problem).
final class ReliabilityChildTests: XCTestCase {
    static let modeVariable = "NEXTWORD_CHILD_MODE"
    /// The test a child process runs, as the XCTest command line names it.
    static let entryTestName = "NextWordTests.ReliabilityChildTests/testChildEntry"

    func testChildEntry() throws {
        let environment = ProcessInfo.processInfo.environment
        guard let mode = environment[Self.modeVariable] else {
            throw XCTSkip("runs only as a child process of the reliability tests")
        }
        guard let path = environment["NEXTWORD_CHILD_DB"] else { return XCTFail("NEXTWORD_CHILD_DB is not set") }
        let file = URL(fileURLWithPath: path)
        if mode == "serve" { return try ServiceChild.run(dataDirectory: file) }
        if mode == "clear-stalled" {
            // A clear that is killed after it marked the file and before it erased anything.
            let store = try HistoryStore(path: file)
            try store.clear(afterMarking: {
                Self.say("marked")
                Thread.sleep(forTimeInterval: 120)
            })
            return
        }
        if mode == "hold-write" {
            // Another program holding the history's write lock (then stopped by the parent).
            let queue = try DatabaseQueue(path: file.path)
            try queue.writeWithoutTransaction { db in
                try db.execute(sql: "BEGIN IMMEDIATE")
                Self.say("holding")
                Thread.sleep(forTimeInterval: 120)
            }
            return
        }
        func number(_ name: String, _ fallback: Int) -> Int { environment[name].flatMap { Int($0) } ?? fallback }
        switch mode {
        case "learn-loop":
            let store = try HistoryStore(path: file)
            let start = number("NEXTWORD_CHILD_START", 0)
            for index in start ..< start + 100_000 {
                try store.learn(tokens: ["durable", Marker.word(writer: 0, line: index), "entry"])
                Self.say("learned \(index)")
            }
        case "write":
            let writer = number("NEXTWORD_CHILD_WRITER", 0)
            let (written, errors) = Self.write(file: file, writer: writer, lines: number("NEXTWORD_CHILD_LINES", 100))
            for error in errors.prefix(5) { Self.say("error: \(error)") }
            Self.say("wrote \(written) errors \(errors.count)")
        case "read-only-folder":
            let (store, _) = try HistoryStore.openOrRecover(path: file)
            Self.say("read \(store.wordCount(lower: "hello").first?.count ?? 0) read-only \(store.isReadOnly)")
        case "keypath":
            Self.say(try Self.keyPath(file: file, seconds: Double(number("NEXTWORD_CHILD_SECONDS", 5))))
        case "thread-exit":
            Self.say(DetachedThreadTests.endThreads(rounds: number("NEXTWORD_CHILD_ROUNDS", 200)))
        case "verify":
            let store = try HistoryStore(path: file, readOnly: true)
            let writers = number("NEXTWORD_CHILD_WRITERS", 1), lines = number("NEXTWORD_CHILD_LINES", 100)
            let present = Marker.present(in: store, writers: 1...writers, lines: lines)
            let together = store.wordCount(lower: "together").first?.count ?? 0
            Self.say("present \(present) expected \(writers * lines) together \(together) integrity \(store.integrityProblem() ?? "ok")")
        default:
            XCTFail("unknown child mode \(mode)")
        }
    }

    /// Writer `writer` learns `lines` lines into `file` through its own store; returns how many
    /// `learn` calls returned normally, and the errors of the others.
    static func write(file: URL, writer: Int, lines: Int) -> (written: Int, errors: [String]) {
        var written = 0
        var errors: [String] = []
        do {
            let store = try HistoryStore(path: file)
            for line in 0 ..< lines {
                let started = Date()
                do {
                    try store.learn(tokens: ["together", Marker.word(writer: writer, line: line), "line"])
                    written += 1
                } catch {
                    let waited = String(format: "%.1f", Date().timeIntervalSince(started))
                    errors.append("line \(line), after \(waited) s: \(error)")
                }
            }
            try store.close()
        } catch {
            errors.append("\(error)")
        }
        return (written, errors)
    }

    /// Types on the fixture engine over `file` as a REPL does for `seconds` (see the `keypath` mode).
    static func keyPath(file: URL, seconds: Double) throws -> String {
        let store = try HistoryStore(path: file)
        let engine = try EngineFixture.engine(history: store)
        let queue = LearningQueue(engine: engine)
        let clock = ContinuousClock()
        var times: [Double] = []
        var lines = 0
        let end = Date().addingTimeInterval(seconds)
        while Date() < end {
            let line = "we talked about the keypath \(Marker.word(writer: 99, line: lines)) plan"
            var typed = ""
            for character in line {
                typed.append(character)
                let start = clock.now
                _ = engine.suggest(prefix: typed, limit: 3)
                times.append(Double((clock.now - start).components.attoseconds) * 1e-15
                             + Double((clock.now - start).components.seconds) * 1e3)
            }
            let start = clock.now
            queue.enqueue(line)  // Enter
            times.append(Double((clock.now - start).components.attoseconds) * 1e-15)
            lines += 1
        }
        queue.waitUntilEmpty(timeout: 90)
        queue.close()
        let learned = (0 ..< lines).filter { !store.wordCount(lower: Marker.word(writer: 99, line: $0)).isEmpty }.count
        times.sort()
        let p99 = times.isEmpty ? 0 : times[min(times.count - 1, times.count * 99 / 100)]
        return String(format: "keypath calls %d max_ms %.2f p99_ms %.3f lines %d learned %d",
                      times.count, times.last ?? 0, p99, lines, learned)
    }

    /// One line to the parent, unbuffered (a killed child must not take reported lines with it).
    static func say(_ line: String) {
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }
}

/// Distinct learnable marker words, one per (writer, line): letters only, so no privacy rule
/// refuses them ("mk" + writer in base 25 + "z" + line in base 25, digits a…y).
enum Marker {
    static func word(writer: Int, line: Int) -> String {
        "mk" + letters(writer) + "z" + letters(line)
    }

    private static func letters(_ value: Int) -> String {
        var value = max(0, value)
        var result = ""
        repeat {
            result = String(UnicodeScalar(UInt8(97 + value % 25))) + result
            value /= 25
        } while value > 0
        return result
    }

    /// How many of the lines `0..<lines` of `writers` have their marker in the store.
    static func present(in store: HistoryStore, writers: ClosedRange<Int>, lines: Int) -> Int {
        var count = 0
        for writer in writers {
            for line in 0 ..< lines where !store.wordCount(lower: word(writer: writer, line: line)).isEmpty {
                count += 1
            }
        }
        return count
    }
}

/// A child process running the test binary's `testChildEntry`, with its standard output read line
/// by line. A watchdog kills it after `timeout` seconds so a hung child cannot hang the tests.
final class ChildProcess {
    let process = Process()
    private let output = Pipe()
    private var buffer = Data()
    let errorLog: URL

    /// The test binary itself (`/proc/self/exe`): only on Linux, where XCTest bundles are executables.
    static func testBinary() throws -> URL {
        #if os(Linux)
        let path = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
        guard path.hasSuffix(".xctest") else { throw XCTSkip("not running from an .xctest executable (\(path))") }
        return URL(fileURLWithPath: path)
        #else
        throw XCTSkip("child processes of the test binary are only set up on Linux")
        #endif
    }

    /// `launcher`: a command the test binary is started through (`setpriv` to drop root), or none.
    init(mode: String, environment: [String: String], errorLog: URL, timeout: TimeInterval = 60, launcher: [String] = []) throws {
        self.errorLog = errorLog
        let binary = try Self.testBinary()
        if let first = launcher.first {
            process.executableURL = URL(fileURLWithPath: first)
            process.arguments = Array(launcher.dropFirst()) + [binary.path, ReliabilityChildTests.entryTestName]
        } else {
            process.executableURL = binary
            process.arguments = [ReliabilityChildTests.entryTestName]
        }
        var variables = ProcessInfo.processInfo.environment
        variables[ReliabilityChildTests.modeVariable] = mode
        // A child that crashes must end its output at once: Swift's backtracer would inherit the
        // pipe and keep the parent reading until it gives up.
        variables["SWIFT_BACKTRACE"] = "enable=no"
        variables.merge(environment) { $1 }
        process.environment = variables
        process.standardOutput = output
        _ = FileManager.default.createFile(atPath: errorLog.path, contents: nil)
        process.standardError = try FileHandle(forWritingTo: errorLog)
        try process.run()
        let pid = process.processIdentifier
        DispatchQueue.global().asyncAfter(deadline: .now() + timeout) { [process] in
            if process.isRunning { kill(pid, SIGKILL) }
        }
    }

    /// The next line of the child's standard output, or nil at its end.
    func nextLine() -> String? {
        while true {
            if let newline = buffer.firstIndex(of: 0x0A) {
                let line = String(decoding: buffer[buffer.startIndex ..< newline], as: UTF8.self)
                buffer = Data(buffer[(newline + 1)...])
                return line
            }
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty {
                guard !buffer.isEmpty else { return nil }
                defer { buffer.removeAll() }
                return String(decoding: buffer, as: UTF8.self)
            }
            buffer.append(chunk)
        }
    }

    /// Reads lines until one starts with `prefix` and returns it (nil if the output ends first):
    /// a child announces where it stands ("holding", "marked", "port N") after XCTest's own lines.
    func waitForLine(startingWith prefix: String) -> String? {
        while let line = nextLine() {
            if line.hasPrefix(prefix) { return line }
        }
        return nil
    }

    /// Every remaining line, up to the end of the output, then waits for the child to exit.
    func remainingLines() -> [String] {
        var lines: [String] = []
        while let line = nextLine() { lines.append(line) }
        process.waitUntilExit()
        return lines
    }

    func killNow() {
        kill(process.processIdentifier, SIGKILL)
    }

    /// The child's standard error, for failure messages.
    var errors: String { (try? String(contentsOf: errorLog, encoding: .utf8)) ?? "" }
}
