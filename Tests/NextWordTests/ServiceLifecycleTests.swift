import Foundation
import XCTest
@testable import NextWord
@testable import NextWordService

/// The service as a process: a learn it acknowledged survives SIGKILL, SIGTERM stops it cleanly,
/// and idle or surplus users' engines are closed without losing what they learned.
final class ServiceLifecycleTests: XCTestCase {
    func testAcknowledgedLearnsSurviveSIGKILL() throws {
        let directory = try EngineFixture.temporaryDirectory("ServiceKill")
        defer { try? FileManager.default.removeItem(at: directory) }
        let (child, port) = try ServiceChild.start(dataDirectory: directory)
        var acknowledged: [String] = []
        for index in 0..<25 {  // within the learn burst (30)
            let word = "durable" + Marker.word(writer: 1, line: index)
            let answer = try LoopbackHTTP.post(port: port, path: "/v1/learn", body: #"{"user": "alice", "text": "the \#(word) entry"}"#)
            XCTAssertEqual(answer.status, 200, answer.body)
            if answer.status == 200 { acknowledged.append(word) }
        }
        child.killNow()
        child.process.waitUntilExit()
        XCTAssertEqual(child.process.terminationReason, .uncaughtSignal)

        let file = UserFileLayout(dataDirectory: directory).historyFile(for: try ClientIdentifier(validating: "alice", what: "user"))
        let store = try HistoryStore(path: file, readOnly: true)
        let missing = acknowledged.filter { store.wordCount(lower: $0).isEmpty }
        XCTAssertEqual(acknowledged.count, 25)
        XCTAssertTrue(missing.isEmpty, "acknowledged but lost after SIGKILL: \(missing)")
        XCTAssertNil(store.integrityProblem())
    }

    func testSIGTERMFinishesAndClosesEveryHistory() throws {
        let directory = try EngineFixture.temporaryDirectory("ServiceTerm")
        defer { try? FileManager.default.removeItem(at: directory) }
        let (child, port) = try ServiceChild.start(dataDirectory: directory)
        for user in ["alice", "bob"] {
            let answer = try LoopbackHTTP.post(port: port, path: "/v1/learn", body: #"{"user": "\#(user)", "text": "the zyxcorp report"}"#)
            XCTAssertEqual(answer.status, 200, answer.body)
        }
        kill(child.process.processIdentifier, SIGTERM)
        let lines = child.remainingLines()
        XCTAssertEqual(child.process.terminationReason, .exit, child.errors)
        XCTAssertTrue(lines.contains("stopped closed 2"), "\(lines) \(child.errors)")
    }

    func testSurplusAndIdleEnginesCloseAndReopenWithTheirHistory() async throws {
        var limits = UserEngines.Limits()
        limits.maximumOpenUsers = 2
        limits.idleTimeout = .zero
        let harness = try ServiceHarness.make(limits: limits)
        try await harness.run { client in
            for user in ["u1", "u2", "u3"] {
                let answer = try await client.learn(user, "the \(user)word report")
                XCTAssertEqual(answer.status, .ok, answer.text)
            }
            XCTAssertEqual(harness.service.engines.openUserCount, 2, "the least recently used engine was closed")
            XCTAssertEqual(harness.service.engines.closeIdle(), 2)
            XCTAssertEqual(harness.service.engines.openUserCount, 0)
            for user in ["u1", "u2", "u3"] {
                let words = try await client.exportedWords(user)
                XCTAssertTrue(words.contains("\(user)word"), "\(user): \(words)")
            }
        }
    }
}

/// The service side of the lifecycle tests: the `serve` mode of `ReliabilityChildTests.testChildEntry`.
enum ServiceChild {
    /// Serves the fixture model with its data in `NEXTWORD_CHILD_DB` on a free loopback port;
    /// prints `port N` once listening and `stopped closed K` after a graceful shutdown.
    static func run(dataDirectory: URL) throws {
        var configuration = ServiceConfiguration(dataDirectory: dataDirectory)
        configuration.port = 0
        let service = SuggestionService(configuration: configuration, resources: try ServiceHarness.resources())
        let done = DispatchSemaphore(value: 0)
        let failure = Locked<String?>(nil)
        Task {
            do {
                try await service.run { _, port in ReliabilityChildTests.say("port \(port)") }
            } catch {
                failure.update { $0 = "\(error)" }
            }
            done.signal()
        }
        done.wait()
        if let failure = failure.get() { throw ServiceError(.internalServerError, failure) }
        ReliabilityChildTests.say("stopped closed \(service.engines.closedAtShutdown)")
    }

    /// A child process serving `dataDirectory`, and the port it listens on.
    static func start(dataDirectory: URL) throws -> (ChildProcess, Int) {
        let child = try ChildProcess(mode: "serve", environment: ["NEXTWORD_CHILD_DB": dataDirectory.path],
                                     errorLog: dataDirectory.appendingPathComponent("child.log"))
        guard let line = child.waitForLine(startingWith: "port "), let port = Int(line.dropFirst(5)) else {
            throw ServiceError(.internalServerError, "the service child ended before listening: \(child.errors)")
        }
        return (child, port)
    }
}

/// A minimal blocking HTTP/1.1 client for loopback (one request per connection), so the
/// lifecycle tests need no HTTP client library.
enum LoopbackHTTP {
    static func post(port: Int, path: String, body: String) throws -> (status: Int, body: String) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw ServiceError(.internalServerError, "socket() failed") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw ServiceError(.internalServerError, "connect to port \(port) failed") }
        let request = "POST \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            + "Content-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)"
        let bytes = Array(request.utf8)
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBufferPointer { send(fd, $0.baseAddress, $0.count, 0) }
            guard n > 0 else { throw ServiceError(.internalServerError, "send failed") }
            sent += n
        }
        var response: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = chunk.withUnsafeMutableBufferPointer { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { break }
            response.append(contentsOf: chunk[0..<n])
        }
        let text = String(decoding: response, as: UTF8.self)
        let statusLine = text.prefix { $0 != "\r" }.split(separator: " ")
        let status = statusLine.count > 1 ? Int(statusLine[1]) ?? 0 : 0
        let bodyText = text.range(of: "\r\n\r\n").map { String(text[$0.upperBound...]) } ?? ""
        return (status, bodyText)
    }
}
