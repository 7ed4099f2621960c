import CoreMetrics
import Foundation

import NextWord
import Prometheus

/// The service's metrics, recorded through swift-metrics into one Prometheus registry that
/// `GET /metrics` writes out: requests and errors by route and status, latency histograms by
/// route, the users with an open engine, and what the engine did (suggestions, learned lines).
///
/// The factory is handed to each metric rather than bootstrapped process-wide, so a test (or a
/// second service in one process) has its own registry and nothing global changes.
public final class ServiceMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    private let factory: PrometheusMetricsFactory
    private let openUsers: CoreMetrics.Gauge
    private let suggestions: CoreMetrics.Counter
    private let learnedLines: CoreMetrics.Counter
    /// Metric objects by route (and status), made once: each request then only records.
    private let byRoute = Locked<[String: CoreMetrics.Timer]>([:])
    private let byStatus = Locked<[String: CoreMetrics.Counter]>([:])

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        var factory = PrometheusMetricsFactory(registry: registry)
        // Keystroke latencies: from a tenth of a millisecond to a second.
        factory.defaultDurationHistogramBuckets = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1]
            .map { Duration.nanoseconds(Int64($0 * 1e9)) }
        self.factory = factory
        openUsers = CoreMetrics.Gauge(label: "nextword_open_users", factory: factory)
        suggestions = CoreMetrics.Counter(label: "nextword_suggestions_total", factory: factory)
        learnedLines = CoreMetrics.Counter(label: "nextword_learn_requests_total", factory: factory)
    }

    /// One answered request: its route (the matched pattern, never the raw path, so user names
    /// stay out of the labels), status and time taken.
    func recordRequest(route: String, method: String, status: Int, duration: Duration) {
        let timer = byRoute.withLock { table in
            if let timer = table[route] { return timer }
            let timer = CoreMetrics.Timer(label: "nextword_http_request_duration_seconds", dimensions: [("route", route)], factory: factory)
            table[route] = timer
            return timer
        }
        timer.recordNanoseconds(duration.components.seconds * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000)
        counter(name: "nextword_http_requests_total", route: route, method: method, status: status).increment()
        if status >= 400 {
            counter(name: "nextword_http_errors_total", route: route, method: method, status: status).increment()
        }
    }

    func recordSuggestion() { suggestions.increment() }
    func recordLearn() { learnedLines.increment() }
    func setOpenUsers(_ count: Int) { openUsers.record(count) }

    private func counter(name: String, route: String, method: String, status: Int) -> CoreMetrics.Counter {
        let key = "\(name) \(method) \(route) \(status)"
        return byStatus.withLock { table in
            if let counter = table[key] { return counter }
            let counter = CoreMetrics.Counter(label: name, dimensions: [("route", route), ("method", method), ("status", String(status))],
                                  factory: factory)
            table[key] = counter
            return counter
        }
    }

    /// The Prometheus text exposition of every metric.
    public func exposition() -> String { registry.emitToString() }
}
