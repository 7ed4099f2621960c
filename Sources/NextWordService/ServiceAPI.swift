import Foundation
import NextWord

/// A request body of the API: its field names, so that an unknown one (a typo such as "sesion",
/// which would otherwise be ignored silently) is refused with 400.
protocol APIRequest: Decodable {
    static var fields: Set<String> { get }
}

/// A request body read in one pass: the request itself, and the first field name it does not
/// know (nil when there is none).
struct CheckedRequest<Request: APIRequest>: Decodable {
    struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }
    let request: Request
    let unknownField: String?
    init(from decoder: any Decoder) throws {
        request = try Request(from: decoder)
        unknownField = try decoder.container(keyedBy: Key.self).allKeys.map(\.stringValue).sorted()
            .first { !Request.fields.contains($0) }
    }
}

// The JSON bodies of API version 1 (docs/openapi.yaml describes the same). Field names are the
// API: renaming one is a breaking change and needs /v2.

/// `POST /v1/suggest`: the text of a field so far, which may end inside a word.
struct SuggestRequest: APIRequest {
    static let fields: Set<String> = ["user", "session", "text", "limit"]
    let user: String
    /// The field being typed in; fields of one user keep separate document memories.
    let session: String?
    let text: String
    let limit: Int?
}

struct SuggestResponse: Encodable {
    let suggestions: [Suggestion]
}

/// `POST /v1/learn`: text the user committed (sent, saved), learned for that user only.
struct LearnRequest: APIRequest {
    static let fields: Set<String> = ["user", "session", "text"]
    let user: String
    let session: String?
    let text: String
}

struct LearnResponse: Encodable {
    /// False when the field or user is incognito: nothing was kept.
    let learned: Bool
}

/// `POST /v1/forget`: a word the user wants gone from everything learned.
struct ForgetRequest: APIRequest {
    static let fields: Set<String> = ["user", "word"]
    let user: String
    let word: String
}

struct ForgetResponse: Encodable {
    /// Entries removed from the history (words and n-grams holding the word).
    let removed: Int
}

/// `POST /v1/incognito`: nothing typed in this field is learned while on.
struct IncognitoRequest: APIRequest {
    static let fields: Set<String> = ["user", "session", "on"]
    let user: String
    let session: String
    let on: Bool
}

struct IncognitoResponse: Encodable {
    let session: String
    let incognito: Bool
}

struct ClearResponse: Encodable {
    let cleared: Bool
}

struct HealthResponse: Encodable {
    let status: String
    /// Which replica answered (`--instance`), so an operator can ask the load balancer who owns a user.
    let instance: String
    let model: String
    let openUsers: Int
}

/// Limits on what one request may ask.
enum RequestLimits {
    static let maximumSuggestions = 10
    static let defaultSuggestions = 3
    /// Longest word `forget` accepts (longer is not a word anyone typed).
    static let maximumWordLength = 200
}
