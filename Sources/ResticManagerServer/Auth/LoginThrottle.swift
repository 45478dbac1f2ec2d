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
///
/// The counts live in the store, not in this process: replicas behind a
/// load balancer share them (SPEC §12), so spreading guesses over replicas
/// buys nothing. Times are wall-clock `Date`s, the one clock replicas share.
public struct LoginThrottle: Sendable {
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

    /// Whether an attempt's password may be checked.
    enum Admission: Sendable, Equatable {
        case proceed
        /// Refused unchecked: the pair must wait this many seconds.
        case retryAfter(seconds: Int)
    }

    /// Whose failures count together: usernames are matched as the user
    /// table matches them, whatever their case.
    struct Pair: Sendable {
        let username: String
        let ip: String

        init(username: String, ip: String) {
            self.username = username.lowercased()
            self.ip = ip
        }
    }

    private let database: AppDatabase
    private let policy: Policy

    init(database: AppDatabase, policy: Policy = Policy()) {
        self.database = database
        self.policy = policy
    }

    /// Decides whether the pair may try now. An attempt let through counts
    /// as a failure from that moment, in the same transaction as the check,
    /// so that attempts racing each other (on one replica or several) get
    /// no more free tries than one after another; ``recordSuccess`` takes
    /// it back.
    func admit(username: String, ip: String, now: Date = Date()) async throws -> Admission {
        try await database.admitLogin(Pair(username: username, ip: ip), policy: policy, now: now)
    }

    /// Records that an admitted attempt's password was wrong. Returns the
    /// `Retry-After` to answer with when the IP is past its budget (429
    /// instead of 401), else nil.
    func recordFailure(username: String, ip: String, now: Date = Date()) async throws -> Int? {
        try await database.recordLoginFailure(Pair(username: username, ip: ip), policy: policy, now: now)
    }

    /// A correct password clears its pair; the IP's budget stays spent.
    func recordSuccess(username: String, ip: String) async throws {
        try await database.clearLoginFailures(Pair(username: username, ip: ip))
    }

    /// Deletes what the window no longer covers, so that guesses from many
    /// addresses cannot grow the tables without bound.
    func forgetExpired(now: Date = Date()) async throws {
        let cutoff = now.addingTimeInterval(-policy.window.timeInterval)
        while true {
            let batch = try await database.deleteLoginFailures(before: cutoff, limit: Self.pruneBatch)
            if max(batch.pairs, batch.addresses) < Self.pruneBatch { return }
        }
    }

    /// Rows per pruning transaction: a burst of addresses expiring together
    /// must not hold SQLite's one writer for long.
    static let pruneBatch = 1_000
}

extension LoginThrottle.Policy {
    /// Seconds a pair with `failures` in the window, the last at `last`,
    /// must still wait, or nil when it may try now.
    func retryAfter(failures: Int, last: Date, addressOverBudget: Bool, now: Date) -> Int? {
        let free = addressOverBudget ? 0 : freeFailures
        guard failures >= free else { return nil }
        let delay = min(firstDelay * (1 << min(failures - free, 30)), maxDelay)
        // Replicas' clocks differ a little, and the store keeps milliseconds:
        // neither may ask for more than the policy's delay.
        let wait = min(delay - .seconds(now.timeIntervalSince(last)), delay)
        guard wait > .zero else { return nil }
        let (seconds, attoseconds) = wait.components
        return max(1, Int(seconds) + (attoseconds > 0 ? 1 : 0))
    }
}
