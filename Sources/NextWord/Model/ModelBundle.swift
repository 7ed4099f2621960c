import Foundation

/// A model ready to use: the network, its vocabulary and where it was loaded from.
public struct ModelBundle: Sendable {
    package let model: LanguageModel
    public let vocabulary: Vocabulary
    public let directory: URL
    public var name: String { directory.lastPathComponent }
    public var config: ModelConfig { model.config }

    package init(model: LanguageModel, vocabulary: Vocabulary, directory: URL) {
        self.model = model
        self.vocabulary = vocabulary
        self.directory = directory
    }

    /// Loads and checks a model directory: weights against the config, the vocabulary against the
    /// config's SHA-256 and size.
    public static func load(from directory: URL) throws -> ModelBundle {
        let model = try Checkpoint.read(from: directory)
        let (url, data) = try ModelDirectory.vocabularyData(for: model.config, modelDirectory: directory)
        let vocabulary = try Vocabulary(words: TextFile.lines(of: data, file: url.path), file: url.path)
        guard vocabulary.count == model.config.vocabSize else {
            throw ModelError.vocabulary(file: url.path,
                                        problem: "has \(vocabulary.count) words but the model has \(model.config.vocabSize)")
        }
        return ModelBundle(model: model, vocabulary: vocabulary, directory: directory)
    }

    /// The tokenizer the model was trained with.
    public var tokenizer: Tokenizer {
        Tokenizer(mode: config.tokenization == .pretokenized ? .pretokenized : .natural)
    }

    /// Token ids of text lines as the model reads them: a leading `</s>` (the start of the first
    /// line is context only), then each line's tokens and one `</s>`. Unknown words become `<unk>`.
    public func stream(lines: [String]) -> (ids: [Int32], tokens: Int, outOfVocabulary: Int) {
        let tokenizer = self.tokenizer
        var ids: [Int32] = [Int32(vocabulary.endOfSentenceID)]
        var tokens = 0, oov = 0
        for line in lines {
            for word in tokenizer.modelTokens(line: line, lowercase: config.lowercase) {
                tokens += 1
                if let id = vocabulary.id(word) {
                    ids.append(Int32(id))
                } else {
                    oov += 1
                    ids.append(Int32(vocabulary.unknownID))
                }
            }
            ids.append(Int32(vocabulary.endOfSentenceID))
        }
        return (ids, tokens, oov)
    }
}

/// Finds the model to use when none is named: the `NEXTWORD_MODEL` environment variable, then
/// `models/default` next to the executable (installed layouts `bin/../share/nextword/models` and
/// the executable's own directory), then upwards from the working directory and from the executable
/// (a checkout running `swift run` or `.build/release/nextword`).
public enum ModelLocator {
    public static let defaultName = "default"

    public static func candidates(environment: [String: String], executable: URL, workingDirectory: URL) -> [URL] {
        var list: [URL] = []
        if let named = environment["NEXTWORD_MODEL"], !named.isEmpty { list.append(URL(fileURLWithPath: named)) }
        let bin = executable.resolvingSymlinksInPath().deletingLastPathComponent()
        list.append(bin.appendingPathComponent("../share/nextword/models/\(defaultName)").standardized)
        list.append(bin.appendingPathComponent("models/\(defaultName)"))
        for start in [workingDirectory, bin] {
            var directory = start.standardized
            for _ in 0 ..< 8 {
                list.append(directory.appendingPathComponent("models/\(defaultName)"))
                let parent = directory.deletingLastPathComponent()
                if parent.path == directory.path { break }
                directory = parent
            }
        }
        return list
    }

    /// The first candidate holding a `config.json`, or a `ModelError.notFound` listing where it looked.
    public static func locateDefault(environment: [String: String] = ProcessInfo.processInfo.environment,
                                     executable: URL = ExecutablePath.current(),
                                     workingDirectory: URL = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)) throws -> URL {
        let list = candidates(environment: environment, executable: executable, workingDirectory: workingDirectory)
        if let named = environment["NEXTWORD_MODEL"], !named.isEmpty {
            // An explicit choice is never silently replaced by another model.
            return URL(fileURLWithPath: named)
        }
        for candidate in list where FileManager.default.fileExists(atPath: candidate.appendingPathComponent(Checkpoint.configFileName).path) {
            return candidate
        }
        throw ModelError.notFound("no default model found (looked in \(list.prefix(4).map(\.path).joined(separator: ", ")) and the folders above); name a model directory or set NEXTWORD_MODEL")
    }
}

/// Where this program's executable really is, whatever argv[0] says (a bare name found on $PATH,
/// a relative path, a symbolic link): the installed layout is found from it.
public enum ExecutablePath {
    public static func current() -> URL {
        #if os(Linux)
        var buffer = [CChar](repeating: 0, count: 4096)
        let length = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        if length > 0 {
            return URL(fileURLWithPath: String(decoding: buffer[0 ..< length].map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        #elseif canImport(Darwin)
        var size: UInt32 = 4096
        var buffer = [CChar](repeating: 0, count: Int(size))
        if _NSGetExecutablePath(&buffer, &size) == 0 {
            return URL(fileURLWithPath: String(cString: buffer)).resolvingSymlinksInPath()
        }
        #endif
        return URL(fileURLWithPath: CommandLine.arguments.first ?? "nextword").resolvingSymlinksInPath()
    }
}
