import Foundation

/// Everything that can go wrong turning bytes and files into tokens, vocabularies and lexicons.
/// Each case names the file (where there is one) and the problem, so the CLI can print one line.
public enum TextError: Error, Equatable, CustomStringConvertible, LocalizedError {
    /// Bytes handed to `Tokenizer.tokenize(utf8:)` are not valid UTF-8; `offset` is the index of
    /// the first byte of the first ill-formed sequence (counted from the start of the collection).
    case invalidUTF8(offset: Int)
    /// A text file (corpus, vocabulary, lexicon) holds bytes that are not UTF-8. `line` is 1-based;
    /// `offset` is the byte offset of the first ill-formed sequence from the start of the file.
    case invalidUTF8InFile(file: String, line: Int, offset: Int)
    /// A word list is malformed (duplicate, empty or spaced word, missing special token).
    case vocabulary(file: String, problem: String)
    /// A lexicon file is malformed (bad field count, bad count, duplicate word).
    case lexicon(file: String, problem: String)
    /// A file could not be read or written.
    case io(file: String, problem: String)

    /// The same one line as `description`, for `localizedDescription`.
    public var errorDescription: String? { description }

    public var description: String {
        switch self {
        case .invalidUTF8(let offset):
            return "invalid UTF-8 at byte offset \(offset)"
        case .invalidUTF8InFile(let file, let line, let offset):
            return "\(file): line \(line): invalid UTF-8 at byte offset \(offset)"
        case .vocabulary(let file, let problem):
            return "\(file): vocabulary: \(problem)"
        case .lexicon(let file, let problem):
            return "\(file): lexicon: \(problem)"
        case .io(let file, let problem):
            return "\(file): \(problem)"
        }
    }

    /// The name used in errors for word lists and counts that did not come from a file.
    static let inMemory = "<memory>"
}
