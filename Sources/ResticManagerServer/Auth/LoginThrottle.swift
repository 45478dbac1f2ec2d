import Foundation

/// Slows password guessing without locking owners out (SPEC §8, #14 item 2;
/// OWASP ASVS 2.2.1: slow the attacker, don't lock the account).
///
/// - Per (username, client IP): a few wrong passwords are answered at once;
///   after them each further attempt of that pair must wait a delay that
///   doubles with every failure, up to ``Policy/maxDelay``. Earlier attempts
///   get 429 and `Retry-After` without a password check. The same user from
///   another address is not slowed, so an attacker cannot lock the admin
///   out; a success clears the pair.
/// - Per client IP, across usernames: a budget of failures per window.
///   Past it the pairs of that IP get no free attempts and wrong passwords
///   are answered 429, but a correct password still signs in — behind a
///   shared proxy address one guesser must not block everybody else.
public actor LoginThrottle {
    public struct Policy: Sendable {
        /// Wrong passwords per pair answered without delay.
        public var freeFailures = 3
        /// The wait after the last free failure; it doubles with each further one.
        public var firstDelay: Duration = .seconds(1)
        public var maxDelay: Duration = .seconds(5 * 60)
        /// How long failures are remembered, for pairs and for IPs.
        public var window: Duration = .seconds(15 * 60)
        /// Failures one client IP may make within `window`, all usernames together.
        public var failuresPerIP = 100

        public init() {}
    }

    private struct PairRecord {
        var failures = 0
        var last: ContinuousClock.Instant
    }

    private let policy: Policy
    private let clock = ContinuousClock()
    private var pairs: [String: PairRecord] = [:]
    private var ipFailures: [String: [ContinuousClock.Instant]] = [:]

    init(policy: Policy = Policy()) {
        self.policy = policy
    }

    /// Seconds the pair must still wait before its password is checked, or
    /// nil when the attempt may proceed.
    func retryAfter(username: String, ip: String) -> Int? {
        let now = clock.now
        guard let wait = remainingDelay(pair: Self.pairKey(username, ip), ip: ip, now: now), wait > .zero else {
            return nil
        }
        return Self.seconds(wait)
    }

    /// Records a wrong password. Returns the `Retry-After` to answer with
    /// when the IP is past its budget (429 instead of 401), else nil.
    func recordFailure(username: String, ip: String) -> Int? {
        let now = clock.now
        let key = Self.pairKey(username, ip)
        var record = pairs[key].flatMap { now - $0.last < policy.window ? $0 : nil } ?? PairRecord(last: now)
        record.failures += 1
        record.last = now
        pairs[key] = record
        // Only the newest `failuresPerIP + 1` matter: the list stays bounded.
        ipFailures[ip] = Array((recentIPFailures(ip, now: now) + [now]).suffix(policy.failuresPerIP + 1))
        prune(now: now)
        guard overBudget(ip, now: now) else { return nil }
        return Self.seconds(max(remainingDelay(pair: key, ip: ip, now: now) ?? .zero, .seconds(1)))
    }

    /// A correct password clears its pair; the IP's budget stays spent.
    func recordSuccess(username: String, ip: String) {
        pairs[Self.pairKey(username, ip)] = nil
    }

    private func remainingDelay(pair key: String, ip: String, now: ContinuousClock.Instant) -> Duration? {
        guard let record = pairs[key], now - record.last < policy.window else { return nil }
        let free = overBudget(ip, now: now) ? 0 : policy.freeFailures
        guard record.failures >= free else { return nil }
        let doublings = min(record.failures - free, 30)
        let delay = min(policy.firstDelay * (1 << doublings), policy.maxDelay)
        return record.last + delay - now
    }

    private func overBudget(_ ip: String, now: ContinuousClock.Instant) -> Bool {
        recentIPFailures(ip, now: now).count > policy.failuresPerIP
    }

    private func recentIPFailures(_ ip: String, now: ContinuousClock.Instant) -> [ContinuousClock.Instant] {
        (ipFailures[ip] ?? []).filter { now - $0 < policy.window }
    }

    /// Forgets what the window no longer covers, so many addresses cannot
    /// grow the tables without bound.
    private func prune(now: ContinuousClock.Instant) {
        guard pairs.count + ipFailures.count > 10_000 else { return }
        pairs = pairs.filter { now - $0.value.last < policy.window }
        ipFailures = ipFailures.compactMapValues { times in
            let recent = times.filter { now - $0 < policy.window }
            return recent.isEmpty ? nil : recent
        }
    }

    private static func pairKey(_ username: String, _ ip: String) -> String { username.lowercased() + "\u{0}" + ip }

    private static func seconds(_ duration: Duration) -> Int {
        let (seconds, attoseconds) = duration.components
        return max(1, Int(seconds) + (attoseconds > 0 ? 1 : 0))
    }
}
