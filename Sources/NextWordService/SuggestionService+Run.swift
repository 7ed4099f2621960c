import Foundation
import Hummingbird
import Logging
import NextWord
import ServiceLifecycle

extension SuggestionService {
    /// Serves until SIGTERM or SIGINT. Shutdown is graceful: the server stops accepting, the
    /// requests in flight finish (a learn they acknowledge is on disk), then every user's history
    /// is closed. `onServerRunning` gets the address actually bound (port 0 picks one).
    public func run(onServerRunning: @escaping @Sendable (_ host: String, _ port: Int) async -> Void = { _, _ in }) async throws {
        var logger = Logger(label: "nextword.serve")
        logger.logLevel = .warning
        let application = Application(
            router: makeRouter(),
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "nextword"),
            onServerRunning: { channel in
                await onServerRunning(channel.localAddress?.ipAddress ?? "?", channel.localAddress?.port ?? -1)
            },
            logger: logger)
        // Services stop in reverse order: the server first (draining requests), then the engines.
        let group = ServiceGroup(configuration: .init(
            services: [.init(service: EngineKeeper(engines: engines, sweepInterval: configuration.idleSweepInterval)),
                       .init(service: application)],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger))
        try await group.run()
    }
}

/// Closes idle users' engines now and then, and every history at shutdown.
struct EngineKeeper: Service {
    let engines: UserEngines
    let sweepInterval: Duration

    func run() async throws {
        do {
            try await cancelWhenGracefulShutdown {
                while true {
                    try await Task.sleep(for: sweepInterval)
                    engines.closeIdle()
                }
            }
        } catch is CancellationError {
            // Shutdown: fall through and close.
        }
        engines.closeAll()
    }
}
