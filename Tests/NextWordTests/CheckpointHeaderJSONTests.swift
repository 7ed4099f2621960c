import Foundation
import XCTest
@testable import NextWord

/// The strict JSON parser behind safetensors headers.
final class CheckpointHeaderJSONTests: XCTestCase {
    private func parse(_ text: String) throws -> SafeTensorsJSON {
        try Array(text.utf8).withUnsafeBytes { try SafeTensorsJSON.parse($0) }
    }

    func testValuesKeysInOrderAndExactIntegers() throws {
        let value = try parse(#" { "b" : [1, -2, 9223372036854775807, 1.5, 2e3], "a": {"x": true, "y": null, "z": false} }   "#)
        XCTAssertEqual(value, .object([
            ("b", .array([.integer(1), .integer(-2), .integer(.max), .otherNumber, .otherNumber])),
            ("a", .object([("x", .bool(true)), ("y", .null), ("z", .bool(false))])),
        ]))
        XCTAssertEqual(try parse("-9223372036854775808"), .integer(.min))
        XCTAssertEqual(try parse(#"{"k":1,"k":2}"#), .object([("k", .integer(1)), ("k", .integer(2))]), "duplicates stay visible")
    }

    func testStringEscapes() throws {
        XCTAssertEqual(try parse(#""a\"b\\c\/d\n\t\u00e9\ud83d\ude00 é""#), .string("a\"b\\c/d\n\té😀 é"))
    }

    func testRejectsMalformedJSON() {
        let bad = ["", "{", "{\"a\"}", "{\"a\":}", "[1,]", "[1 2]", "01", "-", "1.", "1e", "tru", "nul", "\"abc",
                   "\"\\x\"", "\"\\ud800\"", "\"\\ud800\\u0041\"", "\"\\u12\"", "\"a\u{01}b\"", "{a:1}", "1 2",
                   "9223372036854775808", "-9223372036854775809", "'a'"]
        for text in bad {
            XCTAssertThrowsError(try parse(text), text)
        }
    }
}
