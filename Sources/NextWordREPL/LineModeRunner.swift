import Foundation
import NextWord

/// The scriptable, non-interactive mode used when standard input is not a terminal.
///
/// For each input line it writes exactly one output line: the suggestions for that line's text,
/// separated by tabs (an empty line when there are none), or with `json` a JSON array of
/// `{"probability":…,"source":…,"text":…}` objects. Each line is suggested on its own (no context
/// from earlier lines) and is not learned unless `learn` is set, in which case it is learned (trimmed)
/// after its suggestions are written. Output is written line by line, unbuffered, so a co-process can
/// read each answer before sending the next line. Lines end at "\n"; a trailing "\r" is removed. A line
/// that is not valid UTF-8 gets an empty output line and a warning on the error stream.
public struct LineModeRunner {
    public var engine: any SuggestionProviding
    public var count: Int
    public var json: Bool
    public var learn: Bool
    /// Longest line kept, in bytes; of longer lines only the end is used (suggestions depend on the end).
    public var maximumLineBytes: Int

    public init(engine: any SuggestionProviding, count: Int = 3, json: Bool = false, learn: Bool = false,
                maximumLineBytes: Int = 1 << 20) {
        self.engine = engine
        self.count = max(count, 1)
        self.json = json
        self.learn = learn
        self.maximumLineBytes = max(maximumLineBytes, 16)
    }

    /// Reads `input` to its end; returns the number of lines answered.
    @discardableResult
    public func run(input: Int32, output: Int32, errors: Int32) throws -> Int {
        var reader = LineReader(fileDescriptor: input, maximumLineBytes: maximumLineBytes)
        var number = 0
        var learnFailureReported = false
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        while let bytes = try reader.nextLine() {
            number += 1
            guard let line = String(validating: bytes, as: UTF8.self) else {
                try FileDescriptorIO.writeAll(Array("nextword: line \(number) is not valid UTF-8; skipped\n".utf8),
                                              to: errors, what: "the error output")
                try FileDescriptorIO.writeAll(Array((json ? "[]\n" : "\n").utf8), to: output, what: "the output")
                continue
            }
            let suggestions = engine.suggest(prefix: line, limit: count).prefix(count).map { $0 }
            var answer: [UInt8]
            if json {
                answer = Array(try encoder.encode(suggestions))
            } else {
                // A tab or newline inside a suggestion would break the one-line, tab-separated format.
                answer = Array(suggestions.map { sanitizedField($0.text) }.joined(separator: "\t").utf8)
            }
            answer.append(UInt8(ascii: "\n"))
            try FileDescriptorIO.writeAll(answer, to: output, what: "the output")
            if learn && !engine.incognito {
                let text = line.trimmingWhitespace()
                // A store that cannot learn (a full disk, a read-only file) must not stop the
                // answers: say so once, keep answering.
                do {
                    if !text.isEmpty { try engine.learn(text) }
                } catch {
                    if !learnFailureReported {
                        learnFailureReported = true
                        let message = (error as? LocalizedError)?.errorDescription ?? "\(error)"
                        let warning = "nextword: line \(number) was not learned (\(message)); answering on, "
                            + "later failures are not reported\n"
                        try FileDescriptorIO.writeAll(Array(warning.utf8), to: errors, what: "the error output")
                    }
                }
            }
        }
        return number
    }

    private func sanitizedField(_ text: String) -> String {
        String(String.UnicodeScalarView(text.unicodeScalars.map { LineEditor.isControl($0) ? " " : $0 }))
    }
}

/// Reads "\n"-terminated lines from a file descriptor in chunks, without Foundation's buffering, so
/// each line is answered as soon as it arrives.
struct LineReader {
    let fileDescriptor: Int32
    let maximumLineBytes: Int
    private var buffer: [UInt8] = []
    private var searchFrom = 0
    private var atEnd = false

    init(fileDescriptor: Int32, maximumLineBytes: Int) {
        self.fileDescriptor = fileDescriptor
        self.maximumLineBytes = maximumLineBytes
    }

    /// The next line without its "\n" (and "\r"), or nil at the end of input. The last line needs no "\n".
    mutating func nextLine() throws -> [UInt8]? {
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            if let newline = buffer[searchFrom...].firstIndex(of: UInt8(ascii: "\n")) {
                var line = Array(buffer[..<newline])
                buffer.removeSubrange(...newline)
                searchFrom = 0
                if line.last == UInt8(ascii: "\r") { line.removeLast() }
                return line
            }
            searchFrom = buffer.count
            if atEnd {
                guard !buffer.isEmpty else { return nil }
                defer { buffer.removeAll(); searchFrom = 0 }
                return buffer.last == UInt8(ascii: "\r") ? Array(buffer.dropLast()) : buffer
            }
            if buffer.count > maximumLineBytes {
                // Keep the end of an overlong line, starting at a UTF-8 lead byte.
                var cut = buffer.count - maximumLineBytes / 2
                while cut < buffer.count, buffer[cut] & 0xC0 == 0x80 { cut += 1 }
                buffer.removeSubrange(..<cut)
                searchFrom = buffer.count
            }
            let count = chunk.withUnsafeMutableBytes { read(fileDescriptor, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                if errno == EAGAIN || errno == EWOULDBLOCK {  // non-blocking input: wait for data
                    var pfd = pollfd(fd: fileDescriptor, events: Int16(POLLIN), revents: 0)
                    _ = poll(&pfd, 1, -1)
                    continue
                }
                throw ReplError.readFailed(what: "standard input", errno: errno)
            }
            if count == 0 { atEnd = true } else { buffer += chunk[..<count] }
        }
    }
}
