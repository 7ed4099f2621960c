import Foundation
import Hummingbird
import HummingbirdTesting
import XCTest
@testable import NextWord
@testable import NextWordService

/// A `SuggestionService` on the tiny fixture model with its own temporary data directory, driven
/// through Hummingbird's router test client (no port is opened).
struct ServiceHarness {
    let service: SuggestionService
    let dataDirectory: URL

    static func make(tokens: AccessTokens? = nil, maximumBodyBytes: Int = 64 * 1024,
                     limits: UserEngines.Limits = UserEngines.Limits()) throws -> ServiceHarness {
        let directory = try EngineFixture.temporaryDirectory("Service")
        var configuration = ServiceConfiguration(dataDirectory: directory.appendingPathComponent("data", isDirectory: true))
        configuration.tokens = tokens
        configuration.maximumBodyBytes = maximumBodyBytes
        configuration.limits = limits
        return ServiceHarness(service: SuggestionService(configuration: configuration, resources: try Self.resources()),
                              dataDirectory: configuration.dataDirectory)
    }

    static func resources() throws -> EngineResources {
        let bundle = try EngineFixture.bundle()
        return try EngineResources(bundle: bundle, ngram: try EngineFixture.ngram(for: bundle), lexicon: EngineFixture.lexicon())
    }

    /// Runs `body` with a client of this service, then removes the data directory.
    func run(_ body: @escaping @Sendable (ServiceClient) async throws -> Void) async throws {
        defer { try? FileManager.default.removeItem(at: dataDirectory.deletingLastPathComponent()) }
        let application = Application(router: service.makeRouter())
        try await application.test(.router) { client in
            try await body(ServiceClient(client: client))
        }
    }

    /// Every file under the data directory, relative to it.
    func files() -> [String] {
        guard let walker = FileManager.default.enumerator(atPath: dataDirectory.path) else { return [] }
        return walker.compactMap { $0 as? String }.sorted()
    }
}

/// One answer: status, headers and the body as text and as JSON.
struct ServiceAnswer: Sendable {
    let status: HTTPResponse.Status
    let headers: HTTPFields
    let text: String

    var json: [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] ?? [:]
    }

    var error: String { json["error"] as? String ?? "" }

    /// The `suggestions` of a suggest answer, as their texts.
    var suggestionTexts: [String] {
        (json["suggestions"] as? [[String: Any]] ?? []).compactMap { $0["text"] as? String }
    }
}

struct ServiceClient: Sendable {
    let client: any TestClientProtocol

    func send(_ method: HTTPRequest.Method, _ uri: String, body: String? = nil, token: String? = nil,
              headers extra: HTTPFields = [:]) async throws -> ServiceAnswer {
        var headers = extra
        if body != nil { headers[.contentType] = "application/json" }
        if let token { headers[.authorization] = "Bearer \(token)" }
        return try await client.execute(uri: uri, method: method, headers: headers, body: body.map { ByteBuffer(string: $0) }) { response in
            ServiceAnswer(status: response.status, headers: response.headers, text: String(buffer: response.body))
        }
    }

    func post(_ uri: String, _ object: [String: Any], token: String? = nil) async throws -> ServiceAnswer {
        let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        return try await send(.post, uri, body: String(decoding: data, as: UTF8.self), token: token)
    }

    func suggest(_ user: String, _ text: String, session: String? = nil, limit: Int = 3, token: String? = nil) async throws -> ServiceAnswer {
        var body: [String: Any] = ["user": user, "text": text, "limit": limit]
        if let session { body["session"] = session }
        return try await post("/v1/suggest", body, token: token)
    }

    func learn(_ user: String, _ text: String, session: String? = nil, token: String? = nil) async throws -> ServiceAnswer {
        var body: [String: Any] = ["user": user, "text": text]
        if let session { body["session"] = session }
        return try await post("/v1/learn", body, token: token)
    }

    func export(_ user: String, token: String? = nil) async throws -> ServiceAnswer {
        try await send(.get, "/v1/users/\(user)/export", token: token)
    }

    /// The lowercased words of a user's export.
    func exportedWords(_ user: String, token: String? = nil) async throws -> Set<String> {
        let answer = try await export(user, token: token)
        XCTAssertEqual(answer.status, .ok, answer.text)
        return Set((answer.json["words"] as? [[String: Any]] ?? []).compactMap { ($0["text"] as? String)?.lowercased() })
    }
}
