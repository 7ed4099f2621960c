import Foundation

/// Reads the YAML subset docs/openapi.yaml is written in, so the contract test needs no YAML
/// library: maps nested by indentation, `- ` lists (of scalars or of maps), `[a, b]` flow lists,
/// quoted or plain scalars, `>-` folded text. Maps become `[String: Any]`, lists `[Any]`, scalars
/// `String`. Anything outside the subset throws, naming the line, rather than being misread.
struct MiniYAML {
    struct Failure: Error, CustomStringConvertible {
        let line: Int
        let problem: String
        var description: String { "openapi.yaml line \(line): \(problem)" }
    }

    private struct Line {
        let number: Int
        var indent: Int
        var text: String
    }

    private var lines: [Line] = []
    private var index = 0

    static func parse(_ text: String) throws -> Any {
        var parser = MiniYAML()
        for (number, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = raw.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            guard !raw.contains("\t") else { throw Failure(line: number + 1, problem: "tabs are not YAML indentation") }
            parser.lines.append(Line(number: number + 1, indent: raw.prefix { $0 == " " }.count, text: trimmed))
        }
        guard let first = parser.lines.first else { return [String: Any]() }
        let document = try parser.block(indent: first.indent)
        guard parser.index == parser.lines.count else {
            throw Failure(line: parser.lines[parser.index].number, problem: "unexpected indentation")
        }
        return document
    }

    private mutating func block(indent: Int) throws -> Any {
        lines[index].text.hasPrefix("- ") ? try list(indent: indent) : try map(indent: indent)
    }

    private mutating func map(indent: Int) throws -> [String: Any] {
        var result: [String: Any] = [:]
        while index < lines.count, lines[index].indent == indent, !lines[index].text.hasPrefix("- ") {
            let line = lines[index]
            guard let (key, rest) = Self.keyAndRest(line.text) else {
                throw Failure(line: line.number, problem: "expected 'key: value'")
            }
            guard result[key] == nil else { throw Failure(line: line.number, problem: "duplicate key \(key)") }
            index += 1
            result[key] = try value(rest, under: indent)
        }
        return result
    }

    private mutating func list(indent: Int) throws -> [Any] {
        var result: [Any] = []
        while index < lines.count, lines[index].indent == indent, lines[index].text.hasPrefix("- ") {
            let item = String(lines[index].text.dropFirst(2))
            if !item.hasPrefix("\""), Self.keyAndRest(item) != nil {
                // `- key: value` opens a map whose keys line up two columns further in.
                lines[index].indent = indent + 2
                lines[index].text = item
                result.append(try map(indent: indent + 2))
            } else {
                index += 1
                result.append(Self.scalar(item))
            }
        }
        return result
    }

    private mutating func value(_ rest: String, under indent: Int) throws -> Any {
        if rest == ">-" || rest == ">" {
            var words: [String] = []
            while index < lines.count, lines[index].indent > indent {
                words.append(lines[index].text)
                index += 1
            }
            return words.joined(separator: " ")
        }
        if rest.isEmpty {
            guard index < lines.count, lines[index].indent > indent else { return "" }
            return try block(indent: lines[index].indent)
        }
        return Self.scalar(rest)
    }

    /// `key: rest` or `key:`; the key may be quoted. Nil for a line that is not a map entry.
    private static func keyAndRest(_ text: String) -> (String, String)? {
        let key: String
        let rest: Substring
        if text.hasPrefix("\"") {
            guard let close = text.dropFirst().firstIndex(of: "\""),
                  text[text.index(after: close)...].hasPrefix(":") else { return nil }
            key = String(text[text.index(after: text.startIndex) ..< close])
            rest = text[text.index(close, offsetBy: 2)...]
        } else if let colon = text.range(of: ": ") {
            key = String(text[..<colon.lowerBound])
            rest = text[colon.upperBound...]
        } else if text.hasSuffix(":") {
            key = String(text.dropLast())
            rest = ""
        } else {
            return nil
        }
        return (key, rest.trimmingCharacters(in: .whitespaces))
    }

    private static func scalar(_ text: String) -> Any {
        if text.hasPrefix("\""), text.hasSuffix("\""), text.count >= 2 {
            return String(text.dropFirst().dropLast()).replacingOccurrences(of: "\\\"", with: "\"")
        }
        if text.hasPrefix("["), text.hasSuffix("]") {
            return text.dropFirst().dropLast().split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }
        }
        return text
    }
}
