import Foundation
import NextWord

// The JSON bodies of API version 1 (docs/openapi.yaml describes the same). Field names are the
// API: renaming one is a breaking change and needs /v2.

/// `POST /v1/suggest`: the text of a field so far, which may end inside a word.
struct SuggestRequest: Decodable {
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
struct LearnRequest: Decodable {
    let user: String
    let session: String?
    let text: String
}

struct LearnResponse: Encodable {
    /// False when the field or user is incognito: nothing was kept.
    let learned: Bool
}

/// `POST /v1/forget`: a word the user wants gone from everything learned.
struct ForgetRequest: Decodable {
    let user: String
    let word: String
}

struct ForgetResponse: Encodable {
    /// Entries removed from the history (words and n-grams holding the word).
    let removed: Int
}

/// `POST /v1/incognito`: nothing typed in this field is learned while on.
struct IncognitoRequest: Decodable {
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
