import NextWord
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Settings of an interactive session.
public struct ReplOptions: Sendable {
    public var prompt: String
    /// Suggestions shown and pickable with Alt-1...Alt-n (1...9).
    public var suggestionCount: Int
    /// How much committed text (in characters, previous lines and the current one) goes to the engine.
    public var contextCharacters: Int
    /// How long a lone ESC waits for the rest of an escape sequence.
    public var escapeTimeoutMilliseconds: Int32

    public init(prompt: String = "> ", suggestionCount: Int = 3, contextCharacters: Int = 1000,
                escapeTimeoutMilliseconds: Int32 = 30) {
        self.prompt = prompt
        self.suggestionCount = min(max(suggestionCount, 1), 9)
        self.contextCharacters = max(contextCharacters, 1)
        self.escapeTimeoutMilliseconds = max(escapeTimeoutMilliseconds, 1)
    }
}

/// How a session ended.
public enum ReplExit: Equatable, Sendable {
    /// Ctrl-D on an empty line, or the input closed.
    case endOfInput
    /// `:quit`.
    case quit
    /// Ctrl-C on an empty line.
    case interrupted
    /// A terminating signal arrived (see `SignalWatcher`); the terminal has been restored.
    case signal(Int32)

    /// The process exit status a command line tool should use: 0, or 128 + signal.
    public var exitStatus: Int32 {
        if case .signal(let number) = self { return 128 + number }
        return 0
    }
}

/// The interactive loop: reads keys from a terminal, edits the line, asks the engine for suggestions
/// after every change, draws frames, and commits lines (learning them unless incognito).
///
/// It works on file descriptors, not on the process's standard streams, so a test can drive it through
/// a pseudo-terminal. `run()` puts `input` in raw mode and restores it on every way out: return, thrown
/// error, or a signal reported by the `SignalWatcher`. Each batch of input (one `read`, which may hold
/// many keys when text is pasted) asks the engine once and produces one `write`.
///
/// Committed lines are trimmed of surrounding whitespace before they are learned, so accepting a
/// suggestion (which adds a space) and pressing Enter learns "I would like to go", not "... go ".
/// They are also kept, newline-separated, as context: the engine gets the previous lines, "\n" and the
/// text left of the cursor; the oldest whole lines are dropped once they pass `contextCharacters`.
public final class ReplSession {
    private let engine: any SuggestionProviding
    private let input: Int32
    private let output: Int32
    private let options: ReplOptions
    private let signals: SignalWatcher?

    private var editor = LineEditor()
    private var decoder = KeyDecoder()
    private var renderer = ScreenRenderer(width: 80)
    private var suggestions: [Suggestion] = []
    private var suggestionsAreFresh = false
    private var lastSuggestMilliseconds = 0.0
    private var context = ""
    private var pendingOutput: [UInt8] = []
    /// The status line as last drawn: redrawn when learning changes it, without a key.
    private var drawnStatus = ""
    /// Committed lines go here and are learned in the background: Enter never waits on the
    /// history (another process may hold its write lock for a minute).
    private let learning: LearningQueue

    public init(engine: any SuggestionProviding, input: Int32, output: Int32,
                options: ReplOptions = ReplOptions(), signals: SignalWatcher? = nil) {
        self.engine = engine
        self.input = input
        self.output = output
        self.options = options
        self.signals = signals
        learning = LearningQueue(engine: engine)
    }

    /// Runs until Ctrl-D, `:quit`, Ctrl-C on an empty line, end of input or a terminating signal.
    /// Throws `ReplError` when `input` is not a terminal or reading/writing fails; the terminal is
    /// restored before it returns or throws.
    public func run() throws -> ReplExit {
        let terminal = try Terminal(fileDescriptor: input)
        try terminal.enterRawMode()
        // Bracketed paste: the terminal marks pasted text, so a paste is inserted, not typed
        // (its line breaks are not Enter, and it is not learned).
        pendingOutput += Self.bracketedPasteOn
        defer {
            // Best effort: the output may be what failed.
            try? FileDescriptorIO.writeAll(renderer.clear() + Self.bracketedPasteOff, to: output, what: "the terminal")
            terminal.restore()
            // The last lines may still be on their way to the history: give them a moment.
            let left = learning.waitUntilEmpty(timeout: 3)
            learning.close()
            if left > 0 {
                let note = "nextword: \(left) line\(left == 1 ? " was" : "s were") not learned: the history stayed busy\n"
                try? FileDescriptorIO.writeAll(Array(note.utf8), to: output, what: "the terminal")
            }
        }
        updateWidth()
        refreshSuggestions()
        try flush(drawing: true)
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            var fds = [pollfd(fd: input, events: Int16(POLLIN), revents: 0)]
            if let signals { fds.append(pollfd(fd: signals.readDescriptor, events: Int16(POLLIN), revents: 0)) }
            // While learning has work or news, look again every quarter second: a forget's count
            // or "1 line waiting to be learned" shows without waiting for the next key.
            let idle: Int32 = learning.needsAttention ? 250 : -1
            let timeout: Int32 = decoder.hasPendingEscape ? options.escapeTimeoutMilliseconds : idle
            let ready = poll(&fds, nfds_t(fds.count), timeout)
            if ready < 0 {
                if errno == EINTR { continue }
                throw ReplError.readFailed(what: "the terminal", errno: errno)
            }
            if ready == 0 {
                if decoder.hasPendingEscape {
                    if let exit = try handle(decoder.flush()) { return exit }
                } else if learning.hasReports || statusText != drawnStatus {
                    try flush(drawing: true)
                }
                continue
            }
            if fds.count > 1, fds[1].revents != 0, let signals {
                for event in signals.pendingEvents() {
                    switch event {
                    case .terminate(let number):
                        return .signal(number)
                    case .resize:
                        updateWidth()
                        pendingOutput += renderer.clear()
                        try flush(drawing: true)
                    }
                }
            }
            guard fds[0].revents != 0 else { continue }
            let count = buffer.withUnsafeMutableBytes { read(input, $0.baseAddress, $0.count) }
            if count == 0 { return .endOfInput }
            if count < 0 {
                switch errno {
                case EINTR, EAGAIN: continue
                case EIO: return .endOfInput  // the terminal went away (pty master closed, hangup)
                default: throw ReplError.readFailed(what: "the terminal", errno: errno)
                }
            }
            if let exit = try handle(decoder.feed(buffer[..<count])) { return exit }
        }
    }

    /// Applies a batch of keys, then draws one frame; returns how the session ends, if it does.
    private func handle(_ keys: [Key]) throws -> ReplExit? {
        guard !keys.isEmpty else { return nil }
        var redraw = false
        for key in keys {
            switch key {
            case .tab, .pick:
                // Accept what the user would see for the current text, even mid-paste.
                if !suggestionsAreFresh { refreshSuggestions() }
            case .redraw:
                pendingOutput += renderer.clear()
                redraw = true
                continue
            case .escape:
                // Keep the word as typed: the strip empties until the next edit, so Tab cannot
                // turn "I will" into "I willing".
                suggestions = []
                suggestionsAreFresh = true
                redraw = true
                continue
            default:
                break
            }
            let holdsPaste = editor.holdsPaste
            switch editor.apply(key, suggestions: suggestions.map(\.text)) {
            case .unchanged:
                break
            case .changed:
                suggestionsAreFresh = false
                redraw = true
            case .submit(let line):
                suggestionsAreFresh = false
                redraw = true
                if let exit = commit(line, holdsPaste: holdsPaste) {
                    try flush(drawing: false)
                    return exit
                }
            case .endOfInput:
                return .endOfInput
            case .interrupt:
                return .interrupted
            }
        }
        try flush(drawing: redraw)
        return nil
    }

    /// Prints the committed line above the frame, runs it as a command or learns it.
    private func commit(_ line: String, holdsPaste: Bool = false) -> ReplExit? {
        var printed = [options.prompt + line]
        defer { pendingOutput += renderer.printAbove(printed) }
        if let command = ReplCommandLine.parse(line) {
            switch command {
            case .help:
                printed += ReplCommandLine.helpLines
            case .incognito(let setting):
                let wanted = setting ?? !engine.incognito
                // Lines typed on one side of the switch are not context on the other, and lines
                // committed before it are learned before it, if the history lets them in time.
                if wanted != engine.incognito {
                    context = ""
                    if wanted, learning.waitUntilEmpty(timeout: 2) > 0 {
                        printed.append("nextword: lines committed before incognito were still waiting for a busy history and are not learned")
                    }
                }
                engine.incognito = wanted
                printed.append("incognito \(engine.incognito ? "on: nothing is learned or written" : "off")")
            case .forget(let word):
                // At once in memory; on disk behind the line being written, in the background, so
                // a busy history never freezes the prompt. Waiting lines holding the word are
                // taken back: they must not bring it back. The count removed comes as a report.
                let discarded = learning.forget(word)
                if discarded > 0 {
                    printed.append("\(discarded) line\(discarded == 1 ? "" : "s") holding \"\(word)\" that were waiting for the history will not be learned")
                }
                printed.append("forgetting \"\(word)\": no longer suggested")
            case .stats:
                do {
                    printed += try engine.statsSummary().split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
                } catch {
                    printed.append("nextword: cannot read the statistics: \(error)")
                }
            case .quit:
                return .quit
            case .invalid(let message):
                printed.append(message)
            }
            return nil
        }
        let text = line.trimmingWhitespace()
        guard !text.isEmpty else { return nil }
        if holdsPaste {
            // Pasted text is someone else's writing (or a password manager's): not learned.
            if !engine.incognito { printed.append("(pasted text is not learned)") }
        } else if !engine.incognito, !learning.enqueue(text) {
            printed.append("nextword: \(learning.capacity) lines are already waiting for a busy history; this one was not kept")
        }
        // Whole lines are dropped from the front, never a few characters: the engine caches the
        // state of the text it has read, and a context that slid by a character each line would
        // have to be read again from scratch.
        context = context.isEmpty ? text : context + "\n" + text
        while context.count > options.contextCharacters, let newline = context.firstIndex(of: "\n") {
            context = String(context[context.index(after: newline)...])
        }
        return nil
    }

    static let bracketedPasteOn = Array("\u{1B}[?2004h".utf8)
    static let bracketedPasteOff = Array("\u{1B}[?2004l".utf8)

    /// The text the engine completes: earlier lines, a newline, and the current line up to the cursor.
    var suggestionPrefix: String {
        let before = editor.textBeforeCursor
        // Not cut to a length: the engine reads only the tail of a long prefix it has not seen.
        return context.isEmpty ? before : context + "\n" + before
    }

    private func refreshSuggestions() {
        let prefix = suggestionPrefix
        let clock = ContinuousClock()
        let start = clock.now
        suggestions = engine.suggest(prefix: prefix, limit: options.suggestionCount)
            .filter { !$0.text.isEmpty }
            .prefix(options.suggestionCount).map { $0 }
        let elapsed = clock.now - start
        lastSuggestMilliseconds = Double(elapsed.components.seconds) * 1000
            + Double(elapsed.components.attoseconds) / 1e15
        suggestionsAreFresh = true
    }

    private func updateWidth() {
        let size = Terminal.windowSize(of: output) ?? Terminal.windowSize(of: input)
        renderer.width = size?.columns ?? 80
    }

    var statusText: String {
        let hundredths = Int((lastSuggestMilliseconds * 100).rounded())
        let fraction = hundredths % 100
        let time = "\(hundredths / 100).\(fraction < 10 ? "0" : "")\(fraction) ms"
        let pending = learning.pendingCount
        let learningNote = pending > 0 && learning.isDelayed() ? " · \(pending) line\(pending == 1 ? "" : "s") waiting to be learned" : ""
        return "\(engine.modelName) · incognito \(engine.incognito ? "on" : "off") · \(time)\(learningNote)"
    }

    /// Adds a frame (when asked) to what is pending and writes it all at once.
    private func flush(drawing: Bool) throws {
        if drawing {
            let reports = learning.takeReports()
            if !reports.isEmpty { pendingOutput += renderer.printAbove(reports.map { "nextword: " + $0 }) }
            if !suggestionsAreFresh { refreshSuggestions() }
            drawnStatus = statusText
            let state = ScreenState(prompt: options.prompt, editor: editor,
                                    suggestions: suggestions.map(\.text), status: drawnStatus)
            pendingOutput += renderer.frame(state)
        }
        guard !pendingOutput.isEmpty else { return }
        defer { pendingOutput.removeAll(keepingCapacity: true) }
        try FileDescriptorIO.writeAll(pendingOutput, to: output, what: "the terminal")
    }
}
