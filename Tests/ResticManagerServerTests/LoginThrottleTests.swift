import Foundation
import GRDB
import Logging
import Testing

@testable import ResticManagerServer

/// The throttle's policy, on the store it keeps its counts in (SQLite, or
/// PostgreSQL with `RM_TEST_POSTGRES`). Time is passed in, never slept.
@Suite("LoginThrottle")
struct LoginThrottleTests {
    private static let start = Date(timeIntervalSince1970: 1_800_000_000)

    private static func policy(failuresPerIP: Int = 100) -> LoginThrottle.Policy {
        var policy = LoginThrottle.Policy()
        policy.failuresPerIP = failuresPerIP
        return policy
    }

    private func throttle(failuresPerIP: Int = 100) async throws -> LoginThrottle {
        LoginThrottle(database: try await AppDatabase.forTest(), policy: Self.policy(failuresPerIP: failuresPerIP))
    }

    /// Two stores over one database, as two replicas have: separate
    /// connection pools on PostgreSQL, one in-memory file on SQLite.
    private func replicaStores() async throws -> (AppDatabase, AppDatabase) {
        guard let url = try await AppDatabase.freshPostgresDatabase() else {
            let queue = try DatabaseQueue()
            return (try AppDatabase(queue), try AppDatabase(queue))
        }
        return (
            try await AppDatabase.connect(url, logger: Logger(label: "test")),
            try await AppDatabase.connect(url, logger: Logger(label: "test"))
        )
    }

    /// A wrong password as the login handler meets it: admitted, then
    /// recorded; returns the 429's `Retry-After` when the IP is past its budget.
    @discardableResult
    private func fail(_ throttle: LoginThrottle, _ username: String, _ ip: String, at now: Date) async throws -> Int? {
        #expect(try await throttle.admit(username: username, ip: ip, now: now) == .proceed)
        return try await throttle.recordFailure(username: username, ip: ip, now: now)
    }

    private func rows(_ database: AppDatabase) async throws -> (pairs: Int, addresses: Int) {
        try await database.read { tx in
            (try tx.count("SELECT COUNT(*) FROM login_failures"),
             try tx.count("SELECT COUNT(*) FROM login_address_failures"))
        }
    }

    @Test("three free failures per pair, then a wait that doubles")
    func growingDelays() async throws {
        let throttle = try await throttle()
        var now = Self.start
        for _ in 1...3 { #expect(try await fail(throttle, "admin", "1.1.1.1", at: now) == nil) }
        #expect(try await throttle.admit(username: "admin", ip: "1.1.1.1", now: now) == .retryAfter(seconds: 1))
        #expect(try await throttle.admit(username: "ADMIN", ip: "1.1.1.1", now: now) == .retryAfter(seconds: 1))
        now += 0.5
        #expect(try await throttle.admit(username: "admin", ip: "1.1.1.1", now: now) == .retryAfter(seconds: 1))
        now += 0.5
        try await fail(throttle, "admin", "1.1.1.1", at: now)
        #expect(try await throttle.admit(username: "admin", ip: "1.1.1.1", now: now) == .retryAfter(seconds: 2))
        now += 2
        try await fail(throttle, "admin", "1.1.1.1", at: now)
        #expect(try await throttle.admit(username: "admin", ip: "1.1.1.1", now: now) == .retryAfter(seconds: 4))
    }

    @Test("the wait stops growing at the policy's longest delay")
    func delaysAreCapped() async throws {
        var policy = Self.policy()
        policy.maxDelay = .seconds(3)
        let throttle = LoginThrottle(database: try await AppDatabase.forTest(), policy: policy)
        var now = Self.start
        for _ in 1...3 { try await fail(throttle, "admin", "1.1.1.1", at: now) }
        for expected in [1, 2, 3, 3] {
            let admission = try await throttle.admit(username: "admin", ip: "1.1.1.1", now: now)
            #expect(admission == .retryAfter(seconds: expected))
            now += Double(expected)
            try await fail(throttle, "admin", "1.1.1.1", at: now)
        }
    }

    @Test("another address, or another user, is not slowed; a success clears the pair")
    func pairsAreIndependent() async throws {
        let throttle = try await throttle()
        var now = Self.start
        for _ in 1...3 { try await fail(throttle, "admin", "1.1.1.1", at: now) }
        for wait in [1, 2, 4] {
            now += Double(wait)
            try await fail(throttle, "admin", "1.1.1.1", at: now)
        }
        #expect(try await throttle.admit(username: "admin", ip: "1.1.1.1", now: now) == .retryAfter(seconds: 8))
        #expect(try await throttle.admit(username: "admin", ip: "2.2.2.2", now: now) == .proceed)
        #expect(try await throttle.admit(username: "bob", ip: "1.1.1.1", now: now) == .proceed)
        now += 8
        #expect(try await throttle.admit(username: "admin", ip: "1.1.1.1", now: now) == .proceed)
        try await throttle.recordSuccess(username: "admin", ip: "1.1.1.1")
        for _ in 1...3 { try await fail(throttle, "admin", "1.1.1.1", at: now) }
    }

    @Test("past the address budget failures answer 429 and pairs start delayed, other names still proceed")
    func addressBudget() async throws {
        let throttle = try await throttle(failuresPerIP: 4)
        let now = Self.start
        for index in 1...4 { #expect(try await fail(throttle, "guess-\(index)", "9.9.9.9", at: now) == nil) }
        #expect(try await fail(throttle, "guess-5", "9.9.9.9", at: now) != nil)
        #expect(try await throttle.admit(username: "guess-5", ip: "9.9.9.9", now: now) != .proceed)
        // A name this address has not failed for is checked: its right password gets in.
        #expect(try await throttle.admit(username: "bob", ip: "9.9.9.9", now: now) == .proceed)
        try await throttle.recordSuccess(username: "bob", ip: "9.9.9.9")
        #expect(try await fail(throttle, "x", "8.8.8.8", at: now) == nil)
    }

    @Test("failures older than the window are forgotten, for pairs and for addresses")
    func windowForgets() async throws {
        let throttle = try await throttle(failuresPerIP: 4)
        let window = LoginThrottle.Policy().window.timeInterval
        for index in 1...5 { try await fail(throttle, "guess-\(index)", "9.9.9.9", at: Self.start) }
        for _ in 1...3 { try await fail(throttle, "admin", "1.1.1.1", at: Self.start) }
        let later = Self.start + window
        #expect(try await fail(throttle, "guess-6", "9.9.9.9", at: later) == nil)
        for _ in 1...3 { try await fail(throttle, "admin", "1.1.1.1", at: later) }
        #expect(try await throttle.admit(username: "admin", ip: "1.1.1.1", now: later) == .retryAfter(seconds: 1))
    }

    @Test("two throttles on one store, as on two replicas, count the same failures")
    func replicasShareCounts() async throws {
        let (first, second) = try await replicaStores()
        let replicas = [LoginThrottle(database: first, policy: Self.policy()),
                        LoginThrottle(database: second, policy: Self.policy())]
        for index in 0..<3 { try await fail(replicas[index % 2], "admin", "1.1.1.1", at: Self.start) }
        for replica in replicas {
            let admission = try await replica.admit(username: "admin", ip: "1.1.1.1", now: Self.start)
            #expect(admission == .retryAfter(seconds: 1))
        }
        try await replicas[1].recordSuccess(username: "admin", ip: "1.1.1.1")
        #expect(try await replicas[0].admit(username: "admin", ip: "1.1.1.1", now: Self.start) == .proceed)
    }

    @Test("attempts racing on two replicas get no more free tries than one after another")
    func racingAttemptsAreCounted() async throws {
        let (first, second) = try await replicaStores()
        let replicas = [LoginThrottle(database: first, policy: Self.policy()),
                        LoginThrottle(database: second, policy: Self.policy())]
        let admissions = try await withThrowingTaskGroup(of: LoginThrottle.Admission.self) { group in
            for index in 0..<6 {
                group.addTask {
                    try await replicas[index % 2].admit(username: "admin", ip: "1.1.1.1", now: Self.start)
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(admissions.filter { $0 == .proceed }.count == 3)
    }

    @Test("an address keeps only the failures its budget needs, and pruning empties what the window left")
    func tablesStayBounded() async throws {
        let database = try await AppDatabase.forTest()
        let throttle = LoginThrottle(database: database, policy: Self.policy(failuresPerIP: 4))
        for index in 1...20 { try await fail(throttle, "guess-\(index)", "9.9.9.9", at: Self.start) }
        #expect(try await rows(database) == (pairs: 20, addresses: 5))
        for index in 1...30 { try await fail(throttle, "admin", "10.0.0.\(index)", at: Self.start + 60) }
        let window = LoginThrottle.Policy().window.timeInterval
        try await throttle.forgetExpired(now: Self.start + window)
        #expect(try await rows(database) == (pairs: 30, addresses: 30))
        try await throttle.forgetExpired(now: Self.start + window + 60)
        #expect(try await rows(database) == (pairs: 0, addresses: 0))
    }
}
