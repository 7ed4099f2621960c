import ArgumentParser
import Foundation
import NextWord
import NextWordService

/// `nextword serve`: the suggestion service for keyboards, editors and web pages.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve suggestions over HTTP for many users (JSON API /v1, a try-it page at /).",
        discussion: """
            The model is loaded once and shared; each user has a history file under --data-dir \
            (users/<2 hex>/<sha256 of the user name>.sqlite). Listens on loopback unless --host says \
            otherwise; beyond loopback it needs --token-file. SIGTERM or Ctrl-C finishes the requests \
            in flight and closes every history. API: docs/openapi.yaml; deployment: docs/DEPLOYMENT.md.

            Token file: one 'NAME TOKEN' pair per line ('*' as NAME for an admin token that reaches \
            every user's data), mode 600.
            """)

    @OptionGroup var modelOptions: ModelOptions

    @Option(help: "Address to listen on.")
    var host = "127.0.0.1"

    @Option(help: "Port to listen on (0 picks a free one).")
    var port = 8080

    @Option(help: "Folder for the users' history files (default: $XDG_DATA_HOME/nextword/service).")
    var dataDir: String?

    @Option(help: "Bearer tokens, one 'NAME TOKEN' per line; without it no authentication (loopback only).")
    var tokenFile: String?

    @Flag(help: "Listen beyond loopback without tokens (anyone who can connect reads every user's data).")
    var allowUnauthenticated = false

    @Option(help: "This replica's name, reported by /healthz (default: host name:port).")
    var instance: String?

    @Option(help: "Largest request body in bytes.")
    var maxBody = 64 * 1024

    @Option(help: "Users whose engines stay open at once (least recently used closed beyond it).")
    var maxOpenUsers = 256

    @Option(help: "Seconds after which an idle user's engine is closed.")
    var idleSeconds = 600

    @Option(help: "Learn requests per user and second (429 beyond it).")
    var learnRate = 5.0

    @Option(help: "Mixing weights instead of the tuned defaults, as for simulate (e.g. usercache=0,dyn=0).")
    var mix: String?

    @Option(help: "Learn requests a user may send at once before the rate applies.")
    var learnBurst = 30

    func run() async throws {
        let dataDirectory = dataDir.map { URL(fileURLWithPath: $0) } ?? Self.defaultDataDirectory()
        var configuration = ServiceConfiguration(dataDirectory: dataDirectory)
        configuration.host = host
        configuration.port = port
        configuration.maximumBodyBytes = maxBody
        configuration.instance = instance ?? "\(ProcessInfo.processInfo.hostName):\(port)"
        configuration.limits.maximumOpenUsers = maxOpenUsers
        configuration.limits.idleTimeout = .seconds(max(1, idleSeconds))
        configuration.limits.learnsPerSecond = learnRate
        configuration.limits.learnBurst = Double(max(1, learnBurst))
        configuration.weights = try MixingWeights(parsing: mix ?? "")
        if let tokenFile { configuration.tokens = try AccessTokens.load(contentsOf: URL(fileURLWithPath: tokenFile)) }
        do {
            try configuration.validate(allowUnauthenticated: allowUnauthenticated)
        } catch {
            throw ValidationError(error.problem)
        }
        let start = Date()
        let resources = try EngineResources.load(from: try modelOptions.resolve())
        let service = SuggestionService(configuration: configuration, resources: resources)
        let loadMilliseconds = Int(Date().timeIntervalSince(start) * 1000)
        let authentication = configuration.tokens == nil ? "no authentication" : "bearer tokens"
        do {
            try await service.run { host, port in
                let line = "nextword serve: model \(resources.bundle.name) (loaded in \(loadMilliseconds) ms), "
                    + "histories in \(dataDirectory.path), \(authentication); listening on http://\(host):\(port)\n"
                FileHandle.standardOutput.write(Data(line.utf8))
            }
        } catch {
            let reason = "\(error)".contains("Address already in use") ? "the port is already in use" : "\(error)"
            throw ServeFailure(description: "cannot serve on \(host):\(port): \(reason)")
        }
        FileHandle.standardOutput.write(Data("nextword serve: stopped; every history closed\n".utf8))
    }

    /// `$XDG_DATA_HOME/nextword/service`, else `~/.local/share/nextword/service`.
    static func defaultDataDirectory() -> URL {
        HistoryStore.defaultPath(environment: ProcessInfo.processInfo.environment.filter { $0.key != "NEXTWORD_HISTORY" })
            .deletingLastPathComponent().appendingPathComponent("service", isDirectory: true)
    }
}

/// The server could not start or stopped with an error (one line for the CLI).
struct ServeFailure: Error, CustomStringConvertible {
    let description: String
}
