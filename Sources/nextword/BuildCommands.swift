import ArgumentParser
import Foundation
import NextWord

/// `nextword ngram`: the corpus Kneser-Ney model the engine mixes with the LSTM.
struct NGramCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ngram",
        abstract: "Build a Kneser-Ney n-gram over a model's vocabulary and tokenization, saved beside it as ngram.bin.")

    @OptionGroup var modelOptions: ModelOptions
    @Option(parsing: .upToNextOption, help: "Training text files.") var train: [String]
    @Option(help: "Order (2 to 4).") var order = 3
    @Option(help: "Drop n-grams of order 2 and above seen fewer times than this.") var minCount = 2
    @Flag(help: "Replace the model's existing ngram.bin.") var force = false

    func validate() throws {
        // Where it writes must be said: without --model this would be the default model's n-gram.
        if modelOptions.model == nil { throw ValidationError("name the model to build for with --model DIR (its ngram.bin is written)") }
        if train.isEmpty { throw ValidationError("--train needs at least one file") }
    }

    func run() throws {
        let bundle = try modelOptions.load()
        let target = bundle.directory.appendingPathComponent(SuggestionEngine.ngramFileName)
        if FileManager.default.fileExists(atPath: target.path) && !force {
            throw ValidationError("\(target.path) exists; pass --force to replace it")
        }
        var lines: [String] = []
        for file in train { lines += try TextFile.lines(contentsOf: TextFile.input(file)) }
        let ids = bundle.stream(lines: lines).ids.map(Int.init)
        let model = try NGramModel.build(stream: ids, vocabSize: bundle.vocabulary.count,
                                         endOfSentence: bundle.vocabulary.endOfSentenceID, order: order, minCount: minCount)
        let url = bundle.directory.appendingPathComponent(SuggestionEngine.ngramFileName)
        try model.write(to: url)
        let size = (try? FileManager.default.attributesOfItem(atPath: url.path)[.size] as? Int) ?? 0
        print("\(url.path): order \(order), n-grams \(model.ngramCounts), \(size) bytes")
    }
}

/// `nextword lexicon`: surface forms with counts, for casing and for completing rare words.
struct LexiconCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lexicon",
        abstract: "Count the words of text files as written (word<TAB>count), for casing and completing rare words.")

    @Option(parsing: .upToNextOption, help: "Text files.") var train: [String]
    @Option(help: "Output file (vocab/NAME-lexicon.tsv; '-' writes standard output).") var output: String
    @Option(help: "Keep words seen at least this often.") var minCount = 1

    func run() throws {
        var counter = WordCounter(tokenizer: Tokenizer(mode: .natural), lowercase: false, kinds: [.word])
        for file in train { try counter.add(contentsOf: TextFile.input(file)) }
        let lexicon = Lexicon(counts: counter.counts.filter { $0.value >= minCount })
        try lexicon.write(to: TextFile.output(output))
        // On standard output the lexicon is the output; the count goes to standard error.
        let note = "\(output == "-" ? "lexicon" : output): \(lexicon.count) words\n"
        FileHandle(fileDescriptor: output == "-" ? STDERR_FILENO : STDOUT_FILENO).write(Data(note.utf8))
    }
}
