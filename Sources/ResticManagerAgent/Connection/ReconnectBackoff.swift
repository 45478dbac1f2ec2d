/// Reconnect delays: exponential back-off with full jitter (SPEC §4.5).
///
/// The n-th consecutive failure waits a uniformly random time in
/// `[0, min(cap, base · 2ⁿ)]`; "full jitter" spreads a fleet that lost its
/// server at the same moment instead of having it return in waves.
public struct ReconnectBackoff: Sendable {
    public let base: Duration
    public let cap: Duration
    /// Consecutive failures since the last healthy connection.
    public private(set) var attempt = 0

    public init(base: Duration = .seconds(1), cap: Duration = .seconds(300)) {
        precondition(base > .zero && cap >= base, "backoff needs 0 < base <= cap")
        self.base = base
        self.cap = cap
    }

    /// The upper bound of the delay after `attempt` failures.
    public func ceiling(forAttempt attempt: Int) -> Duration {
        var ceiling = base
        for _ in 0..<min(attempt, 62) {
            ceiling = ceiling * 2
            if ceiling >= cap { return cap }
        }
        return min(ceiling, cap)
    }

    /// The next delay, and counts one more failure.
    public mutating func nextDelay() -> Duration {
        var generator = SystemRandomNumberGenerator()
        return nextDelay(using: &generator)
    }

    public mutating func nextDelay<G: RandomNumberGenerator>(using generator: inout G) -> Duration {
        let ceiling = ceiling(forAttempt: attempt)
        attempt += 1
        let milliseconds = ceiling.components.seconds * 1000 + ceiling.components.attoseconds / 1_000_000_000_000_000
        return .milliseconds(Int64.random(in: 0...max(milliseconds, 0), using: &generator))
    }

    /// After a healthy connection the next failure starts again at `base`.
    public mutating func reset() {
        attempt = 0
    }
}
