import ArgumentParser
import Foundation
import NextWord

/// `nextword ngram`: the corpus Kneser-Ney model the engine mixes with the LSTM.
struct NGramCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ngram",
        abstract: "Build a Kneser-Ney n-gram over a model's vocabulary and tokenization, saved beside it as ngram.bin.",
        discussion: """
        --arpa FILE imports an ARPA n-gram instead (KenLM's lmplz output, built on text tokenized and \
        cased as the model's vocabulary is) as the model's ngram.bin; --write-arpa FILE writes the model's \
        ngram.bin as ARPA ('-' for standard output).
        """)

    @OptionGroup var modelOptions: ModelOptions
    @Option(parsing: .upToNextOption, help: "Training text files.") var train: [String] = []
    @Option(help: "Order (2 to 4).") var order = 3
    @Option(help: "Drop n-grams of order 2 and above seen fewer times than this.") var minCount = 2
    @Option(help: "Import this ARPA file as the model's n-gram instead of training one.") var arpa: String?
    @Option(help: "Write the model's n-gram as ARPA to this file ('-': standard output).") var writeArpa: String?
    @Flag(help: "Replace the model's existing ngram.bin.") var force = false
    @Flag(help: "Report as one JSON object: {file, order, ngrams, bytes}.") var json = false

    struct Report: Encodable { let file: String, order: Int, ngrams: [Int], bytes: Int }

    func validate() throws {
        // Where it writes must be said: without --model this would be the default model's n-gram.
        if modelOptions.model == nil { throw ValidationError("name the model with --model DIR (its ngram.bin is read or written)") }
        let jobs = [!train.isEmpty, arpa != nil, writeArpa != nil].filter { $0 }.count
        if jobs == 0 { throw ValidationError("--train needs at least one file (or --arpa FILE, or --write-arpa FILE)") }
        if jobs > 1 { throw ValidationError("--train, --arpa and --write-arpa are separate jobs: give one") }
    }

    func run() throws {
        let bundle = try modelOptions.load()
        let target = bundle.directory.appendingPathComponent(SuggestionEngine.ngramFileName)
        let words = bundle.vocabulary.words
        if let writeArpa {
            let text = try NGramModel.load(contentsOf: target).arpaText(words: words)
            try TextFile.writeAtomically(Data(text.utf8), to: TextFile.output(writeArpa))
            return
        }
        try refuseToReplace(target, force: force)
        let model: NGramModel
        if let arpa {
            let url = TextFile.input(arpa)
            model = try NGramModel.fromARPA(String(decoding: try TextFile.read(url), as: UTF8.self), words: words,
                                            endOfSentence: bundle.vocabulary.endOfSentenceID, unknown: bundle.vocabulary.unknownID,
                                            file: arpa == "-" ? "standard input" : url.path)
        } else {
            var lines: [String] = []
            for file in train { lines += try TextFile.lines(contentsOf: TextFile.input(file)) }
            let ids = bundle.stream(lines: lines).ids.map(Int.init)
            model = try NGramModel.build(stream: ids, vocabSize: bundle.vocabulary.count,
                                         endOfSentence: bundle.vocabulary.endOfSentenceID, order: order, minCount: minCount)
        }
        try model.write(to: target)
        let size = (try? FileManager.default.attributesOfItem(atPath: target.path)[.size] as? Int) ?? 0
        if json {
            print(try jsonLine(Report(file: target.path, order: model.order, ngrams: model.ngramCounts, bytes: size)))
        } else {
            print("\(target.path): order \(model.order), n-grams \(model.ngramCounts), \(size) bytes")
        }
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
    @Option(parsing: .upToNextOption,
            help: "Word lists, one word per line (such as /usr/share/dict/american-english): each word the text lacks is added with count 1 (possessives and non-words left out).")
    var wordList: [String] = []
    @Flag(help: "Replace an existing output file.") var force = false
    @Flag(help: "Report as one JSON object: {file, words, min_count} (on standard error when the lexicon goes to standard output).")
    var json = false

    struct Report: Encodable { let file: String, words: Int, min_count: Int }

    func run() throws {
        // A file the user already has (a lexicon they edited, or any other file) is not replaced unasked.
        let target = TextFile.output(output)
        if output != "-" { try refuseToReplace(target, force: force) }
        var counter = WordCounter(tokenizer: Tokenizer(mode: .natural), lowercase: false, kinds: [.word])
        for file in train { try counter.add(contentsOf: TextFile.input(file)) }
        var counts = counter.counts.filter { $0.value >= minCount }
        for file in wordList { counts = Lexicon.counts(counts, addingWordList: try TextFile.lines(contentsOf: TextFile.input(file))) }
        let lexicon = Lexicon(counts: counts)
        try lexicon.write(to: target)
        // On standard output the lexicon is the output; the count goes to standard error.
        let note = json ? try jsonLine(Report(file: output, words: lexicon.count, min_count: minCount)) + "\n"
            : "\(output == "-" ? "lexicon" : output): \(lexicon.count) words\n"
        FileHandle(fileDescriptor: output == "-" ? STDERR_FILENO : STDOUT_FILENO).write(Data(note.utf8))
    }
}
