import ArgumentParser
import Foundation
import NextWord

struct TrainCommand: ParsableCommand, RunsMatrixProducts {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train an LSTM language model (truncated BPTT, SGD with clipping and annealing).",
        discussion: """
        Saves the best model (by validation perplexity) to --output after every epoch that improves, \
        and a full-precision checkpoint with the training state to --output/.checkpoint after every \
        epoch; --resume continues from it.
        """)

    @Option(parsing: .upToNextOption, help: "Training text files.")
    var train: [String]
    @Option(parsing: .upToNextOption, help: "Validation text files (model selection and annealing).")
    var valid: [String]
    @Option(help: "Output model directory.")
    var output: String
    @Option(help: "Impose this vocabulary (one word per line) instead of building one.")
    var vocabFile: String?
    @Option(help: "Where to write the vocabulary (default: inside --output, so the model directory is self-contained).")
    var vocabOut: String?
    @Option(help: "Build: keep words seen at least this often.")
    var minCount = 1
    @Option(help: "Build: at most this many words, specials included.")
    var maxVocab: Int?
    @Flag(help: "Files are already tokenized: split on spaces only.")
    var pretokenized = false
    @Flag(help: "Lowercase words before lookup.")
    var lowercase = false
    @Option(help: "Embedding size.") var embedding = 256
    @Option(help: "Hidden size of each LSTM layer.") var hidden = 256
    @Option(help: "Project each layer's output to this width (an LSTM with projection, as nn.LSTM's proj_size; smaller than --hidden). The decoder and a tied embedding are this wide.")
    var projection: Int?
    @Option(help: "Stacked LSTM layers.") var layers = 2
    @Flag(inversion: .prefixedNo, help: "Tie the decoder to the embedding (needs --embedding == --hidden, or == --projection).")
    var tied = true
    @Option(help: "Epochs.") var epochs = 12
    @Option(help: "Streams per mini-batch.") var batch = 32
    @Option(help: "Truncated BPTT length.") var bptt = 35
    @Option(help: "Dropout on embeddings, between layers and on the output.") var dropout: Float = 0.4
    @Option(help: "AWD-LSTM: dropout on the embedding output, the first layer's input (default: --dropout).")
    var dropoutInput: Float?
    @Option(help: "AWD-LSTM: dropout between LSTM layers (default: --dropout).")
    var dropoutHidden: Float?
    @Option(help: "AWD-LSTM: dropout on the last layer's output, the decoder input (default: --dropout).")
    var dropoutOutput: Float?
    @Option(help: "AWD-LSTM: dropout of whole words from the embedding lookup.")
    var dropoutEmbedding: Float = 0
    @Option(help: "AWD-LSTM: DropConnect on every recurrent matrix weight_hh, one mask per segment.")
    var weightDrop: Float = 0
    @Flag(help: "AWD-LSTM: locked (variational) dropout, one mask per stream for a whole segment.")
    var lockedDropout = false
    @Option(help: "AWD-LSTM: activation regularisation, α · mean(x²) of the last layer's dropped output added to the loss.")
    var ar: Float = 0
    @Option(help: "AWD-LSTM: temporal activation regularisation, β · mean((h_t − h_{t−1})²) of the last layer's output.")
    var tar: Float = 0
    @Option(help: "L2 weight decay per step.") var weightDecay: Float = 0
    @Option(help: "NT-ASGD: average the weights from the epoch that is worse than the best before the last N epochs (replaces annealing).")
    var asgd: Int?
    @Option(help: "NT-ASGD: start averaging after this epoch even if validation is still improving (needs --asgd; for a run with a time budget); 0 averages from the first step (fine-tuning a trained model with --init-from).")
    var asgdStart: Int?
    @Option(help: "SGD learning rate.") var lr: Float = 20
    @Option(help: "Gradient clip (global norm).") var clip: Float = 0.25
    @Option(help: "Anneal (learning rate / 4) when validation improves by less than this fraction (0: only when it gets worse).")
    var annealThreshold: Double = 0
    @Option(help: "Random seed.") var seed: UInt64 = 1
    @Option(help: "Threads.") var threads = 2
    @Option(help: "Precision of the segment's matrix products (decoder, input projections, weight gradients): automatic (bfloat16 on AMX tiles where the CPU has them, else float32), float32 or bfloat16.")
    var matmulPrecision = "automatic"
    @Option(help: "Stop training after this many minutes in total.") var maxMinutes: Double?
    @Option(help: "Storage of the saved model: float16 or float32.") var storage = "float16"
    @Flag(help: "Continue from --output/.checkpoint.") var resume = false
    @Flag(help: "Replace a model already in --output (without --resume).") var force = false
    @Flag(help: "End with one JSON object on standard output: {output, epochs, best_valid_perplexity, train_tokens, valid_tokens, parameters, wall_seconds, tokens_per_second}; progress goes to standard error.")
    var json = false

    struct Report: Encodable {
        let output: String, epochs: Int, best_valid_perplexity: Double?
        let train_tokens: Int, valid_tokens: Int, parameters: Int
        let wall_seconds: Double, tokens_per_second: Double
    }

    /// A progress line: standard output, or standard error when the output is the JSON report.
    private func report(_ line: String) {
        if json { FileHandle.standardError.write(Data((line + "\n").utf8)) } else { say(line) }
    }
    @Option(help: "Start from this model directory's weights (same vocabulary and shape, or a plain LSTM widened to more --hidden cells with --projection equal to its hidden size) instead of a fresh initialisation; its training record is kept as an earlier run.")
    var initFrom: String?

    func validate() throws {
        if train.isEmpty { throw ValidationError("--train needs at least one file") }
        if valid.isEmpty { throw ValidationError("--valid needs at least one file") }
        if let projection, projection < 1 || projection >= hidden {
            throw ValidationError("--projection must be at least 1 and smaller than --hidden (got \(projection))")
        }
        if tied && embedding != (projection ?? hidden) {
            throw ValidationError(projection == nil ? "--tied needs --embedding == --hidden (or pass --no-tied)"
                                                    : "--tied needs --embedding == --projection (or pass --no-tied)")
        }
        if Checkpoint.Storage(rawValue: storage) == nil { throw ValidationError("--storage is float16 or float32") }
        if batch < 1 || bptt < 1 || epochs < 1 || threads < 1 { throw ValidationError("--batch, --bptt, --epochs and --threads must be positive") }
        if !(0 ..< 1).contains(dropout) { throw ValidationError("--dropout must be in [0, 1)") }
        for (name, rate) in regularization.rates where !(0 ..< 1).contains(rate) {
            throw ValidationError("the \(name) dropout must be in [0, 1) (got \(rate))")
        }
        for (name, value) in [("--ar", ar), ("--tar", tar)] where !value.isFinite || value < 0 {
            throw ValidationError("\(name) must be a number ≥ 0 (got \(value))")
        }
        if !weightDecay.isFinite || weightDecay < 0 { throw ValidationError("--weight-decay must be a number ≥ 0 (got \(weightDecay))") }
        if let asgd, asgd < 1 { throw ValidationError("--asgd must be a positive number of epochs") }
        if let asgdStart, asgd == nil || asgdStart < 0 { throw ValidationError("--asgd-start needs --asgd and an epoch ≥ 0") }
        if !lr.isFinite || lr <= 0 { throw ValidationError("--lr must be a positive number (got \(lr))") }
        if !clip.isFinite || clip <= 0 { throw ValidationError("--clip must be a positive number (got \(clip))") }
        if !annealThreshold.isFinite || annealThreshold < 0 { throw ValidationError("--anneal-threshold must be a number ≥ 0 (got \(annealThreshold))") }
        if let maxMinutes, !maxMinutes.isFinite || maxMinutes <= 0 { throw ValidationError("--max-minutes must be a positive number") }
        try validateMatmulPrecision(matmulPrecision)
    }

    /// Every dropout rate: --dropout where a specific one is not given.
    var regularization: Regularization {
        Regularization(input: dropoutInput ?? dropout, hidden: dropoutHidden ?? dropout, output: dropoutOutput ?? dropout,
                       embedding: dropoutEmbedding, weightHH: weightDrop, locked: lockedDropout, activation: ar, temporal: tar)
    }

    func run() throws {
        let outputURL = URL(fileURLWithPath: output)
        if !resume && !force && FileManager.default.fileExists(atPath: outputURL.appendingPathComponent("model.safetensors").path) {
            throw ValidationError("\(output) already holds a model; pass --force to replace it or --resume to continue it")
        }
        let checkpointURL = outputURL.appendingPathComponent(".checkpoint")
        let tokenizer = Tokenizer(mode: pretokenized ? .pretokenized : .natural)
        func read(_ files: [String]) throws -> [[String]] {
            try files.flatMap { try TextFile.lines(contentsOf: URL(fileURLWithPath: $0)) }
                .map { tokenizer.modelTokens(line: $0, lowercase: lowercase) }
        }
        let trainLines = try read(train), validLines = try read(valid)

        let vocabulary: Vocabulary
        if let vocabFile {
            vocabulary = try Vocabulary.imposing(contentsOf: URL(fileURLWithPath: vocabFile))
        } else {
            var counts: [String: Int] = [:]
            for line in trainLines { for word in line { counts[word, default: 0] += 1 } }
            vocabulary = Vocabulary.build(counts: counts, minCount: minCount, maxSize: maxVocab)
        }
        let vocabURL = vocabOut.map { URL(fileURLWithPath: $0) }
            ?? outputURL.appendingPathComponent("\(outputURL.lastPathComponent).txt")
        try FileManager.default.createDirectory(at: vocabURL.deletingLastPathComponent(), withIntermediateDirectories: true)
        try vocabulary.write(to: vocabURL)
        let vocabData = vocabulary.fileData()

        func stream(_ lines: [[String]], leading: Bool) -> [Int32] {
            var ids: [Int32] = leading ? [Int32(vocabulary.endOfSentenceID)] : []
            for line in lines {
                for word in line { ids.append(Int32(vocabulary.idOrUnknown(word))) }
                ids.append(Int32(vocabulary.endOfSentenceID))
            }
            return ids
        }
        let trainStream = stream(trainLines, leading: false), validStream = stream(validLines, leading: true)

        var config = ModelConfig(vocabularyFile: vocabURL.lastPathComponent,
                                 vocabularySHA256: Vocabulary.sha256Hex(of: vocabData), vocabSize: vocabulary.count,
                                 embeddingSize: embedding, hiddenSize: hidden, layers: layers, tied: tied,
                                 tokenization: pretokenized ? .pretokenized : .words, lowercase: lowercase)
        config.projectionSize = projection
        var options = TrainingOptions()
        options.batchSize = batch; options.bptt = bptt; options.regularization = regularization; options.learningRate = lr
        options.weightDecay = weightDecay; options.averagingNonmonotone = asgd; options.averagingStartEpoch = asgdStart
        options.clip = clip; options.epochs = epochs; options.annealThreshold = annealThreshold; options.seed = seed; options.threads = threads
        options.maxMinutes = maxMinutes
        options.matmulPrecision = MatmulPrecision(rawValue: matmulPrecision) ?? .automatic

        let trainer: Trainer
        let stateURL = checkpointURL.appendingPathComponent("train-state.json")
        // NT-ASGD's running mean, beside the weights of the last step.
        let averageURL = checkpointURL.appendingPathComponent("average")
        let initial = try initFrom.map { try Checkpoint.read(from: URL(fileURLWithPath: $0)) }
        // The runs before this one: the initial model's own record and those it kept.
        let earlierRuns = initial?.config.training.map { run -> [TrainingRecord] in
            var last = run
            last.earlierRuns = nil
            return (run.earlierRuns ?? []) + [last]
        }
        if resume, FileManager.default.fileExists(atPath: stateURL.path) {
            let saved = try Checkpoint.read(from: checkpointURL)
            guard saved.config.vocabSize == config.vocabSize, saved.config.hiddenSize == hidden,
                  saved.config.projectionSize == projection,
                  saved.config.layers == layers, saved.config.embeddingSize == embedding else {
                throw ValidationError("the checkpoint in \(checkpointURL.path) has another shape than these options")
            }
            let state = try JSONDecoder().decode(TrainingState.self, from: Data(contentsOf: stateURL))
            let average = try state.averaging.map { _ in try Checkpoint.read(from: averageURL).parameters }
            trainer = Trainer(model: saved, options: options, state: state, average: average)
            report("resuming after epoch \(state.epochsDone), learning rate \(state.learningRate)")
        } else if let initFrom, let initial, initial.canWiden(to: config) {
            trainer = Trainer(model: try initial.widened(to: config, seed: seed), options: options)
            report("starting from the weights of \(initFrom), widened from \(initial.config.hiddenSize) to \(hidden) cells "
                   + "projected to \(initial.config.hiddenSize) (the same function until training changes it)")
        } else if let initFrom, let initial {
            guard initial.config.vocabularySHA256 == config.vocabularySHA256, initial.config.vocabSize == config.vocabSize,
                  initial.config.embeddingSize == embedding, initial.config.hiddenSize == hidden,
                  initial.config.projectionSize == projection,
                  initial.config.layers == layers, initial.config.tied == tied else {
                throw ValidationError("--init-from \(initFrom): another vocabulary or shape than these options (pass its --vocab-file and sizes)")
            }
            trainer = Trainer(model: try LanguageModel(config: config, parameters: initial.parameters), options: options)
            report("starting from the weights of \(initFrom)")
        } else {
            trainer = Trainer(model: try LanguageModel.initialized(config: config, seed: seed), options: options)
        }
        let parameterCount = trainer.model.parameters.count
        report("train \(trainStream.count) tokens, valid \(validStream.count - 1), vocabulary \(vocabulary.count), parameters \(parameterCount)")

        let command = CommandLine.arguments.map { $0.contains(" ") ? "'\($0)'" : $0 }.joined(separator: " ")
        let progressLine = ProgressLine()
        let started = Date()
        while trainer.state.epochsDone < epochs {
            let epochStart = Date()
            let epoch = trainer.state.epochsDone + 1
            let loss = trainer.trainEpoch(stream: trainStream) { p in
                let text = String(format: "epoch %d  batch %d/%d  loss %.3f  ppl %.1f  %.0f tokens/s  ETA %@",
                                  p.epoch, p.batch, p.batches, p.meanLoss, exp(p.meanLoss), p.tokensPerSecond,
                                  formatDuration(p.secondsLeftInEpoch))
                if progressLine.enabled { progressLine.update(text) } else if p.batch % 200 == 0 { report(text) }
            }
            progressLine.finish()
            let trainSeconds = Date().timeIntervalSince(epochStart)
            let tokensPerSecond = Double(trainStream.count) / trainSeconds
            let evaluated = try LanguageModel(config: trainer.model.config, parameters: trainer.evaluationParameters)
            let validPPL = Perplexity.perplexity(model: evaluated, stream: validStream, streams: 10, threads: threads)
            let improved = trainer.finishEpoch(trainLoss: loss, validPerplexity: validPPL,
                                               seconds: Date().timeIntervalSince(epochStart), tokensPerSecond: tokensPerSecond)
            report(String(format: "epoch %d  train loss %.3f  valid ppl %.2f  lr %g  %.0f tokens/s  %@%@", epoch, loss, validPPL,
                         trainer.state.history.last?.learningRate ?? 0, tokensPerSecond,
                         formatDuration(Date().timeIntervalSince(epochStart)), improved ? "  (best, saved)" : ""))
            if improved {
                config.training = TrainingRecord(
                    command: command, data: (train + valid).joined(separator: " "), epochs: epoch, batchSize: batch,
                    bptt: bptt, dropout: regularization.output, learningRate: lr, seed: seed, threads: threads,
                    wallSeconds: trainer.state.trainingSeconds, tokensPerSecond: Double(trainer.state.tokensTrained) / max(trainer.state.trainingSeconds, 1e-9),
                    bestValidPerplexity: validPPL, history: trainer.state.history)
                config.training?.initializedFrom = initFrom
                config.training?.earlierRuns = earlierRuns
                if regularization != .uniform(dropout) { config.training?.regularization = regularization }
                if weightDecay > 0 { config.training?.weightDecay = weightDecay }
                config.training?.averagingNonmonotone = asgd
                config.training?.averagingStartEpoch = asgdStart
                config.training?.averagingSinceEpoch = trainer.state.averaging?.sinceEpoch
                if options.matmulPrecision.resolved == .bfloat16 { config.training?.matmulPrecision = MatmulPrecision.bfloat16.rawValue }
                let best = try LanguageModel(config: config, parameters: trainer.evaluationParameters)
                try Checkpoint.write(best, to: outputURL, storage: Checkpoint.Storage(rawValue: storage) ?? .float16)
            }
            try Checkpoint.write(trainer.model, to: checkpointURL, storage: .float32)
            if trainer.state.averaging != nil { try Checkpoint.write(evaluated, to: averageURL, storage: .float32) }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try TextFile.writeAtomically(encoder.encode(trainer.state), to: stateURL)
            if let limit = maxMinutes, trainer.state.trainingSeconds / 60 > limit { break }
        }
        report(String(format: "done in %@; best valid ppl %.2f; model in %@", formatDuration(Date().timeIntervalSince(started)),
                     trainer.state.bestValidPerplexity ?? .nan, outputURL.path))
        if json {
            let seconds = trainer.state.trainingSeconds
            print(try jsonLine(Report(output: outputURL.path, epochs: trainer.state.epochsDone, best_valid_perplexity: trainer.state.bestValidPerplexity,
                                      train_tokens: trainStream.count, valid_tokens: validStream.count - 1, parameters: parameterCount,
                                      wall_seconds: seconds, tokens_per_second: Double(trainer.state.tokensTrained) / max(seconds, 1e-9))))
        }
    }
}
