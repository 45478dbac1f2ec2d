import Foundation

/// Counts failed logins per username and per client IP over a sliding
/// window and says when to refuse with 429 (SPEC §8).
public actor LoginThrottle {
    /// How many failures within `window` are tolerated before 429.
    public struct Policy: Sendable {
        public var window: Duration = .seconds(15 * 60)
        public var maxFailuresPerUsername = 5
        public var maxFailuresPerIP = 20

        public init() {}
    }

    private let policy: Policy
    private var failures: [String: [ContinuousClock.Instant]] = [:]
    private let clock = ContinuousClock()

    init(policy: Policy = Policy()) {
        self.policy = policy
    }

    /// Seconds to wait before trying again, or nil when an attempt may proceed.
    func retryAfter(username: String, ip: String) -> Int? {
        let now = clock.now
        let limits = [("u:" + username.lowercased(), policy.maxFailuresPerUsername), ("ip:" + ip, policy.maxFailuresPerIP)]
        var wait: Duration?
        for (key, limit) in limits {
            let recent = prune(key, now: now)
            if recent.count >= limit, let oldest = recent.first {
                let remaining = oldest + policy.window - now
                wait = max(wait ?? .zero, remaining)
            }
        }
        return wait.map { max(1, Int($0.components.seconds) + 1) }
    }

    func recordFailure(username: String, ip: String) {
        let now = clock.now
        failures["u:" + username.lowercased(), default: []].append(now)
        failures["ip:" + ip, default: []].append(now)
        if failures.count > 10_000 { failures = failures.filter { !$0.value.isEmpty } }
    }

    func recordSuccess(username: String) {
        failures["u:" + username.lowercased()] = nil
    }

    private func prune(_ key: String, now: ContinuousClock.Instant) -> [ContinuousClock.Instant] {
        let recent = (failures[key] ?? []).filter { now - $0 < policy.window }
        failures[key] = recent.isEmpty ? nil : recent
        return recent
    }
}
