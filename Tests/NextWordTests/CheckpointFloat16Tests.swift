import Foundation
import XCTest
@testable import NextWord

/// The hand-written binary16 conversion used for F16 checkpoints.
final class CheckpointFloat16Tests: XCTestCase {
    private typealias Half = SafeTensors.Half

    func testKnownValues() {
        // Bit patterns from the IEEE 754 binary16 tables.
        let cases: [(Float, UInt16)] = [
            (0, 0x0000), (-0.0, 0x8000), (1, 0x3C00), (-2, 0xC000), (0.5, 0x3800), (65504, 0x7BFF),
            (0x1p-14, 0x0400),            // smallest normal
            (0x1p-24, 0x0001),            // smallest subnormal
            (0x1.ff8p-15, 0x03FF),        // largest subnormal
            (0.1, 0x2E66), (1.0 / 3.0, 0x3555),
            (.infinity, 0x7C00), (-.infinity, 0xFC00),
            // Rounding: ties go to the even neighbour, anything past the tie goes up.
            (1 + 0x1p-11, 0x3C00), (1 + 0x3p-11, 0x3C02), (1 + 0x1p-11 + 0x1p-20, 0x3C01),
            (65520, 0x7C00),              // halfway between 65504 and 65536: even is infinity
            (65519.99, 0x7BFF), (1e10, 0x7C00),
            (0x1p-25, 0x0000),            // halfway between 0 and the smallest subnormal: even is 0
            (0x1.8p-25, 0x0001), (0x1p-26, 0x0000), (0x1.8p-24, 0x0002), (-0x1p-30, 0x8000),
            (0x1.ffcp-15, 0x0400),        // rounds up out of the subnormals into the smallest normal
            (.leastNonzeroMagnitude, 0x0000),
        ]
        for (value, bits) in cases {
            XCTAssertEqual(Half.bits(from: value), bits, "\(value)")
        }
        XCTAssertEqual(Half.float(fromBits: 0x3555), 0.333251953125)
        XCTAssertEqual(Half.float(fromBits: 0x0001), 0x1p-24)
        XCTAssertEqual(Half.float(fromBits: 0x8000).sign, .minus)
        XCTAssertTrue(Half.float(fromBits: 0x7E00).isNaN)
        XCTAssertTrue(Half.float(fromBits: Half.bits(from: .nan)).isNaN)
        // A NaN whose payload sits only in low bits must not turn into infinity.
        XCTAssertTrue(Half.float(fromBits: Half.bits(from: Float(bitPattern: 0x7F80_0001))).isNaN)
    }

    func testEveryHalfSurvivesARoundTrip() {
        for bits in UInt16.min ... UInt16.max {
            let value = Half.float(fromBits: bits)
            if value.isNaN {
                XCTAssertTrue(Half.float(fromBits: Half.bits(from: value)).isNaN)
            } else {
                XCTAssertEqual(Half.bits(from: value), bits, "0x\(String(bits, radix: 16))")
            }
        }
    }

    #if !(os(macOS) && arch(x86_64))
    func testAgreesWithSwiftFloat16() {
        for bits in UInt16.min ... UInt16.max {
            let reference = Float(Float16(bitPattern: bits))
            let value = Half.float(fromBits: bits)
            XCTAssertTrue(value.bitPattern == reference.bitPattern || (value.isNaN && reference.isNaN))
        }
        var generator = SeededGenerator(seed: 16)
        for _ in 0 ..< 100_000 {
            // Random bit patterns cover every exponent; random values near 1 exercise mantissa rounding.
            let value = Bool.random(using: &generator)
                ? Float(bitPattern: UInt32(truncatingIfNeeded: generator.next()))
                : generator.nextFloat(in: -2, 2)
            guard !value.isNaN else { continue }
            XCTAssertEqual(Half.bits(from: value), Float16(value).bitPattern, "\(value)")
        }
    }
    #endif
}
