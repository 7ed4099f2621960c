import ArgumentParser
import Foundation
import Histogram
import NextWord

struct BenchCommand: ParsableCommand, RunsMatrixProducts {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure suggestion latency, start-up, memory, evaluation and training speed on this machine.",
        discussion: """
        Suggest latency replays typing a text keystroke by keystroke (every letter of every word, as the \
        keystroke simulator queries), after up to 200 lines from the rest of the text were learned \
        (learn latency: one committed line each), so the engine has a history and a full user cache. \
        Keystrokes are split into those at word boundaries (an LSTM step) and those inside words (a \
        filter of the cached distribution); the first letter after a hyphen counts as a boundary, since \
        the engine reads the part before the hyphen as a word there (compound suggestions). Cold start runs `nextword suggest` as a new process. \
        Peak RSS is this process's after the replay (the engine with a history file, as the REPL runs), \
        before the model's load is timed on its own (a second copy of the weights the REPL never holds) \
        and before evaluation and training allocate. \
        Training speed is a short run of the brown-lm configuration (2x256 tied LSTM, batch 32, BPTT 35, \
        full softmax) on ../shared/data/brown-lm/train.txt when present, else on random tokens.
        """)

    @OptionGroup var modelOptions: ModelOptions

    @Option(help: "Text to replay.")
    var text = "../shared/data/dev/ksr-dev.txt"

    @Option(help: "Replay at most this many characters of it.")
    var characters = 20_000

    @Option(help: "Text to evaluate, one sentence per line (default: the replay text). compare-pytorch.sh gives brown-lm's test.txt, the text PyTorch's peer evaluates.")
    var evalText: String?

    @Option(help: "Mixing weights instead of the tuned defaults, as for simulate (e.g. usercache=0).")
    var mix: String?

    @Option(help: "Training batches to time (0 skips the training measurement).")
    var trainBatches = 30

    @Option(help: "Threads for evaluation and training.")
    var threads = 2

    @Option(help: "Precision of training's matrix products: automatic, float32 or bfloat16 (as for train).")
    var matmulPrecision = "automatic"

    func validate() throws { try validateMatmulPrecision(matmulPrecision) }

    @Flag(help: "Print one JSON object.")
    var json = false

    func run() throws {
        var report = BenchReport()
        report.machine = MachineInfo.current()

        let directory = try modelOptions.resolve()
        // A history file of its own, as the REPL has one (GRDB and SQLite count towards memory).
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("nextword-bench-\(getpid())")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let history = scratch.appendingPathComponent("history.sqlite")
        let (engine, _) = try SuggestionEngine.open(.init(modelDirectory: directory, historyPath: history,
                                                          weights: try MixingWeights(parsing: mix ?? "")))
        report.model = engine.modelName

        let replay = try String(decoding: TextFile.read(URL(fileURLWithPath: text)), as: UTF8.self)
        // Committing lines first: the learning pipeline, the history write (synchronous=FULL), the
        // mixture's and the sources' updates, one line at a time as Enter does. The lines come
        // from after the replayed text, so the typing below runs with a full user cache and a
        // history, as a user's engine does, on text it has not learned.
        var learned = Histogram<UInt64>(highestTrackableValue: 60_000_000_000)
        let unreplayed = replay.dropFirst(characters).split(separator: "\n")
        for line in (unreplayed.count >= 50 ? unreplayed : replay.split(separator: "\n")).prefix(200) where !line.isEmpty {
            let start = ContinuousClock.now
            try engine.learn(String(line))
            _ = learned.record(UInt64(max(0, (ContinuousClock.now - start).nanoseconds)))
        }
        report.learnP50Ms = learned.valueAtPercentile(50).asMilliseconds
        report.learnP99Ms = learned.valueAtPercentile(99).asMilliseconds
        let (boundary, inWord) = replayTyping(String(replay.prefix(characters)), engine: engine)
        report.suggestBoundaryP50Ms = boundary.valueAtPercentile(50).asMilliseconds
        report.suggestBoundaryP99Ms = boundary.valueAtPercentile(99).asMilliseconds
        report.suggestBoundaryMaxMs = boundary.max.asMilliseconds
        report.suggestInwordP50Ms = inWord.valueAtPercentile(50).asMilliseconds
        report.suggestInwordP99Ms = inWord.valueAtPercentile(99).asMilliseconds
        report.suggestInwordMaxMs = inWord.max.asMilliseconds
        report.suggestCalls = Int(boundary.totalCount + inWord.totalCount)
        // The REPL's footprint: the engine after a typing session, before evaluation and training
        // allocate their own buffers.
        report.peakRssMb = MachineInfo.peakResidentMegabytes()

        // Model load: weights (checked and converted to fp32) and vocabulary, timed on their own,
        // after the footprint was taken (the REPL loads them once).
        let loadStart = ContinuousClock.now
        _ = try ModelBundle.load(from: directory)
        report.modelLoadMs = (ContinuousClock.now - loadStart).milliseconds

        let step = stepLatency(engine.bundle.model)
        report.stepLatencyP50Ms = step.valueAtPercentile(50).asMilliseconds
        report.stepLatencyP99Ms = step.valueAtPercentile(99).asMilliseconds

        // Before evaluation and training: their BLAS threads spin for a while after each product
        // and would take the second core from the new process.
        report.coldStartMs = try coldStart(model: directory, history: history)

        setBLASThreads(threads)
        let evaluated = try evalText.map { try String(decoding: TextFile.read(URL(fileURLWithPath: $0)), as: UTF8.self) } ?? replay
        let lines = evaluated.split(separator: "\n").map(String.init)
        let stream = engine.bundle.stream(lines: lines).ids
        // Warm up first: the first product starts OpenBLAS's threads and buffers, a one-time cost
        // that a few thousand tokens would otherwise carry.
        _ = Perplexity.negativeLogLikelihood(model: engine.bundle.model, stream: Array(stream.prefix(400)), streams: 10,
                                             segment: 35, threads: threads)
        let evalStart = ContinuousClock.now
        // As PyTorch's word-language-model evaluation (and ../shared/tools/peers/torch_lm.py):
        // 10 streams, 35 steps a segment.
        let (_, scored) = Perplexity.negativeLogLikelihood(model: engine.bundle.model, stream: stream, streams: 10,
                                                           segment: 35, threads: threads)
        report.evalTokensPerS = Double(scored) / max((ContinuousClock.now - evalStart).seconds, 1e-9)

        if trainBatches > 0 {
            report.trainTokensPerS = try trainingSpeed()
            report.trainMatmulPrecision = (MatmulPrecision(rawValue: matmulPrecision) ?? .automatic).resolved.rawValue
        }
        report.threads = threads

        if json {
            print(try jsonLine(report))
        } else {
            report.printTable()
        }
    }

    /// Every keystroke of `text`: before each letter of a word, the text so far is a query.
    func replayTyping(_ text: String, engine: SuggestionEngine) -> (boundary: Histogram<UInt64>, inWord: Histogram<UInt64>) {
        var boundary = Histogram<UInt64>(highestTrackableValue: 60_000_000_000)
        var inWord = Histogram<UInt64>(highestTrackableValue: 60_000_000_000)
        var prefix = ""
        var previousIsWord = false
        for character in text {
            let isWord = character.isLetter || character.isNumber
            if isWord {
                let start = ContinuousClock.now
                _ = engine.suggest(prefix: prefix, limit: 3)
                let nanoseconds = UInt64(max(0, (ContinuousClock.now - start).nanoseconds))
                if previousIsWord { _ = inWord.record(nanoseconds) } else { _ = boundary.record(nanoseconds) }
            }
            prefix.append(character)
            // After a hyphen the engine reads the word part before it (`compoundSuggestions`, an LSTM
            // step): that keystroke is timed with the boundaries. After an apostrophe it only filters.
            previousIsWord = isWord || (previousIsWord && character == "'")
        }
        return (boundary, inWord)
    }

    /// One token in, the log-softmax out, at batch 1: PyTorch's `m(x, h); log_softmax` loop.
    func stepLatency(_ model: LanguageModel) -> Histogram<UInt64> {
        let session = InferenceSession(model: model)
        var state = session.initialState()
        var histogram = Histogram<UInt64>(highestTrackableValue: 60_000_000_000)
        for i in 0 ..< 300 {
            let start = ContinuousClock.now
            session.advance(&state, with: [Int32(i % model.config.vocabSize)])
            _ = session.probabilities(after: state)
            if i >= 50 { _ = histogram.record(UInt64(max(0, (ContinuousClock.now - start).nanoseconds))) }
        }
        return histogram
    }

    /// Tokens per second of the brown-lm training configuration over `trainBatches` batches.
    func trainingSpeed() throws -> Double {
        let config = ModelConfig(vocabularyFile: "bench", vocabularySHA256: "", vocabSize: 13_189, embeddingSize: 256,
                                 hiddenSize: 256, layers: 2, tied: true, tokenization: .pretokenized)
        var options = TrainingOptions()
        options.threads = threads
        options.matmulPrecision = MatmulPrecision(rawValue: matmulPrecision) ?? .automatic
        let tokens = options.batchSize * options.bptt * trainBatches + options.batchSize
        var stream: [Int32] = []
        if let lines = try? TextFile.lines(contentsOf: URL(fileURLWithPath: "../shared/data/brown-lm/train.txt")) {
            var ids: [String: Int32] = ["<unk>": 0, "</s>": 1]
            outer: for line in lines {
                for word in line.split(separator: " ") {
                    let id = ids[String(word)] ?? Int32(ids.count)
                    if id < config.vocabSize { ids[String(word)] = id; stream.append(id) } else { stream.append(0) }
                    if stream.count >= tokens { break outer }
                }
                stream.append(1)
            }
        }
        var generator = SeededGenerator(seed: 7)
        while stream.count < tokens { stream.append(Int32(generator.next() % UInt64(config.vocabSize))) }
        let trainer = Trainer(model: try LanguageModel.initialized(config: config, seed: 1), options: options)
        let start = ContinuousClock.now
        _ = trainer.trainEpoch(stream: stream, progressEvery: 1_000_000)
        return Double(trainBatches * options.batchSize * options.bptt) / max((ContinuousClock.now - start).seconds, 1e-9)
    }

    /// Process start to first suggestion: `nextword suggest` as a new process on an existing
    /// history file, best of five. Spawned and reaped directly: Foundation's `Process` checks for
    /// the child's exit only every 50 ms on Linux, which would round the figure up to that step.
    func coldStart(model: URL, history: URL) throws -> Double {
        let executable = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().path
        let arguments = [executable, "suggest", "--model", model.path, "--history", history.path, "I would like to "]
        // As a user's shell would start it: without the BLAS variables this process set for itself,
        // so the figure includes the restart onto the right kernel where one is needed.
        let environment = BLASKernelRestart.environmentForFreshStart(ProcessInfo.processInfo.environment)
            .map { "\($0.key)=\($0.value)" }
        var best = Double.infinity
        for _ in 0 ..< 5 {
            let start = ContinuousClock.now
            let status = try spawnAndWait(arguments, environment: environment)
            let elapsed = (ContinuousClock.now - start).milliseconds
            guard status == 0 else { throw ValidationError("cold start: `nextword suggest` exited with status \(status)") }
            best = min(best, elapsed)
        }
        return best
    }

    /// Runs `arguments[0]` with its standard output sent to /dev/null; returns the wait status.
    private func spawnAndWait(_ arguments: [String], environment: [String]) throws -> Int32 {
        let argv = arguments.map { strdup($0) } + [nil]
        let envp = environment.map { strdup($0) } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        #if os(Linux)
        var actions = posix_spawn_file_actions_t()
        #else
        var actions: posix_spawn_file_actions_t?
        #endif
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        var pid = pid_t()
        let error = posix_spawn(&pid, arguments[0], &actions, nil, argv, envp)
        guard error == 0 else { throw ValidationError("cold start: cannot run \(arguments[0]): \(String(cString: strerror(error)))") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        return status
    }
}
