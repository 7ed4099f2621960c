import ArgumentParser
import Foundation
import NextWord

struct HistoryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "history",
        abstract: "Look at, export or erase what nextword has learned from you.",
        subcommands: [Stats.self, List.self, Forget.self, Clear.self, Export.self, Import.self],
        defaultSubcommand: Stats.self)

    struct Location: ParsableArguments {
        @Option(help: "History database (default: $NEXTWORD_HISTORY, else $XDG_DATA_HOME/nextword/history.sqlite).")
        var history: String?

        var url: URL { history.map { URL(fileURLWithPath: $0) } ?? HistoryStore.defaultPath(environment: ProcessInfo.processInfo.environment) }

        func open() throws -> HistoryStore {
            let (store, recovery) = try HistoryStore.openOrRecover(path: url)
            if let recovery { FileHandle.standardError.write(Data("nextword: \(recovery.message)\n".utf8)) }
            return store
        }

        /// For commands that only look: nil when there is no history yet, which looking must
        /// not create (no folder, no empty database).
        func openIfPresent() throws -> HistoryStore? {
            var info = stat()
            return lstat(url.path, &info) == 0 ? try open() : nil
        }
    }

    struct Stats: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Counts, file and size.")
        @OptionGroup var location: Location
        @Flag(help: "One JSON object: {file, exists, read_only, words, typed, ngrams, size_bytes, cache_positions, decoder_bias_lines, mixture}.")
        var json = false

        struct Report: Encodable {
            let file: String, exists: Bool, read_only: Bool
            let words: Int, typed: Int, ngrams: Int, size_bytes: Int64
            /// What the engine learned besides words (kept per model; any model's is shown).
            var cache_positions = 0
            var decoder_bias_lines: Int?
            var mixture: Mixture?
        }

        struct Mixture: Encodable {
            let document_cache: Float, history: Float, user_cache: Float, observations: Int
        }

        func run() throws {
            guard let store = try location.openIfPresent() else {
                if json {
                    print(try jsonLine(Report(file: location.url.path, exists: false, read_only: false, words: 0, typed: 0, ngrams: 0, size_bytes: 0)))
                } else {
                    print("file: \(location.url.path) (none yet: nothing learned)")
                }
                return
            }
            let stats = store.stats()
            let biasLines = store.adaptationRecords(.decoderBias).values.first.flatMap(BiasAdaptation.lineCount(inRecord:))
            let mixture = store.adaptationRecords(.mixture).values.first.flatMap { try? JSONDecoder().decode(AdaptiveMixture.self, from: $0) }
            let positions = store.cachePositionCount()
            if json {
                var report = Report(file: stats.path?.path ?? "in memory", exists: true, read_only: stats.isReadOnly, words: stats.words,
                                    typed: stats.totalWordCount, ngrams: stats.ngrams, size_bytes: stats.fileSize)
                report.cache_positions = positions
                report.decoder_bias_lines = biasLines
                report.mixture = mixture.map { Mixture(document_cache: $0.cache, history: $0.user, user_cache: $0.weight(of: .userCache),
                                                       observations: $0.observations) }
                print(try jsonLine(report))
                return
            }
            print("file: \(stats.path?.path ?? "in memory")\(stats.isReadOnly ? " (read-only)" : "")")
            print("words: \(stats.words) distinct, \(stats.totalWordCount) typed")
            print("n-grams: \(stats.ngrams)")
            print("size: \(stats.fileSize) bytes")
            if positions > 0 { print("user cache: \(positions) remembered position\(positions == 1 ? "" : "s")") }
            if let biasLines { print("model biases (decoder and LSTM gates): adapted on \(biasLines) committed line\(biasLines == 1 ? "" : "s")") }
            if let mixture {
                print(String(format: "mixture: document cache %.3f, history %.3f, user cache %.3f (tuned on %d committed word(s))",
                             mixture.cache, mixture.user, mixture.weight(of: .userCache), mixture.observations))
            }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The words learned, most used first.")
        @OptionGroup var location: Location
        @Option(help: "How many.") var limit = 50
        @Flag(help: "One JSON array of {text, count, lastUsed}.") var json = false
        func validate() throws {
            if limit < 0 { throw ValidationError("--limit must not be negative") }
        }
        func run() throws {
            let words = (try location.openIfPresent()?.snapshot().words ?? []).sorted { $0.count > $1.count || ($0.count == $1.count && $0.text < $1.text) }
            let shown = Array(words.prefix(limit))
            if json {
                struct Row: Encodable { let text: String; let count: Int; let lastUsed: Date }
                print(try jsonLine(shown.map { Row(text: $0.text, count: $0.count, lastUsed: $0.lastUsed) }))
            } else {
                for word in shown { print("\(word.count)\t\(word.text)") }
            }
        }
    }

    struct Forget: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Forget a word everywhere (any case), with every n-gram holding it.")
        @OptionGroup var location: Location
        @Argument(help: "The word.") var word: String
        func run() throws {
            let removed = try location.open().forget(word: word)
            print(removed == 0 ? "\"\(word)\" was not in the history" : "forgot \"\(word)\" (\(removed) entries)")
        }
    }

    struct Clear: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Erase everything learned; no learned text stays in the file or its journal.")
        @OptionGroup var location: Location
        @Flag(help: "Do not ask.") var yes = false
        @Flag(help: "Also delete the damaged copies moved aside earlier (history.sqlite.damaged-*), which hold learned text too.")
        var damagedCopies = false
        func run() throws {
            if !yes && isatty(STDIN_FILENO) != 0 {
                print("Erase all learned words? [y/N] ", terminator: "")
                guard let answer = readLine(), answer.lowercased().hasPrefix("y") else { print("nothing erased"); return }
            }
            switch try HistoryStore.clearFiles(at: location.url) {
            case .inPlace: print("history cleared")
            case .deletedFiles(let freed):
                print("the disk is too full to rewrite the history, so its files were deleted instead "
                      + "(\(ByteCountFormatter.string(fromByteCount: freed, countStyle: .file)) freed); a new history starts at the next use")
            }
            let copies = HistoryStore.damagedCopies(of: location.url)
            if damagedCopies {
                let removed = try HistoryStore.deleteDamagedCopies(of: location.url)
                if removed > 0 { print("deleted \(removed) damaged cop\(removed == 1 ? "y" : "ies") of the history") }
            } else if !copies.isEmpty {
                print("\(copies.count) damaged cop\(copies.count == 1 ? "y" : "ies") of the history still hold learned text "
                      + "(\(copies.map(\.lastPathComponent).joined(separator: ", "))); "
                      + "`nextword history clear --damaged-copies` deletes them")
            }
        }
    }

    struct Import: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Learn from your own text files (sent mail, notes), or merge an earlier `history export`.",
            discussion: "Text is learned line by line by the same rules as typing: numbers, addresses and secrets are not learned; with the model at hand (the default one, or --model), the last \(SuggestionEngine.importAdaptationLines) lines of a text also teach the user cache and the bias adaptation, as typing them would. An export's words are checked by those rules again.")
        @OptionGroup var location: Location
        @OptionGroup var modelOptions: ModelOptions
        @Argument(help: "Text files or history exports ('-' reads standard input).") var files: [String]
        @Flag(help: "One JSON object per file: {file, kind, lines, words, ngrams, refused, adapted_lines}.") var json = false

        struct Report: Encodable {
            let file: String, kind: String
            let lines: Int?, words: Int, ngrams: Int?, refused: Int?
            var adapted_lines: Int? = nil
        }

        func run() throws {
            // The engine when a model is found (named with --model, or the default one), so text
            // goes through every source's lesson; without one only the history learns.
            let engine: SuggestionEngine?
            if modelOptions.model != nil || (try? ModelLocator.locateDefault()) != nil {
                let opened = try SuggestionEngine.open(SuggestionEngine.OpenOptions(modelDirectory: try modelOptions.resolve(),
                                                                                    historyPath: location.url))
                for note in opened.notes { FileHandle.standardError.write(Data("nextword: \(note)\n".utf8)) }
                engine = opened.engine
            } else {
                engine = nil
                FileHandle.standardError.write(Data("nextword: no model found: only words and n-grams are learned (pass --model DIR for the user cache and the model biases)\n".utf8))
            }
            let store = try engine?.history ?? location.open()
            let progress = ProgressLine()
            for file in files {
                let url = TextFile.input(file)
                let data = try TextFile.read(url)
                let name = file == "-" ? "standard input" : file
                if data.first(where: { ![0x20, 0x0A, 0x0D, 0x09].contains($0) }) == UInt8(ascii: "{"),
                   let document = try? HistoryExport.decode(data) {
                    let count = try store.importExport(document)
                    if json {
                        print(try jsonLine(Report(file: name, kind: "export", lines: nil, words: count.words, ngrams: count.ngrams,
                                                  refused: count.refused)))
                        continue
                    }
                    print("\(name): \(count.words) words and \(count.ngrams) n-grams merged"
                          + (count.refused > 0 ? " (\(count.refused) words refused by the learning rules)" : ""))
                    continue
                }
                if let offset = TextFile.firstInvalidUTF8Offset(data) {
                    throw ValidationError("\(name): not UTF-8 text (invalid byte at offset \(offset))")
                }
                let text = String(decoding: data, as: UTF8.self)
                let update: (Int) -> Void = { lines in progress.update("\(name): \(lines) lines") }
                let (count, adapted) = try engine.map { engine in
                    let result = try engine.importText(text, progress: update)
                    return (result.count, Optional(result.adaptedLines))
                } ?? (try store.importText(text, progress: update), nil)
                progress.finish()
                if json {
                    print(try jsonLine(Report(file: name, kind: "text", lines: count.lines, words: count.words, ngrams: nil, refused: nil,
                                              adapted_lines: adapted)))
                } else {
                    print("\(name): \(count.lines) lines, \(count.words) words learned"
                          + (adapted.map { "; the last \($0) also taught the user cache and the model biases" } ?? ""))
                }
            }
        }
    }

    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Everything learned, as JSON on standard output.")
        @OptionGroup var location: Location
        func run() throws {
            FileHandle.standardOutput.write(try location.openIfPresent()?.export() ?? HistoryExport(words: [], ngrams: []).encoded())
            print()
        }
    }
}
