import Foundation
import NextWord

/// Everything `nextword serve` is started with.
public struct ServiceConfiguration: Sendable {
    /// Loopback by default: the service answers other machines only when told to.
    public var host = "127.0.0.1"
    /// 0 picks a free port (tests); the port in use is passed to `onServerRunning`.
    public var port = 8080
    /// Where the users' history files live (`UserFileLayout`).
    public var dataDirectory: URL
    /// Bearer tokens; nil serves without authentication (allowed on loopback only).
    public var tokens: AccessTokens?
    /// This replica's name in `/healthz` (default: the host name and port).
    public var instance = ProcessInfo.processInfo.hostName
    /// Largest request body accepted (413 beyond it).
    public var maximumBodyBytes = 64 * 1024
    public var limits = UserEngines.Limits()
    /// How every user's engine mixes its sources (the dev-tuned defaults unless told otherwise).
    public var weights = MixingWeights()
    /// How often idle users' engines are looked for and closed.
    public var idleSweepInterval: Duration = .seconds(30)

    public init(dataDirectory: URL) {
        self.dataDirectory = dataDirectory
    }

    /// Whether `host` only accepts connections from this machine.
    public var isLoopbackOnly: Bool {
        host == "127.0.0.1" || host == "::1" || host == "localhost" || host.hasPrefix("127.")
    }

    /// Refuses a configuration that would expose users' data: listening beyond loopback with no
    /// tokens. Also checks the numbers.
    public func validate(allowUnauthenticated: Bool = false) throws(ServiceConfigurationError) {
        if !isLoopbackOnly, tokens == nil, !allowUnauthenticated {
            throw ServiceConfigurationError(problem: "listening on \(host) without --token-file would let anyone on the network read and change every user's data; "
                               + "pass --token-file FILE (or --allow-unauthenticated to accept that)")
        }
        guard (0...65535).contains(port) else { throw ServiceConfigurationError(problem: "--port must be between 0 and 65535, not \(port)") }
        guard maximumBodyBytes >= 1024 else { throw ServiceConfigurationError(problem: "--max-body must be at least 1024 bytes") }
        guard limits.maximumOpenUsers >= 1 else { throw ServiceConfigurationError(problem: "--max-open-users must be at least 1") }
        guard limits.learnsPerSecond > 0, limits.learnsPerSecond.isFinite else {
            throw ServiceConfigurationError(problem: "--learn-rate must be a positive number of learns per second")
        }
    }
}
