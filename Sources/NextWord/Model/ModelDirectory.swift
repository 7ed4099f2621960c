import Foundation

/// Finding the files that belong with a model directory.
///
/// A model names its vocabulary in `config.json` (`vocabularyFile`) and pins it by SHA-256
/// (`vocabularySHA256`): a model must never run against a different word list, because every id
/// would then mean another word. The file is looked up beside the model first (a self-contained
/// model directory), then in the repository layout `models/NAME/` + `vocab/`, i.e.
/// `<dir>/../../vocab/<name>`.
public enum ModelDirectory {
    /// Vocabulary files above this size are refused unread (16M words of a few bytes each).
    public static let maximumVocabularyBytes = 1 << 30

    /// Where the vocabulary named `name` is looked for, in order.
    public static func vocabularyCandidates(named name: String, modelDirectory: URL) -> [URL] {
        [
            modelDirectory.appendingPathComponent(name),
            modelDirectory.appendingPathComponent("..").appendingPathComponent("..")
                .appendingPathComponent("vocab").appendingPathComponent(name),
        ]
    }

    /// The vocabulary file of the model in `modelDirectory`: the first candidate whose bytes hash to
    /// `config.vocabularySHA256`. Throws `ModelError.vocabulary` naming the file when none exists,
    /// when the ones that exist all hash differently, or when the config's name or hash is malformed.
    public static func vocabularyData(for config: ModelConfig, modelDirectory: URL) throws -> (url: URL, data: Data) {
        let name = config.vocabularyFile
        try checkPlainFileName(name)
        let expected = config.vocabularySHA256.lowercased()
        guard expected.count == 64, expected.allSatisfy({ $0.isHexDigit }) else {
            throw ModelError.vocabulary(file: name, problem: "config.json's vocabularySHA256 \"\(config.vocabularySHA256)\" is not a SHA-256 hex digest")
        }
        let candidates = vocabularyCandidates(named: name, modelDirectory: modelDirectory)
        var mismatch: ModelError?
        for url in candidates {
            guard let data = try readIfPresent(url) else { continue }
            let actual = sha256Hex(data)
            if actual == expected { return (url, data) }
            // Keep looking: a stale copy beside the model must not hide the right one in vocab/;
            // but if nothing matches, the first wrong file is the one to report.
            if mismatch == nil {
                mismatch = .vocabulary(file: url.path, problem: "SHA-256 is \(actual), but config.json expects \(expected): not the vocabulary this model was trained with")
            }
        }
        throw mismatch ?? .vocabulary(file: name, problem: "not found; looked in \(candidates.map(\.path).joined(separator: " and "))")
    }

    /// Lowercase hex SHA-256 of `data`, as stored in `config.vocabularySHA256`.
    public static func sha256Hex(_ data: Data) -> String {
        Hashing.sha256Hex(data)
    }

    /// A vocabulary name comes from a possibly foreign `config.json`: it must name a file in the
    /// directory, not a path that escapes it.
    static func checkPlainFileName(_ name: String) throws {
        if name.isEmpty || name == "." || name == ".." || name.contains("/") || name.contains("\0") {
            throw ModelError.vocabulary(file: name, problem: "vocabularyFile must be a plain file name, not \"\(name)\"")
        }
    }

    /// The file's bytes, or nil when there is no file there; a directory, an oversized file or an
    /// unreadable one is an error rather than "absent", so it is not silently skipped.
    private static func readIfPresent(_ url: URL) throws -> Data? {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else { return nil }
        if isDirectory.boolValue { throw ModelError.vocabulary(file: url.path, problem: "is a directory, not a vocabulary file") }
        if let size = (try? FileManager.default.attributesOfItem(atPath: url.path))?[.size] as? NSNumber,
           size.int64Value > Int64(maximumVocabularyBytes) {
            throw ModelError.vocabulary(file: url.path, problem: "file is \(size) bytes, too large for a vocabulary")
        }
        do {
            return try Data(contentsOf: url)
        } catch {
            throw ModelError.vocabulary(file: url.path, problem: "cannot be read (\(error.localizedDescription))")
        }
    }
}
