import Foundation
import XCTest
@testable import NextWord

/// Damaged and hostile weights files: each must give the specific `ModelError.checkpoint`, never a crash.
final class CheckpointCorruptionTests: XCTestCase {
    private let fileName = "w.safetensors"

    private func parse(_ data: Data) throws -> SafeTensors { try SafeTensors(bytes: data, fileName: fileName) }

    /// Two F32 tensors `a` [4] and `b` [4] with the given offsets; data section `dataLength` bytes.
    private func pair(_ a: (Int, Int), _ b: (Int, Int), dataLength: Int) -> Data {
        CheckpointTestSupport.file(header: """
            {"a":{"dtype":"F32","shape":[4],"data_offsets":[\(a.0),\(a.1)]},\
            "b":{"dtype":"F32","shape":[4],"data_offsets":[\(b.0),\(b.1)]}}
            """, dataLength: dataLength)
    }

    private func entry(_ fields: String, dataLength: Int = 16) -> Data {
        CheckpointTestSupport.file(header: "{\"t\":{\(fields)}}", dataLength: dataLength)
    }

    func testValidHandWrittenFileParses() throws {
        let file = try parse(pair((16, 32), (0, 16), dataLength: 32))
        XCTAssertEqual(file.tensors.map(\.name), ["b", "a"], "listed in data order")
        XCTAssertEqual(file.floats(of: file.tensors[1]), [0, 0, 0, 0])
    }

    func testTruncatedFilesNameTheProblem() throws {
        let directory = try CheckpointTestSupport.temporaryDirectory(for: self)
        let model = try LanguageModel.initialized(config: CheckpointTestSupport.tinyConfig(), seed: 9)
        try Checkpoint.write(model, to: directory)
        let url = directory.appendingPathComponent(Checkpoint.weightsFileName)
        let valid = try Data(contentsOf: url)
        let headerLength = Int(valid[0]) | Int(valid[1]) << 8
        let dataStart = 8 + headerLength
        XCTAssertEqual(valid.count, dataStart + 4 * model.parameters.count)

        let cases: [(cut: Int, phrases: [String])] = [
            (0, ["file is empty"]),
            (3, ["3 bytes", "too short"]),
            (8, ["header length \(headerLength)", "runs past the end"]),
            (8 + headerLength / 2, ["runs past the end"]),
            // Header intact, data gone: the first tensor in the header already runs past the end.
            (dataStart, ["\"embedding.weight\"", "run past the end of the 0-byte data section"]),
            // 100 bytes of data: embedding.weight needs 112 (7×4 floats).
            (dataStart + 100, ["\"embedding.weight\"", "run past the end of the 100-byte"]),
            // Inside lstm.0.weight_ih, which spans bytes 112 ..< 368.
            (dataStart + 200, ["\"lstm.0.weight_ih\"", "run past the end"]),
            (valid.count - 1, ["\"decoder.bias\"", "run past the end"]),
        ]
        for (cut, phrases) in cases {
            try valid.prefix(cut).write(to: url)
            CheckpointTestSupport.assertCheckpointError(try Checkpoint.read(from: directory), file: url.path, contains: phrases)
        }
    }

    func testHeaderLengthTooLargeOrPastEnd() {
        var huge = pair((0, 16), (16, 32), dataLength: 32)
        huge.replaceSubrange(0 ..< 8, with: [0, 0, 0, 0, 0, 0, 0, 0x40])  // 2^62
        CheckpointTestSupport.assertCheckpointError(try parse(huge), file: fileName, contains: ["header length 4611686018427387904", "100 MB"])
        var allOnes = huge
        allOnes.replaceSubrange(0 ..< 8, with: [UInt8](repeating: 0xFF, count: 8))
        CheckpointTestSupport.assertCheckpointError(try parse(allOnes), file: fileName, contains: ["exceeds the 100 MB limit"])
        var pastEnd = huge
        pastEnd.replaceSubrange(0 ..< 8, with: [0x00, 0x10, 0, 0, 0, 0, 0, 0])  // 4096 > file
        CheckpointTestSupport.assertCheckpointError(try parse(pastEnd), file: fileName, contains: ["header length 4096", "runs past the end"])
    }

    func testGarbageHeaders() {
        CheckpointTestSupport.assertCheckpointError(try parse(CheckpointTestSupport.file(header: "{not json", dataLength: 0)),
                                                    file: fileName, contains: ["not valid JSON"])
        var invalidUTF8 = CheckpointTestSupport.file(header: "{\"a\":1}", dataLength: 0)
        invalidUTF8[10] = 0xFF
        CheckpointTestSupport.assertCheckpointError(try parse(invalidUTF8), file: fileName, contains: ["not valid UTF-8"])
        CheckpointTestSupport.assertCheckpointError(try parse(CheckpointTestSupport.file(header: "[1,2]", dataLength: 0)),
                                                    file: fileName, contains: ["not a JSON object"])
        CheckpointTestSupport.assertCheckpointError(try parse(CheckpointTestSupport.file(header: "{}{}", dataLength: 0)),
                                                    file: fileName, contains: ["after the JSON value"])
        let deep = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
        CheckpointTestSupport.assertCheckpointError(try parse(CheckpointTestSupport.file(header: deep, dataLength: 0)),
                                                    file: fileName, contains: ["nested too deeply"])
        CheckpointTestSupport.assertCheckpointError(
            try parse(CheckpointTestSupport.file(header: "{\"__metadata__\":{\"k\":1}}", dataLength: 0)),
            file: fileName, contains: ["__metadata__", "\"k\""])
    }

    func testBadEntriesNameTheTensor() {
        let cases: [(fields: String, phrases: [String])] = [
            ("\"dtype\":\"BF16\",\"shape\":[8],\"data_offsets\":[0,16]", ["tensor \"t\"", "unsupported dtype \"BF16\""]),
            ("\"dtype\":\"I64\",\"shape\":[2],\"data_offsets\":[0,16]", ["tensor \"t\"", "unsupported dtype \"I64\""]),
            ("\"dtype\":\"F32\",\"shape\":[-4],\"data_offsets\":[0,16]", ["tensor \"t\"", "non-negative integers"]),
            ("\"dtype\":\"F32\",\"shape\":[4.0],\"data_offsets\":[0,16]", ["tensor \"t\"", "non-negative integers"]),
            ("\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,4],\"data_offsets\":[0,16]", ["tensor \"t\"", "too large"]),
            ("\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,16]", ["tensor \"t\"", "needs 24 bytes", "span 16"]),
            ("\"dtype\":\"F16\",\"shape\":[4],\"data_offsets\":[0,16]", ["tensor \"t\"", "needs 8 bytes", "span 16"]),
            ("\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,1000]", ["tensor \"t\"", "run past the end of the 16-byte"]),
            ("\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[16,0]", ["tensor \"t\"", "0 <= begin <= end"]),
            ("\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0]", ["tensor \"t\"", "data_offsets must be"]),
            ("\"dtype\":\"F32\",\"shape\":[4]", ["tensor \"t\"", "missing \"data_offsets\""]),
            ("\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16],\"extra\":1", ["tensor \"t\"", "unknown field \"extra\""]),
            ("\"dtype\":\"F32\",\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]", ["tensor \"t\"", "appears twice"]),
        ]
        for (fields, phrases) in cases {
            CheckpointTestSupport.assertCheckpointError(try parse(entry(fields)), file: fileName, contains: phrases)
        }
        CheckpointTestSupport.assertCheckpointError(
            try parse(CheckpointTestSupport.file(header: "{\"t\":{\"shape\":[99999999999999999999]}}", dataLength: 0)),
            file: fileName, contains: ["not valid JSON", "integer out of range"])
    }

    func testTilingOfTheDataSection() {
        CheckpointTestSupport.assertCheckpointError(try parse(pair((0, 16), (8, 24), dataLength: 24)), file: fileName,
                                                    contains: ["tensor \"b\"", "overlap tensor \"a\" [0, 16]"])
        CheckpointTestSupport.assertCheckpointError(try parse(pair((0, 16), (0, 16), dataLength: 16)), file: fileName,
                                                    contains: ["overlap"])
        CheckpointTestSupport.assertCheckpointError(try parse(pair((0, 16), (20, 36), dataLength: 36)), file: fileName,
                                                    contains: ["tensor \"b\"", "gap of 4 bytes after tensor \"a\""])
        CheckpointTestSupport.assertCheckpointError(try parse(pair((4, 20), (20, 36), dataLength: 36)), file: fileName,
                                                    contains: ["tensor \"a\"", "gap of 4 bytes at the start"])
        CheckpointTestSupport.assertCheckpointError(try parse(pair((0, 16), (16, 32), dataLength: 35)), file: fileName,
                                                    contains: ["3 trailing bytes", "\"b\""])
        let duplicate = CheckpointTestSupport.file(header: """
            {"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},"a":{"dtype":"F32","shape":[4],"data_offsets":[16,32]}}
            """, dataLength: 32)
        CheckpointTestSupport.assertCheckpointError(try parse(duplicate), file: fileName, contains: ["\"a\" appears twice"])
    }

    func testTensorsMustMatchTheConfig() throws {
        let config = CheckpointTestSupport.tinyConfig()
        let model = try LanguageModel.initialized(config: config, seed: 4)
        func tensors(_ edit: (inout [SafeTensors.TensorData]) -> Void) throws -> SafeTensors {
            var list = model.layout.tensors.map {
                SafeTensors.TensorData(name: $0.name, dtype: .float32, shape: $0.shape, values: model.parameters[$0.range])
            }
            edit(&list)
            return try parse(SafeTensors.encode(list))
        }
        XCTAssertEqual(try Checkpoint.model(config: config, weights: tensors { _ in }).parameters, model.parameters)

        let missing = try tensors { $0.removeAll { $0.name == "lstm.1.bias_hh" } }
        CheckpointTestSupport.assertCheckpointError(try Checkpoint.model(config: config, weights: missing), file: fileName,
                                                    contains: ["missing tensor \"lstm.1.bias_hh\""])
        let extra = try tensors { $0.append(.init(name: "lstm.2.bias_hh", dtype: .float32, shape: [16], values: ArraySlice(repeating: 0, count: 16))) }
        CheckpointTestSupport.assertCheckpointError(try Checkpoint.model(config: config, weights: extra), file: fileName,
                                                    contains: ["unexpected tensor \"lstm.2.bias_hh\""])
        var tied = config
        tied.tied = true
        CheckpointTestSupport.assertCheckpointError(try Checkpoint.model(config: tied, weights: tensors { _ in }), file: fileName,
                                                    contains: ["unexpected tensor \"decoder.weight\"", "tied"])
        let reshaped = try tensors { list in
            let index = list.firstIndex { $0.name == "lstm.0.weight_hh" }!
            list[index].shape = [8, 8]  // same element count, wrong shape
        }
        CheckpointTestSupport.assertCheckpointError(try Checkpoint.model(config: config, weights: reshaped), file: fileName,
                                                    contains: ["tensor \"lstm.0.weight_hh\" has shape [8, 8]", "needs [16, 4]"])
        let notFinite = try tensors { list in list[list.count - 1].values[list[list.count - 1].values.startIndex + 2] = .nan }
        CheckpointTestSupport.assertCheckpointError(try Checkpoint.model(config: config, weights: notFinite), file: fileName,
                                                    contains: ["\"decoder.bias\"", "non-finite", "element 2"])
        // Mixed storage is fine: one F16 tensor among F32 ones loads, rounded.
        let mixed = try tensors { list in list[0].dtype = .float16 }
        XCTAssertEqual(try Checkpoint.model(config: config, weights: mixed).parameters[(7 * 4)...], model.parameters[(7 * 4)...])
    }

    func testBadConfigFiles() throws {
        let directory = try CheckpointTestSupport.temporaryDirectory(for: self)
        let model = try LanguageModel.initialized(config: CheckpointTestSupport.tinyConfig(), seed: 2)
        try Checkpoint.write(model, to: directory)
        let url = directory.appendingPathComponent(Checkpoint.configFileName)
        let valid = try String(contentsOf: url, encoding: .utf8)
        let cases: [(text: String, phrases: [String])] = [
            ("{\"format\": \"nextword-lstm\", ", ["not a model config", "not valid JSON"]),
            ("[1, 2]", ["not a model config", "not a JSON object"]),
            (valid.replacingOccurrences(of: "\"formatVersion\" : 1", with: "\"formatVersion\" : 2"), ["format version 2 is not supported"]),
            (valid.replacingOccurrences(of: "nextword-lstm", with: "gpt2"), ["format is \"gpt2\""]),
            (valid.replacingOccurrences(of: "\"hiddenSize\"", with: "\"hidden\""), ["missing field \"hiddenSize\""]),
            (valid.replacingOccurrences(of: "\"layers\" : 2", with: "\"layers\" : \"two\""), ["field layers has the wrong type"]),
            (valid.replacingOccurrences(of: "\"layers\" : 2", with: "\"layers\" : 0"), ["layers 0 out of range"]),
        ]
        for (text, phrases) in cases {
            XCTAssertNotEqual(text, valid, "the edit applied")
            try Data(text.utf8).write(to: url)
            CheckpointTestSupport.assertCheckpointError(try Checkpoint.read(from: directory), file: url.path, contains: phrases)
        }
        // A config that disagrees with the weights: the weights file is blamed, naming the tensor.
        try Data(valid.replacingOccurrences(of: "\"vocabSize\" : 7", with: "\"vocabSize\" : 8").utf8).write(to: url)
        CheckpointTestSupport.assertCheckpointError(try Checkpoint.read(from: directory),
                                                    file: directory.appendingPathComponent(Checkpoint.weightsFileName).path,
                                                    contains: ["\"embedding.weight\" has shape [7, 4]", "needs [8, 4]"])
        try FileManager.default.removeItem(at: url)
        CheckpointTestSupport.assertCheckpointError(try Checkpoint.read(from: directory), file: url.path, contains: ["file not found"])
        try Data(valid.utf8).write(to: url)
        try FileManager.default.removeItem(at: directory.appendingPathComponent(Checkpoint.weightsFileName))
        CheckpointTestSupport.assertCheckpointError(try Checkpoint.read(from: directory),
                                                    file: directory.appendingPathComponent(Checkpoint.weightsFileName).path,
                                                    contains: ["file not found"])
        XCTAssertThrowsError(try Checkpoint.read(from: directory.appendingPathComponent("absent"))) { error in
            guard case ModelError.notFound(let what)? = error as? ModelError else { return XCTFail("\(error)") }
            XCTAssertTrue(what.contains("absent"), what)
        }
    }

    /// Thousands of random mutations of a valid file: each either loads or throws `ModelError.checkpoint`.
    func testHostileMutationsNeverCrash() throws {
        let config = CheckpointTestSupport.tinyConfig()
        let model = try LanguageModel.initialized(config: config, seed: 21)
        let valid = try SafeTensors.encode(model.layout.tensors.map {
            SafeTensors.TensorData(name: $0.name, dtype: .float32, shape: $0.shape, values: model.parameters[$0.range])
        })
        let headerEnd = 8 + (Int(valid[0]) | Int(valid[1]) << 8)
        let interesting = Array("{}[]\",:0123456789-.eE \\u".utf8) + [0x00, 0x7F, 0x80, 0xC3, 0xFF]
        var generator = SeededGenerator(seed: 2024)
        var loaded = 0, rejected = 0
        for _ in 0 ..< 3000 {
            var bytes = [UInt8](valid)
            for _ in 0 ..< Int.random(in: 1 ... 4, using: &generator) {
                switch Int.random(in: 0 ..< 6, using: &generator) {
                case 0, 1:  // a header byte replaced by a JSON-significant one
                    let index = Int.random(in: 8 ..< headerEnd, using: &generator)
                    if index < bytes.count { bytes[index] = interesting.randomElement(using: &generator)! }
                case 2:  // any byte, any value
                    if !bytes.isEmpty {
                        bytes[Int.random(in: 0 ..< bytes.count, using: &generator)] = UInt8.random(in: 0 ... 255, using: &generator)
                    }
                case 3:  // the header length, anywhere in its range or wildly off
                    let length = Bool.random(using: &generator) ? UInt64.random(in: 0 ... UInt64(bytes.count), using: &generator)
                                                                : generator.next()
                    withUnsafeBytes(of: length.littleEndian) { bytes.replaceSubrange(0 ..< min(8, bytes.count), with: $0) }
                case 4:  // truncation
                    bytes.removeLast(Int.random(in: 0 ... bytes.count, using: &generator))
                default:  // a digit in the header changed, making offsets and shapes disagree
                    let digits = (8 ..< max(8, min(headerEnd, bytes.count))).filter { (0x30 ... 0x39).contains(bytes[$0]) }
                    if let index = digits.randomElement(using: &generator) { bytes[index] = UInt8.random(in: 0x30 ... 0x39, using: &generator) }
                }
            }
            do {
                _ = try Checkpoint.model(config: config, weights: parse(Data(bytes)))
                loaded += 1
            } catch ModelError.checkpoint(let file, _) {
                XCTAssertEqual(file, fileName)
                rejected += 1
            } catch {
                XCTFail("unexpected error \(error)")
            }
        }
        XCTAssertGreaterThan(loaded, 10, "mutations of the data alone still load")
        XCTAssertGreaterThan(rejected, 2000)
    }
}
