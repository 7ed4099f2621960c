import Foundation
import NextWord

/// A user or field (session) name from a request, checked before it is used for anything.
///
/// 1–64 ASCII letters, digits and `_ - . @`, starting with a letter or a digit: enough for
/// account names and e-mail-like ids, and nothing that means something to a shell, a URL or a
/// file system (`/`, `%`, `..` alone, spaces, control characters). A name never becomes a path
/// by itself: a user's history file is named by the SHA-256 of the name (`UserFileLayout`).
public struct ClientIdentifier: Hashable, Sendable, CustomStringConvertible {
    public let value: String
    public static let maximumLength = 64

    /// `what` names the field in the error ("user", "session").
    public init(validating raw: String, what: String) throws(ServiceError) {
        let bytes = Array(raw.utf8)
        guard !bytes.isEmpty else { throw .badRequest("\(what) must not be empty") }
        guard bytes.count <= Self.maximumLength else {
            throw .badRequest("\(what) is longer than \(Self.maximumLength) characters")
        }
        func isAlphanumeric(_ byte: UInt8) -> Bool {
            (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte)
        }
        guard isAlphanumeric(bytes[0]) else {
            throw .badRequest("\(what) must start with a letter or a digit")
        }
        let allowedPunctuation: Set<UInt8> = [UInt8(ascii: "_"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "@")]
        guard bytes.allSatisfy({ isAlphanumeric($0) || allowedPunctuation.contains($0) }) else {
            throw .badRequest("\(what) may hold only ASCII letters, digits and _ - . @")
        }
        value = raw
    }

    public var description: String { value }
}

/// Where each user's history lives under the service's data directory:
/// `users/<first two hex digits>/<SHA-256 of the user name, hex>.sqlite`.
///
/// Named by a hash, so that no part of a request ever becomes a path, names that differ only in
/// case stay apart on case-insensitive file systems, and the 256 shard folders keep directories
/// small. An operator finds a user's file with `printf %s NAME | sha256sum`.
public struct UserFileLayout: Sendable {
    public let dataDirectory: URL

    public init(dataDirectory: URL) { self.dataDirectory = dataDirectory }

    public func historyFile(for user: ClientIdentifier) -> URL {
        let hash = Hashing.sha256Hex(Data(user.value.utf8))
        return dataDirectory.appendingPathComponent("users", isDirectory: true)
            .appendingPathComponent(String(hash.prefix(2)), isDirectory: true)
            .appendingPathComponent(hash + ".sqlite")
    }
}
