import Foundation
import NextWord
import XCTest
@testable import NextWordREPL
#if canImport(Glibc)
import Glibc
#endif

/// A scripted engine: "go be see" after "to ", completions of a partial word from a short list, and
/// "the a I" otherwise. It records what it was asked and what it learned.
final class FakeSuggestionEngine: SuggestionProviding, @unchecked Sendable {
    // @unchecked: every stored property is guarded by `lock`.
    private let lock = NSLock()
    private var _learned: [String] = []
    private var _prefixes: [String] = []
    private var _forgotten: [String] = []
    private var _incognito = false
    static let words = ["today", "tomorrow", "together", "would", "world", "like", "love", "café", "cafés"]

    var learned: [String] { lock.withLock { _learned } }
    var prefixes: [String] { lock.withLock { _prefixes } }
    var forgotten: [String] { lock.withLock { _forgotten } }
    var modelName: String { "fake" }
    var incognito: Bool {
        get { lock.withLock { _incognito } }
        set { lock.withLock { _incognito = newValue } }
    }

    func suggest(prefix: String, limit: Int) -> [Suggestion] {
        lock.withLock { _prefixes.append(prefix) }
        let partial = String(prefix.reversed().prefix { !$0.isWhitespace }.reversed())
        let texts: [String]
        if prefix.hasSuffix("to ") {
            texts = ["go", "be", "see"]
        } else if !partial.isEmpty {
            texts = Self.words.filter { $0.hasPrefix(partial) && $0 != partial }
        } else {
            texts = ["the", "a", "I"]
        }
        return texts.prefix(limit).enumerated().map { index, text in
            Suggestion(text: text, probability: 0.5 / Double(index + 1), source: index == 0 ? .both : .model)
        }
    }

    /// When set, `learn` throws this (a full disk, a read-only store) after counting the call.
    nonisolated(unsafe) var learnFailure: Error?

    func learn(_ text: String) throws {
        lock.withLock { if !_incognito { _learned.append(text) } }
        if let learnFailure { throw learnFailure }
    }

    func forget(word: String) throws -> Int {
        lock.withLock {
            _forgotten.append(word)
            return word == "unknown" ? 0 : 2
        }
    }

    func statsSummary() throws -> String { "fake history: \(learned.count) lines" }
}

/// Runs a `ReplSession` on the slave side of a pseudo-terminal in a background thread and plays the
/// user on the master side, reading the screen through `VirtualScreen`. Every wait has a deadline, so
/// a broken session fails the test instead of hanging the suite.
private final class PseudoTerminalHarness: @unchecked Sendable {
    // @unchecked: `exit` and `finished` are guarded by `lock`; the descriptors are immutable.
    let master: Int32
    let slave: Int32
    let width: Int
    private(set) var log: [UInt8] = []
    private let lock = NSLock()
    private var result: Result<ReplExit, any Error>?
    private let finished = DispatchSemaphore(value: 0)

    init(width: Int = 60) throws {
        var master: Int32 = -1
        var slave: Int32 = -1
        var size = winsize(ws_row: 24, ws_col: UInt16(width), ws_xpixel: 0, ws_ypixel: 0)
        guard openpty(&master, &slave, nil, nil, &size) == 0 else { throw ReplError.signalSetup(errno: errno) }
        self.master = master
        self.slave = slave
        self.width = width
    }

    deinit {
        close(master)
        close(slave)
    }

    func start(engine: any SuggestionProviding, signals: SignalWatcher? = nil) {
        let slave = slave
        DetachedThread.start {
            let session = ReplSession(engine: engine, input: slave, output: slave, signals: signals)
            let outcome = Result { try session.run() }
            self.lock.withLock { self.result = outcome }
            self.finished.signal()
        }
    }

    /// Waits for the session to end; nil when it did not within the timeout.
    func waitForExit(timeout: Double = 5) -> Result<ReplExit, any Error>? {
        guard finished.wait(timeout: .now() + timeout) == .success else { return nil }
        return lock.withLock { result }
    }

    func type(_ bytes: [UInt8]) {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { write(master, $0.baseAddress, $0.count) }
            if n <= 0 { return }
            offset += n
        }
    }

    func type(_ text: String) { type(Array(text.utf8)) }

    /// Reads the master until `condition` holds on the screen (true) or the deadline passes (false).
    @discardableResult
    func waitForScreen(timeout: Double = 5, _ condition: (VirtualScreen) -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            if condition(screen) { return true }
            let remaining = deadline.timeIntervalSinceNow
            if remaining <= 0 { return false }
            var pfd = pollfd(fd: master, events: Int16(POLLIN), revents: 0)
            guard poll(&pfd, 1, Int32(min(remaining, 0.2) * 1000)) > 0 else { continue }
            var buffer = [UInt8](repeating: 0, count: 4096)
            let n = buffer.withUnsafeMutableBytes { read(master, $0.baseAddress, $0.count) }
            if n > 0 { log += buffer[..<n] } else { usleep(10_000) }
        }
    }

    var screen: VirtualScreen {
        var screen = VirtualScreen(width: width)
        screen.feed(log)
        return screen
    }

    /// The prompt row: the frame always leaves the cursor there.
    var promptLine: String { let s = screen; return s.line(s.row) }
    var suggestionLine: String { let s = screen; return s.line(s.row + 1) }
    var statusLine: String { let s = screen; return s.line(s.row + 2) }

    func settings() -> termios {
        var settings = termios()
        tcgetattr(slave, &settings)
        return settings
    }
}

final class REPLPseudoTerminalTests: XCTestCase {
    func testTypeAcceptCommitAndQuitRestoresTheTerminal() throws {
        let pty = try PseudoTerminalHarness()
        let before = pty.settings()
        XCTAssertNotEqual(before.c_lflag & tcflag_t(ICANON), 0, "a fresh pty starts in canonical mode")
        let engine = FakeSuggestionEngine()
        pty.start(engine: engine)
        XCTAssertTrue(pty.waitForScreen { $0.line(0) == ">" && $0.line(1).contains("1 the") }, "first frame")
        let raw = pty.settings()
        XCTAssertEqual(raw.c_lflag & tcflag_t(ICANON | ECHO | ISIG), 0, "raw mode while the session runs")

        for byte in "I would like to".utf8 { pty.type([byte]) }
        XCTAssertTrue(pty.waitForScreen { _ in pty.promptLine == "> I would like to" }, pty.screen.lines.joined(separator: "\n"))
        XCTAssertTrue(pty.waitForScreen { _ in pty.suggestionLine == " 1 today   2 tomorrow   3 together" },
                      "the partial word 'to' is completed: \(pty.suggestionLine)")
        pty.type(" ")
        XCTAssertTrue(pty.waitForScreen { _ in pty.suggestionLine == " 1 go   2 be   3 see" }, pty.suggestionLine)
        XCTAssertEqual(pty.screen.reversedText(pty.screen.row + 1), " 1 go ")
        XCTAssertTrue(pty.statusLine.hasPrefix("fake · incognito off · "), pty.statusLine)
        XCTAssertTrue(pty.statusLine.hasSuffix(" ms"), pty.statusLine)

        pty.type("\t")
        XCTAssertTrue(pty.waitForScreen { $0.column == 2 + 19 && pty.promptLine == "> I would like to go" },
                      "Tab gives 'I would like to go ' with the cursor after the space")
        XCTAssertEqual(engine.prefixes.last, "I would like to go ")

        pty.type("\r")
        XCTAssertTrue(pty.waitForScreen { $0.lines.first == "> I would like to go" && $0.row == 1 && pty.promptLine == ">" })
        // Learned in the background (Enter does not wait on the history): soon, not at once.
        let deadline = Date().addingTimeInterval(5)
        while engine.learned.isEmpty, Date() < deadline { usleep(10_000) }
        XCTAssertEqual(engine.learned, ["I would like to go"], "the committed line is learned without the trailing space")
        XCTAssertEqual(engine.prefixes.last, "I would like to go\n", "the previous line is context for the next")

        pty.type([0x04])
        guard let outcome = pty.waitForExit() else { return XCTFail("Ctrl-D did not end the session") }
        XCTAssertEqual(try outcome.get(), .endOfInput)
        let after = pty.settings()
        XCTAssertEqual(after.c_lflag, before.c_lflag)
        XCTAssertEqual(after.c_iflag, before.c_iflag)
        XCTAssertEqual(after.c_oflag, before.c_oflag)
        XCTAssertEqual(after.c_cflag, before.c_cflag)
        XCTAssertTrue(pty.waitForScreen { $0.lines == ["> I would like to go"] }, "the frame is erased on exit")
    }

    /// Esc keeps the word as typed (found from outside: "I will" + Tab gave "I willing").
    func testEscapeKeepsTheTypedWordFromTab() throws {
        let pty = try PseudoTerminalHarness()
        pty.start(engine: FakeSuggestionEngine())
        XCTAssertTrue(pty.waitForScreen { $0.line(0) == ">" })
        pty.type("I wo")
        XCTAssertTrue(pty.waitForScreen { _ in pty.suggestionLine.contains("1 would") }, pty.suggestionLine)
        pty.type("\u{1B}")
        XCTAssertTrue(pty.waitForScreen { _ in !pty.suggestionLine.contains("would") }, "Esc empties the strip: \(pty.suggestionLine)")
        pty.type("\t")
        usleep(100_000)
        XCTAssertEqual(pty.promptLine, "> I wo", "Tab after Esc does not complete the word")
        pty.type("r")
        XCTAssertTrue(pty.waitForScreen { _ in pty.suggestionLine.contains("1 world") }, "the next key brings suggestions back")
        pty.type("\u{15}\u{04}")
        XCTAssertNotNil(pty.waitForExit())
    }

    func testEditingKeysSplitUTF8AndCommands() throws {
        let pty = try PseudoTerminalHarness()
        let engine = FakeSuggestionEngine()
        pty.start(engine: engine)
        XCTAssertTrue(pty.waitForScreen { $0.line(0) == ">" })

        pty.type([0x63, 0x61, 0x66, 0xC3])  // "caf" and half of "é"
        XCTAssertTrue(pty.waitForScreen { _ in pty.promptLine == "> caf" })
        usleep(50_000)
        pty.type([0xA9])
        XCTAssertTrue(pty.waitForScreen { _ in pty.promptLine == "> café" && pty.suggestionLine == " 1 cafés" })
        pty.type([0x7F])
        XCTAssertTrue(pty.waitForScreen { _ in pty.promptLine == "> caf" }, "Backspace removes the whole é")
        pty.type([0x03])
        XCTAssertTrue(pty.waitForScreen { _ in pty.promptLine == ">" }, "Ctrl-C clears a non-empty line")

        pty.type("I go to ")
        XCTAssertTrue(pty.waitForScreen { _ in pty.suggestionLine.contains("2 be") })
        pty.type("\u{1B}2")  // Alt-2
        XCTAssertTrue(pty.waitForScreen { _ in pty.promptLine == "> I go to be" })
        pty.type("\u{1B}[H\u{1B}[3~")  // Home, Delete
        XCTAssertTrue(pty.waitForScreen { $0.column == 2 && pty.promptLine == ">  go to be" })

        pty.type([0x15])
        pty.type(":incognito\r")
        XCTAssertTrue(pty.waitForScreen { $0.lines.contains(where: { $0.hasPrefix("incognito on") }) })
        XCTAssertTrue(pty.waitForScreen { _ in pty.statusLine.contains("incognito on") })
        pty.type("secret words\r:forget secret\r:nope\r")
        XCTAssertTrue(pty.waitForScreen { $0.lines.contains("unknown command :nope (try :help)") })
        XCTAssertTrue(pty.screen.lines.contains("forgetting \"secret\": no longer suggested"), pty.screen.lines.joined(separator: "\n"))
        // The disk part runs in the background; its count shows when it is done, without a key.
        XCTAssertTrue(pty.waitForScreen { $0.lines.contains("nextword: forgot \"secret\": 2 entries removed") },
                      pty.screen.lines.joined(separator: "\n"))
        pty.type([0x15])
        XCTAssertEqual(engine.learned, [], "neither commands nor incognito lines are learned")
        XCTAssertEqual(engine.forgotten, ["secret"])
        XCTAssertTrue(engine.incognito)

        pty.type(":quit\r")
        guard let outcome = pty.waitForExit() else { return XCTFail(":quit did not end the session") }
        XCTAssertEqual(try outcome.get(), .quit)
    }

    func testResizeRedrawsAndATerminatingSignalRestoresTheTerminal() throws {
        let pty = try PseudoTerminalHarness(width: 60)
        let before = pty.settings()
        // SIGUSR2 stands in for SIGTERM: Dispatch keeps its handler for the rest of the process, and
        // nothing else in the test process uses SIGUSR2 or SIGWINCH.
        let signals = try SignalWatcher(terminating: [SIGUSR2], resize: SIGWINCH)
        pty.start(engine: FakeSuggestionEngine(), signals: signals)
        XCTAssertTrue(pty.waitForScreen { $0.line(0) == ">" })
        pty.type("a line that is longer than twenty columns")
        XCTAssertTrue(pty.waitForScreen { _ in pty.promptLine == "> a line that is longer than twenty columns" })

        var size = winsize(ws_row: 24, ws_col: 20, ws_xpixel: 0, ws_ypixel: 0)
        XCTAssertEqual(ioctl(pty.master, UInt(TIOCSWINSZ), &size), 0)
        kill(getpid(), SIGWINCH)
        XCTAssertTrue(pty.waitForScreen { _ in pty.promptLine == "> …" + "than twenty columns".suffix(15) },
                      "redrawn for 20 columns: \(pty.promptLine)")

        kill(getpid(), SIGUSR2)
        guard let outcome = pty.waitForExit() else { return XCTFail("the signal did not end the session") }
        XCTAssertEqual(try outcome.get(), .signal(SIGUSR2))
        XCTAssertEqual(ReplExit.signal(SIGUSR2).exitStatus, 128 + SIGUSR2)
        let after = pty.settings()
        XCTAssertEqual(after.c_lflag, before.c_lflag)
        XCTAssertEqual(after.c_iflag, before.c_iflag)
        XCTAssertEqual(after.c_oflag, before.c_oflag)
    }

    func testSessionRefusesAnInputThatIsNotATerminal() throws {
        var fds: [Int32] = [0, 0]
        XCTAssertEqual(pipe(&fds), 0)
        defer { close(fds[0]); close(fds[1]) }
        let session = ReplSession(engine: FakeSuggestionEngine(), input: fds[0], output: fds[1])
        XCTAssertThrowsError(try session.run()) { error in
            XCTAssertEqual(error as? ReplError, .notATerminal(fileDescriptor: fds[0]))
            XCTAssertTrue("\(error)".contains("not a terminal"))
        }
    }
}

/// Another process holds the history's write lock and is stopped (SIGSTOP), as in the report where
/// Enter froze the REPL for 60 s and lost the line: Enter and keystrokes go on at once, the status
/// line says a line is waiting, and the line is learned once the lock is free.
final class REPLBusyHistoryTests: XCTestCase {
    /// Another program holding the history's write lock, stopped (SIGSTOP) so it never lets go.
    private func stoppedLockHolder(on file: URL, logIn directory: URL) throws -> ChildProcess {
        let holder = try ChildProcess(mode: "hold-write", environment: ["NEXTWORD_CHILD_DB": file.path],
                                      errorLog: directory.appendingPathComponent("holder.log"))
        XCTAssertEqual(holder.waitForLine(startingWith: "holding"), "holding", holder.errors)
        kill(holder.process.processIdentifier, SIGSTOP)
        return holder
    }

    /// The other program goes away, and its lock with it.
    private func release(_ holder: ChildProcess) {
        kill(holder.process.processIdentifier, SIGKILL)
        holder.process.waitUntilExit()
    }

    /// A REPL session on `engine` in a pseudo-terminal, at its first prompt.
    private func startREPL(on engine: SuggestionEngine) throws -> PseudoTerminalHarness {
        let pty = try PseudoTerminalHarness(width: 80)
        pty.start(engine: engine)
        XCTAssertTrue(pty.waitForScreen { $0.line(0) == ">" })
        return pty
    }

    func testEnterNeverWaitsForABusyHistoryAndTheLineIsLearnedLater() throws {
        let directory = try EngineFixture.temporaryDirectory("REPLBusy")
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("history.sqlite")
        let store = try HistoryStore(path: file)
        try store.learn(tokens: ["warm", "up"])
        let engine = try EngineFixture.engine(history: store)

        let holder = try stoppedLockHolder(on: file, logIn: directory)
        defer { kill(holder.process.processIdentifier, SIGKILL) }
        let pty = try startREPL(on: engine)
        pty.type("the zyxcorp report\r")
        // The deadlines are far below the 60 s busy timeout the old Enter waited for.
        XCTAssertTrue(pty.waitForScreen(timeout: 5) { $0.lines.first == "> the zyxcorp report" && pty.promptLine == ">" },
                      "Enter committed at once: \(pty.screen.lines)")
        pty.type("the re")
        XCTAssertTrue(pty.waitForScreen(timeout: 5) { _ in pty.promptLine == "> the re" }, "keystrokes go on")
        usleep(700_000)  // the status line speaks of a line held up for more than half a second
        pty.type(" ")
        XCTAssertTrue(pty.waitForScreen(timeout: 5) { _ in pty.statusLine.contains("1 line waiting to be learned") },
                      pty.statusLine)
        XCTAssertTrue(store.wordCount(lower: "zyxcorp").isEmpty, "not written while the lock is held")

        release(holder)
        let deadline = Date().addingTimeInterval(30)
        while store.wordCount(lower: "zyxcorp").isEmpty, Date() < deadline { usleep(50_000) }
        XCTAssertFalse(store.wordCount(lower: "zyxcorp").isEmpty, "the line was learned once the history was free")
        pty.type("x")
        XCTAssertTrue(pty.waitForScreen(timeout: 5) { _ in !pty.statusLine.contains("waiting") }, pty.statusLine)
        pty.type([0x15, 0x04])  // Ctrl-U empties the line, Ctrl-D ends the session
        XCTAssertNotNil(pty.waitForExit())
    }

    /// `:forget` while another program holds the history's write lock: the prompt answers at once,
    /// the word is no longer suggested, and it leaves the file once the lock is gone (it waited
    /// the 60 s busy timeout, holding the engine, so keystrokes froze too).
    func testForgetNeverWaitsForABusyHistory() throws {
        let directory = try EngineFixture.temporaryDirectory("REPLBusyForget")
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("history.sqlite")
        let store = try HistoryStore(path: file)
        for _ in 0 ..< 3 { try store.learn(tokens: ["the", "qorvath", "plan"]) }
        let engine = try EngineFixture.engine(history: store)
        XCTAssertEqual(engine.suggest(prefix: "the qo", limit: 3).first?.text, "qorvath", "precondition")

        let holder = try stoppedLockHolder(on: file, logIn: directory)
        defer { kill(holder.process.processIdentifier, SIGKILL) }
        let pty = try startREPL(on: engine)
        pty.type(":forget qorvath\r")
        XCTAssertTrue(pty.waitForScreen(timeout: 5) { $0.lines.contains("forgetting \"qorvath\": no longer suggested") },
                      "\(pty.screen.lines)")
        pty.type("the qo")
        XCTAssertTrue(pty.waitForScreen(timeout: 5) { _ in pty.promptLine == "> the qo" }, "keystrokes go on")
        XCTAssertFalse(engine.suggest(prefix: "the qo", limit: 10).map(\.text).contains("qorvath"), "gone from memory at once")
        XCTAssertFalse(store.wordCount(lower: "qorvath").isEmpty, "still on disk while the lock is held")

        release(holder)
        let deadline = Date().addingTimeInterval(30)
        while !store.wordCount(lower: "qorvath").isEmpty, Date() < deadline { usleep(50_000) }
        XCTAssertTrue(store.wordCount(lower: "qorvath").isEmpty, "forgotten on disk once the history was free")
        // Shown once the forget is done, without a key.
        XCTAssertTrue(pty.waitForScreen { $0.lines.contains { $0.hasPrefix("nextword: forgot \"qorvath\": ") } },
                      "\(pty.screen.lines)")
        XCTAssertFalse(engine.suggest(prefix: "the qo", limit: 10).map(\.text).contains("qorvath"), "not back after the reload")
        pty.type([0x15, 0x04])
        XCTAssertNotNil(pty.waitForExit())
    }
}
