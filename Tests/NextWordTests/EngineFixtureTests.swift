import Foundation
import XCTest
@testable import NextWord

/// A tiny, untrained engine for tests: a lowercase word vocabulary of a few dozen words, a random
/// LSTM (E = H = 8, one layer), a lexicon of surface forms and optionally a Kneser-Ney trigram.
///
/// An untrained model's probabilities are close to uniform (about 1/V each), so the tests built on
/// it only check behaviour that must hold whatever the model says: learning lifts, forgetting
/// removes, casing rules, validity of every answer.
enum EngineFixture {
    /// The corpus the vocabulary, lexicon and n-gram are counted from. It holds no "at the"
    /// bigram, so the n-gram gives no word a head start after "at the".
    static let corpus = """
        I think the weather is nice today and I like it.
        She said that we should go home now, because it is late.
        The report from NASA was long; we read it at home.
        Don't worry, I'll call you when the train leaves.
        We met them in the park and talked about the plan.
        The Paris office is near the river, and London is far.
        Napping is nice; my nap was short.
        I don't know, and they don't either.
        """

    static let vocabularyFileName = "vocab.txt"

    /// Lowercased token counts of the corpus (the model is lowercase, as the default model is).
    static func counts(lowercase: Bool) -> [String: Int] {
        var counts: [String: Int] = [:]
        let tokenizer = Tokenizer(mode: .natural)
        for line in corpus.split(separator: "\n") {
            for token in tokenizer.modelTokens(line: String(line), lowercase: lowercase) { counts[token, default: 0] += 1 }
        }
        return counts
    }

    static func vocabulary() -> Vocabulary { Vocabulary.build(counts: counts(lowercase: true)) }

    /// Surface forms as the corpus writes them, plus a few the tests rely on ("I", "NASA").
    static func lexicon() -> Lexicon {
        var surface = counts(lowercase: false).filter { word, _ in word.first?.isLetter ?? false }
        surface["I", default: 0] += 50
        surface["NASA", default: 0] += 20
        surface["Paris", default: 0] += 5
        return Lexicon(counts: surface)
    }

    /// `projection`: an LSTM with 12 cells projected to this width (two layers) instead of 8 plain cells.
    static func model(vocabulary: Vocabulary, seed: UInt64 = 11, projection: Int? = nil) throws -> LanguageModel {
        var config = ModelConfig(vocabularyFile: vocabularyFileName, vocabularySHA256: vocabulary.sha256Hex,
                                 vocabSize: vocabulary.count, embeddingSize: 8, hiddenSize: projection == nil ? 8 : 12,
                                 layers: projection == nil ? 1 : 2, tied: false, tokenization: .words, lowercase: true)
        config.projectionSize = projection
        return try LanguageModel.initialized(config: config, seed: seed)
    }

    static func bundle(directory: URL = URL(fileURLWithPath: "/nonexistent/tiny"), projection: Int? = nil) throws -> ModelBundle {
        let vocabulary = vocabulary()
        return ModelBundle(model: try model(vocabulary: vocabulary, projection: projection), vocabulary: vocabulary, directory: directory)
    }

    /// The corpus n-gram on the bundle's ids.
    static func ngram(for bundle: ModelBundle) throws -> NGramModel {
        let lines = corpus.split(separator: "\n").map(String.init)
        let stream = bundle.stream(lines: lines).ids.map(Int.init)
        return try NGramModel.build(stream: stream, vocabSize: bundle.vocabulary.count,
                                    endOfSentence: bundle.vocabulary.endOfSentenceID, order: 3)
    }

    /// An engine on the tiny model; `history` nil means no store (learning stays in memory).
    static func engine(history: HistoryStore? = nil, withNgram: Bool = true, withLexicon: Bool = true,
                       incognito: Bool = false, weights: MixingWeights = MixingWeights(),
                       projection: Int? = nil) throws -> SuggestionEngine {
        let bundle = try bundle(projection: projection)
        return try SuggestionEngine(bundle: bundle, ngram: withNgram ? try ngram(for: bundle) : nil,
                                    lexicon: withLexicon ? lexicon() : nil, history: history,
                                    weights: weights, incognito: incognito)
    }

    /// Writes a complete model directory (config, weights, vocabulary, lexicon, n-gram) for
    /// `SuggestionEngine.open`.
    static func writeModelDirectory(at directory: URL) throws {
        let vocabulary = vocabulary()
        try Checkpoint.write(try model(vocabulary: vocabulary), to: directory, vocabulary: vocabulary.fileData())
        try lexicon().write(to: directory.appendingPathComponent(SuggestionEngine.lexiconFileName))
        let bundle = ModelBundle(model: try model(vocabulary: vocabulary), vocabulary: vocabulary, directory: directory)
        try ngram(for: bundle).write(to: directory.appendingPathComponent(SuggestionEngine.ngramFileName))
    }

    /// A fresh temporary directory; the caller removes it.
    static func temporaryDirectory(_ label: String) throws -> URL {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("\(label)-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// The bytes of a history file and of its -wal (empty when absent).
    static func fileBytes(_ file: URL) -> (main: Data, wal: Data) {
        ((try? Data(contentsOf: file)) ?? Data(), (try? Data(contentsOf: URL(fileURLWithPath: file.path + "-wal"))) ?? Data())
    }

    /// Whether `needle` occurs in the history file or its -wal, as raw bytes.
    static func filesContain(_ file: URL, _ needle: String) -> Bool {
        let bytes = fileBytes(file)
        let pattern = Data(needle.utf8)
        return bytes.main.range(of: pattern) != nil || bytes.wal.range(of: pattern) != nil
    }
}

/// Checks the fixture itself, so a failure elsewhere is not blamed on a broken fixture.
final class EngineFixtureTests: XCTestCase {
    func testVocabularyIsLowercaseAndHoldsTheTestWords() {
        let vocabulary = EngineFixture.vocabulary()
        for word in ["the", "i", "nasa", "don't", "nap", "napping", "paris", ".", ","] {
            XCTAssertNotNil(vocabulary.id(word), word)
        }
        XCTAssertNil(vocabulary.id("The"), "the model is lowercase")
        XCTAssertNil(vocabulary.id("zyxcorp"))
        XCTAssertEqual(vocabulary.word(vocabulary.unknownID), Vocabulary.unknownToken)
    }

    func testModelDirectoryLoadsBackIdentically() throws {
        let directory = try EngineFixture.temporaryDirectory("EngineFixture")
        defer { try? FileManager.default.removeItem(at: directory) }
        try EngineFixture.writeModelDirectory(at: directory)
        let loaded = try ModelBundle.load(from: directory)
        let built = try EngineFixture.bundle()
        XCTAssertEqual(loaded.vocabulary, built.vocabulary)
        XCTAssertEqual(loaded.model.parameters, built.model.parameters)
        XCTAssertEqual(loaded.config.lowercase, true)
    }

    func testLexiconKnowsTheUsualCasings() {
        let lexicon = EngineFixture.lexicon()
        XCTAssertEqual(lexicon.preferredCasing(of: "i"), "I")
        XCTAssertEqual(lexicon.preferredCasing(of: "nasa"), "NASA")
        XCTAssertEqual(lexicon.preferredCasing(of: "nap"), "nap")
    }
}
