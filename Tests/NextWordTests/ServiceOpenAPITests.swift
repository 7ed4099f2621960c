import Foundation
import Hummingbird
import HummingbirdTesting
import XCTest
@testable import NextWord
@testable import NextWordService

/// docs/openapi.yaml against the running router: the same routes, each answering an example
/// request with a status the spec lists, in the shape of the schema it names (required fields
/// present, no undocumented ones, the declared JSON types).
final class ServiceOpenAPITests: XCTestCase {
    static let specURL = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../docs/openapi.yaml").standardized

    /// A valid request for every operation of the spec, by "METHOD /path".
    static let examples: [String: (uri: String, body: String?)] = [
        "POST /v1/suggest": ("/v1/suggest?user=alice", #"{"user": "alice", "session": "mail", "text": "We read it at ho", "limit": 3}"#),
        "POST /v1/learn": ("/v1/learn", #"{"user": "alice", "session": "mail", "text": "the zyxcorp report is long"}"#),
        "POST /v1/forget": ("/v1/forget", #"{"user": "alice", "word": "zyxcorp"}"#),
        "POST /v1/incognito": ("/v1/incognito", #"{"user": "alice", "session": "password", "on": true}"#),
        "GET /v1/users/{user}/export": ("/v1/users/alice/export", nil),
        "DELETE /v1/users/{user}/history": ("/v1/users/alice/history", nil),
        "GET /healthz": ("/healthz", nil),
        "GET /metrics": ("/metrics", nil),
        "GET /": ("/", nil),
    ]

    /// The spec's operations by "METHOD /path", its schemas and its shared responses.
    static func loadSpec() throws -> (operations: [String: [String: Any]], schemas: [String: Any], responses: [String: Any]) {
        let spec = try XCTUnwrap(try MiniYAML.parse(String(contentsOf: specURL, encoding: .utf8)) as? [String: Any])
        let paths = try XCTUnwrap(spec["paths"] as? [String: Any])
        var operations: [String: [String: Any]] = [:]
        for (path, item) in paths {
            for (method, operation) in try XCTUnwrap(item as? [String: Any]) {
                operations["\(method.uppercased()) \(path)"] = try XCTUnwrap(operation as? [String: Any])
            }
        }
        let components = try XCTUnwrap(spec["components"] as? [String: Any])
        return (operations, try XCTUnwrap(components["schemas"] as? [String: Any]),
                try XCTUnwrap(components["responses"] as? [String: Any]))
    }

    func testEveryRouteIsInTheSpecAndAnswersAsItSays() async throws {
        let harness = try ServiceHarness.make()
        _ = harness.service.makeRouter()
        let specRoutes = Set(try Self.loadSpec().operations.keys)
        XCTAssertEqual(specRoutes, Set(harness.service.routes), "routes of the spec vs the router")
        XCTAssertEqual(specRoutes, Set(Self.examples.keys), "every operation needs an example here")

        try await harness.run { client in
            let (operations, schemas, sharedResponses) = try Self.loadSpec()
            // In the order a client would go: learn before export, delete last.
            let order = ["POST /v1/learn", "POST /v1/suggest", "POST /v1/incognito", "GET /v1/users/{user}/export",
                         "POST /v1/forget", "DELETE /v1/users/{user}/history", "GET /healthz", "GET /metrics", "GET /"]
            for key in order {
                let operation = try XCTUnwrap(operations[key], key)
                let responses = try XCTUnwrap(operation["responses"] as? [String: Any], key)
                let (uri, body) = try XCTUnwrap(Self.examples[key])
                let method = HTTPRequest.Method(rawValue: String(key.prefix { $0 != " " }))!
                let answer = try await client.send(method, uri, body: body)
                let documented = try XCTUnwrap(responses[String(answer.status.code)] as? [String: Any],
                                               "\(key) answered \(answer.status.code), which the spec does not list: \(answer.text)")
                XCTAssertEqual(answer.status.code / 100, 2, "\(key): \(answer.text)")
                try Self.check(answer, against: documented, shared: sharedResponses, schemas: schemas, context: key)

                // Every operation with a body says what a malformed one gets, and gets it.
                if body != nil {
                    let bad = try await client.send(method, uri, body: "{\"user\": ")
                    let badDocumented = try XCTUnwrap(responses[String(bad.status.code)] as? [String: Any],
                                                      "\(key) answered \(bad.status.code) to malformed JSON, not in the spec")
                    XCTAssertEqual(bad.status, .badRequest)
                    try Self.check(bad, against: badDocumented, shared: sharedResponses, schemas: schemas, context: key + " (malformed)")
                }
                if key.contains("/v1/") {
                    for status in ["400", "401", "403"] {
                        XCTAssertNotNil(responses[status], "\(key) must document \(status)")
                    }
                }
            }
        }
    }

    /// Checks an answer's content type and JSON shape against a documented response.
    static func check(_ answer: ServiceAnswer, against documented: [String: Any], shared: [String: Any],
                      schemas: [String: Any], context: String) throws {
        var response = documented
        if let reference = response["$ref"] as? String {
            response = try XCTUnwrap(shared[String(reference.split(separator: "/").last!)] as? [String: Any], reference)
        }
        let content = try XCTUnwrap(response["content"] as? [String: Any], "\(context): response without content")
        let type = try XCTUnwrap(content.keys.first)
        XCTAssertTrue(answer.headers[.contentType]?.hasPrefix(type) ?? false, "\(context): \(answer.headers[.contentType] ?? "none") vs \(type)")
        guard type == "application/json" else { return }
        let schema = try XCTUnwrap((content[type] as? [String: Any])?["schema"] as? [String: Any])
        let value = try JSONSerialization.jsonObject(with: Data(answer.text.utf8))
        try checkValue(value, schema: schema, schemas: schemas, at: context)
    }

    static func checkValue(_ value: Any, schema: [String: Any], schemas: [String: Any], at place: String) throws {
        var schema = schema
        if let reference = schema["$ref"] as? String {
            schema = try XCTUnwrap(schemas[String(reference.split(separator: "/").last!)] as? [String: Any], reference)
        }
        switch schema["type"] as? String {
        case "object":
            let object = try XCTUnwrap(value as? [String: Any], "\(place): not an object")
            let properties = schema["properties"] as? [String: Any] ?? [:]
            for required in schema["required"] as? [String] ?? [] {
                XCTAssertNotNil(object[required], "\(place): missing \(required)")
            }
            if schema["additionalProperties"] as? String == "false" {
                for key in object.keys { XCTAssertNotNil(properties[key], "\(place): undocumented field \(key)") }
            }
            for (key, field) in object {
                if let fieldSchema = properties[key] as? [String: Any] {
                    try checkValue(field, schema: fieldSchema, schemas: schemas, at: "\(place).\(key)")
                }
            }
        case "array":
            let items = try XCTUnwrap(value as? [Any], "\(place): not an array")
            if let itemSchema = schema["items"] as? [String: Any] {
                for (index, item) in items.enumerated() {
                    try checkValue(item, schema: itemSchema, schemas: schemas, at: "\(place)[\(index)]")
                }
            }
        case "string":
            let text = try XCTUnwrap(value as? String, "\(place): not a string")
            if let allowed = schema["enum"] as? [String] { XCTAssertTrue(allowed.contains(text), "\(place): \(text) not in \(allowed)") }
        case "boolean":
            XCTAssertNotNil(value as? Bool, "\(place): not a boolean")
        case "integer":
            let number = try XCTUnwrap(value as? NSNumber, "\(place): not a number")
            XCTAssertEqual(number.doubleValue, number.doubleValue.rounded(), "\(place): not an integer")
        case "number":
            XCTAssertNotNil(value as? NSNumber, "\(place): not a number")
        default:
            break
        }
    }

    func testMiniYAMLReadsTheSubsetAndRefusesWhatItDoesNot() throws {
        let parsed = try XCTUnwrap(try MiniYAML.parse("""
            a: 1
            b:
              "200":
                c: "x: y"
              list:
                - one
                - key: v
                  other: w
              flow: [p, q]
              folded: >-
                two
                lines
            """) as? [String: Any])
        XCTAssertEqual(parsed["a"] as? String, "1")
        let b = try XCTUnwrap(parsed["b"] as? [String: Any])
        XCTAssertEqual((b["200"] as? [String: Any])?["c"] as? String, "x: y")
        let list = try XCTUnwrap(b["list"] as? [Any])
        XCTAssertEqual(list.first as? String, "one")
        XCTAssertEqual((list.last as? [String: Any])?["other"] as? String, "w")
        XCTAssertEqual(b["flow"] as? [String], ["p", "q"])
        XCTAssertEqual(b["folded"] as? String, "two lines")
        XCTAssertThrowsError(try MiniYAML.parse("a: 1\na: 2"))
        XCTAssertThrowsError(try MiniYAML.parse("a:\n  b: 1\n c: 2"))
    }
}
