import Foundation
import XCTest
@testable import NextWord

/// Dynamic evaluation of the biases (`BiasAdaptation`): the decoder bias's gradient against finite
/// differences in Double (the gate biases' are checked in GateBiasBackwardTests), its effect, and
/// its record in the history — kept per model, removed by clear, never written in incognito, a
/// forgotten word's part undone.
final class EngineBiasAdaptationTests: XCTestCase {
    private var directory: URL!
    private var file: URL { directory.appendingPathComponent("history.sqlite") }

    override func setUpWithError() throws { directory = try EngineFixture.temporaryDirectory("BiasAdaptation") }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    /// The line's mean cross-entropy in Double, from the logits at offset 0 (log p: softmax does not
    /// see the constant) plus `offsets`, as the code's gradient must differentiate it.
    private func loss(logits: [[Double]], targets: [Int], offsets: [Double]) -> Double {
        var total = 0.0
        for (z, y) in zip(logits, targets) {
            let shifted = zip(z, offsets).map { $0 + $1 }
            let top = shifted.max()!
            let logSum = top + log(shifted.reduce(0) { $0 + exp($1 - top) })
            total += logSum - shifted[y]
        }
        return total / Double(targets.count)
    }

    func testTheGradientMatchesFiniteDifferencesInDouble() throws {
        let bundle = try EngineFixture.bundle()
        let vocabulary = bundle.vocabulary
        let line = try XCTUnwrap(LearningPolicy.committedLines("we met them in the park", tokenizer: Tokenizer(mode: .natural)).first)
        let session = InferenceSession(model: bundle.model)
        let reading = LineReading(line, vocabulary: vocabulary, session: session)
        let ids = reading.ids
        XCTAssertEqual(ids.count, 7)
        let isTarget = [false, true, true, false, true, true, true]  // "them" is not a target
        var generator = SeededGenerator(seed: 3)
        let offsets = (0 ..< vocabulary.count).map { _ in Float(Double(generator.next() % 1000) / 1000 - 0.5) }
        session.decoderBiasOffsets = offsets

        let step = BiasAdaptation.gradient(reading: reading, isTarget: isTarget, session: session, withGates: false)
        let (gradient, targets) = (step.decoder, step.targets)
        XCTAssertEqual(targets, 5)
        XCTAssertTrue(step.gates.allSatisfy { $0.allSatisfy { $0 == 0 } }, "the gates' part is not computed when not asked")

        // The logits at each target's position, from the model at offset 0.
        session.decoderBiasOffsets = nil
        var state = session.initialState()
        var logits: [[Double]] = [], labels: [Int] = []
        for t in 0 ..< ids.count - 1 {
            session.advance(&state, with: [ids[t]])
            guard isTarget[t + 1] else { continue }
            logits.append(session.probabilities(after: state).map { log(Double($0)) })
            labels.append(Int(ids[t + 1]))
        }
        let base = offsets.map(Double.init)
        let epsilon = 1e-4
        for i in Set(labels + [0, 1, vocabulary.count - 1]) {
            var up = base, down = base
            up[i] += epsilon
            down[i] -= epsilon
            let numeric = (loss(logits: logits, targets: labels, offsets: up) - loss(logits: logits, targets: labels, offsets: down)) / (2 * epsilon)
            XCTAssertEqual(Double(gradient[i]), numeric, accuracy: 1e-4, "d loss / d offset[\(i)]")
        }
    }

    func testLearningALineRaisesItsWordsAndTheRecordSurvivesARestart() throws {
        let engine = try EngineFixture.engine(history: try HistoryStore(path: file))
        let park = try XCTUnwrap(engine.bundle.vocabulary.id("park"))
        let before = engine.lock.withLock { engine.languageModel.session.probabilities(after: engine.languageModel.session.initialState())[park] }
        for _ in 0 ..< 3 { try engine.learn("we met them in the park") }
        let after = engine.lock.withLock { engine.languageModel.session.probabilities(after: engine.languageModel.session.initialState())[park] }
        XCTAssertGreaterThan(after, before, "the user's word gained probability")
        let offsets = try XCTUnwrap(engine.lock.withLock { engine.languageModel.adaptation })
        XCTAssertEqual(offsets.lines, 3)

        let reopened = try EngineFixture.engine(history: try HistoryStore(path: file))
        let restored = try XCTUnwrap(reopened.lock.withLock { reopened.languageModel.adaptation })
        XCTAssertEqual(restored.lines, 3)
        for (a, b) in zip(restored.offsets, offsets.offsets) { XCTAssertEqual(a, b, accuracy: 2e-3 * max(1, abs(b))) }  // fp16
        XCTAssertEqual(reopened.history?.adaptationRecords(.decoderBias).keys.sorted(), [reopened.resources.modelDigest])
        // The mixture's weights come back too.
        XCTAssertEqual(reopened.lock.withLock { reopened.mutable.adaptive }, engine.lock.withLock { engine.mutable.adaptive })
    }

    func testAnotherModelsRecordIsNotUsedAndIsReplaced() throws {
        let store = try HistoryStore(path: file)
        let size = try EngineFixture.bundle().vocabulary.count
        let config = try EngineFixture.bundle().model.config
        var foreign = BiasAdaptation(config: config)
        foreign.step(.init(decoder: [Float](repeating: 0.5, count: size), gates: foreign.gateOffsets, targets: 1), rate: 1, gateRate: 0, decay: 0)
        try store.saveAdaptationRecords([.decoderBias: foreign.encoded], model: "another-model")
        let engine = try EngineFixture.engine(history: store)
        XCTAssertEqual(engine.lock.withLock { engine.languageModel.adaptation?.isZero }, true, "a new model starts from zero")
        try engine.learn("we met them in the park")
        XCTAssertEqual(store.adaptationRecords(.decoderBias).keys.sorted(), [engine.resources.modelDigest])
    }

    func testClearIncognitoAndForget() throws {
        let store = try HistoryStore(path: file)
        let engine = try EngineFixture.engine(history: store)
        engine.incognito = true
        try engine.learn("we met them in the park")
        XCTAssertTrue(store.adaptationRecords(.decoderBias).isEmpty, "incognito writes no record")
        XCTAssertEqual(engine.lock.withLock { engine.languageModel.adaptation?.isZero }, true, "and learns none in memory")
        engine.incognito = false

        try engine.learn("we met them in the park")
        let park = try XCTUnwrap(engine.bundle.vocabulary.id("park"))
        XCTAssertNotEqual(engine.lock.withLock { engine.languageModel.adaptation?.offsets[park] }, 0)
        XCTAssertEqual(engine.lock.withLock { engine.languageModel.adaptation?.gatesAreZero }, false, "the gates adapted too")
        XCTAssertNotNil(engine.lock.withLock { engine.languageModel.session.gateBiasOffsets }, "and typing reads with them")
        try engine.forget(word: "park")
        XCTAssertEqual(engine.lock.withLock { engine.languageModel.adaptation?.offsets[park] }, 0)
        XCTAssertEqual(engine.lock.withLock { engine.languageModel.adaptation?.gatesAreZero }, true,
                       "the line's part of the shared gate offsets is undone with the rest")
        XCTAssertNil(engine.lock.withLock { engine.languageModel.session.gateBiasOffsets })
        let stored = try XCTUnwrap(store.adaptationRecords(.decoderBias)[engine.resources.modelDigest])
        let restored = BiasAdaptation(record: stored, config: engine.bundle.model.config)
        XCTAssertEqual(restored?.offsets[park], 0, "the forget reached the record")
        XCTAssertEqual(restored?.gatesAreZero, true)

        try engine.clearHistory()
        XCTAssertTrue(store.adaptationRecords(.decoderBias).isEmpty, "clear removes the record")
        XCTAssertTrue(store.adaptationRecords(.mixture).isEmpty, "and the mixture's")
        XCTAssertEqual(engine.lock.withLock { engine.languageModel.adaptation?.isZero }, true)
        XCTAssertNil(engine.lock.withLock { engine.languageModel.session.decoderBiasOffsets })
        XCTAssertNil(engine.lock.withLock { engine.languageModel.session.gateBiasOffsets })
    }

    func testARecordThatIsNotOneIsIgnored() throws {
        let config = try EngineFixture.bundle().model.config
        var other = config
        other.vocabSize += 1
        XCTAssertNil(BiasAdaptation(record: Data("garbage".utf8), config: config))
        var good = BiasAdaptation(config: config)
        var generator = SeededGenerator(seed: 9)
        let gates = good.gateOffsets.map { $0.map { _ in generator.nextFloat(in: -1, 1) } }
        good.step(.init(decoder: good.offsets.map { _ in generator.nextFloat(in: -1, 1) }, gates: gates, targets: 1),
                  rate: 1, gateRate: 1, decay: 0)
        XCTAssertNil(BiasAdaptation(record: good.encoded, config: other), "another vocabulary's size")
        let back = try XCTUnwrap(BiasAdaptation(record: good.encoded, config: config))
        XCTAssertEqual(back.lines, 1)
        for (a, b) in zip(back.offsets + back.gateOffsets.flatMap { $0 }, good.offsets + good.gateOffsets.flatMap { $0 }) {
            XCTAssertEqual(a, b, accuracy: 1e-3)  // fp16
        }
    }

    /// A record written before the gates were adapted ("NWB1": the decoder's offsets alone) is read
    /// with zero gate offsets.
    func testADecoderOnlyRecordIsReadWithZeroGates() throws {
        let config = try EngineFixture.bundle().model.config
        var data = Data("NWB1".utf8)
        data.append(contentsOf: [4, 0, 0, 0])
        for i in 0 ..< config.vocabSize { data.append(contentsOf: i == 2 ? [0x00, 0x3C] : [0, 0]) }  // fp16 1.0 at id 2
        let read = try XCTUnwrap(BiasAdaptation(record: data, config: config))
        XCTAssertEqual(read.lines, 4)
        XCTAssertEqual(read.offsets[2], 1)
        XCTAssertTrue(read.gatesAreZero)
        XCTAssertEqual(BiasAdaptation.lineCount(inRecord: data), 4)
    }

    /// The LSTM's temperature divides its logits (so it divides every log-ratio of two words), and
    /// fades to 1 as dynamic evaluation learns lines: after the engine learns, after a record is
    /// restored, and back to the fresh engine's after clear.
    func testTheTemperatureFlattensTheSoftmaxAndFadesWithTheLinesLearned() throws {
        let bundle = try EngineFixture.bundle()
        let session = InferenceSession(model: bundle.model)
        var state = session.initialState()
        session.advance(&state, with: [Int32(bundle.vocabulary.id("the")!)])
        let sharp = session.probabilities(after: state)
        session.logitScale = 0.5
        let flat = session.probabilities(after: state)
        for (a, b) in [(0, 1), (2, 5), (3, bundle.vocabulary.count - 1)] {
            XCTAssertEqual(Double(log(flat[a] / flat[b])), 0.5 * Double(log(sharp[a] / sharp[b])), accuracy: 1e-3)
        }
        XCTAssertEqual(Double(flat.reduce(0, +)), 1, accuracy: 1e-4)

        let weights = try MixingWeights(parsing: "temperature=2,tempfade=10")
        let engine = try EngineFixture.engine(weights: weights)
        XCTAssertEqual(engine.languageModel.session.logitScale, 0.5, accuracy: 1e-6)
        for _ in 0 ..< 10 { try engine.learn("we met them in the park") }
        let lines = try XCTUnwrap(engine.languageModel.adaptation?.lines)
        XCTAssertEqual(lines, 10)
        XCTAssertEqual(engine.languageModel.session.logitScale, 1 / (1 + exp(-1)), accuracy: 1e-5)
        let record = try XCTUnwrap(engine.languageModel.encodedRecord())
        let restarted = try EngineFixture.engine(weights: weights)
        restarted.languageModel.restore(record: record)
        XCTAssertEqual(restarted.languageModel.session.logitScale, 1 / (1 + exp(-1)), accuracy: 1e-5)
        restarted.languageModel.clear()
        XCTAssertEqual(restarted.languageModel.session.logitScale, 0.5, accuracy: 1e-6)
        XCTAssertThrowsError(try MixingWeights(parsing: "temperature=0"))
    }
}
