import CKernels
import Foundation

/// Saving and loading a `LanguageModel` as a model directory:
///
///     config.json          ModelConfig, pretty-printed with sorted keys
///     model.safetensors    exactly the tensors of `ParameterLayout(config)`, in layout order
///     <vocabularyFile>     optional, when the caller passes the vocabulary's bytes
///
/// Loading trusts nothing: the config is decoded and validated, and every tensor's name, dtype,
/// shape, offsets and values are checked against it. Problems are `ModelError`s that name the file
/// (and the tensor). Every file is written to a temporary name and renamed into place, and
/// `config.json` goes last, so an interrupted save never leaves a half-written file under a real name.
package enum Checkpoint {
    /// How tensor elements are stored on disk. Loading takes either, per tensor.
    public enum Storage: String, Sendable, CaseIterable {
        /// Exact: a saved and reloaded model is bit-identical.
        case float32
        /// Half the size; each value rounded to the nearest binary16 (ties to even).
        case float16

        var dtype: SafeTensors.DType { self == .float32 ? .float32 : .float16 }
    }

    public static let configFileName = "config.json"
    public static let weightsFileName = "model.safetensors"
    /// `config.json` files above this size are refused unread (a real one is a few KB).
    static let maximumConfigBytes = 16 << 20

    /// Writes `model` into `directory` (created if needed), replacing any model already there.
    ///
    /// - Parameters:
    ///   - storage: element type of the weights file. Throws `ModelError.invalidInput` for a
    ///     non-finite parameter, or one too large for F16, rather than save an unloadable model.
    ///   - vocabulary: if given, the vocabulary file's bytes, written beside the model under
    ///     `config.vocabularyFile`; they must hash to `config.vocabularySHA256`, or nothing is written.
    public static func write(_ model: LanguageModel, to directory: URL, storage: Storage = .float32,
                             vocabulary: Data? = nil) throws {
        let config = model.config
        try config.validate()
        let layout = ParameterLayout(config)
        guard model.parameters.count == layout.totalCount else {
            throw ModelError.invalidInput("model has \(model.parameters.count) parameters, its config needs \(layout.totalCount)")
        }
        // Refuse to save what `read` would refuse to load: NaN or infinity, or values beyond ±65504
        // (which F16 rounds to infinity, and which `read` refuses in F32 too).
        for tensor in layout.tensors {
            let bad = storage == .float32
                ? firstOutOfRange(model.parameters, tensor.range)
                : model.parameters[tensor.range].firstIndex { !SafeTensors.Half.float(fromBits: SafeTensors.Half.bits(from: $0)).isFinite }
            if let bad {
                throw ModelError.invalidInput("tensor \"\(tensor.name)\" element \(bad - tensor.offset) is \(model.parameters[bad]), which \(storage.rawValue) storage cannot hold as a finite value")
            }
        }
        if let vocabulary {
            try ModelDirectory.checkPlainFileName(config.vocabularyFile)
            let digest = ModelDirectory.sha256Hex(vocabulary)
            guard digest == config.vocabularySHA256.lowercased() else {
                throw ModelError.vocabulary(file: config.vocabularyFile,
                                            problem: "SHA-256 of the given vocabulary is \(digest), but the config says \(config.vocabularySHA256)")
            }
        }
        let weights = try SafeTensors.encode(
            layout.tensors.map {
                SafeTensors.TensorData(name: $0.name, dtype: storage.dtype, shape: $0.shape,
                                       values: model.parameters[$0.range])
            },
            metadata: ["format": ModelConfig.formatName])
        let configData = try encodeConfig(config)

        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            throw ModelError.checkpoint(file: directory.path, problem: "cannot create the model directory (\(error.localizedDescription))")
        }
        func store(_ data: Data, as name: String) throws {
            let url = directory.appendingPathComponent(name)
            do { try AtomicFileWriter.store(data, at: url) } catch { throw ModelError.checkpoint(file: url.path, problem: error.problem) }
        }
        if let vocabulary { try store(vocabulary, as: config.vocabularyFile) }
        try store(weights, as: weightsFileName)
        try store(configData, as: configFileName)
    }

    /// The largest weight magnitude a model file may hold, in either storage: fp16's largest
    /// finite value. A trained model's weights are far smaller; 1e37 in an fp32 file is damage.
    public static let maximumWeightMagnitude: Float = 65_504

    /// Loads and checks the model in `directory` (the vocabulary is resolved separately, see
    /// `ModelDirectory.vocabularyData(for:modelDirectory:)`).
    public static func read(from directory: URL) throws -> LanguageModel {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw ModelError.notFound("model directory \(directory.path) not found")
        }
        let config = try readConfig(from: directory)
        let weights = try SafeTensors(contentsOf: directory.appendingPathComponent(weightsFileName))
        return try model(config: config, weights: weights)
    }

    /// Reads, decodes and validates `config.json` in `directory`.
    public static func readConfig(from directory: URL) throws -> ModelConfig {
        var info = stat()
        if stat(directory.path, &info) != 0 {
            throw ModelError.checkpoint(file: directory.path, problem: "no such model directory")
        }
        if (info.st_mode & S_IFMT) != S_IFDIR {
            throw ModelError.checkpoint(file: directory.path, problem: "is a file, not a model directory (a folder with \(configFileName) and its weights)")
        }
        let url = directory.appendingPathComponent(configFileName)
        let attributes = try? FileManager.default.attributesOfItem(atPath: url.path)
        guard let attributes else { throw ModelError.checkpoint(file: url.path, problem: "file not found") }
        if let size = attributes[.size] as? NSNumber, size.int64Value > Int64(maximumConfigBytes) {
            throw ModelError.checkpoint(file: url.path, problem: "file is \(size) bytes, too large for a model config")
        }
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw ModelError.checkpoint(file: url.path, problem: "cannot be read (\(error.localizedDescription))")
        }
        return try decodeConfig(data, file: url.path)
    }

    /// Decodes a config, checking the format name and version first so a newer or foreign file gets
    /// a plain "version N is not supported" rather than a missing-field error.
    static func decodeConfig(_ data: Data, file: String) throws -> ModelConfig {
        struct Identity: Decodable {
            var format: String?
            var formatVersion: Int?
        }
        func fail(_ problem: String) -> ModelError { .checkpoint(file: file, problem: problem) }
        let decoder = JSONDecoder()
        let identity: Identity
        do {
            identity = try decoder.decode(Identity.self, from: data)
        } catch {
            throw fail("not a model config: \(describe(error))")
        }
        guard identity.format == ModelConfig.formatName else {
            throw fail("format is \(identity.format.map { "\"\($0)\"" } ?? "missing"), expected \"\(ModelConfig.formatName)\"")
        }
        guard identity.formatVersion == ModelConfig.currentFormatVersion else {
            throw fail("format version \(identity.formatVersion.map(String.init) ?? "missing") is not supported (this build reads \(ModelConfig.currentFormatVersion))")
        }
        let config: ModelConfig
        do {
            config = try decoder.decode(ModelConfig.self, from: data)
        } catch {
            throw fail("not a model config: \(describe(error))")
        }
        do {
            try config.validate()
        } catch let error as ModelError {
            throw fail(error.description)
        }
        return config
    }

    /// `config.json`'s bytes: pretty-printed, sorted keys, so diffs between models read well.
    static func encodeConfig(_ config: ModelConfig) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        do {
            var data = try encoder.encode(config)
            data.append(UInt8(ascii: "\n"))
            return data
        } catch {
            throw ModelError.invalidInput("config cannot be encoded: \(error)")
        }
    }

    /// Builds the model from a parsed weights file, checking it holds exactly the config's tensors
    /// with the config's shapes and only finite values.
    static func model(config: ModelConfig, weights: SafeTensors) throws -> LanguageModel {
        func fail(_ problem: String) -> ModelError { .checkpoint(file: weights.fileName, problem: problem) }
        let layout = ParameterLayout(config)
        let expected = Dictionary(uniqueKeysWithValues: layout.tensors.map { ($0.name, $0) })
        for tensor in weights.tensors where expected[tensor.name] == nil {
            let hint = tensor.name == "decoder.weight" && config.tied ? " (config.json says the decoder is tied to the embedding)" : ""
            throw fail("unexpected tensor \"\(tensor.name)\"\(hint)")
        }
        var parameters = [Float](repeating: 0, count: layout.totalCount)
        for slot in layout.tensors {
            guard let tensor = weights.tensor(named: slot.name) else {
                let hint = slot.name == "decoder.weight" ? " (config.json says the decoder is not tied)" : ""
                throw fail("missing tensor \"\(slot.name)\"\(hint)")
            }
            guard tensor.shape == slot.shape else {
                throw fail("tensor \"\(slot.name)\" has shape \(tensor.shape), config.json needs \(slot.shape)")
            }
            parameters.withUnsafeMutableBufferPointer { buffer in
                weights.copyFloats(of: tensor, into: UnsafeMutableBufferPointer(rebasing: buffer[slot.range]))
            }
            // Non-finite, or finite but absurd (1e37: every product overflows to inf and the softmax
            // to NaN, so such a file would give "perplexity: nan" and no suggestions). One pass: a
            // NaN fails the comparison too.
            if let bad = firstOutOfRange(parameters, slot.range) {
                if !parameters[bad].isFinite {
                    throw fail("tensor \"\(slot.name)\" holds a non-finite value (\(parameters[bad])) at element \(bad - slot.offset)")
                }
                throw fail("tensor \"\(slot.name)\" holds \(parameters[bad]) at element \(bad - slot.offset), beyond the ±"
                           + "\(Int(Self.maximumWeightMagnitude)) a model file may hold: the file is damaged")
            }
        }
        return try LanguageModel(config: config, parameters: parameters)
    }

    /// The first index in `range` whose value is not a number or beyond ±`maximumWeightMagnitude`:
    /// what a model file may not hold, checked in a vectorized C loop (a model is checked at every start).
    private static func firstOutOfRange(_ parameters: [Float], _ range: Range<Int>) -> Int? {
        let found = parameters.withUnsafeBufferPointer { p in
            range.lowerBound + nw_first_out_of_range(p.baseAddress! + range.lowerBound, range.count, maximumWeightMagnitude)
        }
        return found < range.upperBound ? found : nil
    }

    /// One readable line for a decoding failure.
    private static func describe(_ error: Error) -> String {
        func path(_ codingPath: [CodingKey]) -> String {
            codingPath.isEmpty ? "top level" : codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
        }
        guard let error = error as? DecodingError else { return "\(error)" }
        switch error {
        case .keyNotFound(let key, let context):
            return "missing field \"\(key.stringValue)\"" + (context.codingPath.isEmpty ? "" : " in \(path(context.codingPath))")
        case .typeMismatch(_, let context) where context.codingPath.isEmpty:
            return "not a JSON object"
        case .typeMismatch(_, let context), .valueNotFound(_, let context):
            return "field \(path(context.codingPath)) has the wrong type"
        case .dataCorrupted(let context):
            return context.codingPath.isEmpty ? "not valid JSON" : "field \(path(context.codingPath)) is invalid"
        @unknown default:
            return "\(error)"
        }
    }
}
