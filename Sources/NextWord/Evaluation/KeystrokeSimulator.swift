import Foundation

/// Simulates a user typing a text with a word-prediction engine and counts the keystrokes saved,
/// following docs/KSR.md exactly, so its numbers compare directly with `shared/tools/presage-ksr`'s
/// on the same text.
///
/// In short: the text is cut into words (`[\p{L}\p{N}]+(?:['’-][\p{L}\p{N}]+)*`) and literals.
/// A literal costs one keystroke, except a space right after a word completed by a selection, which
/// is free. Before each character of a word the predictor sees the text typed so far and offers up
/// to `k` suggestions; one equal to the word (case-insensitively) is selected for one keystroke,
/// otherwise the next character is typed.
///
///     let result = KeystrokeSimulator(k: 3).run(text: text, predictor: engine)
///     print(KSRReport.text(for: result), terminator: "")
public struct KeystrokeSimulator: Sendable {
    /// Suggestions the user looks at before each keystroke (K). With `k <= 0` the user never looks,
    /// the predictor is never called and every character is typed.
    public var k: Int
    /// Whether the predictor learns from each line of the text right after its line break is typed.
    public var learn: Bool
    /// Stop at the start of word `maxWords + 1`: the first `maxWords` words and the literals after
    /// the last of them are counted, nothing after. `nil` simulates the whole text; a negative value
    /// counts as 0 (only the literals before the first word).
    public var maxWords: Int?
    /// Told how each word went, in text order: for finding where keystrokes are lost
    /// (`nextword simulate --trace`). It does not change the result.
    public var wordObserver: (@Sendable (WordOutcome) -> Void)?

    /// How one word of the text was typed.
    public struct WordOutcome: Sendable, Equatable {
        /// The word as in the text.
        public var word: String
        /// Characters typed before its suggestion was selected, or nil when it was typed out.
        public var typedBeforeSelection: Int?
        /// The suggestions shown before its first character (next-word prediction).
        public var firstSuggestions: [String]
    }

    public init(k: Int = 3, learn: Bool = false, maxWords: Int? = nil) {
        self.k = k
        self.learn = learn
        self.maxWords = maxWords
    }

    /// Simulates typing `text`. CRLF line ends count as LF and a leading byte-order mark is dropped,
    /// as when reading a file.
    ///
    /// - Parameters:
    ///   - predictor: the engine under test. If it is a `TargetAwareKeystrokePredictor` (the oracle, a
    ///     test double) it is also told the word being typed.
    ///   - progress: called after each word with (words done, words this run will simulate).
    public func run(text: String, predictor: some KeystrokePredictor,
                    progress: ((Int, Int) -> Void)? = nil) -> KSRResult {
        run(bytes: Array(text.utf8), predictor: predictor, progress: progress)
    }

    /// Simulates typing a text given as raw bytes, as the reference reads a file: a leading UTF-8
    /// byte-order mark is dropped, CRLF becomes LF, and a byte that is not part of valid UTF-8 counts
    /// as one character, a literal (the predictor sees it as U+FFFD).
    public func run<Bytes: Collection>(bytes: Bytes, predictor: some KeystrokePredictor,
                                       progress: ((Int, Int) -> Void)? = nil) -> KSRResult
    where Bytes.Element == UInt8 {
        simulate(KeystrokeDocument(bytes: bytes), predictor: predictor, progress: progress)
    }

    /// Simulates typing the file at `url`.
    ///
    /// - Throws: `KSRError.unreadable` when the file cannot be read.
    public func run(contentsOf url: URL, predictor: some KeystrokePredictor,
                    progress: ((Int, Int) -> Void)? = nil) throws -> KSRResult {
        let data: Data
        do {
            data = try TextFile.read(url)
        } catch let error as TextError {
            guard case .io(_, let problem) = error else { throw error }
            throw KSRError.unreadable(file: url.path, problem: problem)
        }
        // At once, as `eval` does: a binary file must not run for minutes before anyone notices.
        if let offset = TextFile.firstInvalidUTF8Offset(data) {
            throw KSRError.unreadable(file: url.path, problem: "not UTF-8 text (invalid byte at offset \(offset))")
        }
        return run(bytes: data, predictor: predictor, progress: progress)
    }

    /// The conformance run: `text` typed with the `OraclePredictor`, whose only suggestion is always
    /// the word being typed. Learning is off, as in `presage-ksr --oracle`; `maxWords` applies.
    public func runOracle(text: String) -> KSRResult {
        var simulator = self
        simulator.learn = false
        return simulator.run(text: text, predictor: OraclePredictor())
    }

    // MARK: - The protocol

    /// One pass over the document; mirrors the main loop of `presage_ksr.cpp` step for step.
    private func simulate(_ doc: KeystrokeDocument, predictor: some KeystrokePredictor,
                          progress: ((Int, Int) -> Void)?) -> KSRResult {
        let scalars = doc.scalars
        let n = scalars.count
        let wordLimit = maxWords.map { max($0, 0) }
        let targetAware = predictor as? any TargetAwareKeystrokePredictor
        let totalWords = progress == nil ? 0 : countWords(doc, limit: wordLimit)
        let clock = ContinuousClock()

        var ki = 0, ks = 0, words = 0, predictCalls = 0
        var predictTime = Duration.zero
        var lastAccepted = false  // the previous item was a word completed by a selection
        var lineStart = 0         // scalar index where the current line begins
        var typedSoFar = ""       // the text of scalars 0..<typedUpTo, what the predictor is shown
        var typedUpTo = 0
        var i = 0                 // everything before scalar i has been typed
        while i < n {
            if KeystrokeDocument.isLetterOrDigit(scalars[i]) {
                if let limit = wordLimit, words == limit { break }
                let end = doc.wordEnd(from: i)
                let target = doc.text(i..<end)
                let targetKey = KeystrokeDocument.matchKey(target)
                var accepted = false
                var outcome = WordOutcome(word: target, typedBeforeSelection: nil, firstSuggestions: [])
                if k > 0 {
                    // Query before each character, never after the last one.
                    for typed in 0..<(end - i) {
                        // The text so far grows by appending what was typed since the last query:
                        // building it whole for each query made a long text quadratic.
                        typedSoFar += doc.text(typedUpTo..<(i + typed))
                        typedUpTo = i + typed
                        let context = typedSoFar
                        let start = clock.now
                        var suggestions = targetAware?.suggestions(for: context, limit: k, target: target)
                            ?? predictor.suggestions(for: context, limit: k)
                        predictTime += start.duration(to: clock.now)
                        predictCalls += 1
                        if suggestions.count > k { suggestions.removeLast(suggestions.count - k) }
                        if typed == 0 { outcome.firstSuggestions = suggestions }
                        if suggestions.contains(where: { KeystrokeDocument.matchKey($0) == targetKey }) {
                            ki += typed
                            ks += 1
                            accepted = true
                            outcome.typedBeforeSelection = typed
                            break
                        }
                    }
                }
                if !accepted { ki += end - i }
                words += 1
                lastAccepted = accepted
                i = end
                wordObserver?(outcome)
                progress?(words, totalWords)
            } else {
                let c = scalars[i]
                if !(c == " " && lastAccepted) { ki += 1 }
                lastAccepted = false
                i += 1
                if c == "\n" {
                    if learn { predictor.learn(line: doc.text(lineStart..<i)) }
                    lineStart = i
                }
            }
        }
        let totalMs = Double(predictTime.components.seconds) * 1e3
            + Double(predictTime.components.attoseconds) * 1e-15
        return KSRResult(kn: i, ki: ki, ks: ks, words: words, k: k, learn: learn,
                         predictCalls: predictCalls,
                         meanPredictMs: predictCalls > 0 ? totalMs / Double(predictCalls) : 0)
    }

    /// The number of words a run will simulate, for progress reports.
    private func countWords(_ doc: KeystrokeDocument, limit: Int?) -> Int {
        var count = 0
        var i = 0
        while i < doc.scalars.count {
            if let limit, count == limit { break }
            if KeystrokeDocument.isLetterOrDigit(doc.scalars[i]) {
                i = doc.wordEnd(from: i)
                count += 1
            } else {
                i += 1
            }
        }
        return count
    }
}

/// What can go wrong preparing a keystroke simulation.
public enum KSRError: Error, Equatable, CustomStringConvertible, LocalizedError {
    /// The test text could not be read.
    case unreadable(file: String, problem: String)

    /// The same one line as `description`, for `localizedDescription`.
    public var errorDescription: String? { description }

    public var description: String {
        switch self {
        case .unreadable(let file, let problem): return "\(file): cannot read the test text: \(problem)"
        }
    }
}
