import XCTest
@testable import NextWord

final class TrainerTests: XCTestCase {
    /// A short text repeated: ids of "the cat sat on the mat </s> a dog ran to the log </s> ...".
    private func toyStream(repeats: Int) -> (stream: [Int32], vocab: Int) {
        let sentence = [2, 3, 4, 5, 2, 6, 1, 7, 8, 9, 10, 2, 11, 1]
        return (Array((0 ..< repeats).flatMap { _ in sentence }).map(Int32.init), 12)
    }

    private func tinyConfig(vocab: Int) -> ModelConfig {
        ModelConfig(vocabularyFile: "toy.txt", vocabularySHA256: "", vocabSize: vocab,
                    embeddingSize: 16, hiddenSize: 16, layers: 2, tied: true)
    }

    private func options(epochs: Int = 1) -> TrainingOptions {
        var options = TrainingOptions()
        options.batchSize = 4
        options.bptt = 7
        options.dropout = 0
        options.learningRate = 2
        options.clip = 1
        options.epochs = epochs
        options.threads = 1
        return options
    }

    func testTinyModelOverfitsAShortText() throws {
        let (stream, vocab) = toyStream(repeats: 40)
        let trainer = Trainer(model: try LanguageModel.initialized(config: tinyConfig(vocab: vocab), seed: 1), options: options())
        let before = Perplexity.perplexity(model: trainer.model, stream: stream)
        var loss = Double.infinity
        for _ in 0 ..< 60 { loss = trainer.trainEpoch(stream: stream) }
        let after = Perplexity.perplexity(model: trainer.model, stream: stream)
        XCTAssertGreaterThan(before, 8, "an untrained model is near uniform over 12 words")
        // Only the word after "the" and the sentence starts are uncertain; everything else is memorised.
        XCTAssertLessThan(after, 1.6, "perplexity on the memorised text (was \(before), last train loss \(loss))")
    }

    func testSeededRunsRepeatAndResumeExactly() throws {
        let (stream, vocab) = toyStream(repeats: 20)
        var dropout = options()
        dropout.dropout = 0.3
        func fresh() throws -> Trainer {
            Trainer(model: try LanguageModel.initialized(config: tinyConfig(vocab: vocab), seed: 9), options: dropout)
        }
        let straight = try fresh()
        for _ in 0 ..< 2 {
            let loss = straight.trainEpoch(stream: stream)
            _ = straight.finishEpoch(trainLoss: loss, validPerplexity: 10, seconds: 0, tokensPerSecond: 0)
        }

        // One epoch, a checkpoint and the state through files, then a new trainer resumes.
        let first = try fresh()
        let loss = first.trainEpoch(stream: stream)
        _ = first.finishEpoch(trainLoss: loss, validPerplexity: 10, seconds: 0, tokensPerSecond: 0)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("resume-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        try Checkpoint.write(first.model, to: directory, storage: .float32)
        let state = try JSONDecoder().decode(TrainingState.self, from: JSONEncoder().encode(first.state))
        let resumed = Trainer(model: try Checkpoint.read(from: directory), options: dropout, state: state)
        let secondLoss = resumed.trainEpoch(stream: stream)
        _ = resumed.finishEpoch(trainLoss: secondLoss, validPerplexity: 10, seconds: 0, tokensPerSecond: 0)

        XCTAssertEqual(resumed.model.parameters, straight.model.parameters)
        XCTAssertEqual(resumed.state.history.map(\.trainLoss), straight.state.history.map(\.trainLoss))
    }

    func testLearningRateAnnealsOnPlateauOnly() throws {
        let (_, vocab) = toyStream(repeats: 1)
        let trainer = Trainer(model: try LanguageModel.initialized(config: tinyConfig(vocab: vocab), seed: 1), options: options())
        XCTAssertTrue(trainer.finishEpoch(trainLoss: 5, validPerplexity: 100, seconds: 1, tokensPerSecond: 1))
        XCTAssertEqual(trainer.state.learningRate, 2)
        XCTAssertTrue(trainer.finishEpoch(trainLoss: 4, validPerplexity: 90, seconds: 1, tokensPerSecond: 1))
        XCTAssertFalse(trainer.finishEpoch(trainLoss: 4, validPerplexity: 95, seconds: 1, tokensPerSecond: 1))
        XCTAssertEqual(trainer.state.learningRate, 0.5)
        XCTAssertEqual(trainer.state.bestValidPerplexity, 90)
    }

    func testEvaluationScoresEveryTokenAfterTheFirst() throws {
        let (stream, vocab) = toyStream(repeats: 3)
        let model = try LanguageModel.initialized(config: tinyConfig(vocab: vocab), seed: 2)
        let (nll, count) = Perplexity.negativeLogLikelihood(model: model, stream: stream, segment: 5)
        XCTAssertEqual(count, stream.count - 1)
        // The same sum from the full log-probability rows, position by position.
        let rows = try model.logProbabilities(of: stream.dropLast().map(Int.init))
        let expected = zip(rows, stream.dropFirst()).reduce(0.0) { $0 - Double($1.0[Int($1.1)]) }
        XCTAssertEqual(nll, expected, accuracy: 1e-3)
    }
}

final class TrainerAnnealingThresholdTests: XCTestCase {
    func testSmallGainsCountAsAPlateauWithAThreshold() throws {
        let config = ModelConfig(vocabularyFile: "t.txt", vocabularySHA256: "", vocabSize: 5,
                                 embeddingSize: 4, hiddenSize: 4, layers: 1, tied: true)
        var options = TrainingOptions()
        options.learningRate = 8
        options.annealThreshold = 0.01
        let trainer = Trainer(model: try LanguageModel.initialized(config: config, seed: 1), options: options)
        XCTAssertTrue(trainer.finishEpoch(trainLoss: 5, validPerplexity: 100, seconds: 1, tokensPerSecond: 1))
        XCTAssertTrue(trainer.finishEpoch(trainLoss: 5, validPerplexity: 98, seconds: 1, tokensPerSecond: 1))
        XCTAssertEqual(trainer.state.learningRate, 8, "a 2% gain is progress")
        XCTAssertTrue(trainer.finishEpoch(trainLoss: 5, validPerplexity: 97.5, seconds: 1, tokensPerSecond: 1),
                      "still the best model, kept")
        XCTAssertEqual(trainer.state.learningRate, 2, "a 0.5% gain anneals")
        XCTAssertEqual(trainer.state.bestValidPerplexity, 97.5)
    }
}
