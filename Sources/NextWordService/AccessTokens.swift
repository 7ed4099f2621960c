import Foundation
import NextWord

/// Who a bearer token speaks for.
public enum Principal: Equatable, Sendable {
    /// One user: their own data only.
    case user(ClientIdentifier)
    /// Any user's data (operators, support tools).
    case admin
}

/// The tokens of `--token-file`: one `NAME TOKEN` pair per line, `*` as the name for an admin
/// token; blank lines and lines starting with `#` are skipped.
///
/// Tokens are kept only as SHA-256 digests and looked up by digest, so comparing a guess takes
/// the same time whichever token it is close to.
public struct AccessTokens: Sendable {
    /// Shortest token accepted: a guessable token protects nothing.
    public static let minimumTokenLength = 16
    private var principals: [String: Principal] = [:]

    public var isEmpty: Bool { principals.isEmpty }

    public init(entries: [(name: String, token: String)]) throws(ServiceError) {
        for (name, token) in entries {
            guard token.utf8.count >= Self.minimumTokenLength else {
                throw ServiceError(.internalServerError, "the token for \"\(name)\" is shorter than \(Self.minimumTokenLength) characters")
            }
            let principal: Principal = name == "*" ? .admin : .user(try ClientIdentifier(validating: name, what: "user"))
            principals[Self.digest(token)] = principal
        }
    }

    /// Reads a token file. Refuses one that others may read (it holds credentials) or a link.
    public static func load(contentsOf file: URL) throws -> AccessTokens {
        var info = stat()
        guard lstat(file.path, &info) == 0 else {
            throw ServiceConfigurationError(file: file.path, problem: "cannot be read (\(String(cString: strerror(errno))))")
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            throw ServiceConfigurationError(file: file.path, problem: "is not a regular file (links are not followed)")
        }
        guard info.st_mode & 0o077 == 0 else {
            throw ServiceConfigurationError(file: file.path, problem: String(format: "may be read by other users (mode %o); run chmod 600 on it", info.st_mode & 0o777))
        }
        guard let text = try? String(contentsOf: file, encoding: .utf8) else {
            throw ServiceConfigurationError(file: file.path, problem: "is not UTF-8 text")
        }
        var entries: [(name: String, token: String)] = []
        for (number, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = rawLine.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard fields.count == 2 else {
                throw ServiceConfigurationError(file: file.path, problem: "line \(number + 1): expected NAME TOKEN (two fields)")
            }
            entries.append((String(fields[0]), String(fields[1])))
        }
        do {
            let tokens = try AccessTokens(entries: entries)
            guard !tokens.isEmpty else { throw ServiceConfigurationError(file: file.path, problem: "holds no tokens") }
            return tokens
        } catch let error as ServiceError {
            throw ServiceConfigurationError(file: file.path, problem: error.message)
        }
    }

    /// The principal of an `Authorization` header's value, if it is a known bearer token.
    public func principal(forAuthorization header: String?) -> Principal? {
        guard let header else { return nil }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
        return principals[Self.digest(parts[1].trimmingCharacters(in: .whitespaces))]
    }

    private static func digest(_ token: String) -> String { Hashing.sha256Hex(Data(token.utf8)) }
}

/// A start-up problem with the service's own files or options, naming the file when there is one.
public struct ServiceConfigurationError: Error, LocalizedError, Sendable {
    public let file: String?
    public let problem: String
    public init(file: String? = nil, problem: String) {
        self.file = file
        self.problem = problem
    }
    public var errorDescription: String? { file.map { "\($0): \(problem)" } ?? problem }
}
