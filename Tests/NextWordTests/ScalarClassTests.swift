import XCTest
@testable import NextWord

/// The ASCII fast paths of `ScalarClass` must answer exactly as the Unicode property lookups do.
final class ScalarClassTests: XCTestCase {
    func testASCIIFastPathsAgreeWithProperties() {
        for value in UInt32(0) ... 0x7F {
            let s = Unicode.Scalar(value)!
            XCTAssertEqual(ScalarClass.isSpace(s), ScalarClass.isSpaceByProperties(s), "isSpace U+\(String(value, radix: 16))")
            XCTAssertEqual(ScalarClass.isLetterOrDigit(s), ScalarClass.isLetterOrDigitByProperties(s), "isLetterOrDigit U+\(String(value, radix: 16))")
            XCTAssertEqual(ScalarClass.isDigit(s), ScalarClass.isDigitByProperties(s), "isDigit U+\(String(value, radix: 16))")
            XCTAssertEqual(ScalarClass.isInvisible(s), s.properties.generalCategory == .format, "isInvisible U+\(String(value, radix: 16))")
        }
    }

    func testNonASCIIStillUsesProperties() {
        XCTAssertTrue(ScalarClass.isSpace("\u{00A0}"))     // no-break space
        XCTAssertTrue(ScalarClass.isSpace("\u{0085}"))     // next line (a control)
        XCTAssertTrue(ScalarClass.isLetterOrDigit("é"))
        XCTAssertTrue(ScalarClass.isDigit("\u{0663}"))     // Arabic-Indic three
        XCTAssertTrue(ScalarClass.isInvisible("\u{200B}")) // zero-width space
        XCTAssertFalse(ScalarClass.isLetterOrDigit("\u{2019}"))
    }
}
