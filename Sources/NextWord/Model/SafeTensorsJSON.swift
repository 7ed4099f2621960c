/// A small, strict JSON parser for safetensors headers.
///
/// Foundation's parsers are not used here on purpose: a hostile header must not be able to hide a
/// duplicated tensor name (they keep one silently), smuggle an integer through a `Double` (they
/// accept `1e400` or `4.0` as a shape), or recurse deeply. This parser keeps object keys in order
/// with duplicates visible, reads integers exactly with overflow checks, and caps nesting depth.
/// It works on bytes that were already checked to be valid UTF-8.
enum SafeTensorsJSON: Equatable {
    case object([(key: String, value: SafeTensorsJSON)])
    case array([SafeTensorsJSON])
    case string(String)
    /// An integer literal that fits in `Int` (no fraction, no exponent).
    case integer(Int)
    /// Any other number: headers never need one, so its value is not kept.
    case otherNumber
    case bool(Bool)
    case null

    static func == (lhs: SafeTensorsJSON, rhs: SafeTensorsJSON) -> Bool {
        switch (lhs, rhs) {
        case let (.object(a), .object(b)):
            return a.count == b.count && zip(a, b).allSatisfy { $0.key == $1.key && $0.value == $1.value }
        case let (.array(a), .array(b)): return a == b
        case let (.string(a), .string(b)): return a == b
        case let (.integer(a), .integer(b)): return a == b
        case (.otherNumber, .otherNumber), (.null, .null): return true
        case let (.bool(a), .bool(b)): return a == b
        default: return false
        }
    }

    /// Why a header is not JSON, with the byte offset (within the header) where parsing stopped.
    struct SyntaxError: Error {
        let message: String
        let offset: Int
    }

    /// Headers nest three deep (header → tensor → shape); anything far deeper is hostile.
    static let maximumDepth = 32

    /// Parses one JSON value that must span all of `bytes`, apart from surrounding whitespace
    /// (the reference writer pads headers with spaces to align the data).
    static func parse(_ bytes: UnsafeRawBufferPointer) throws -> SafeTensorsJSON {
        var parser = Parser(bytes: bytes)
        parser.skipWhitespace()
        let value = try parser.parseValue(depth: 0)
        parser.skipWhitespace()
        if parser.position != bytes.count { throw parser.error("unexpected characters after the JSON value") }
        return value
    }

    private struct Parser {
        let bytes: UnsafeRawBufferPointer
        var position = 0

        init(bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

        func error(_ message: String) -> SyntaxError { SyntaxError(message: message, offset: position) }

        var current: UInt8? { position < bytes.count ? bytes[position] : nil }

        mutating func skipWhitespace() {
            while let byte = current, byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D { position += 1 }
        }

        mutating func expect(_ literal: StaticString) throws {
            let count = literal.utf8CodeUnitCount
            guard bytes.count - position >= count else { throw error("truncated literal") }
            for index in 0 ..< count where bytes[position + index] != literal.utf8Start[index] {
                throw error("invalid literal")
            }
            position += count
        }

        mutating func parseValue(depth: Int) throws -> SafeTensorsJSON {
            guard depth <= SafeTensorsJSON.maximumDepth else { throw error("nested too deeply") }
            guard let byte = current else { throw error("unexpected end of header") }
            switch byte {
            case UInt8(ascii: "{"): return try parseObject(depth: depth)
            case UInt8(ascii: "["): return try parseArray(depth: depth)
            case UInt8(ascii: "\""): return .string(try parseString())
            case UInt8(ascii: "t"): try expect("true"); return .bool(true)
            case UInt8(ascii: "f"): try expect("false"); return .bool(false)
            case UInt8(ascii: "n"): try expect("null"); return .null
            case UInt8(ascii: "-"), UInt8(ascii: "0") ... UInt8(ascii: "9"): return try parseNumber()
            default: throw error("unexpected character")
            }
        }

        mutating func parseObject(depth: Int) throws -> SafeTensorsJSON {
            position += 1  // {
            var members: [(key: String, value: SafeTensorsJSON)] = []
            skipWhitespace()
            if current == UInt8(ascii: "}") { position += 1; return .object(members) }
            while true {
                skipWhitespace()
                guard current == UInt8(ascii: "\"") else { throw error("expected a string key") }
                let key = try parseString()
                skipWhitespace()
                guard current == UInt8(ascii: ":") else { throw error("expected ':'") }
                position += 1
                skipWhitespace()
                members.append((key, try parseValue(depth: depth + 1)))
                skipWhitespace()
                switch current {
                case UInt8(ascii: ","): position += 1
                case UInt8(ascii: "}"): position += 1; return .object(members)
                default: throw error("expected ',' or '}'")
                }
            }
        }

        mutating func parseArray(depth: Int) throws -> SafeTensorsJSON {
            position += 1  // [
            var elements: [SafeTensorsJSON] = []
            skipWhitespace()
            if current == UInt8(ascii: "]") { position += 1; return .array(elements) }
            while true {
                skipWhitespace()
                elements.append(try parseValue(depth: depth + 1))
                skipWhitespace()
                switch current {
                case UInt8(ascii: ","): position += 1
                case UInt8(ascii: "]"): position += 1; return .array(elements)
                default: throw error("expected ',' or ']'")
                }
            }
        }

        mutating func parseHex4() throws -> UInt32 {
            guard bytes.count - position >= 4 else { throw error("truncated \\u escape") }
            var value: UInt32 = 0
            for _ in 0 ..< 4 {
                let byte = bytes[position]
                let digit: UInt8
                switch byte {
                case UInt8(ascii: "0") ... UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
                case UInt8(ascii: "a") ... UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
                case UInt8(ascii: "A") ... UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
                default: throw error("invalid \\u escape")
                }
                value = value << 4 | UInt32(digit)
                position += 1
            }
            return value
        }

        mutating func parseString() throws -> String {
            position += 1  // opening quote
            var scalars = String.UnicodeScalarView()
            var runStart = position
            // Unescaped runs are copied as-is: the bytes are already known to be valid UTF-8.
            func flushRun(_ end: Int) {
                if end > runStart {
                    scalars.append(contentsOf: String(decoding: UnsafeRawBufferPointer(rebasing: bytes[runStart ..< end]), as: UTF8.self).unicodeScalars)
                }
            }
            while true {
                guard let byte = current else { throw error("unterminated string") }
                switch byte {
                case UInt8(ascii: "\""):
                    flushRun(position)
                    position += 1
                    return String(scalars)
                case UInt8(ascii: "\\"):
                    flushRun(position)
                    position += 1
                    guard let escaped = current else { throw error("unterminated escape") }
                    position += 1
                    switch escaped {
                    case UInt8(ascii: "\""): scalars.append("\"")
                    case UInt8(ascii: "\\"): scalars.append("\\")
                    case UInt8(ascii: "/"): scalars.append("/")
                    case UInt8(ascii: "b"): scalars.append("\u{08}")
                    case UInt8(ascii: "f"): scalars.append("\u{0C}")
                    case UInt8(ascii: "n"): scalars.append("\n")
                    case UInt8(ascii: "r"): scalars.append("\r")
                    case UInt8(ascii: "t"): scalars.append("\t")
                    case UInt8(ascii: "u"):
                        var code = try parseHex4()
                        if (0xD800 ..< 0xDC00).contains(code) {
                            // A high surrogate must be followed by an escaped low surrogate.
                            guard bytes.count - position >= 2, bytes[position] == UInt8(ascii: "\\"),
                                  bytes[position + 1] == UInt8(ascii: "u") else { throw error("unpaired surrogate") }
                            position += 2
                            let low = try parseHex4()
                            guard (0xDC00 ..< 0xE000).contains(low) else { throw error("unpaired surrogate") }
                            code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                        }
                        guard let scalar = Unicode.Scalar(code) else { throw error("unpaired surrogate") }
                        scalars.append(scalar)
                    default: throw error("invalid escape")
                    }
                    runStart = position
                case 0x00 ..< 0x20: throw error("control character in string")
                default: position += 1
                }
            }
        }

        mutating func parseNumber() throws -> SafeTensorsJSON {
            let negative = current == UInt8(ascii: "-")
            if negative { position += 1 }
            guard let first = current, (UInt8(ascii: "0") ... UInt8(ascii: "9")).contains(first) else {
                throw error("invalid number")
            }
            var value = 0
            var overflow = false
            var digits = 0
            while let byte = current, (UInt8(ascii: "0") ... UInt8(ascii: "9")).contains(byte) {
                let digit = Int(byte - UInt8(ascii: "0"))
                let (times10, o1) = value.multipliedReportingOverflow(by: 10)
                let (next, o2) = negative ? times10.subtractingReportingOverflow(digit) : times10.addingReportingOverflow(digit)
                overflow = overflow || o1 || o2
                value = next
                digits += 1
                position += 1
            }
            if first == UInt8(ascii: "0") && digits > 1 { throw error("leading zero in number") }
            var isInteger = true
            if current == UInt8(ascii: ".") {
                isInteger = false
                position += 1
                guard skipDigits() > 0 else { throw error("invalid number") }
            }
            if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
                isInteger = false
                position += 1
                if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { position += 1 }
                guard skipDigits() > 0 else { throw error("invalid number") }
            }
            if !isInteger { return .otherNumber }
            if overflow { throw error("integer out of range") }
            return .integer(value)
        }

        mutating func skipDigits() -> Int {
            var count = 0
            while let byte = current, (UInt8(ascii: "0") ... UInt8(ascii: "9")).contains(byte) {
                position += 1
                count += 1
            }
            return count
        }
    }
}
