import XCTest
@testable import NextWord

/// AWD-LSTM's dropout masks and NT-ASGD's averaging, checked by what they must do.
final class TrainerRegularizationTests: XCTestCase {
    private let config = ModelConfig(vocabularyFile: "t.txt", vocabularySHA256: "", vocabSize: 9,
                                     embeddingSize: 6, hiddenSize: 6, layers: 2, tied: true)

    func testLockedMasksRepeatAtEveryStepAndPlainOnesDoNot() {
        let (steps, batch, width) = (5, 3, 6)
        let ws = SegmentWorkspace<Float>(config: config, steps: steps, batch: batch)
        var generator = SeededGenerator(seed: 4)
        ws.fillMask(ws.outputMask[0], width: width, dropout: 0.5, locked: true, generator: &generator)
        let block = Array(UnsafeBufferPointer(start: ws.outputMask[0], count: batch * width))
        XCTAssertTrue(block.contains(0) && block.contains(2), "a rate of 0.5 drops some units and doubles the rest")
        for t in 1 ..< steps {
            XCTAssertEqual(Array(UnsafeBufferPointer(start: ws.outputMask[0] + t * batch * width, count: batch * width)), block,
                           "step \(t) of a locked mask")
        }
        ws.fillMask(ws.outputMask[1], width: width, dropout: 0.5, locked: false, generator: &generator)
        let steps0 = Array(UnsafeBufferPointer(start: ws.outputMask[1], count: batch * width))
        let steps1 = Array(UnsafeBufferPointer(start: ws.outputMask[1] + batch * width, count: batch * width))
        XCTAssertNotEqual(steps0, steps1, "plain dropout draws each step afresh")
    }

    func testWordDropoutZeroesEveryOccurrenceOfADroppedWord() {
        let (steps, batch) = (6, 2)
        let ws = SegmentWorkspace<Float>(config: config, steps: steps, batch: batch)
        let inputs: [Int32] = [2, 3, 2, 4, 5, 2, 3, 3, 6, 2, 7, 8]
        var generator = SeededGenerator(seed: 12)
        var dropped: Set<Int32> = [], kept: Set<Int32> = []
        inputs.withUnsafeBufferPointer { i in
            ws.fillEmbeddingMask(inputs: i.baseAddress!, regularization: Regularization(embedding: 0.5), generator: &generator)
        }
        for (row, word) in inputs.enumerated() {
            let values = Set(UnsafeBufferPointer(start: ws.embeddingMask + row * 6, count: 6))
            XCTAssertEqual(values.count, 1, "a word's row is all kept or all dropped")
            if values == [0] { dropped.insert(word) } else { kept.insert(word); XCTAssertEqual(values, [2]) }
        }
        XCTAssertTrue(dropped.isDisjoint(with: kept), "every occurrence of a word shares its fate")
        XCTAssertFalse(dropped.isEmpty || kept.isEmpty, "dropped \(dropped), kept \(kept)")
    }

    func testTheRunningMeanIsTheMeanOfTheSteps() {
        var average = ParameterAverage(mean: [100, 100], steps: 0)
        let iterates: [[Float]] = [[1, 2], [3, 6], [8, -2], [0, 10]]
        for θ in iterates { average.add(θ) }
        XCTAssertEqual(average.steps, 4)
        XCTAssertEqual(average.mean[0], 3, accuracy: 1e-6)
        XCTAssertEqual(average.mean[1], 4, accuracy: 1e-6)
    }

    func testAveragingStartsWhenValidationIsWorseThanTheBestBeforeTheLastN() {
        // 91 after 100, 90, 95, 96: worse than 90, the best before the last two epochs.
        XCTAssertFalse(AveragingState.triggers(validPerplexity: 91, earlier: [100, 90], nonmonotone: 2), "too few epochs")
        XCTAssertTrue(AveragingState.triggers(validPerplexity: 91, earlier: [100, 90, 95, 96], nonmonotone: 2))
        XCTAssertFalse(AveragingState.triggers(validPerplexity: 89, earlier: [100, 90, 95, 96], nonmonotone: 2), "a new best")
        XCTAssertFalse(AveragingState.triggers(validPerplexity: 91, earlier: [100, 95, 90, 96], nonmonotone: 2),
                       "the best (90) is within the last two epochs: a short noisy stretch")
        XCTAssertFalse(AveragingState.triggers(validPerplexity: 96, earlier: [100, 90, 95], nonmonotone: 2),
                       "only 100 lies before the last two epochs")
    }

    /// A run that plateaus averages from then on, validates and saves the average, keeps its
    /// learning rate (no annealing), and resumes with the average exactly.
    func testTrainerAveragesAfterThePlateauAndResumesWithTheAverage() throws {
        let sentence: [Int32] = [2, 3, 4, 5, 2, 6, 1, 7, 8, 2, 1]
        let stream = Array((0 ..< 30).flatMap { _ in sentence })
        var options = TrainingOptions()
        options.batchSize = 3; options.bptt = 5; options.learningRate = 1; options.clip = 1; options.threads = 1
        options.regularization = Regularization(input: 0.2, hidden: 0.1, output: 0.2, embedding: 0.1, weightHH: 0.3, locked: true)
        options.weightDecay = 1e-4
        options.averagingNonmonotone = 1
        let trainer = Trainer(model: try LanguageModel.initialized(config: config, seed: 5), options: options)
        for valid in [50.0, 40, 55] {
            let loss = trainer.trainEpoch(stream: stream)
            XCTAssertTrue(loss.isFinite)
            _ = trainer.finishEpoch(trainLoss: loss, validPerplexity: valid, seconds: 0, tokensPerSecond: 0)
        }
        XCTAssertEqual(trainer.state.averaging?.sinceEpoch, 3, "55 is worse than 50, the best before the last epoch")
        XCTAssertEqual(trainer.state.learningRate, 1, "no annealing under NT-ASGD")
        XCTAssertTrue(trainer.evaluationParameters == trainer.model.parameters, "no step averaged yet")

        let before = trainer.model.parameters
        let loss = trainer.trainEpoch(stream: stream)
        _ = trainer.finishEpoch(trainLoss: loss, validPerplexity: 44, seconds: 0, tokensPerSecond: 0)
        let averaged = try XCTUnwrap(trainer.average)
        XCTAssertGreaterThan(averaged.steps, 1)
        XCTAssertEqual(trainer.state.averaging?.steps, averaged.steps)
        XCTAssertFalse(trainer.evaluationParameters == trainer.model.parameters, "the average lags the last step")
        XCTAssertFalse(trainer.evaluationParameters == before)
        XCTAssertEqual(trainer.state.history.last?.averaged, true)

        // Resume from the state and the saved average, against the run carrying straight on.
        let state = try JSONDecoder().decode(TrainingState.self, from: JSONEncoder().encode(trainer.state))
        let resumed = Trainer(model: trainer.model, options: options, state: state, average: trainer.evaluationParameters)
        _ = trainer.trainEpoch(stream: stream)
        _ = resumed.trainEpoch(stream: stream)
        XCTAssertTrue(resumed.evaluationParameters == trainer.evaluationParameters, "the resumed average")
        XCTAssertEqual(resumed.state.averaging, trainer.state.averaging)
    }

    /// `averagingStartEpoch` starts the average on time while validation still improves, and not
    /// before; without it the same improving run never averages.
    func testAveragingStartsAtTheGivenEpochWhileValidationStillImproves() throws {
        let stream = Array((0 ..< 10).flatMap { _ in [2, 3, 4, 5, 2, 6, 1, 7, 8, 2, 1] as [Int32] })
        func run(start: Int?) throws -> Trainer {
            var options = TrainingOptions()
            options.batchSize = 2; options.bptt = 4; options.threads = 1; options.learningRate = 1
            options.averagingNonmonotone = 2; options.averagingStartEpoch = start
            let trainer = Trainer(model: try LanguageModel.initialized(config: config, seed: 3), options: options)
            for (epoch, valid) in [90.0, 80, 70, 60].enumerated() {
                let loss = trainer.trainEpoch(stream: stream)
                _ = trainer.finishEpoch(trainLoss: loss, validPerplexity: valid, seconds: 0, tokensPerSecond: 0)
                if let start, epoch + 1 < start { XCTAssertNil(trainer.state.averaging, "epoch \(epoch + 1) is before the start") }
            }
            return trainer
        }
        XCTAssertNil(try run(start: nil).state.averaging, "validation improved every epoch: no plateau")
        let started = try run(start: 2)
        XCTAssertEqual(started.state.averaging?.sinceEpoch, 2)
        XCTAssertGreaterThan(started.state.averaging?.steps ?? 0, 0, "epochs 3 and 4 were averaged")
        XCTAssertEqual(started.state.learningRate, 1, "no annealing under NT-ASGD")
        let fromTheStart = try run(start: 0)
        XCTAssertEqual(fromTheStart.state.averaging?.sinceEpoch, 0, "0: averaging from the first step")
        XCTAssertGreaterThan(fromTheStart.state.averaging?.steps ?? 0, started.state.averaging?.steps ?? 0,
                             "every epoch's steps were averaged")
    }
}
