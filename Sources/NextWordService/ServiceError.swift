import Foundation
import Hummingbird

/// Why a request was refused, as the client sees it: an HTTP status and one line saying what to
/// fix. Every refusal of the service goes through this type, so each answers the same JSON shape,
/// `{"error": "..."}`.
public struct ServiceError: Error, Equatable, Sendable, LocalizedError {
    public let status: HTTPResponse.Status
    public let message: String
    /// Extra response headers (`WWW-Authenticate` on 401, `Retry-After` on 429).
    public var headers: HTTPFields = [:]

    public init(_ status: HTTPResponse.Status, _ message: String, headers: HTTPFields = [:]) {
        self.status = status
        self.message = message
        self.headers = headers
    }

    public var errorDescription: String? { "\(status.code) \(status.reasonPhrase): \(message)" }

    static func badRequest(_ message: String) -> ServiceError { ServiceError(.badRequest, message) }

    static let unauthorized = ServiceError(
        .unauthorized, "this service needs a bearer token: send the header 'Authorization: Bearer TOKEN'",
        headers: [.wwwAuthenticate: "Bearer realm=\"nextword\""])

    static func forbidden(_ user: String) -> ServiceError {
        ServiceError(.forbidden, "this token does not give access to the data of user \"\(user)\"")
    }

    static func tooLarge(limit: Int) -> ServiceError {
        ServiceError(.contentTooLarge, "the request body is larger than this service accepts (\(limit) bytes)")
    }
}

/// The body of every answer that is not a success.
struct ErrorBody: Codable {
    let error: String
}

extension DecodingError {
    /// One line naming the field and the problem, for a 400 answer.
    var requestProblem: String {
        func path(_ keys: [any CodingKey]) -> String {
            keys.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
        }
        switch self {
        case .keyNotFound(let key, let context):
            let parent = path(context.codingPath)
            return "missing field \"\(parent.isEmpty ? key.stringValue : parent + "." + key.stringValue)\""
        case .typeMismatch(let type, let context):
            return "field \"\(path(context.codingPath))\" has the wrong type (expected \(Self.jsonName(of: type)))"
        case .valueNotFound(let type, let context):
            return "field \"\(path(context.codingPath))\" is null (expected \(Self.jsonName(of: type)))"
        case .dataCorrupted(let context):
            let place = path(context.codingPath)
            return place.isEmpty ? "the body is not valid JSON" : "field \"\(place)\" is not valid: \(context.debugDescription)"
        @unknown default:
            return "the body could not be read as this request"
        }
    }

    private static func jsonName(of type: Any.Type) -> String {
        switch type {
        case is String.Type: return "a string"
        case is Bool.Type: return "true or false"
        case is Int.Type, is Double.Type: return "a number"
        default: return "an object"
        }
    }
}
