import ArgumentParser
import Foundation
import NextWord

struct EvalCommand: ParsableCommand, RunsMatrixProducts {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Perplexity of a model on text files (every token and one </s> per line scored, as KenLM does).")

    @OptionGroup var modelOptions: ModelOptions

    @Option(help: "Threads for the matrix products.")
    var threads = 2

    @Option(help: "Parallel streams: the text is cut at line starts into this many pieces scored side by side, each read from a zero state a few hundred tokens before its first scored token. 1 scores it as one stream.")
    var streams = 16

    @Option(help: "Tokens each parallel stream reads before its first scored token (context only).")
    var warmUp = 256

    @Flag(help: "Also score the text as a user's engine sees it: the model mixed with a neural cache over the text read so far (window 1000, theta 0.5, lambda 0.15), one stream; prints both figures (JSON adapted_perplexity).")
    var adapt = false

    @Option(help: "With --adapt: step size of dynamic evaluation of the biases after each 128-token segment (0: cache only; 10 was best on the first 300 KB of brown-lm valid.txt).")
    var dynamicRate: Float = 10

    @Option(help: "With --adapt: positions the neural cache remembers (on the first 300 KB of brown-lm valid.txt: 1000 77.03, 2000 77.11, 3000 77.84).")
    var cacheWindow = AdaptiveEvaluation().window

    @Option(help: "With --adapt: the cache's θ (how sharply it prefers words that followed states like the current one).")
    var cacheTheta = AdaptiveEvaluation().theta

    @Option(help: "With --adapt: the cache's weight λ in the mixture.")
    var cacheLambda = AdaptiveEvaluation().lambda

    @Flag(help: "Print one JSON object instead of text.")
    var json = false

    @Argument(help: "Text files, one sentence per line ('-' reads standard input).")
    var files: [String]

    func validate() throws {
        if files.isEmpty { throw ValidationError("name at least one text file") }
        if threads < 1 { throw ValidationError("--threads must be at least 1") }
        if cacheWindow < 1 { throw ValidationError("--cache-window must be at least 1") }
        if !(0 ... 1).contains(cacheLambda) { throw ValidationError("--cache-lambda must be between 0 and 1") }
        if streams < 1 { throw ValidationError("--streams must be at least 1") }
        if warmUp < 0 { throw ValidationError("--warm-up must not be negative") }
        if !dynamicRate.isFinite || dynamicRate < 0 { throw ValidationError("--dynamic-rate must be a number ≥ 0") }
    }

    func run() throws {
        let bundle = try modelOptions.load()
        setBLASThreads(threads)
        var lines: [String] = []
        for file in files { lines += try TextFile.lines(contentsOf: TextFile.input(file)) }
        let (ids, tokens, oov) = bundle.stream(lines: lines)
        let start = Date()
        // On a terminal: how far, how fast, how long still (nothing when not a terminal).
        let progressLine = ProgressLine()
        func report(_ label: String, since: Date, tokens: Int) -> (Int, Int) -> Void {
            { done, total in
                let elapsed = max(Date().timeIntervalSince(since), 1e-9)
                let left = done > 0 ? elapsed * Double(total - done) / Double(done) : 0
                let rate = Double(tokens) * Double(done) / Double(max(total, 1)) / elapsed
                progressLine.update("\(label): \(100 * done / max(total, 1))%  " + String(format: "%.0f tokens/s  ", rate)
                                    + "\(formatDuration(left)) left")
            }
        }
        let (nll, count) = streams == 1
            ? Perplexity.negativeLogLikelihood(model: bundle.model, stream: ids, streams: 1, threads: threads,
                                               progress: report("eval", since: start, tokens: ids.count))
            : Perplexity.negativeLogLikelihood(model: bundle.model, stream: ids, boundary: Int32(bundle.vocabulary.endOfSentenceID),
                                               streams: streams, warmUp: warmUp, threads: threads,
                                               progress: report("eval", since: start, tokens: ids.count))
        progressLine.finish()
        let seconds = Date().timeIntervalSince(start)
        guard nll.isFinite else {
            throw ValidationError("\(bundle.directory.path): the model's probabilities are not finite numbers on this text (damaged weights?)")
        }
        var result = PerplexityResult(tokens: tokens, sentences: lines.count, outOfVocabulary: oov, scored: count,
                                      log10Probability: -nll / log(10), perplexity: exp(nll / Double(max(count, 1))),
                                      seconds: seconds, tokensPerSecond: Double(count) / max(seconds, 1e-9))
        if adapt {
            let adapted = AdaptiveEvaluation(window: cacheWindow, theta: cacheTheta, lambda: cacheLambda, dynamicRate: dynamicRate).evaluate(
                model: bundle.model, stream: ids, threads: threads, progress: report("eval --adapt", since: Date(), tokens: ids.count))
            progressLine.finish()
            result.adaptedPerplexity = adapted.adaptedPerplexity
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            print(String(decoding: try encoder.encode(result), as: UTF8.self))
        } else {
            print("model: \(bundle.directory.path)")
            print("tokens: \(result.tokens)  sentences: \(result.sentences)  oov: \(result.outOfVocabulary)  scored: \(result.scored)")
            print(String(format: "log10 probability: %.2f", result.log10Probability))
            print(String(format: "perplexity: %.2f", result.perplexity))
            if let adapted = result.adaptedPerplexity {
                print(String(format: "adapted perplexity (neural cache over the text read so far): %.2f", adapted))
            }
            print(String(format: "speed: %.0f tokens/s (%.1f s)", result.tokensPerSecond, result.seconds))
        }
    }
}
