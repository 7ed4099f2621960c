import Foundation

/// A token bucket: `burst` learns at once, refilled at `perSecond`. One per user, so a client
/// that floods `learn` is answered 429 without slowing anyone else.
struct TokenBucket: Sendable {
    let perSecond: Double
    let burst: Double
    private var tokens: Double
    private var last: ContinuousClock.Instant

    init(perSecond: Double, burst: Double, now: ContinuousClock.Instant) {
        self.perSecond = perSecond
        self.burst = max(1, burst)
        tokens = self.burst
        last = now
    }

    /// Takes one token if there is one; otherwise says how many seconds until there will be.
    mutating func take(now: ContinuousClock.Instant) -> (allowed: Bool, retryAfter: Double) {
        let elapsed = now - last
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
        tokens = min(burst, tokens + max(0, seconds) * perSecond)
        last = now
        if tokens >= 1 {
            tokens -= 1
            return (true, 0)
        }
        return (false, perSecond > 0 ? (1 - tokens) / perSecond : .infinity)
    }
}
